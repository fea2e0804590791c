r"""A network split into parts that exchange boundary spikes: :class:`Part`, :func:`run_parts`.

NEST's scheme: every part runs the *same* build script; the populations a
part does not simulate become proxies. ``Network(..., part=Part(local,
latency_ms))`` builds one part:

- a population whose name is in ``local`` is built as usual;
- any other population (``lif``, ``izhikevich``, ``spike_source``) becomes a
  **remote proxy**: an object of the class the builder asked for, with
  ``remote == True``, whose engine object is an input port of the same name
  and size (so the same random keys, ``docs/random-streams.md``) and of
  latency ``latency_ms``;
- what belongs to the owning part is skipped on a proxy: setting or
  drawing its state, its bias, inputs onto it (Poisson, noise, currents),
  projections onto it (they mark the local presynaptic population as
  *exported*; both ends remote: nothing), plasticity on those, state and
  spike monitors on it (they record nothing);
- a projection *from* a proxy onto a local population is made as usual on
  the port (the population is *imported*); the core stores its delays less
  the latency and refuses a delay below it (``delay_ms``);
- gap junctions between a local and a remote population are refused
  (voltage coupling cannot be exchanged as spikes).

A population can also be **split** over parts: ``Part(local, latency_ms,
ranges={"E": (lo, hi)})`` simulates its neurons ``lo <= i < hi``. The
population (``lif``, ``point``, ``izhikevich``) is built with those
``hi - lo`` neurons and their global ids (so their initial state, Poisson
input and noise are drawn as in the whole), plus an input port standing for
the whole population (same rng key and ids) that brings the other ranges'
spikes; it is imported and, where the other parts need its spikes, exported.
Arrays given for it have the whole population's shape ``(n,)``, and its
spikes carry indices in the whole population (spike monitors,
:func:`advance`). A projection with a split end is drawn between the whole
populations by the core, exactly as the whole network draws it, and cut to
the synapses onto this part's neurons (``Engine.connect_window``; the part
pays the time of drawing the whole projection); its sources on this part's
range come from the population, the others from the port. Explicit synapses
(``connect_arrays``), gap junctions, plasticity and state monitors on a
split population are refused.

The exchange loop (:func:`run_parts`): with ``c`` = the latency in steps
(the minimum delay of the projections between parts), every chunk each part
runs ``c`` steps returning the spikes of its exported populations
(:func:`advance`), and each exported population's spikes are pushed into the
port of that name in every part that imports it (:func:`deliver`). A spike
emitted at step ``s`` of the chunk ``[t, t + c)`` is emitted by the ports
at ``s + c >= t + c``, the next chunk or later, so it is never late, and
the parts together give the whole network's spikes bit for bit whatever
the number of parts or threads (``tests/test_partition.py``).

:func:`advance` and :func:`deliver` are the per-part step API: a transport
between processes (Zenoh, :mod:`evospikenet.brain.lockstep`) runs ``advance`` in each process,
publishes the result, and calls ``deliver`` with what the other parts
published for the same chunk before the next ``advance``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

if TYPE_CHECKING:
    from evospikenet.network import Network

__all__ = ["ChunkSpikes", "Part", "advance", "check_parts", "deliver", "run_parts"]

#: Spikes of one chunk: population name -> (emission steps uint64, neuron indices uint32).
ChunkSpikes = Mapping[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]]


@dataclass(frozen=True, init=False)
class Part:
    """The populations a :class:`~evospikenet.network.Network` simulates, and its chunk.

    Parameters
    ----------
    local : iterable of str
        Names of the populations simulated in this part (a single string is
        one name). Every other population the build script makes becomes a
        remote proxy (module docs).
    latency_ms : float
        Latency of the proxies' input ports = the exchange interval (one
        chunk): at most the minimum delay of the projections between parts,
        a positive multiple of ``dt_ms`` (checked by the network).
    ranges : mapping of str to (int, int), optional
        Populations of ``local`` this part simulates only in part: name ->
        ``(lo, hi)``, its neurons ``lo <= i < hi`` (a population **split**
        over parts, module docs). The other names of ``local`` are simulated
        whole.

    Raises
    ------
    InvalidParameterError
        An empty or non-string ``local``, a non-finite or non-positive
        ``latency_ms``, a range of a name not in ``local`` or not
        ``0 <= lo < hi``.
    """

    local: frozenset[str]
    latency_ms: float
    ranges: Mapping[str, tuple[int, int]]

    def __init__(
        self,
        local: frozenset[str] | Iterable[str],
        latency_ms: float,
        ranges: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        names = frozenset([local] if isinstance(local, str) else local)
        if not names or not all(isinstance(n, str) and n for n in names):
            raise InvalidParameterError.of(
                "local", sorted(map(str, names)), "must be one or more population names"
            )
        spans: dict[str, tuple[int, int]] = {}
        for name, span in sorted((ranges or {}).items()):
            if name not in names:
                raise InvalidParameterError.of("ranges", name, "is not a name of local")
            ok = isinstance(span, tuple | list) and len(span) == 2
            ok = ok and all(
                isinstance(x, int | np.integer) and not isinstance(x, bool) for x in span
            )
            if not ok or not 0 <= span[0] < span[1]:
                raise InvalidParameterError.of(
                    f"ranges.{name}", span, "must be (lo, hi) with 0 <= lo < hi"
                )
            spans[name] = (int(span[0]), int(span[1]))
        if (
            isinstance(latency_ms, bool)
            or not isinstance(latency_ms, int | float)
            or not math.isfinite(latency_ms)
            or latency_ms <= 0
        ):
            raise InvalidParameterError.of("latency_ms", latency_ms, "must be finite and > 0")
        object.__setattr__(self, "local", names)
        object.__setattr__(self, "latency_ms", float(latency_ms))
        object.__setattr__(self, "ranges", MappingProxyType(spans))

    def __hash__(self) -> int:
        return hash((self.local, self.latency_ms, tuple(sorted(self.ranges.items()))))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Part):
            return NotImplemented
        return (self.local, self.latency_ms, dict(self.ranges)) == (
            other.local, other.latency_ms, dict(other.ranges),
        )  # fmt: skip

    def is_local(self, name: str) -> bool:
        """Whether population ``name`` is simulated in this part (whole or split)."""
        return name in self.local


def _part_of(net: Network) -> Part:
    if net.part is None:
        raise InvalidParameterError.of("part", None, "the network was not built as a part")
    return net.part


def advance(
    net: Network, n_steps: int
) -> dict[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]]:
    """Run one part for ``n_steps`` steps and return the spikes of its exported populations.

    Parameters
    ----------
    net : Network
        A part (built with ``part=``).
    n_steps : int
        Steps of the chunk, at most the latency in steps.

    Returns
    -------
    dict
        Exported population name -> ``(steps, neurons)`` as
        :meth:`~evospikenet.network.Network.run_chunk`.

    Raises
    ------
    InvalidParameterError
        Not a part, or ``n_steps`` above the latency (spikes would arrive late).
    """
    part = _part_of(net)
    latency = round(part.latency_ms / net.dt_ms)
    if isinstance(n_steps, int) and n_steps > latency:
        raise InvalidParameterError.of(
            "n_steps", n_steps, f"must be <= the latency, {latency} steps"
        )
    return net.run_chunk(n_steps, sorted(net.exports))


def deliver(net: Network, spikes: ChunkSpikes) -> None:
    """Push the spikes another part exported into this part's ports of the same names.

    Names this part does not import are ignored, so every part can be given
    every other part's :func:`advance` result.

    Raises
    ------
    InvalidParameterError
        Not a part, or a spike into the past (see
        :meth:`~evospikenet.network.InputPort.push`).
    """
    _part_of(net)
    for name in sorted(net.imports & spikes.keys()):
        steps, neurons = spikes[name]
        net.ports[name].push(neurons, steps=steps)


def check_parts(parts: Sequence[Network]) -> int:
    """Check that ``parts`` make one network, and return the chunk length in steps.

    Every network must be a part, with the same ``dt_ms``, seed and step;
    every name in a part's ``local`` must be a population it simulates; no
    population may be local to two parts, unless each holds a range of it
    (``Part.ranges``) and the ranges do not overlap; every population a
    part imports must be exported by another part.

    Raises
    ------
    InvalidParameterError
        Naming the field (``parts``, ``local``, ``dt_ms``, ``seed``).
    """
    if not parts:
        raise InvalidParameterError.of("parts", 0, "give at least one part")
    first = parts[0]
    owner: dict[str, list[tuple[int, tuple[int, int] | None]]] = {}
    for k, net in enumerate(parts):
        part = _part_of(net)
        for name, value in (("dt_ms", net.dt_ms), ("seed", net.seed), ("t_ms", net.t_ms)):
            if value != getattr(first, name):
                raise InvalidParameterError.of(
                    name, value, f"part {k} differs from part 0 ({getattr(first, name)!r})"
                )
        for name in sorted(part.local):
            pop = net.populations.get(name)
            if pop is None or pop.remote:
                raise InvalidParameterError.of(
                    "local", name, f"part {k} has no population of that name"
                )
            span = pop.span
            for j, other in owner.get(name, []):
                if span is None or other is None or (span[0] < other[1] and other[0] < span[1]):
                    raise InvalidParameterError.of("local", name, f"local to parts {j} and {k}")
            owner.setdefault(name, []).append((k, span))
    for k, net in enumerate(parts):
        for name in sorted(net.imports):
            if not any(j != k and name in parts[j].exports for j, _ in owner.get(name, [])):
                raise InvalidParameterError.of(
                    "parts", name, f"part {k} imports it but no other part exports it"
                )
    return min(round(_part_of(net).latency_ms / net.dt_ms) for net in parts)


def run_parts(parts: Sequence[Network], duration_ms: float) -> int:
    """Run the parts of a split network together for ``duration_ms``, exchanging spikes.

    Every chunk (the smallest latency of the parts, in steps; the last one
    may be shorter) each part runs :func:`advance`, then every part is given
    every other part's exported spikes with :func:`deliver` (module docs).
    Spikes are read from each part's spike monitors afterwards.

    Parameters
    ----------
    parts : sequence of Network
        The parts, built by the same script with complementary ``Part``
        objects.
    duration_ms : float
        Simulated time (ms, a multiple of ``dt_ms``).

    Returns
    -------
    int
        Number of chunks run.

    Raises
    ------
    InvalidParameterError
        As :func:`check_parts`, or a bad ``duration_ms``.
    """
    chunk = check_parts(parts)
    remaining = validation.steps("duration_ms", duration_ms, parts[0].dt_ms, minimum=0)
    chunks = 0
    while remaining > 0:
        n = min(chunk, remaining)
        out = [advance(net, n) for net in parts]
        for k, net in enumerate(parts):
            for j, spikes in enumerate(out):
                if j != k:
                    deliver(net, spikes)
        remaining -= n
        chunks += 1
    return chunks
