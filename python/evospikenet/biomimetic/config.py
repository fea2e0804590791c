"""Configuration of the biomimetic framework: its phases, parameters and brain regions.

:class:`BrainSimulationConfig` holds the parameters of
:class:`~evospikenet.biomimetic.framework.BrainSimulationFramework`, :data:`PHASES`
names the six phases of its loop,
:func:`parse_neuromod` reads ``--neuromod`` levels and :class:`BrainRegionConfig`
describes a region of :class:`~evospikenet.biomimetic.framework.BrainRegionIntegrator`.
Plain data and validation: nothing here touches the engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import numpy as np

from evospikenet.biomimetic.neuromodulation import LEVEL_NAMES, NeuromodulatorGate
from evospikenet.errors import InvalidParameterError

__all__ = [
    "PHASES",
    "SEED_ALIASES",
    "BrainRegionConfig",
    "BrainSimulationConfig",
    "is_int",
    "is_real",
    "parse_neuromod",
]

PHASES = (
    "developmental_schedule",
    "circuit_step",
    "plasticity_gate",
    "energy_homeostasis",
    "hippocampal_store",
    "sleep_consolidation",
)

#: Accepted alternative names (without unit suffix) of some fields, and the field each means.
SEED_ALIASES = {
    "refractory_period": "refractory_period_ms",
    "membrane_time_constant": "membrane_time_constant_ms",
    "duration": "duration_ms",
}


def is_int(value: Any) -> bool:
    """Return whether ``value`` is an integer (Python or numpy), not a bool."""
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def is_real(value: Any) -> bool:
    """Return whether ``value`` is a finite real number (Python or numpy), not a bool."""
    return (
        not isinstance(value, bool)
        and isinstance(value, int | float | np.integer | np.floating)
        and math.isfinite(float(value))
    )


@dataclass(frozen=True)
class BrainSimulationConfig:
    """Parameters of :class:`BrainSimulationFramework` .

    ===============================  ======== =======  =======================================
    name (alias)                     default   unit    meaning
    ===============================  ======== =======  =======================================
    ``num_neurons``                  1000              circuit neurons (E + I), >= 2
    ``connection_probability``       0.1               recurrent connection probability
    ``excitatory_ratio``             0.8               fraction of excitatory neurons
    ``inhibitory_ratio``             0.2               fraction of inhibitory; sums to 1 with E
    ``refractory_period_ms``         5        ms       absolute refractory period (LIF)
      (``refractory_period``)
    ``membrane_time_constant_ms``    20       ms       membrane time constant (LIF)
      (``membrane_time_constant``)
    ``enable_biomimetic``            True              run phases 1 and 3-6
    ``development_epoch``            0                 developmental epoch of this run
    ``total_epochs``                 1000              length of development (epochs)
    ``energy_budget_w``              10       W        node power budget
    ``duration_ms`` (``duration``)   1000     ms       default wake time of a run
    ``plasticity_rule``              stdp              ``stdp``, ``rstdp``, ``bcm``, ``oja``
    ``plasticity_interval``          10       steps    steps between gate/energy/memory phases
    ``sleep_every``                  500      steps    wake steps between sleeps (0: never)
    ``sleep_cycles``                 3                 replay rounds per sleep
    ``sleep_phase_steps``            100      steps    minimum length of a sleep cycle
    ``neuron_type``                  lif               ``lif`` or ``izhikevich``
    ``dt_ms``                        1.0      ms       time step
    ``seed``                         0                 master seed
    ``n_inputs``                     100               sensory relay neurons
    ``input_rate_hz``                5        Hz       background rate of each relay neuron
    ``n_patterns``                   2                 recurring stimulus patterns
    ``pattern_fraction``             0.2               fraction of relay neurons in a pattern
    ``stimulus_interval_ms``         100      ms       one stimulus presentation per interval
    ``rewarded_pattern``             0                 pattern followed by reward 1 (-1: none)
    ``episode_ms``                   50       ms       episode window from stimulus onset
    ``replay_buffer_size``           256               hippocampal buffer capacity
    ``replay_per_cycle``             8                 episodes replayed per sleep cycle
    ``replay_compression``           1                 replay speed-up (>= 1; Nádasdy 1999)
    ``neuromod``                     {}                initial gate levels (``dopamine`` ...)
    ===============================  ======== =======  =======================================

    Raises
    ------
    InvalidParameterError
        Any field out of its domain, naming the field.
    """

    num_neurons: int = 1000
    connection_probability: float = 0.1
    excitatory_ratio: float = 0.8
    inhibitory_ratio: float = 0.2
    refractory_period_ms: float = 5.0
    membrane_time_constant_ms: float = 20.0
    enable_biomimetic: bool = True
    development_epoch: int = 0
    total_epochs: int = 1000
    energy_budget_w: float = 10.0
    duration_ms: float = 1000.0
    plasticity_rule: Literal["stdp", "rstdp", "bcm", "oja"] = "stdp"
    plasticity_interval: int = 10
    sleep_every: int = 500
    sleep_cycles: int = 3
    sleep_phase_steps: int = 100
    neuron_type: Literal["lif", "izhikevich"] = "lif"
    dt_ms: float = 1.0
    seed: int = 0
    n_inputs: int = 100
    input_rate_hz: float = 5.0
    n_patterns: int = 2
    pattern_fraction: float = 0.2
    stimulus_interval_ms: float = 100.0
    rewarded_pattern: int = 0
    episode_ms: float = 50.0
    replay_buffer_size: int = 256
    replay_per_cycle: int = 8
    replay_compression: float = 1.0
    neuromod: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def integer(name: str, minimum: int) -> None:
            v = getattr(self, name)
            if not is_int(v) or int(v) < minimum:
                raise InvalidParameterError.of(name, v, f"must be an integer >= {minimum}")

        def real(name: str, lo: float, hi: float = math.inf, open_lo: bool = False) -> None:
            v = getattr(self, name)
            ok = is_real(v) and (float(v) > lo if open_lo else float(v) >= lo) and float(v) <= hi
            if not ok:
                bound = f"{'>' if open_lo else '>='} {lo}" + (
                    f" and <= {hi}" if hi < math.inf else ""
                )
                raise InvalidParameterError.of(name, v, f"must be a finite number {bound}")

        integer("num_neurons", 2)
        real("connection_probability", 0.0, 1.0)
        real("excitatory_ratio", 0.0, 1.0, open_lo=True)
        real("inhibitory_ratio", 0.0, 1.0)
        if abs(self.excitatory_ratio + self.inhibitory_ratio - 1.0) > 1e-9:
            raise InvalidParameterError.of(
                "inhibitory_ratio",
                self.inhibitory_ratio,
                f"excitatory_ratio + inhibitory_ratio must be 1 (excitatory_ratio = "
                f"{self.excitatory_ratio})",
            )
        real("refractory_period_ms", 0.0)
        real("membrane_time_constant_ms", 0.0, open_lo=True)
        if not isinstance(self.enable_biomimetic, bool):
            raise InvalidParameterError.of(
                "enable_biomimetic", self.enable_biomimetic, "must be true or false"
            )
        integer("development_epoch", 0)
        integer("total_epochs", 1)
        real("energy_budget_w", 0.0, open_lo=True)
        real("duration_ms", 0.0)
        if self.plasticity_rule not in ("stdp", "rstdp", "bcm", "oja"):
            raise InvalidParameterError.of(
                "plasticity_rule", self.plasticity_rule, "must be 'stdp', 'rstdp', 'bcm' or 'oja'"
            )
        integer("plasticity_interval", 1)
        integer("sleep_every", 0)
        integer("sleep_cycles", 0)
        integer("sleep_phase_steps", 1)
        if self.neuron_type not in ("lif", "izhikevich"):
            raise InvalidParameterError.of(
                "neuron_type", self.neuron_type, "must be 'lif' or 'izhikevich'"
            )
        real("dt_ms", 0.0, open_lo=True)
        if not is_int(self.seed) or not 0 <= int(self.seed) < 2**64:
            raise InvalidParameterError.of("seed", self.seed, "must be an integer in [0, 2**64)")
        integer("n_inputs", 1)
        real("input_rate_hz", 0.0)
        integer("n_patterns", 0)
        real("pattern_fraction", 0.0, 1.0, open_lo=True)
        real("stimulus_interval_ms", 0.0, open_lo=True)
        rp = self.rewarded_pattern
        if not is_int(rp) or not (rp == -1 or 0 <= rp < max(self.n_patterns, 1)):
            raise InvalidParameterError.of(
                "rewarded_pattern",
                self.rewarded_pattern,
                f"must be -1 (none) or a pattern index < n_patterns = {self.n_patterns}",
            )
        real("episode_ms", 0.0, open_lo=True)
        if self.episode_ms > self.stimulus_interval_ms:
            raise InvalidParameterError.of(
                "episode_ms", self.episode_ms, "must be <= stimulus_interval_ms"
            )
        integer("replay_buffer_size", 1)
        integer("replay_per_cycle", 1)
        real("replay_compression", 1.0)
        if not isinstance(self.neuromod, Mapping):
            raise InvalidParameterError.of("neuromod", self.neuromod, "must be a mapping")
        NeuromodulatorGate().update(**dict(self.neuromod))  # validates names and levels

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BrainSimulationConfig:
        """Build from a mapping (e.g. the seed's JSON payload), accepting the seed's names.

        ``refractory_period``, ``membrane_time_constant`` and ``duration``
        are accepted for their ``_ms`` fields.

        Raises
        ------
        InvalidParameterError
            An unknown name (the error lists the known ones), a name given
            twice (seed alias and field), or a value out of its domain.
        """
        known = {f.name for f in fields(cls)}
        out: dict[str, Any] = {}
        for key, value in values.items():
            name = SEED_ALIASES.get(key, key)
            if name not in known:
                raise InvalidParameterError.of(
                    key, value, f"unknown parameter (known: {', '.join(sorted(known))})"
                )
            if name in out:
                raise InvalidParameterError.of(key, value, f"given twice (also as {name})")
            out[name] = value
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        d = asdict(self)
        d["neuromod"] = dict(self.neuromod)
        return d


def parse_neuromod(text: str) -> dict[str, float]:
    """Parse ``"dopamine=0.8,serotonin=0.4"`` into levels (validated).

    Raises
    ------
    InvalidParameterError
        A malformed item, an unknown name, or a level outside [0, 1].
    """
    levels: dict[str, float] = {}
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidParameterError.of("neuromod", item, "items must be NAME=LEVEL")
        if key not in LEVEL_NAMES:
            raise InvalidParameterError.of(
                f"neuromod.{key}",
                value,
                f"unknown neuromodulator (known: {', '.join(LEVEL_NAMES)})",
            )
        try:
            levels[key] = float(value)
        except ValueError:
            raise InvalidParameterError.of(f"neuromod.{key}", value, "must be a number") from None
        if not (math.isfinite(levels[key]) and 0.0 <= levels[key] <= 1.0):
            raise InvalidParameterError.of(f"neuromod.{key}", value, "must be in [0, 1]")
    return levels


@dataclass(frozen=True)
class BrainRegionConfig:
    """A region registered with :class:`BrainRegionIntegrator` (position in mm)."""

    name: str
    n_neurons: int
    x_mm: float = 0.0
    y_mm: float = 0.0
    kind: str = "region"
