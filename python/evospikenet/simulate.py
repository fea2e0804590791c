"""Run a built-in model or a YAML spec and summarise it.

The function behind ``evospikenet simulate``.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from evospikenet import validation
from evospikenet.analysis import cv_isi, fano_factor, mean_rate_hz
from evospikenet.errors import InvalidParameterError
from evospikenet.io import WeightWriter, write_spikes
from evospikenet.io.spec import build_from_spec, load_spec
from evospikenet.models import MODELS, BuiltModel, build_model

__all__ = ["PopulationSummary", "SimulationResult", "simulate", "summarize"]


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
    """Outcome of :func:`simulate` (the ``--json`` object of the CLI)."""

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

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes None)."""

        def clean(value: Any) -> Any:
            if isinstance(value, float) and not math.isfinite(value):
                return None
            return value

        data = {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("built", "populations")
        }
        data["populations"] = [
            {k: clean(v) for k, v in asdict(p).items()} for p in self.populations
        ]
        return {k: clean(v) for k, v in data.items()}


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
    progress: Callable[[float, float], None] | None = None,
    options: dict[str, Any] | None = None,
    connectome: str | os.PathLike[str] | None = None,
    plasticity: str | None = None,
    record_weights: str | os.PathLike[str] | None = None,
    record_weights_every_ms: float | None = None,
) -> SimulationResult:
    """Build and run a built-in model (or a YAML spec), then summarise it.

    Parameters
    ----------
    model : str or None
        Built-in model name (see :data:`evospikenet.models.MODELS`); ignored
        when ``spec`` is given.
    spec : path-like, optional
        YAML network spec (:mod:`evospikenet.io.spec`).
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
        Parquet file for the spikes, written atomically after the run.
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
        projection's largest initial weight).
    record_weights : path-like, optional
        Parquet file of weight snapshots (:func:`evospikenet.io.write_weights`:
        columns step, projection, pre, post, weight) of the plastic
        projections (all projections when none is plastic), at step 0, every
        ``record_weights_every_ms`` and at the end; written atomically.
    record_weights_every_ms : float, optional
        Snapshot interval (ms, a multiple of dt); default a tenth of the run.

    Returns
    -------
    SimulationResult

    Raises
    ------
    InvalidParameterError
        Unknown model, bad times, seed or scale, bad spec content, a
        connectome file that breaks the NPZ contract.
    FileIOError
        Unreadable spec or connectome, or unwritable output (an existing
        ``out`` is kept).
    """
    if duration_ms is not None:
        validation.non_negative("duration_ms", duration_ms)
    # -- biomimetic (issue 4): the framework owns its plasticity and its run loop --
    if spec is None and model == "biomimetic":
        if record_weights is not None:
            raise InvalidParameterError.of(
                "record_weights",
                str(record_weights),
                "not supported by the biomimetic model (its run interleaves sleep replay)",
            )
        if plasticity is not None:
            options = {**(options or {}), "plasticity_rule": plasticity}
            plasticity = None
    t0 = time.perf_counter()
    if connectome is not None:
        from evospikenet.connectome import load_connectome_npz
        from evospikenet.connectome.layer import connectome_model

        built = connectome_model(
            load_connectome_npz(connectome),
            dt_ms=dt_ms,
            seed=0 if seed is None else seed,
            threads=threads,
            duration_ms=duration_ms,  # the length of a subset drive's input
            **(options or {}),
        )
        name = f"connectome:{Path(connectome).name}"
    elif spec is not None:
        built = build_from_spec(load_spec(spec), seed=seed, dt_ms=dt_ms, threads=threads)
        name = f"spec:{Path(spec).name}"
    else:
        if model is None or model not in MODELS:
            raise InvalidParameterError.of(
                "model", model, f"unknown model (known: {', '.join(MODELS)})"
            )
        built = build_model(
            model,
            scale=scale,
            seed=0 if seed is None else seed,
            dt_ms=dt_ms,
            threads=threads,
            **(options or {}),
        )
        name = model
    # -- plasticity (evospikenet.plasticity) --
    plastic = []
    if plasticity is not None:
        from evospikenet.plasticity import apply_to_excitatory

        plastic = apply_to_excitatory(built.network, plasticity)
    build_s = time.perf_counter() - t0
    duration = built.duration_ms if duration_ms is None else duration_ms
    validation.non_negative("duration_ms", duration)
    net = built.network
    if record_weights is None:
        t1 = time.perf_counter()
        built.run(float(duration), progress=progress)
        wall_s = time.perf_counter() - t1
    else:
        # each snapshot streams to a temporary file, renamed over the target at the end
        with WeightWriter(
            record_weights,
            model=name,
            seed=net.seed,
            dt_ms=net.dt_ms,
            duration_ms=float(duration),
        ) as writer:
            wall_s = _run_recording_weights(
                built, float(duration), record_weights_every_ms, plastic, progress, writer
            )
    # models that also simulate offline time (the biomimetic model's sleep) ran longer
    recorded_ms = max(float(duration), net.t_ms)
    if out is not None:
        write_spikes(
            out,
            built.spikes(),
            model=name,
            seed=net.seed,
            dt_ms=net.dt_ms,
            duration_ms=recorded_ms,
        )
    return SimulationResult(
        model=name,
        seed=net.seed,
        dt_ms=net.dt_ms,
        duration_ms=float(duration),
        build_s=build_s,
        wall_s=wall_s,
        real_time_factor=wall_s / (float(duration) * 1e-3) if duration > 0 else float("nan"),
        populations=summarize(built, recorded_ms),
        out=None if out is None else str(out),
        built=built,
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
