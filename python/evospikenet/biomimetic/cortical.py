r"""Cortical columns on a sheet: positions and column-to-column connections.

Columns sit on a square grid of pitch ``spacing_mm`` (default 1 mm, about
the width of a V1 hypercolumn, Hubel & Wiesel 1977; Mountcastle 1997 for the
columnar organisation). Two columns are connected when their distance is at
most ``radius_mm`` (default :math:`\sqrt2` mm: with a 1 mm pitch, the eight
nearest neighbours). Optionally each edge is rewired to a
random column with probability ``p_rewire`` (Watts & Strogatz 1998), which
gives the small-world graph the seed alludes to; the default 0 keeps only
local edges. Axonal delay between columns is distance / conduction velocity;
the default 0.3 m/s (= 0.3 mm/ms) lies in the 0.1-0.5 m/s range of
unmyelinated horizontal intracortical axons (Girard, Hupé & Bullier 2001).

References
----------
Hubel DH, Wiesel TN (1977) Ferrier lecture: Functional architecture of
macaque monkey visual cortex. Proc R Soc Lond B 198:1-59.
doi:10.1098/rspb.1977.0085

Mountcastle VB (1997) The columnar organization of the neocortex. Brain
120:701-722. doi:10.1093/brain/120.4.701

Watts DJ, Strogatz SH (1998) Collective dynamics of 'small-world' networks.
Nature 393:440-442. doi:10.1038/30918

Girard P, Hupé JM, Bullier J (2001) Feedforward and feedback connections
between areas V1 and V2 of the monkey have similar rapid conduction
velocities. J Neurophysiol 85:1328-1331. doi:10.1152/jn.2001.85.3.1328
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

__all__ = ["ColumnEdge", "CorticalColumn", "CorticalTopologyGenerator"]


@dataclass(frozen=True)
class CorticalColumn:
    """One column: id, grid position, position on the sheet (mm), size."""

    column_id: int
    ix: int
    iy: int
    x_mm: float
    y_mm: float
    n_neurons: int


@dataclass(frozen=True)
class ColumnEdge:
    """A directed column-to-column connection with its length and delay."""

    pre: int
    post: int
    distance_mm: float
    delay_ms: float


class CorticalTopologyGenerator:
    r"""Lay out columns on a grid and connect those within ``radius_mm``.

    Parameters
    ----------
    spacing_mm : float
        Grid pitch (mm, > 0).
    radius_mm : float
        Maximum connection distance (mm, > 0); default :math:`\sqrt2`.
    neurons_per_column : int
        Neurons in each column (>= 1).
    conduction_velocity_mm_per_ms : float
        Axonal conduction velocity (mm/ms = m/s, > 0).
    p_rewire : float
        Watts-Strogatz rewiring probability per edge, in [0, 1].
    seed : int
        Seed of the rewiring draws (>= 0).

    Raises
    ------
    InvalidParameterError
        A non-positive size, distance or velocity; ``p_rewire`` outside [0, 1];
        a negative or non-integer ``seed``.
    """

    def __init__(
        self,
        spacing_mm: float = 1.0,
        radius_mm: float = math.sqrt(2.0),
        neurons_per_column: int = 100,
        conduction_velocity_mm_per_ms: float = 0.3,
        p_rewire: float = 0.0,
        seed: int = 0,
    ) -> None:
        self.spacing_mm = validation.positive("spacing_mm", spacing_mm)
        self.radius_mm = validation.positive("radius_mm", radius_mm)
        self.neurons_per_column = validation.positive_int("neurons_per_column", neurons_per_column)
        self.conduction_velocity_mm_per_ms = validation.positive(
            "conduction_velocity_mm_per_ms", conduction_velocity_mm_per_ms
        )
        if isinstance(p_rewire, bool) or not isinstance(p_rewire, int | float):
            raise InvalidParameterError.of("p_rewire", p_rewire, "must be a number in [0, 1]")
        if not 0.0 <= float(p_rewire) <= 1.0:
            raise InvalidParameterError.of("p_rewire", p_rewire, "must be in [0, 1]")
        self.p_rewire = float(p_rewire)
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise InvalidParameterError.of("seed", seed, "must be an integer >= 0")
        self.seed = int(seed)

    def columns(self, nx_cols: int, ny_cols: int) -> list[CorticalColumn]:
        """Return the ``nx_cols * ny_cols`` columns, row by row (id = iy * nx_cols + ix).

        Raises
        ------
        InvalidParameterError
            ``nx_cols`` or ``ny_cols`` below 1.
        """
        nx = validation.positive_int("nx_cols", nx_cols)
        ny = validation.positive_int("ny_cols", ny_cols)
        return [
            CorticalColumn(
                iy * nx + ix,
                ix,
                iy,
                ix * self.spacing_mm,
                iy * self.spacing_mm,
                self.neurons_per_column,
            )
            for iy in range(ny)
            for ix in range(nx)
        ]

    def _edge(self, a: CorticalColumn, b: CorticalColumn) -> ColumnEdge:
        d = math.hypot(a.x_mm - b.x_mm, a.y_mm - b.y_mm)
        return ColumnEdge(a.column_id, b.column_id, d, d / self.conduction_velocity_mm_per_ms)

    def edges(self, columns: list[CorticalColumn]) -> list[ColumnEdge]:
        """Return directed edges between distinct columns within ``radius_mm`` (both directions).

        With ``p_rewire > 0`` each edge's target is, with that probability,
        replaced by a uniformly drawn column that is neither the source nor
        already a target of it (Watts & Strogatz 1998).
        """
        tol = 1e-9 * self.spacing_mm
        local = [
            self._edge(a, b)
            for a in columns
            for b in columns
            if a.column_id != b.column_id
            and math.hypot(a.x_mm - b.x_mm, a.y_mm - b.y_mm) <= self.radius_mm + tol
        ]
        if self.p_rewire == 0.0 or len(columns) < 3:
            return local
        rng = np.random.default_rng(self.seed)
        by_id = {c.column_id: c for c in columns}
        targets: dict[int, set[int]] = {}
        for e in local:
            targets.setdefault(e.pre, set()).add(e.post)
        out = []
        for e in local:
            if rng.random() < self.p_rewire:
                free = [c for c in by_id if c != e.pre and c not in targets[e.pre]]
                if free:
                    new = int(free[int(rng.integers(len(free)))])
                    targets[e.pre].discard(e.post)
                    targets[e.pre].add(new)
                    out.append(self._edge(by_id[e.pre], by_id[new]))
                    continue
            out.append(e)
        return out
