"""Run a built-in model, a YAML spec, a connectome or the biomimetic framework; summarise it.

The function behind ``evospikenet simulate``. Every kind of network is a
:class:`NetworkSource` of :data:`SOURCES` (how to validate its options, build
it and summarise it beyond the common statistics); :func:`simulate` picks the
source and runs one pipeline for all of them:

1. check every output (``out``, ``plot``, ``record_weights``) and the audit
   log before any work, and stage a temporary file beside each output;
2. build the network (plasticity on its excitatory projections if asked);
3. run it with progress, streaming weight snapshots to their staged file;
4. summarise, write spikes and plot to their staged files, record the run
   in the audit log;
5. rename the staged files over their targets, only once all of that has
   succeeded: a failed run replaces no output.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import validation
from evospikenet._atomic import StagedOutputs, output_error, stage_output, staged_outputs
from evospikenet._build import build_info
from evospikenet._formats import decode_utf8, parse_json
from evospikenet.analysis import (
    cv_isi,
    fano_factor,
    mean_rate_hz,
    rate_binning,
    smoothed_rate_hz,
)
from evospikenet.errors import (
    ChainBrokenError,
    FileIOError,
    InvalidParameterError,
    SilentPopulationWarning,
)
from evospikenet.io import WeightWriter, write_rates, write_spikes, write_states
from evospikenet.io._parquet import RUN_CONFIG_KEY
from evospikenet.io.spec import build_from_spec, load_spec
from evospikenet.models import MODELS, BuiltModel, build_model
from evospikenet.network import LIFParameters, LIFPopulation, StateMonitor

__all__ = [
    "SOURCES",
    "NetworkRequest",
    "NetworkSource",
    "PopulationSummary",
    "RecordSpec",
    "SimulationOutputs",
    "SimulationResult",
    "plot_title",
    "recorded_run",
    "run_config",
    "simulate",
    "source_for",
    "summarize",
    "warn_silent",
]

ProgressCallback = Callable[[float, float], None]


@dataclass(frozen=True)
class PopulationSummary:
    """Statistics of one population over a run.

    Attributes
    ----------
    name : str
        Population name.
    n : int
        Number of neurons.
    synapses_in : int
        Synapses onto the population from all projections.
    spikes : int
        Recorded spikes.
    mean_rate_hz : float
        Spikes per neuron per second.
    cv_isi : float
        Mean CV of inter-spike intervals over neurons with >= 3 spikes (NaN if none).
    fano : float
        Fano factor of the population spike count in 3 ms bins (synchrony; ~1
        for asynchronous firing).
    """

    name: str
    n: int
    synapses_in: int
    spikes: int
    mean_rate_hz: float
    cv_isi: float
    fano: float


@dataclass
class SimulationResult:
    """Outcome of :func:`simulate` (the ``--json`` object of the CLI).

    ``sections`` holds what a source reports beyond the common statistics
    (the biomimetic framework: ``{"biomimetic": {...}}``); each becomes a
    top-level key of :meth:`to_dict`.
    """

    model: str
    seed: int
    dt_ms: float
    duration_ms: float
    build_s: float
    wall_s: float
    real_time_factor: float
    populations: list[PopulationSummary]
    out: str | None = None
    built: BuiltModel | None = field(default=None, repr=False)
    #: Simulated time the recording spans (ms): ``duration_ms``, or more for a model that
    #: also simulates offline time (the biomimetic model's sleep replay). The rates, the
    #: spike file's ``duration_ms`` and the plot's time axis use it.
    simulated_ms: float | None = None
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: The run's full configuration (:func:`run_config`), as recorded in its files.
    config: dict[str, Any] = field(default_factory=dict)
    #: Package version and git revision (:func:`evospikenet._build.build_info`).
    build: dict[str, str | None] = field(default_factory=build_info)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("built", "populations", "sections")
        }
        data["populations"] = [
            {k: clean(v) for k, v in asdict(p).items()} for p in self.populations
        ]
        data = {k: clean(v) for k, v in data.items()}
        data.update({name: dict(section) for name, section in self.sections.items() if section})
        return data


def summarize(built: BuiltModel, duration_ms: float) -> list[PopulationSummary]:
    """Per-population statistics of a run of ``duration_ms``."""
    synapses_in: dict[str, int] = {}
    for proj in built.network.projections:
        synapses_in[proj.post.name] = synapses_in.get(proj.post.name, 0) + len(proj)
    rows = []
    for name, mon in built.monitors.items():
        t, i = mon.t_ms, mon.neuron
        pop = built.populations[name]
        rows.append(
            PopulationSummary(
                name=name,
                n=pop.n,
                synapses_in=synapses_in.get(name, 0),
                spikes=int(t.size),
                mean_rate_hz=mean_rate_hz(int(t.size), pop.n, duration_ms),
                cv_isi=cv_isi(t, i),
                fano=fano_factor(t, duration_ms),
            )
        )
    return rows


#: The LIFParameters fields a silent-population warning quotes (what decides whether it fires).
_LIF_FIRING_FIELDS = ("c_m_pf", "tau_m_ms", "e_l_mv", "v_th_mv", "tau_syn_ex_ms")


def warn_silent(built: BuiltModel, rows: list[PopulationSummary], duration_ms: float) -> None:
    """Warn once per population that emitted no spike in a run of ``duration_ms``.

    A LIF population's message quotes the parameters that decide whether it
    fires, marking those left at the :class:`~evospikenet.network.LIFParameters`
    defaults. Nothing is said of a run of 0 ms.

    Warns
    -----
    SilentPopulationWarning
        Naming the population (its ``population`` attribute).
    """
    if not duration_ms > 0:
        return
    defaults = LIFParameters()
    for row in rows:
        if row.spikes:
            continue
        pop = built.populations.get(row.name)
        hint = ""
        if isinstance(pop, LIFPopulation):
            quoted = [
                f"{k}={getattr(pop.params, k):g}"
                + (" (default)" if getattr(pop.params, k) == getattr(defaults, k) else "")
                for k in _LIF_FIRING_FIELDS
            ]
            hint = f"; LIF parameters {', '.join(quoted)}: does it get enough input?"
        warnings.warn(
            SilentPopulationWarning(
                f"population {row.name!r} ({row.n} neurons) never fired in "
                f"{duration_ms:g} ms{hint}",
                row.name,
            ),
            stacklevel=3,
        )


# -- what to build and where to write it ------------------------------------------------


@dataclass(frozen=True)
class NetworkRequest:
    """What :func:`simulate` asks a :class:`NetworkSource` to build.

    Attributes
    ----------
    target : str or path-like
        The built-in model's name, or the spec or connectome file.
    duration_ms, dt_ms : float or None
        Simulated time and time step (ms); None: the source's default.
    seed : int or None
        Master seed; None: the spec's, else 0.
    scale : float
        Model size factor (built-in models).
    threads : int
        Worker threads.
    options : mapping
        Source-specific builder options.
    plasticity : str or None
        Rule made active on the excitatory projections after the build.
    """

    target: str | os.PathLike[str]
    duration_ms: float | None = None
    dt_ms: float | None = None
    seed: int | None = None
    scale: float = 1.0
    threads: int = 1
    options: Mapping[str, Any] = field(default_factory=dict)
    plasticity: str | None = None


#: Neurons sampled per population when a ``--record`` spec names none.
RECORD_DEFAULT_NEURONS = 10


@dataclass(frozen=True)
class RecordSpec:
    """What ``--record [POP.]VAR[:NEURONS][@EVERY_MS]`` samples.

    Attributes
    ----------
    text : str
        The spec as given (recorded in the run's configuration).
    variable : str
        State variable (``v_mv``; ``i_syn_ex_pa``, ``i_syn_in_pa`` of current
        synapses; ``g_ex_ns``, ``g_in_ns`` of conductance synapses; Izhikevich
        ``v_mv``, ``u``, ``i_syn_pa``).
    population : str or None
        The population; None: every population that has the variable.
    neurons : tuple of int or None
        Indices within the population; None: the first
        :data:`RECORD_DEFAULT_NEURONS` (or all with ``all_neurons``).
    every_ms : float or None
        Sampling interval (ms, a multiple of dt); None: every step.
    all_neurons : bool
        Every neuron of the population (``:all``).
    """

    text: str
    variable: str
    population: str | None = None
    neurons: tuple[int, ...] | None = None
    every_ms: float | None = None
    all_neurons: bool = False

    @classmethod
    def parse(cls, text: str) -> RecordSpec:
        """Parse ``[POP.]VAR[:NEURONS][@EVERY_MS]``.

        ``NEURONS`` is a comma-separated list of indices and inclusive ranges
        (``0-9,20,30-31``) or ``all``; ``EVERY_MS`` a number of ms. Examples:
        ``v_mv``, ``v_mv:0-99@1``, ``E.v_mv:all@0.5``.

        Raises
        ------
        InvalidParameterError
            A malformed spec, naming ``record`` and the spec.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameterError.of("record", text, "must be [POP.]VAR[:NEURONS][@EVERY_MS]")
        head, at, every_text = text.strip().partition("@")
        head, colon, neurons_text = head.partition(":")
        population, dot, variable = head.rpartition(".")
        if not variable or (dot and not population):
            raise InvalidParameterError.of("record", text, "must be [POP.]VAR[:NEURONS][@EVERY_MS]")
        every_ms = None
        if at:
            try:
                every_ms = validation.positive("record", float(every_text))
            except ValueError as exc:
                raise InvalidParameterError.of(
                    "record", text, f"the interval after @ must be a number of ms: {every_text!r}"
                ) from exc
        neurons: tuple[int, ...] | None = None
        if colon and neurons_text.strip() != "all":
            picked: list[int] = []
            for item in neurons_text.split(","):
                lo, dash, hi = item.strip().partition("-")
                if not lo.isdigit() or (dash and not hi.isdigit()):
                    raise InvalidParameterError.of(
                        "record", text, f"neurons must be indices or ranges like 0-9: {item!r}"
                    )
                first, last = int(lo), int(hi) if dash else int(lo)
                if last < first:
                    raise InvalidParameterError.of("record", text, f"empty range {item!r}")
                picked.extend(range(first, last + 1))
            neurons = tuple(sorted(set(picked)))
        return cls(
            text, variable, population or None, neurons, every_ms, colon != "" and neurons is None
        )

    def neurons_of(self, n: int) -> npt.NDArray[np.uint32]:
        """Return the indices to sample in a population of ``n`` neurons.

        Raises
        ------
        InvalidParameterError
            An index beyond the population, naming ``record``.
        """
        if self.all_neurons:
            return np.arange(n, dtype=np.uint32)
        if self.neurons is None:
            return np.arange(min(n, RECORD_DEFAULT_NEURONS), dtype=np.uint32)
        if self.neurons and self.neurons[-1] >= n:
            raise InvalidParameterError.of(
                "record", self.text, f"neuron {self.neurons[-1]} beyond a population of {n}"
            )
        return np.asarray(self.neurons, dtype=np.uint32)


@dataclass(frozen=True)
class SimulationOutputs:
    """The files a run writes (all optional; see :func:`simulate`).

    Attributes
    ----------
    out : path-like or None
        Spike recording (Parquet).
    plot : path-like or None
        Raster and rate plot (PNG, PDF, SVG, ... by suffix).
    record_weights : path-like or None
        Weight snapshots (Parquet).
    record_weights_every_ms : float or None
        Snapshot interval (ms).
    audit_log : path-like or None
        Audit log that records a run writing any of the files above.
    record : tuple of RecordSpec
        State variables to sample (:class:`RecordSpec`, ``--record``).
    record_out : path-like or None
        Parquet file of the sampled states (:func:`evospikenet.io.write_states`).
    rates : path-like or None
        Parquet file of the population rates (:func:`evospikenet.io.write_rates`).
    """

    out: str | os.PathLike[str] | None = None
    plot: str | os.PathLike[str] | None = None
    record_weights: str | os.PathLike[str] | None = None
    record_weights_every_ms: float | None = None
    audit_log: str | os.PathLike[str] | None = None
    record: tuple[RecordSpec, ...] = ()
    record_out: str | os.PathLike[str] | None = None
    rates: str | os.PathLike[str] | None = None

    def files(self) -> dict[str, Path]:
        """Return the output files given, by name (``out``, ``plot``, ``record_weights``, ...)."""
        named = {
            "out": self.out,
            "plot": self.plot,
            "record_weights": self.record_weights,
            "record_out": self.record_out,
            "rates": self.rates,
        }
        return {name: Path(path) for name, path in named.items() if path is not None}


# -- the sources -------------------------------------------------------------------------


def _as_is(request: NetworkRequest, outputs: SimulationOutputs) -> NetworkRequest:
    del outputs
    return request


def _no_sections(built: BuiltModel) -> dict[str, dict[str, Any]]:
    del built
    return {}


@dataclass(frozen=True)
class NetworkSource:
    """One kind of network :func:`simulate` runs.

    Attributes
    ----------
    kind : str
        Its key in :data:`SOURCES`.
    description : str
        What it builds.
    build : callable
        ``build(request) -> (built, name)``: the network, ready to run, and
        the name recorded in the outputs' metadata and the result.
    prepare : callable
        ``prepare(request, outputs) -> request``: checks the options against
        what the source supports (before any work) and returns them as
        ``build`` takes them.
    report : callable
        ``report(built) -> sections``: the source's own summary of a run, as
        :attr:`SimulationResult.sections`.
    reads_target : bool
        Whether ``target`` is an input file (recorded in the audit log).
    """

    kind: str
    description: str
    build: Callable[[NetworkRequest], tuple[BuiltModel, str]]
    prepare: Callable[[NetworkRequest, SimulationOutputs], NetworkRequest] = _as_is
    report: Callable[[BuiltModel], dict[str, dict[str, Any]]] = _no_sections
    reads_target: bool = False


def _build_model(request: NetworkRequest) -> tuple[BuiltModel, str]:
    name = str(request.target)
    if name not in MODELS:
        raise InvalidParameterError.of("model", name, f"unknown model (known: {', '.join(MODELS)})")
    for key in ("seed", "dt_ms", "scale", "threads", "part"):
        if key in request.options:
            flag = "--" + key.replace("_", "-")
            raise InvalidParameterError.of(
                key,
                request.options[key],
                f"a setting of the run, not a model option: give {key}= ({flag} on the "
                "command line)",
            )
    built = build_model(
        name,
        scale=request.scale,
        seed=0 if request.seed is None else request.seed,
        dt_ms=request.dt_ms,
        threads=request.threads,
        **request.options,
    )
    return built, name


def _prepare_biomimetic(request: NetworkRequest, outputs: SimulationOutputs) -> NetworkRequest:
    # the framework owns its plasticity and its run loop (issue 4)
    if outputs.record_weights is not None:
        raise InvalidParameterError.of(
            "record_weights",
            str(outputs.record_weights),
            "not supported by the biomimetic model (its run interleaves sleep replay)",
        )
    if request.plasticity is None:
        return request
    options = {**request.options, "plasticity_rule": request.plasticity}
    return replace(request, options=options, plasticity=None)


def _report_biomimetic(built: BuiltModel) -> dict[str, dict[str, Any]]:
    from evospikenet.models.biomimetic import BiomimeticModel

    return {"biomimetic": built.summary()} if isinstance(built, BiomimeticModel) else {}


def _prepare_spec(request: NetworkRequest, outputs: SimulationOutputs) -> NetworkRequest:
    del outputs
    if request.options:
        key, value = next(iter(request.options.items()))
        raise InvalidParameterError.of(
            key,
            value,
            f"not an option of a spec file (it holds its own parameters: {request.target})",
        )
    return request


def _build_spec(request: NetworkRequest) -> tuple[BuiltModel, str]:
    built = build_from_spec(
        load_spec(request.target),
        seed=request.seed,
        dt_ms=request.dt_ms,
        threads=request.threads,
    )
    return built, f"spec:{Path(request.target).name}"


#: The --param options of a connectome run (:func:`evospikenet.connectome.layer.connectome_model`).
CONNECTOME_OPTIONS = ("drive_rate_hz", "drive_weight_pa", "weight_scale_pa", "g_inh",
                      "gap_scale_ns", "drive")  # fmt: skip


def _prepare_connectome(request: NetworkRequest, outputs: SimulationOutputs) -> NetworkRequest:
    del outputs
    for key, value in request.options.items():
        if key not in CONNECTOME_OPTIONS:
            raise InvalidParameterError.of(
                key, value, f"not an option of a connectome run (options: "
                f"{', '.join(CONNECTOME_OPTIONS)})",
            )  # fmt: skip
    return request


def _build_connectome(request: NetworkRequest) -> tuple[BuiltModel, str]:
    from evospikenet.connectome import load_connectome_npz
    from evospikenet.connectome.layer import connectome_model

    built = connectome_model(
        load_connectome_npz(request.target),
        dt_ms=request.dt_ms,
        seed=0 if request.seed is None else request.seed,
        threads=request.threads,
        duration_ms=request.duration_ms,  # the length of a subset drive's input
        **request.options,
    )
    return built, f"connectome:{Path(request.target).name}"


#: The kinds of network :func:`simulate` runs, by kind.
SOURCES: dict[str, NetworkSource] = {
    "model": NetworkSource(
        "model", "a built-in published network (evospikenet.models.MODELS)", _build_model
    ),
    "biomimetic": NetworkSource(
        "biomimetic",
        "the BrainSimulationFramework as the built-in model 'biomimetic'",
        _build_model,
        prepare=_prepare_biomimetic,
        report=_report_biomimetic,
    ),
    "spec": NetworkSource(
        "spec",
        "a YAML network spec (evospikenet.io.spec)",
        _build_spec,
        prepare=_prepare_spec,
        reads_target=True,
    ),
    "connectome": NetworkSource(
        "connectome",
        "a connectome NPZ as a LIF network with Poisson drive "
        "(evospikenet.connectome.layer.connectome_model)",
        _build_connectome,
        prepare=_prepare_connectome,
        reads_target=True,
    ),
}


def source_for(
    model: str | None,
    spec: str | os.PathLike[str] | None = None,
    connectome: str | os.PathLike[str] | None = None,
) -> tuple[NetworkSource, str | os.PathLike[str]]:
    """Return the source that runs these arguments of :func:`simulate`, and its target.

    A connectome wins over a spec, a spec over ``model``.

    Raises
    ------
    InvalidParameterError
        No network given (``model`` None without a spec or connectome).
    """
    if connectome is not None:
        return SOURCES["connectome"], connectome
    if spec is not None:
        return SOURCES["spec"], spec
    if model is None:
        raise InvalidParameterError.of(
            "model", model, f"unknown model (known: {', '.join(MODELS)})"
        )
    return SOURCES["biomimetic" if model == "biomimetic" else "model"], model


# -- what a run records of itself ----------------------------------------------------

#: Version of the ``run_config`` layout.
RUN_CONFIG_FORMAT = 1


def _jsonable(value: Any) -> Any:
    """``value`` as JSON data: numpy scalars and arrays, tuples and dataclasses converted.

    Objects without a data form (a projection, a rule object that is not a
    dataclass) become their ``repr``.
    """
    import numpy as np

    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _jsonable(getattr(value, f.name)) for f in fields(value)}
        return {"type": type(value).__name__, **data}
    return repr(value)


def _file_sha256(path: str | os.PathLike[str]) -> str:
    import hashlib

    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_config(
    source: NetworkSource,
    request: NetworkRequest,
    outputs: SimulationOutputs,
    built: BuiltModel,
    name: str,
    duration_ms: float,
) -> dict[str, Any]:
    """Return the full configuration of a run, as its outputs record it (``run_config``).

    Returns a JSON-ready dict: ``format`` (1), ``source`` (a key of
    :data:`SOURCES`), ``model`` (the name in the metadata), ``target`` (the
    model's name, or the absolute path of the spec or connectome file) and,
    for a file, ``target_sha256``; the resolved ``seed``, ``dt_ms`` (ms) and
    ``duration_ms`` (ms, the wake time asked for); ``scale``, ``threads``,
    ``options`` (the ``--param`` options as given), ``plasticity``,
    ``record_weights_every_ms``, ``record`` (the ``--record`` specs);
    ``parameters``, the parameter set the network was built with, defaults
    included (the model's own record of it, :attr:`BuiltModel.parameters`);
    and ``build``, the package version and git revision (:func:`evospikenet._build.build_info`).
    :func:`recorded_run` turns it back into arguments of :func:`simulate`.
    """
    net = built.network
    config: dict[str, Any] = {
        "format": RUN_CONFIG_FORMAT,
        "source": source.kind,
        "model": name,
        "target": str(request.target),
    }
    if source.reads_target:
        config["target"] = os.fspath(Path(request.target).resolve())
        config["target_sha256"] = _file_sha256(request.target)
    config.update(
        seed=int(net.seed),
        dt_ms=float(net.dt_ms),
        duration_ms=float(duration_ms),
        scale=float(request.scale),
        threads=int(request.threads),
        options=_jsonable(dict(request.options)),
        plasticity=request.plasticity,
        record_weights_every_ms=outputs.record_weights_every_ms,
        record=[spec.text for spec in outputs.record],
        parameters=_jsonable(built.parameters),
        build=build_info(),
    )
    return config


def plot_title(config: dict[str, Any]) -> str:
    """Return the title of a run's plot: model, regime or options, seed, scale, duration.

    ``config`` is a :func:`run_config`. The regime is the model's resolved
    one (brunel2000: ``regime SR``); the options are those given; "default
    parameters" when there are neither.
    """
    parts = []
    regime = config.get("parameters", {}).get("regime")
    if regime is not None:
        parts.append(f"regime {regime}")
    parts += [f"{k}={v}" for k, v in config.get("options", {}).items() if k != "regime"]
    if config.get("plasticity"):
        parts.append(f"plasticity {config['plasticity']}")
    setting = ", ".join(parts) or "default parameters"
    return (
        f"{config['model']}: {setting}\nseed {config['seed']}, scale {config['scale']:g}, "
        f"dt {config['dt_ms']:g} ms, {config['duration_ms']:g} ms"
    )


def recorded_run(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the ``run_config`` of a spike or weight file as keyword arguments of :func:`simulate`.

    ``simulate(**recorded_run(path), out=...)`` reruns the recorded run:
    same network, seed, time step and duration, hence the same spikes (the
    engine is deterministic for a seed, whatever the thread count).

    Parameters
    ----------
    path : path-like
        A Parquet file written by :func:`simulate` (``--out`` or
        ``--record-weights``).

    Returns
    -------
    dict
        ``model`` or ``spec`` or ``connectome``, ``duration_ms``, ``dt_ms``,
        ``seed``, ``scale``, ``threads``, ``options``, ``plasticity``,
        ``record_weights_every_ms``, ``record`` (the ``--record`` specs;
        they need ``record_out``).

    Raises
    ------
    FileIOError
        Unreadable file, or a spec or connectome it names that is missing.
    InvalidParameterError
        No ``run_config`` in the file (not written by :func:`simulate`, or by
        an older version), an unknown layout, or a spec or connectome file
        whose content changed since the run (its SHA-256 differs).
    """
    import pyarrow.parquet as pq

    try:
        raw = pq.read_schema(path).metadata or {}
    except (OSError, ValueError) as exc:
        raise FileIOError(
            f"cannot read run_config from {os.fspath(path)!r}: {exc}",
            os.fspath(path),
            getattr(exc, "errno", None),
        ) from exc
    text = raw.get(RUN_CONFIG_KEY.encode())
    if text is None:
        raise InvalidParameterError.of(
            "from", os.fspath(path), "has no run_config (not written by simulate, or too old)"
        )
    where = os.fspath(path)
    config = parse_json(decode_utf8(text, "run_config", where), "run_config", where)
    if not isinstance(config, dict) or config.get("format") != RUN_CONFIG_FORMAT:
        got = config.get("format") if isinstance(config, dict) else config
        raise InvalidParameterError.of(
            "run_config.format", got, f"unknown layout (known: {RUN_CONFIG_FORMAT})"
        )
    kind, target = config.get("source"), config.get("target")
    if kind not in SOURCES or not isinstance(target, str):
        raise InvalidParameterError.of(
            "run_config.source", kind, f"unknown (known: {', '.join(SOURCES)})"
        )
    if SOURCES[kind].reads_target:
        if not Path(target).is_file():
            raise FileIOError(
                f"cannot read run_config.target = {target!r}: no such file", target, errno.ENOENT
            )
        if _file_sha256(target) != config.get("target_sha256"):
            raise InvalidParameterError.of(
                "run_config.target", target, "changed since the run (SHA-256 differs)"
            )
    where = {"spec": "spec", "connectome": "connectome"}.get(kind, "model")
    kwargs: dict[str, Any] = {"model": None, where: target}
    for key in ("duration_ms", "dt_ms", "seed", "scale", "threads", "options", "plasticity"):
        kwargs[key] = config.get(key)
    kwargs["record_weights_every_ms"] = config.get("record_weights_every_ms")
    kwargs["record"] = list(config.get("record") or [])
    kwargs["options"] = dict(kwargs["options"] or {})
    return kwargs


# -- checking and staging the outputs ---------------------------------------------------

#: Suffixes accepted for the Parquet outputs (``out``, ``record_weights``); any
#: other (``.csv``, ``.json``, none) is refused rather than written as Parquet.
PARQUET_SUFFIXES = (".parquet", ".pq")


@contextlib.contextmanager
def _writing(name: str, path: Path) -> Iterator[None]:
    """Report a failure to write output ``name`` naming it and its target (not the temp file)."""
    try:
        yield
    except OSError as exc:
        cause = exc.__cause__ if isinstance(exc, FileIOError) else exc
        reason = getattr(cause, "strerror", None) or str(cause or exc)
        raise output_error(name, path, reason, exc.errno) from exc


def _check_outputs(
    outputs: SimulationOutputs, inputs: list[Path], staged: StagedOutputs
) -> dict[str, Path]:
    """Check every output and the audit log; stage a temporary file per output.

    Returns the staged files by parameter name. Raises FileIOError or
    InvalidParameterError naming the parameter and its value.
    """
    from evospikenet.audit import check_audit_log

    files = outputs.files()
    seen: dict[Path, str] = {p.resolve(): f"input {p}" for p in inputs}
    if outputs.audit_log is not None:
        seen.setdefault(Path(outputs.audit_log).resolve(), "audit_log")
    for name, path in files.items():
        other = seen.setdefault(path.resolve(), name)
        if other != name:
            raise InvalidParameterError.of(name, os.fspath(path), f"same file as {other}")
    for name in ("out", "record_weights", "record_out", "rates"):
        parquet = files.get(name)
        if parquet is None or parquet.is_dir() or parquet.suffix.lower() in PARQUET_SUFFIXES:
            continue
        raise InvalidParameterError.of(
            name,
            os.fspath(parquet),
            f"writes Parquet only: the file name must end in "
            f"{' or '.join(PARQUET_SUFFIXES)} (not {parquet.suffix or 'no suffix'!r})",
        )
    if outputs.plot is not None:
        from evospikenet.plotting import plot_format

        plot_format(outputs.plot)
    if outputs.audit_log is not None and files:  # a run without outputs is not recorded
        log = Path(outputs.audit_log)
        try:
            check_audit_log(log)
        except FileIOError as exc:
            reason = str(exc).split(": ", 1)[-1]
            raise FileIOError(
                f"cannot use audit_log = {os.fspath(log)!r}: {reason}", str(log), exc.errno
            ) from exc
        except ChainBrokenError as exc:
            raise InvalidParameterError.of("audit_log", os.fspath(log), str(exc)) from exc
    staged_files = {}
    for name, path in files.items():
        staged_files[name] = stage_output(staged, name, path)
    return staged_files


# -- the pipeline --------------------------------------------------------------------------


def simulate(
    model: str | None = "cuba",
    *,
    spec: str | os.PathLike[str] | None = None,
    duration_ms: float | None = None,
    dt_ms: float | None = None,
    seed: int | None = None,
    scale: float = 1.0,
    threads: int = 1,
    out: str | os.PathLike[str] | None = None,
    progress: ProgressCallback | None = None,
    options: dict[str, Any] | None = None,
    connectome: str | os.PathLike[str] | None = None,
    plasticity: str | None = None,
    record_weights: str | os.PathLike[str] | None = None,
    record_weights_every_ms: float | None = None,
    plot: str | os.PathLike[str] | None = None,
    audit_log: str | os.PathLike[str] | None = None,
    record: Sequence[str] = (),
    record_out: str | os.PathLike[str] | None = None,
    rates: str | os.PathLike[str] | None = None,
) -> SimulationResult:
    """Build and run a network, summarise it, and write its outputs.

    The network is a built-in model, a YAML spec, a connectome or the
    biomimetic framework (a :class:`NetworkSource` of :data:`SOURCES`, chosen
    by :func:`source_for`). Every output and the audit log are checked before
    the work, written to temporary files beside their targets, and renamed
    over them only when everything succeeded: a failed run (bad input, an
    error in the run, a failed write or audit entry) replaces no file.

    Parameters
    ----------
    model : str or None
        Built-in model name (see :data:`evospikenet.models.MODELS`); ignored
        when ``spec`` or ``connectome`` is given.
    spec : path-like, optional
        YAML network spec (:mod:`evospikenet.io.spec`); takes no ``options``.
    duration_ms : float, optional
        Simulated time (ms); default the model's or the spec's.
    dt_ms : float, optional
        Time step (ms); default the model's published one or the spec's.
    seed : int, optional
        Master seed; default the spec's, or 0 for a built-in model.
    scale : float
        Model size factor (> 0; built-in models only).
    threads : int
        Worker threads.
    out : path-like, optional
        Parquet file for the spikes.
    progress : callable, optional
        ``progress(t_done_ms, t_total_ms)`` between chunks.
    options : dict, optional
        Model-specific builder options (for ``connectome``: the keyword
        arguments of :func:`evospikenet.connectome.layer.connectome_model`).
    connectome : path-like, optional
        Connectome NPZ file to simulate as a LIF network with Poisson drive
        into every neuron (:func:`evospikenet.connectome.layer.connectome_model`);
        ``model`` is then ignored.
    plasticity : {"stdp", "rstdp", "bcm", "oja"}, optional
        Make every excitatory projection plastic with the default rule of
        :func:`evospikenet.plasticity.default_rule` (``w_max`` = twice the
        projection's largest initial weight); the biomimetic model takes it
        as its ``plasticity_rule``.
    record_weights : path-like, optional
        Parquet file of weight snapshots (:func:`evospikenet.io.write_weights`:
        columns step, projection, pre, post, weight) of the plastic
        projections (all projections when none is plastic), at step 0, every
        ``record_weights_every_ms`` and at the end; streamed to its temporary
        file during the run. Not for the biomimetic model.
    record_weights_every_ms : float, optional
        Snapshot interval (ms, a multiple of dt); default a tenth of the run.
    plot : path-like, optional
        Raster and population-rate plot (:func:`evospikenet.plotting.raster_plot`;
        format by suffix; needs the ``plot`` extra).
    audit_log : path-like, optional
        Audit log (:mod:`evospikenet.audit`) to record the run in when it
        writes any file: one ``cli.simulate`` entry with the inputs' and
        outputs' SHA-256, written before the outputs replace their targets.
    record : sequence of str, optional
        State variables to sample, each ``[POP.]VAR[:NEURONS][@EVERY_MS]``
        (:meth:`RecordSpec.parse`; default the first 10 neurons of every
        population that has ``VAR``, every step); needs ``record_out``.
    record_out : path-like, optional
        Parquet file of the samples (:func:`evospikenet.io.write_states`:
        columns t_ms, population, neuron, variable, value).
    rates : path-like, optional
        Parquet file of the population rates
        (:func:`evospikenet.io.write_rates`: columns t_ms, population,
        rate_hz), binned and smoothed as the plot's
        (:func:`evospikenet.analysis.rate_binning`).

    Returns
    -------
    SimulationResult

    Raises
    ------
    InvalidParameterError
        Unknown model, bad times, seed or scale, bad spec content, a
        connectome file that breaks the NPZ contract, an option the source
        does not take, an unknown plot format, two outputs naming one file,
        an audit log that ends in a torn line or a damaged entry.
    FileIOError
        Unreadable spec or connectome, an output that cannot be written
        (missing or read-only directory, a directory as target) or an audit
        log that cannot be appended to; the message names the parameter and
        its value. No existing output is replaced.
    MissingExtraError
        ``plot`` without matplotlib.

    Warns
    -----
    SilentPopulationWarning
        At the end of a run, for each population that never fired
        (:func:`warn_silent`).
    """
    if duration_ms is not None:
        validation.non_negative("duration_ms", duration_ms)
    source, target = source_for(model, spec, connectome)
    if isinstance(record, str):
        record = [record]
    specs = tuple(RecordSpec.parse(text) for text in record)
    if specs and record_out is None:
        raise InvalidParameterError.of("record", specs[0].text, "needs record_out (--record-out)")
    if record_out is not None and not specs:
        raise InvalidParameterError.of(
            "record_out", os.fspath(record_out), "needs record (--record VAR...)"
        )
    outputs = SimulationOutputs(
        out, plot, record_weights, record_weights_every_ms, audit_log, specs, record_out, rates
    )
    request = source.prepare(
        NetworkRequest(
            target, duration_ms, dt_ms, seed, scale, threads, dict(options or {}), plasticity
        ),
        outputs,
    )
    inputs = [Path(target)] if source.reads_target else []
    given = NetworkRequest(
        target, duration_ms, dt_ms, seed, scale, threads, dict(options or {}), plasticity
    )
    with staged_outputs() as staged:
        files = _check_outputs(outputs, inputs, staged)
        result = _run(source, request, outputs, files, progress, given)
        if outputs.audit_log is not None and files:
            from evospikenet.audit import record_command

            detail = {
                "model": result.model, "seed": result.seed, "dt_ms": result.dt_ms,
                "duration_ms": result.duration_ms, "scale": scale, "params": dict(options or {}),
            }  # fmt: skip
            targets = outputs.files()
            record_command(
                outputs.audit_log,
                "simulate",
                inputs,
                list(targets.values()),
                "success",
                detail,
                staged={os.fspath(targets[name]): tmp for name, tmp in files.items()},
            )
    if result.built is not None:
        warn_silent(result.built, result.populations, result.duration_ms)
    return result


def _run(
    source: NetworkSource,
    request: NetworkRequest,
    outputs: SimulationOutputs,
    files: dict[str, Path],
    progress: ProgressCallback | None,
    given: NetworkRequest,
) -> SimulationResult:
    """Build, run, summarise and write to the staged ``files``.

    ``given`` is the request as the caller made it (before ``prepare``): what
    the outputs record as the run's configuration.
    """
    t0 = time.perf_counter()
    built, name = source.build(request)
    plastic = []
    if request.plasticity is not None:
        from evospikenet.plasticity import apply_to_excitatory

        plastic = apply_to_excitatory(built.network, request.plasticity)
    build_s = time.perf_counter() - t0
    duration = float(built.duration_ms if request.duration_ms is None else request.duration_ms)
    validation.non_negative("duration_ms", duration)
    net = built.network
    if duration / net.dt_ms > 2**53:
        raise validation.invalid(
            "duration_ms", duration, f"is more than 2**53 steps of dt_ms = {net.dt_ms:g}"
        )
    if duration > 0 and round(duration / net.dt_ms) == 0:
        raise validation.invalid(
            "dt_ms", net.dt_ms, f"is longer than the run (duration_ms = {duration:g}): no step"
        )
    config = run_config(source, given, outputs, built, name, duration)
    extra = {RUN_CONFIG_KEY: config}
    state_monitors = _state_monitors(built, outputs.record)
    if "record_weights" not in files:
        t1 = time.perf_counter()
        built.run(duration, progress=progress)
        wall_s = time.perf_counter() - t1
    else:
        target = Path(outputs.record_weights or "")
        # each snapshot streams to the staged file as it is taken
        with (
            _writing("record_weights", target),
            WeightWriter(
                files["record_weights"],
                model=name,
                seed=net.seed,
                dt_ms=net.dt_ms,
                duration_ms=duration,
                extra_metadata=extra,
            ) as writer,
        ):
            wall_s = _run_recording_weights(
                built, duration, outputs.record_weights_every_ms, plastic, progress, writer
            )
    # models that also simulate offline time (the biomimetic model's sleep) ran longer
    recorded_ms = max(duration, net.t_ms)
    if "out" in files:
        with _writing("out", Path(outputs.out or "")):
            write_spikes(
                files["out"],
                built.spikes(),
                model=name,
                seed=net.seed,
                dt_ms=net.dt_ms,
                duration_ms=recorded_ms,
                extra_metadata=extra,
                sizes={k: p.n for k, p in built.populations.items()},
                neuron_ids=built.neuron_ids or None,
            )
    meta: dict[str, Any] = {
        "model": name, "seed": net.seed, "dt_ms": net.dt_ms, "duration_ms": recorded_ms,
    }  # fmt: skip
    if "record_out" in files:
        traces = [
            (mon.population.name, mon.variable, mon.t_ms, mon.neurons, mon.values)
            for mon in state_monitors
        ]
        with _writing("record_out", Path(outputs.record_out or "")):
            write_states(files["record_out"], traces, **meta, extra_metadata=extra)
    if "rates" in files:
        bin_ms, sigma_ms = rate_binning(recorded_ms)
        rates = {
            pop: smoothed_rate_hz(t, built.populations[pop].n, recorded_ms, bin_ms, sigma_ms)
            for pop, (t, _) in built.spikes().items()
        }
        with _writing("rates", Path(outputs.rates or "")):
            write_rates(
                files["rates"], rates, bin_ms=bin_ms, sigma_ms=sigma_ms, **meta,
                extra_metadata=extra,
            )  # fmt: skip
    if "plot" in files:
        from evospikenet.plotting import plot_format, raster_plot

        target = Path(outputs.plot or "")
        sizes = {k: p.n for k, p in built.populations.items()}
        with _writing("plot", target):
            raster_plot(
                built.spikes(),
                sizes,
                recorded_ms,
                files["plot"],
                title=plot_title(config),
                format=plot_format(target),
            )
    return SimulationResult(
        model=name,
        seed=net.seed,
        dt_ms=net.dt_ms,
        duration_ms=duration,
        build_s=build_s,
        wall_s=wall_s,
        real_time_factor=wall_s / (duration * 1e-3) if duration > 0 else float("nan"),
        populations=summarize(built, recorded_ms),
        out=None if outputs.out is None else str(outputs.out),
        built=built,
        simulated_ms=recorded_ms,
        sections=source.report(built),
        config=config,
    )


def _state_monitors(built: BuiltModel, specs: tuple[RecordSpec, ...]) -> list[StateMonitor]:
    """Attach a state monitor per spec and population (before the run).

    Raises
    ------
    InvalidParameterError
        An unknown population, a variable no population has (or the named
        one lacks), a neuron out of range, an interval not a multiple of dt;
        each naming ``record`` and the spec.
    """
    monitors = []
    for spec in specs:
        if spec.population is not None:
            if spec.population not in built.populations:
                known = ", ".join(built.populations)
                raise InvalidParameterError.of(
                    "record", spec.text, f"unknown population {spec.population!r} (known: {known})"
                )
            candidates = [built.populations[spec.population]]
        else:
            candidates = [p for p in built.populations.values() if not p.remote]
        attached = 0
        for pop in candidates:
            try:
                monitors.append(
                    built.network.state_monitor(
                        pop, spec.variable, spec.neurons_of(pop.n), spec.every_ms
                    )
                )
            except InvalidParameterError as exc:
                if spec.population is None and exc.name == "variable":
                    continue  # this population has no such variable; another may
                raise InvalidParameterError.of("record", spec.text, exc.reason) from exc
            attached += 1
        if not attached:
            raise InvalidParameterError.of(
                "record", spec.text, f"no population has the state variable {spec.variable!r}"
            )
    return monitors


def _run_recording_weights(
    built: BuiltModel,
    duration_ms: float,
    every_ms: float | None,
    plastic: list[Any],
    progress: Callable[[float, float], None] | None,
    writer: WeightWriter,
) -> float:
    """Run ``duration_ms`` in segments; snapshot weights at 0, every ``every_ms``, the end.

    Each snapshot goes to ``writer`` at once. Returns the wall time (s) of the
    run without the time spent writing.
    """
    net = built.network
    total = round(duration_ms / net.dt_ms)
    if every_ms is None:
        every = max(1, total // 10)
    else:
        every = validation.steps("record_weights_every_ms", every_ms, net.dt_ms, 1)
    coords = []  # plastic is in network order, like net.projections
    for proj in plastic or net.projections:
        arrays = proj.arrays()
        label = f"{proj.index}:{proj.pre.name}->{proj.post.name}"
        coords.append((proj, label, arrays["pre"], arrays["post"]))
    write_s = 0.0

    def snap() -> None:
        nonlocal write_s
        step = round(net.t_ms / net.dt_ms)
        snapshot = [(label, pre, post, proj.weights()) for proj, label, pre, post in coords]
        t_w = time.perf_counter()
        writer.write_snapshot(step, snapshot)
        write_s += time.perf_counter() - t_w

    t0 = time.perf_counter()
    start_ms = net.t_ms
    snap()
    done = 0
    while done < total:
        todo = min(every, total - done)
        offset = done * net.dt_ms

        def segment_progress(t_done: float, _t_total: float, offset: float = offset) -> None:
            if progress is not None:
                progress(offset + t_done, duration_ms)

        net.run(todo * net.dt_ms, progress=segment_progress)
        done += todo
        snap()
    assert abs(net.t_ms - start_ms - total * net.dt_ms) < 1e-6 * max(1.0, duration_ms)
    return time.perf_counter() - t0 - write_s
