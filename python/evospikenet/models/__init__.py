"""Built-in published networks.

Each entry of :data:`MODELS` builds a ready-to-run :class:`BuiltModel` from
``scale``, ``seed``, ``dt_ms`` and ``threads``; the model modules document
their parameters and sources.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evospikenet import validation
from evospikenet.errors import InvalidParameterError
from evospikenet.models import (
    brunel2000,
    brunel_alpha,
    cobahh,
    izhikevich2003,
    izhikevich2006,
    naud2008,
    potjans2014,
    song2000,
    vogels_abbott,
)
from evospikenet.models._base import BuiltModel
from evospikenet.partition import Part

__all__ = ["MODELS", "BuiltModel", "ModelInfo", "build_model"]

# Option names of the biomimetic model: the BrainSimulationConfig fields but seed and
# dt_ms, which are the run's (issue 4; tests/test_brain_simulation.py checks the list).
_BIOMIMETIC_OPTIONS: tuple[str, ...] = (
    "num_neurons", "connection_probability", "excitatory_ratio", "inhibitory_ratio",
    "refractory_period_ms", "membrane_time_constant_ms", "enable_biomimetic",
    "development_epoch", "total_epochs", "energy_budget_w", "duration_ms", "plasticity_rule",
    "plasticity_interval", "sleep_every", "sleep_cycles", "sleep_phase_steps", "neuron_type",
    "n_inputs", "input_rate_hz", "n_patterns", "pattern_fraction", "stimulus_interval_ms",
    "rewarded_pattern", "episode_ms", "replay_buffer_size", "replay_per_cycle",
    "replay_compression", "neuromod",
)  # fmt: skip


@dataclass(frozen=True)
class ModelInfo:
    """A built-in model: what it is and how to build it at a scale."""

    name: str
    summary: str
    reference: str
    default_dt_ms: float
    build: Callable[..., BuiltModel]
    options: tuple[str, ...] = ()
    #: Whether the builder takes ``part=`` (:mod:`evospikenet.partition`).
    partitionable: bool = False


def _cuba(scale: float, **kw: Any) -> BuiltModel:
    return vogels_abbott.build_cuba(
        n=max(10, round(4000 * validation.positive("scale", scale))), **kw
    )


def _coba(scale: float, **kw: Any) -> BuiltModel:
    return vogels_abbott.build_coba(
        n=max(10, round(4000 * validation.positive("scale", scale))), **kw
    )


def _brunel_alpha(scale: float, **kw: Any) -> BuiltModel:
    return brunel_alpha.build(scale=scale, **kw)


def _cobahh(scale: float, **kw: Any) -> BuiltModel:
    return cobahh.build(n=max(10, round(4000 * validation.positive("scale", scale))), **kw)


def _naud2008(scale: float, **kw: Any) -> BuiltModel:
    return naud2008.build(n=max(1, round(validation.positive("scale", scale))), **kw)


def _izh(scale: float, **kw: Any) -> BuiltModel:
    s = validation.positive("scale", scale)
    return izhikevich2003.build(n_exc=max(1, round(800 * s)), n_inh=max(1, round(200 * s)), **kw)


def _izh2006(scale: float, **kw: Any) -> BuiltModel:
    s = validation.positive("scale", scale)
    return izhikevich2006.build(n_exc=max(101, round(800 * s)), n_inh=max(1, round(200 * s)), **kw)


def _brunel(scale: float, **kw: Any) -> BuiltModel:
    return brunel2000.build(scale=validation.positive("scale", scale), **kw)


def _potjans(scale: float, **kw: Any) -> BuiltModel:
    return potjans2014.build(scale=validation.positive("scale", scale), **kw)


def _song2000(scale: float, *, threads: int = 1, **kw: Any) -> BuiltModel:
    del threads  # one neuron: nothing to split
    if "n_inputs" not in kw:
        kw["n_inputs"] = max(1, round(1000 * validation.positive("scale", scale)))
    return song2000.build(**kw)


# -- biomimetic (issue 4) --
def _biomimetic(scale: float, **kw: Any) -> BuiltModel:
    from evospikenet.models import biomimetic

    return biomimetic.build(validation.positive("scale", scale), **kw)


MODELS: dict[str, ModelInfo] = {
    "cuba": ModelInfo(
        "cuba",
        "Vogels & Abbott 2005 current-based network (Brette et al. 2007 benchmark 2), 4000 LIF",
        "Brette et al. (2007) J Comput Neurosci 23:349",
        0.1,
        _cuba,
        ("delay_ms",),
        partitionable=True,
    ),
    "coba": ModelInfo(
        "coba",
        "Vogels & Abbott 2005 conductance-based network (Brette et al. 2007 benchmark 1), 4000 LIF",
        "Brette et al. (2007) J Comput Neurosci 23:349",
        0.1,
        _coba,
        ("delay_ms",),
        partitionable=True,
    ),
    "cobahh": ModelInfo(
        "cobahh",
        "Brette et al. 2007 benchmark 3: 4000 Hodgkin-Huxley (Traub-Miles) neurons with "
        "conductance synapses, self-sustained (Brian2's COBAHH example)",
        "Brette et al. (2007) J Comput Neurosci 23:349",
        0.1,
        _cobahh,
        ("delay_ms", "max_substep_ms"),
        partitionable=True,
    ),
    "naud2008": ModelInfo(
        "naud2008",
        "Naud et al. 2008 AdEx firing patterns: tonic, adapting, initial burst, regular "
        "bursting, delayed accelerating, transient; one population each (scale neurons)",
        "Naud et al. (2008) Biol Cybern 99:335",
        0.1,
        _naud2008,
        ("model", "max_substep_ms"),
    ),
    "izhikevich2003": ModelInfo(
        "izhikevich2003",
        "Izhikevich 2003 network of 1000 heterogeneous neurons with thalamic noise",
        "Izhikevich (2003) IEEE Trans Neural Netw 14:1569",
        1.0,
        _izh,
    ),
    "brunel2000": ModelInfo(
        "brunel2000",
        "Brunel 2000 sparse E/I network of 12500 LIF neurons; regimes SR, AI, SI-fast, SI-slow",
        "Brunel (2000) J Comput Neurosci 8:183",
        0.1,
        _brunel,
        ("regime", "g", "eta"),
        partitionable=True,
    ),
    "brunel_alpha": ModelInfo(
        "brunel_alpha",
        "Brunel 2000 model A with alpha currents (NEST's brunel_alpha example): 12500 "
        "iaf_psc_alpha neurons, J = 0.1 mV PSP peak",
        "Brunel (2000) J Comput Neurosci 8:183",
        0.1,
        _brunel_alpha,
        ("g", "eta"),
        partitionable=True,
    ),
    "potjans2014": ModelInfo(
        "potjans2014",
        "Potjans & Diesmann 2014 cortical microcircuit, 8 populations, 77169 LIF at scale 1",
        "Potjans & Diesmann (2014) Cereb Cortex 24:785",
        0.1,
        _potjans,
        ("background", "thalamic", "k_scale", "full_rates"),
        partitionable=True,
    ),
    "izhikevich2006": ModelInfo(
        "izhikevich2006",
        "Izhikevich 2006 polychronization network (spnet): 1000 neurons, delays 1-20 ms, STDP",
        "Izhikevich (2006) Neural Comput 18:245",
        1.0,
        _izh2006,
        ("plastic",),
    ),
    "song2000": ModelInfo(
        "song2000",
        "Song, Miller & Abbott 2000 competitive STDP: 1000 Poisson inputs at 15 Hz onto one "
        "conductance LIF neuron (Brian2's STDP example); 100 s by default",
        "Song, Miller & Abbott (2000) Nat Neurosci 3:919",
        0.1,
        _song2000,
        ("n_inputs", "rate_hz", "plastic"),
    ),
    # -- biomimetic (issue 4) --
    "biomimetic": ModelInfo(
        "biomimetic",
        "BrainSimulationFramework: E/I circuit + STDP x neuromodulation, "
        "hippocampal store, sleep replay, energy budget; 1000 neurons",
        "Doya (2002) Neural Netw 15:495; Song et al. (2000) Nat Neurosci 3:919",
        1.0,
        _biomimetic,
        _BIOMIMETIC_OPTIONS,
    ),
}


def build_model(
    name: str,
    *,
    scale: float = 1.0,
    seed: int = 0,
    dt_ms: float | None = None,
    threads: int = 1,
    part: Part | None = None,
    **options: Any,
) -> BuiltModel:
    """Build built-in model ``name``.

    Parameters
    ----------
    name : str
        A key of :data:`MODELS`.
    scale : float
        Size factor (> 0); each model says how it scales.
    seed : int
        Master seed.
    dt_ms : float, optional
        Time step (ms); default the model's published one.
    threads : int
        Worker threads.
    part : Part, optional
        Build only this part of the network (:mod:`evospikenet.partition`;
        the models with ``partitionable``: cuba, coba, brunel2000,
        potjans2014).
    **options
        Model-specific options (see the model's builder).

    Raises
    ------
    InvalidParameterError
        Unknown model or invalid parameters, or ``part`` for a model that
        cannot be split.
    """
    if name not in MODELS:
        raise InvalidParameterError.of("model", name, f"unknown model (known: {', '.join(MODELS)})")
    info = MODELS[name]
    for key, value in options.items():
        if key not in info.options:
            allowed = ", ".join(info.options) or "none"
            raise InvalidParameterError.of(
                key, value, f"not an option of {name} (options: {allowed})"
            )
    if part is not None:
        if not info.partitionable:
            raise InvalidParameterError.of("part", part, f"{name} cannot be built as a part")
        options["part"] = part
    return info.build(
        scale,
        seed=seed,
        dt_ms=info.default_dt_ms if dt_ms is None else dt_ms,
        threads=threads,
        **options,
    )
