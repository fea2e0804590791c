"""Variation and selection operators on :class:`~evospikenet.evolution.genome.EvoGenome`.

* :class:`MutationEngine` — per-gene parameter mutations (Gaussian steps of
  ``mutation_strength`` times the gene's range, clipped to its bounds), then
  optionally the structural mutations of an :class:`AdvancedMutationEngine`.
* :class:`AdvancedMutationEngine` — the ten structural :class:`MutationType`
  operators, each with its own rate adapted by its success
  (:meth:`AdvancedMutationEngine.update_mutation_rates`).
* :func:`crossover` — ``uniform``, ``single_point`` or ``two_point`` over
  homologous genes (genes with the same name or the same ends), the child
  keeping the first parent's structure, so it is always valid.
* :func:`select` — ``tournament``, ``roulette`` or ``rank`` selection.

Every operator takes an explicit :class:`numpy.random.Generator`; no global
random state is used. Every operator returns a valid genome (checked).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

import numpy as np

from evospikenet.errors import InvalidParameterError
from evospikenet.evolution.genome import (
    BIAS_BOUNDS,
    DELAY_BOUNDS,
    GAIN_BOUNDS,
    INPUT,
    IZHIKEVICH_BOUNDS,
    LIF_BOUNDS,
    MAX_SEED,
    OUTPUT,
    P_BOUNDS,
    SIZE_BOUNDS,
    WEIGHT_MEAN_BOUNDS,
    WEIGHT_STD_BOUNDS,
    Connection,
    EvoGenome,
    Layer,
    Module,
)

__all__ = [
    "AdaptiveMutationConfig",
    "AdvancedMutationEngine",
    "MutationEngine",
    "MutationType",
    "crossover",
    "select",
]


class MutationType(str, Enum):
    """The ten structural mutations."""

    ADD_LAYER_SMART = "add_layer_smart"
    REMOVE_LAYER_SMART = "remove_layer_smart"
    ADD_SKIP_CONNECTION = "add_skip_connection"
    REMOVE_SKIP_CONNECTION = "remove_skip_connection"
    PRUNE_CONNECTIONS = "prune_connections"
    GROW_CONNECTIONS = "grow_connections"
    MODULE_DUPLICATION = "module_duplication"
    MODULE_FUSION = "module_fusion"
    ADAPTIVE_LAYER_SIZE = "adaptive_layer_size"
    RECURRENT_CONNECTION = "recurrent_connection"


@dataclass
class AdaptiveMutationConfig:
    """Settings of :class:`AdvancedMutationEngine`.

    Attributes
    ----------
    base_rate : float
        Initial probability of each structural mutation per offspring.
    min_rate, max_rate : float
        Bounds of the adapted rates.
    adaptation_factor : float
        Factor ``c`` of the success rule, in (0, 1) (Schwefel's 0.817-0.85).
    target_success : float
        Success rate at which a rate stays put (Rechenberg's 1/5).
    max_layers : int
        Hidden layers a genome may have.
    max_neurons : int
        Neurons a genome may have (keeps evaluation cheap).
    seed : int
        Seed of the engine's own generator (used when no ``rng`` is passed).
    """

    base_rate: float = 0.1
    min_rate: float = 0.01
    max_rate: float = 0.5
    adaptation_factor: float = 0.85
    target_success: float = 0.2
    max_layers: int = 6
    max_neurons: int = 400
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("base_rate", "min_rate", "max_rate", "target_success"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InvalidParameterError.of(name, value, "must be in [0, 1]")
        if not self.min_rate <= self.base_rate <= self.max_rate:
            raise InvalidParameterError.of(
                "base_rate", self.base_rate, "must be in [min_rate, max_rate]"
            )
        if not 0.0 < self.adaptation_factor < 1.0:
            raise InvalidParameterError.of(
                "adaptation_factor", self.adaptation_factor, "must be in (0, 1)"
            )
        if self.max_layers < 0:
            raise InvalidParameterError.of("max_layers", self.max_layers, "must be >= 0")
        if self.max_neurons < 1:
            raise InvalidParameterError.of("max_neurons", self.max_neurons, "must be >= 1")


def _clip(value: float, bounds: tuple[float, float]) -> float:
    return float(min(max(value, bounds[0]), bounds[1]))


def _new_name(genome: EvoGenome, prefix: str, taken: set[str] | None = None) -> str:
    names = {layer.name for layer in genome.layers()} | {m.name for m in genome.modules}
    names |= taken or set()
    numbers = [int(m.group(1)) for n in names if (m := re.fullmatch(rf"{prefix}(\d+)", n))]
    k = max(numbers, default=-1) + 1
    while f"{prefix}{k}" in names:
        k += 1
    return f"{prefix}{k}"


def _node_size(genome: EvoGenome, name: str) -> int:
    if name == INPUT:
        return genome.input.size * genome.input.neurons_per_feature
    if name == OUTPUT:
        return genome.readout.size * genome.readout.neurons_per_output
    return next(layer.size for layer in genome.layers() if layer.name == name)


def _importance(genome: EvoGenome, conn: Connection) -> float:
    """Return the expected summed weight a connection delivers per presynaptic volley."""
    return conn.p * abs(conn.weight_mean) * _node_size(genome, conn.pre)


def _is_backbone(genome: EvoGenome, conn: Connection) -> bool:
    return genome.connection_kind(conn) == "feedforward"


def _random_gene(
    g: EvoGenome, pre: str, post: str, rng: np.random.Generator, scale: float
) -> Connection:
    """Return a new connection gene: N(0, scale) weight mean, one-step delay."""
    mean = _clip(float(rng.normal(0.0, scale)), WEIGHT_MEAN_BOUNDS)
    return Connection(pre, post, 0.3, mean, abs(mean) * 0.25, (g.dt_ms, g.dt_ms))


class AdvancedMutationEngine:
    """Structural mutations with success-adapted rates.

    Parameters
    ----------
    config : AdaptiveMutationConfig, optional
        Rates, bounds and seed.

    Attributes
    ----------
    rates : dict of MutationType to float
        Current probability of each mutation per offspring.

    Notes
    -----
    Rate adaptation (:meth:`update_mutation_rates`) applies Rechenberg's
    1/5 success rule (Rechenberg 1973; Schwefel 1981) per operator: with
    ``s`` the fraction of offspring made with the operator whose fitness
    exceeded their best parent's, the rate is divided by ``c`` when
    ``s > target_success`` and multiplied by ``c`` when ``s < target_success``
    (``c = adaptation_factor``), then clipped to ``[min_rate, max_rate]``.
    Operators with no offspring in the generation keep their rate.

    References
    ----------
    Rechenberg I (1973) Evolutionsstrategie. Frommann-Holzboog.
    Schwefel HP (1981) Numerical Optimization of Computer Models. Wiley.
    """

    def __init__(self, config: AdaptiveMutationConfig | None = None) -> None:
        self.config = config or AdaptiveMutationConfig()
        self.rates: dict[MutationType, float] = {t: self.config.base_rate for t in MutationType}
        self.rng = np.random.default_rng(self.config.seed)
        self.history: list[dict[str, Any]] = []

    # -- adaptation ------------------------------------------------------------

    def update_mutation_rates(
        self, generation: int, fitness_improvements: Mapping[MutationType | str, Sequence[float]]
    ) -> dict[MutationType, float]:
        """Adapt each operator's rate to its success (see Notes of the class).

        Parameters
        ----------
        generation : int
            Generation the improvements were measured in (kept in ``history``).
        fitness_improvements : mapping
            Operator -> fitness of each offspring it helped make minus the
            fitness of that offspring's best parent.

        Returns
        -------
        dict of MutationType to float
            The new rates.

        Raises
        ------
        InvalidParameterError
            For an unknown operator name.
        """
        c = self.config.adaptation_factor
        record: dict[str, Any] = {"generation": int(generation)}
        for key, deltas in fitness_improvements.items():
            try:
                mtype = MutationType(key)
            except ValueError as exc:
                raise InvalidParameterError.of(
                    "fitness_improvements", key, "unknown mutation type"
                ) from exc
            values = [float(d) for d in deltas]
            if not values:
                continue
            success = sum(d > 0 for d in values) / len(values)
            rate = self.rates[mtype]
            if success > self.config.target_success:
                rate /= c
            elif success < self.config.target_success:
                rate *= c
            self.rates[mtype] = _clip(rate, (self.config.min_rate, self.config.max_rate))
            record[mtype.value] = {"success": success, "rate": self.rates[mtype]}
        self.history.append(record)
        return dict(self.rates)

    def state(self) -> dict[str, Any]:
        """Return the rates as JSON-ready data (for checkpoints)."""
        return {t.value: r for t, r in self.rates.items()}

    def load_state(self, state: Mapping[str, float]) -> None:
        """Restore rates saved by :meth:`state`."""
        for key, rate in state.items():
            self.rates[MutationType(key)] = float(rate)

    # -- application -------------------------------------------------------------

    def apply_mutations(
        self,
        genome: EvoGenome,
        mutation_types: Sequence[MutationType | str] | None = None,
        performance_data: Mapping[str, Any] | None = None,
        rng: np.random.Generator | None = None,
    ) -> EvoGenome:
        """Apply structural mutations to a copy of ``genome``.

        Parameters
        ----------
        genome : EvoGenome
            Parent (not modified).
        mutation_types : sequence of MutationType, optional
            Apply exactly these (in order); by default each type is applied
            with its current rate.
        performance_data : mapping, optional
            ``layer_rates_hz``: layer name -> mean firing rate (Hz), used by
            ADAPTIVE_LAYER_SIZE.
        rng : numpy.random.Generator, optional
            Random source (default: the engine's own, seeded by the config).

        Returns
        -------
        EvoGenome
            A valid genome; the names of the operators that changed it are
            appended to ``mutations``.
        """
        r = rng if rng is not None else self.rng
        child = genome.copy()
        if mutation_types is None:
            chosen = [t for t in MutationType if r.random() < self.rates[t]]
        else:
            chosen = [MutationType(t) for t in mutation_types]
        for mtype in chosen:
            if getattr(self, f"_{mtype.value}")(child, r, performance_data or {}):
                child.mutations.append(mtype.value)
        drop_stale_weights(child)
        child.validate()
        return child

    # Each operator mutates ``g`` in place and returns whether it changed it.

    def _room(self, g: EvoGenome, extra_neurons: int, extra_layers: int) -> bool:
        return (
            g.n_neurons() + extra_neurons <= self.config.max_neurons
            and len(g.layers()) + extra_layers <= self.config.max_layers
        )

    def _add_layer_smart(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        names = g.node_names()
        k = int(r.integers(0, len(names) - 1))
        a, b = names[k], names[k + 1]
        size = int(np.clip(round((_node_size(g, a) + _node_size(g, b)) / 2), *SIZE_BOUNDS))
        if not self._room(g, size, 1):
            return False
        neighbour = next((la for la in g.layers() if la.name in (a, b)), None)
        layer = (
            Layer(
                _new_name(g, "h"), neighbour.model, size, neighbour.bias_pa, dict(neighbour.params)
            )
            if neighbour is not None
            else Layer(_new_name(g, "h"), "lif", size, 0.0, dict(_lif_defaults()))
        )
        _insert_layers(g, a, b, [layer])
        template = next(c for c in g.connections if (c.pre, c.post) == (a, b))
        g.connections.append(_copy_gene(template, a, layer.name))
        g.connections.append(_copy_gene(template, layer.name, b))
        return True

    def _remove_layer_smart(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        layers = g.layers()
        minimum = 1 if g.readout.kind == "ridge" else 0
        if len(layers) <= minimum:
            return False
        score = {
            la.name: sum(_importance(g, c) for c in g.connections if la.name in (c.pre, c.post))
            for la in layers
        }
        victim = min(layers, key=lambda la: score[la.name]).name
        names = g.node_names()
        k = names.index(victim)
        # The last layer of a ridge readout has no successor: nothing to bridge.
        a, b = names[k - 1], (names[k + 1] if k + 1 < len(names) else None)
        inbound = next(c for c in g.connections if (c.pre, c.post) == (a, victim))
        g.connections = [c for c in g.connections if victim not in (c.pre, c.post)]
        for module in g.modules:
            module.layers = [la for la in module.layers if la.name != victim]
        g.modules = [m for m in g.modules if m.layers]
        if b is not None and not any((c.pre, c.post) == (a, b) for c in g.connections):
            g.connections.append(_copy_gene(inbound, a, b))
        return True

    def _add_skip_connection(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        names = g.node_names()
        have = {(c.pre, c.post) for c in g.connections}
        pairs = [
            (i, j)
            for i in range(len(names))
            for j in range(i + 2, len(names))
            if names[i] != OUTPUT and (names[i], names[j]) not in have
        ]
        if not pairs:
            return False
        longest = max(j - i for i, j in pairs)
        cands = [(i, j) for i, j in pairs if j - i == longest]
        i, j = cands[int(r.integers(0, len(cands)))]
        g.connections.append(_random_gene(g, names[i], names[j], r, 200.0))
        return True

    def _remove_skip_connection(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        skips = [k for k, c in enumerate(g.connections) if g.connection_kind(c) == "skip"]
        if not skips:
            return False
        del g.connections[skips[int(r.integers(0, len(skips)))]]
        return True

    def _prune_connections(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        """Remove the 20 % least important non-backbone connections.

        Backbone connections cannot go (they keep the network connected);
        when only they exist, the least important fifth has its probability
        halved instead (not below ``P_BOUNDS[0]``).
        """
        removable = [c for c in g.connections if not _is_backbone(g, c)]
        if removable:
            n = max(1, math.floor(0.2 * len(removable)))
            order = sorted(removable, key=lambda c: _importance(g, c))[:n]
            drop = {(c.pre, c.post) for c in order}
            g.connections = [c for c in g.connections if (c.pre, c.post) not in drop]
            return True
        n = max(1, math.floor(0.2 * len(g.connections)))
        for c in sorted(g.connections, key=lambda c: _importance(g, c))[:n]:
            c.p = _clip(c.p / 2, P_BOUNDS)
        return True

    def _grow_connections(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        """Add 10 % more connections (at least one), shortest forward gaps first."""
        names = g.node_names()
        have = {(c.pre, c.post) for c in g.connections}
        pairs = [
            (i, j)
            for i in range(len(names) - 1)
            for j in range(i + 1, len(names))
            if names[i] != OUTPUT and (names[i], names[j]) not in have
        ]
        if not pairs:
            return False
        r.shuffle(pairs)  # random order among equal distances (sort is stable)
        pairs.sort(key=lambda ij: ij[1] - ij[0])
        n = max(1, math.ceil(0.1 * len(g.connections)))
        for i, j in pairs[:n]:
            g.connections.append(_random_gene(g, names[i], names[j], r, 200.0))
        return True

    def _module_duplication(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        if not g.modules:
            return False
        m = g.modules[int(r.integers(0, len(g.modules)))]
        extra = sum(la.size for la in m.layers)
        if not self._room(g, extra, len(m.layers)):
            return False
        taken: set[str] = set()
        rename: dict[str, str] = {}
        for la in m.layers:
            rename[la.name] = _new_name(g, "h", taken)
            taken.add(rename[la.name])
        copy = Module(
            _new_name(g, "m", taken),
            [
                Layer(rename[la.name], la.model, la.size, la.bias_pa, dict(la.params))
                for la in m.layers
            ],
        )
        names = g.node_names()
        last = m.layers[-1].name
        nxt = names[names.index(last) + 1] if names.index(last) + 1 < len(names) else None
        inside = [c for c in g.connections if c.pre in rename and c.post in rename]
        into_first = next(
            c
            for c in g.connections
            if c.post == m.layers[0].name and g.connection_kind(c) == "feedforward"
        )
        g.modules.insert(g.modules.index(m) + 1, copy)
        for c in inside:
            g.connections.append(_copy_gene(c, rename[c.pre], rename[c.post]))
        g.connections.append(_copy_gene(into_first, last, rename[m.layers[0].name]))
        if nxt is not None:
            out = next(c for c in g.connections if (c.pre, c.post) == (last, nxt))
            g.connections.append(_copy_gene(out, rename[last], nxt))
        return True

    def _module_fusion(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        if len(g.modules) < 2:
            return False
        k = int(r.integers(0, len(g.modules) - 1))
        g.modules[k].layers.extend(g.modules[k + 1].layers)
        del g.modules[k + 1]
        return True

    def _adaptive_layer_size(
        self, g: EvoGenome, r: np.random.Generator, data: Mapping[str, Any]
    ) -> bool:
        """Resize one layer by 25 %.

        With ``performance_data["layer_rates_hz"]``: the layer furthest from
        the 5-50 Hz band is chosen; a nearly silent one (< 5 Hz) shrinks (its
        neurons carry little), a saturated one (> 50 Hz) grows (to spread the
        load). Without it, a random layer grows or shrinks at random.
        """
        layers = g.layers()
        if not layers:
            return False
        rates = data.get("layer_rates_hz") or {}
        scored = [(la, float(rates[la.name])) for la in layers if la.name in rates]
        if scored:
            la, rate = max(scored, key=lambda lr: max(5.0 - lr[1], lr[1] - 50.0))
            if 5.0 <= rate <= 50.0:
                return False
            factor = 0.75 if rate < 5.0 else 1.25
        else:
            la = layers[int(r.integers(0, len(layers)))]
            factor = 0.75 if r.random() < 0.5 else 1.25
        size = int(np.clip(round(la.size * factor), *SIZE_BOUNDS))
        if size == la.size or not self._room(g, size - la.size, 0):
            return False
        la.size = size
        return True

    def _recurrent_connection(self, g: EvoGenome, r: np.random.Generator, _: Any) -> bool:
        names = g.node_names()
        have = {(c.pre, c.post) for c in g.connections}
        pairs = [
            (i, j)
            for i in range(1, len(names))
            for j in range(1, i + 1)
            if names[i] != OUTPUT and (names[i], names[j]) not in have
        ]
        if not pairs:
            return False
        i, j = pairs[int(r.integers(0, len(pairs)))]
        gene = _random_gene(g, names[i], names[j], r, 100.0)
        gene.delay_ms = (g.dt_ms, 2 * g.dt_ms)
        g.connections.append(gene)
        return True


def _lif_defaults() -> dict[str, float]:
    from evospikenet.evolution.genome import LIF_DEFAULTS

    return dict(LIF_DEFAULTS)


def _copy_gene(c: Connection, pre: str, post: str) -> Connection:
    # Explicit weights belong to the pair of node sizes: a copy between other
    # nodes is drawn from the distribution instead.
    return Connection(pre, post, c.p, c.weight_mean, c.weight_std, c.delay_ms)


def drop_stale_weights(g: EvoGenome) -> None:
    """Turn explicit weights whose node sizes changed back into drawn synapses."""
    for c in g.connections:
        if c.weights is not None and len(c.weights) != _node_size(g, c.pre) * _node_size(g, c.post):
            c.weights = None
        if c.weights is None:
            c.delays = None


def _insert_layers(g: EvoGenome, a: str, b: str, new: list[Layer]) -> None:
    """Insert ``new`` between consecutive nodes ``a`` and ``b`` (no connections)."""
    for module in g.modules:
        names = [la.name for la in module.layers]
        if a in names:
            k = names.index(a)
            module.layers[k + 1 : k + 1] = new
            return
        if b in names:
            k = names.index(b)
            module.layers[k:k] = new
            return
    g.modules.append(Module(_new_name(g, "m"), new))


class MutationEngine:
    """Parameter mutations, then (optionally) structural ones.

    Parameters
    ----------
    base_mutation_rate : float
        Probability that each numeric gene is mutated, in [0, 1].
    mutation_strength : float
        Standard deviation of a step as a fraction of the gene's range, > 0.
    advanced_engine : AdvancedMutationEngine, optional
        Applied after the parameter mutations.
    seed : int
        Seed of the engine's own generator (used when no ``rng`` is passed).

    Raises
    ------
    InvalidParameterError
        For a rate outside [0, 1] or a non-positive strength.

    Notes
    -----
    A real gene ``x`` in ``[lo, hi]`` becomes
    ``clip(x + N(0, (strength (hi - lo))^2), lo, hi)``; a layer size moves by
    ``±max(1, round(strength * size))``; a delay range moves by one step;
    ``network_seed`` is redrawn. Each explicit weight of a directly encoded
    connection (:attr:`Connection.weights`) moves, with probability
    ``weight_rate``, by ``N(0, weight_sigma_pa^2)`` (clipped to its bounds),
    or is redrawn from ``N(0, weight_sigma_pa^2)`` with probability
    ``weight_replace_rate`` (NEAT's weight perturbation and replacement);
    each evolved delay (:attr:`Connection.delays`) moves, with probability
    ``delay_rate``, by ``N(0, delay_sigma_ms^2)`` rounded to the step.
    Genes: input gains and bias, layer sizes, biases and neuron parameters,
    connection probability, weight mean and std, delays, readout neuron
    parameters.
    """

    def __init__(
        self,
        base_mutation_rate: float = 0.05,
        mutation_strength: float = 0.1,
        advanced_engine: AdvancedMutationEngine | None = None,
        seed: int = 0,
        weight_rate: float = 0.8,
        weight_sigma_pa: float = 100.0,
        weight_replace_rate: float = 0.02,
        delay_rate: float = 0.05,
        delay_sigma_ms: float = 2.0,
    ) -> None:
        if not 0.0 <= base_mutation_rate <= 1.0:
            raise InvalidParameterError.of(
                "base_mutation_rate", base_mutation_rate, "must be in [0, 1]"
            )
        if not mutation_strength > 0.0:
            raise InvalidParameterError.of("mutation_strength", mutation_strength, "must be > 0")
        self.base_mutation_rate = float(base_mutation_rate)
        self.mutation_strength = float(mutation_strength)
        self.advanced_engine = advanced_engine
        self.rng = np.random.default_rng(seed)
        for name, value in (("weight_rate", weight_rate),
                            ("weight_replace_rate", weight_replace_rate)):  # fmt: skip
            if not 0.0 <= value <= 1.0:
                raise InvalidParameterError.of(name, value, "must be in [0, 1]")
        if not weight_sigma_pa > 0.0:
            raise InvalidParameterError.of("weight_sigma_pa", weight_sigma_pa, "must be > 0")
        self.weight_rate = float(weight_rate)
        self.weight_sigma_pa = float(weight_sigma_pa)
        self.weight_replace_rate = float(weight_replace_rate)
        if not 0.0 <= delay_rate <= 1.0:
            raise InvalidParameterError.of("delay_rate", delay_rate, "must be in [0, 1]")
        if not delay_sigma_ms > 0.0:
            raise InvalidParameterError.of("delay_sigma_ms", delay_sigma_ms, "must be > 0")
        self.delay_rate = float(delay_rate)
        self.delay_sigma_ms = float(delay_sigma_ms)

    def _real(self, x: float, bounds: tuple[float, float], r: np.random.Generator) -> float:
        if r.random() >= self.base_mutation_rate:
            return x
        return _clip(
            x + float(r.normal(0.0, self.mutation_strength * (bounds[1] - bounds[0]))), bounds
        )

    def _direct(self, weights: Sequence[float], r: np.random.Generator) -> list[float]:
        w = np.asarray(weights, dtype=np.float64)
        u = r.random(w.size)
        step = r.normal(0.0, self.weight_sigma_pa, w.size)
        out = np.where(u < self.weight_rate, w + step, w)
        replace = u > 1.0 - self.weight_replace_rate
        out = np.where(replace, r.normal(0.0, self.weight_sigma_pa, w.size), out)
        return [float(x) for x in np.clip(out, *WEIGHT_MEAN_BOUNDS)]

    def _direct_delays(
        self, delays: Sequence[float], dt_ms: float, r: np.random.Generator
    ) -> list[float]:
        d = np.asarray(delays, dtype=np.float64)
        move = r.random(d.size) < self.delay_rate
        step = np.round(r.normal(0.0, self.delay_sigma_ms, d.size) / dt_ms) * dt_ms
        out = np.clip(np.where(move, d + step, d), max(dt_ms, DELAY_BOUNDS[0]), DELAY_BOUNDS[1])
        return [float(x) for x in np.round(out / dt_ms) * dt_ms]

    def mutate_genome(
        self,
        genome: EvoGenome,
        rng: np.random.Generator | None = None,
        performance_data: Mapping[str, Any] | None = None,
    ) -> EvoGenome:
        """Return a mutated, validated copy of ``genome`` (see Notes of the class).

        ``"parameters"`` is appended to ``mutations`` when a parameter changed.
        """
        r = rng if rng is not None else self.rng
        g = genome.copy()
        before = g.to_dict()
        rate = self.base_mutation_rate
        g.input.gains_pa = [self._real(x, GAIN_BOUNDS, r) for x in g.input.gains_pa]
        g.input.bias_pa = self._real(g.input.bias_pa, BIAS_BOUNDS, r)
        for la in g.layers():
            if r.random() < rate:
                step = max(1, round(self.mutation_strength * la.size))
                la.size = int(
                    np.clip(la.size + (step if r.random() < 0.5 else -step), *SIZE_BOUNDS)
                )
            la.bias_pa = self._real(la.bias_pa, BIAS_BOUNDS, r)
            bounds = LIF_BOUNDS if la.model == "lif" else IZHIKEVICH_BOUNDS
            la.params = {k: self._real(v, bounds[k], r) for k, v in la.params.items()}
        g.readout.params = {k: self._real(v, LIF_BOUNDS[k], r) for k, v in g.readout.params.items()}
        for c in g.connections:
            c.p = self._real(c.p, P_BOUNDS, r)
            c.weight_mean = self._real(c.weight_mean, WEIGHT_MEAN_BOUNDS, r)
            c.weight_std = self._real(c.weight_std, WEIGHT_STD_BOUNDS, r)
            if c.weights is not None:
                c.weights = self._direct(c.weights, r)
            if c.delays is not None:
                c.delays = self._direct_delays(c.delays, g.dt_ms, r)
            if r.random() < rate:
                lo, hi = (round(d / g.dt_ms) for d in c.delay_ms)
                if r.random() < 0.5:
                    lo = int(np.clip(lo + (1 if r.random() < 0.5 else -1), 0, hi))
                else:
                    hi = int(
                        np.clip(hi + (1 if r.random() < 0.5 else -1), lo, DELAY_BOUNDS[1] / g.dt_ms)
                    )
                c.delay_ms = (lo * g.dt_ms, hi * g.dt_ms)
        if r.random() < rate:
            g.network_seed = int(r.integers(0, MAX_SEED))
        drop_stale_weights(g)
        if g.to_dict() != before:
            g.mutations.append("parameters")
        if self.advanced_engine is not None:
            g = self.advanced_engine.apply_mutations(g, performance_data=performance_data, rng=r)
        g.validate()
        return g


# -- crossover -----------------------------------------------------------------


def crossover(
    a: EvoGenome,
    b: EvoGenome,
    rng: np.random.Generator,
    method: Literal["uniform", "single_point", "two_point"] = "uniform",
) -> EvoGenome:
    """Recombine two genomes; the child has ``a``'s structure.

    Genes are aligned by identity (NEAT's homology, Stanley & Miikkulainen
    2002): input gain *i*, the input bias, the layer of the same name (taken
    whole: model, size, bias, parameters), the connection with the same
    ``(pre, post)``, and ``network_seed``. In ``a``'s gene order, each
    position takes ``b``'s gene where ``b`` has it and the method says so:
    ``uniform`` with probability 1/2, ``single_point`` after one random cut,
    ``two_point`` between two random cuts. The structure (layer order,
    modules, which connections exist) stays ``a``'s, so the child is valid.

    Raises
    ------
    InvalidParameterError
        For an unknown ``method`` or genomes with different input or readout sizes.

    References
    ----------
    Stanley KO, Miikkulainen R (2002) Evolving neural networks through
    augmenting topologies. Evol Comput 10:99-127. doi:10.1162/106365602320169811
    """
    if method not in ("uniform", "single_point", "two_point"):
        raise InvalidParameterError.of(
            "method", method, "must be 'uniform', 'single_point' or 'two_point'"
        )
    if (
        a.input.size != b.input.size
        or a.readout.size != b.readout.size
        or a.readout.kind != b.readout.kind
        or a.dt_ms != b.dt_ms
    ):
        raise InvalidParameterError.of(
            "genome", b.genome_id, "parents differ in input, readout or dt_ms"
        )
    child = a.copy()
    b_layers = {la.name: la for la in b.layers()}
    b_conns = {(c.pre, c.post): c for c in b.connections}
    child_layers = child.layers()
    n = a.input.size + 2 + len(child_layers) + len(child.connections)
    if method == "uniform":
        take = rng.random(n) < 0.5
    else:
        cuts = sorted(
            int(x) for x in rng.integers(0, n + 1, size=1 if method == "single_point" else 2)
        )
        pos = np.arange(n)
        take = pos >= cuts[0] if len(cuts) == 1 else (pos >= cuts[0]) & (pos < cuts[1])
    k = 0
    for i in range(a.input.size):
        if take[k]:
            child.input.gains_pa[i] = b.input.gains_pa[i]
        k += 1
    if take[k]:
        child.input.bias_pa = b.input.bias_pa
    k += 1
    if take[k]:
        child.network_seed = b.network_seed
    k += 1
    for la in child_layers:
        other = b_layers.get(la.name)
        if take[k] and other is not None:
            la.model, la.size, la.bias_pa = other.model, other.size, other.bias_pa
            la.params = dict(other.params)
        k += 1
    for c in child.connections:
        other_c = b_conns.get((c.pre, c.post))
        if take[k] and other_c is not None:
            c.p, c.weight_mean = other_c.p, other_c.weight_mean
            c.weight_std, c.delay_ms = other_c.weight_std, other_c.delay_ms
            c.weights = None if other_c.weights is None else list(other_c.weights)
            c.delays = None if other_c.delays is None else list(other_c.delays)
        k += 1
    drop_stale_weights(child)
    child.validate()
    return child


# -- selection ------------------------------------------------------------------


def select(
    fitness: Sequence[float],
    n: int,
    rng: np.random.Generator,
    method: Literal["tournament", "roulette", "rank"] = "tournament",
    tournament_size: int = 3,
) -> list[int]:
    """Pick ``n`` parent indices from a population's fitness values.

    ``tournament``: the best of ``tournament_size`` drawn uniformly with
    replacement. ``roulette``: probability proportional to
    ``f - min(f) + eps`` (shifted so negative fitness works; ``eps`` = 1e-9
    of the range or 1e-12). ``rank``: linear ranking, probability
    proportional to the rank (worst 1, best N; Baker 1985).

    Raises
    ------
    InvalidParameterError
        For an unknown method, an empty population or ``tournament_size < 1``.
    """
    f = np.asarray(fitness, dtype=np.float64)
    if f.size == 0:
        raise InvalidParameterError.of("fitness", [], "population is empty")
    if method == "tournament":
        if tournament_size < 1:
            raise InvalidParameterError.of("tournament_size", tournament_size, "must be >= 1")
        picks = rng.integers(0, f.size, size=(n, tournament_size))
        # argmax takes the first best: ties go to the earlier draw.
        return [int(row[int(np.argmax(f[row]))]) for row in picks]
    if method == "roulette":
        spread = float(f.max() - f.min())
        w = f - f.min() + max(1e-9 * spread, 1e-12)
    elif method == "rank":
        w = np.empty(f.size)
        w[np.argsort(f, kind="stable")] = np.arange(1, f.size + 1)
    else:
        raise InvalidParameterError.of(
            "method", method, "must be 'tournament', 'roulette' or 'rank'"
        )
    return [int(x) for x in rng.choice(f.size, size=n, p=w / w.sum())]
