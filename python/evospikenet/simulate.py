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
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from evospikenet import validation
from evospikenet._atomic import StagedOutputs, staged_outputs
from evospikenet.analysis import cv_isi, fano_factor, mean_rate_hz
from evospikenet.errors import (
    ChainBrokenError,
    FileIOError,
    InvalidParameterError,
    SilentPopulationWarning,
)
from evospikenet.io import WeightWriter, write_spikes
from evospikenet.io.spec import build_from_spec, load_spec
from evospikenet.models import MODELS, BuiltModel, build_model
from evospikenet.network import LIFParameters, LIFPopulation

__all__ = [
    "SOURCES",
    "NetworkRequest",
    "NetworkSource",
    "PopulationSummary",
    "SimulationOutputs",
    "SimulationResult",
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
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

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
    """

    out: str | os.PathLike[str] | None = None
    plot: str | os.PathLike[str] | None = None
    record_weights: str | os.PathLike[str] | None = None
    record_weights_every_ms: float | None = None
    audit_log: str | os.PathLike[str] | None = None

    def files(self) -> dict[str, Path]:
        """Return the output files given, by name (``out``, ``plot``, ``record_weights``)."""
        named = {"out": self.out, "plot": self.plot, "record_weights": self.record_weights}
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


# -- checking and staging the outputs ---------------------------------------------------


def _output_error(name: str, path: Path, reason: str, code: int | None) -> FileIOError:
    return FileIOError(f"cannot write {name} = {os.fspath(path)!r}: {reason}", str(path), code)


@contextlib.contextmanager
def _writing(name: str, path: Path) -> Iterator[None]:
    """Report a failure to write output ``name`` naming it and its target (not the temp file)."""
    try:
        yield
    except OSError as exc:
        cause = exc.__cause__ if isinstance(exc, FileIOError) else exc
        reason = getattr(cause, "strerror", None) or str(cause or exc)
        raise _output_error(name, path, reason, exc.errno) from exc


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
        if path.is_dir():
            raise _output_error(name, path, "is a directory", errno.EISDIR)
        with _writing(name, path):
            staged_files[name] = staged.stage(path)
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
    outputs = SimulationOutputs(out, plot, record_weights, record_weights_every_ms, audit_log)
    request = source.prepare(
        NetworkRequest(
            target, duration_ms, dt_ms, seed, scale, threads, dict(options or {}), plasticity
        ),
        outputs,
    )
    inputs = [Path(target)] if source.reads_target else []
    with staged_outputs() as staged:
        files = _check_outputs(outputs, inputs, staged)
        result = _run(source, request, outputs, files, progress)
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
) -> SimulationResult:
    """Build, run, summarise and write to the staged ``files``."""
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
            )
    if "plot" in files:
        from evospikenet.plotting import plot_format, raster_plot

        target = Path(outputs.plot or "")
        sizes = {k: p.n for k, p in built.populations.items()}
        with _writing("plot", target):
            raster_plot(
                built.spikes(),
                sizes,
                duration,
                files["plot"],
                title=name,
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
        sections=source.report(built),
    )


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
