"""Networks described in YAML (the ``simulate --spec`` format).

A spec is a mapping with these keys (only ``populations`` is required)::

    run:          {duration_ms: 1000, dt_ms: 0.1, seed: 1}
    populations:
      E: {model: lif, n: 3200, params: {tau_m_ms: 20, ...},
          init: {v_mv: {uniform: [-60, -50]}}}
      I: {model: izhikevich, n: 200, preset: FS}
      S: {model: spike_source, n: 10, times_ms: [...], neurons: [...]}
    projections:
      - {pre: E, post: I, receptor: excitatory, p: 0.02,
         weight: 16.2, delay_ms: {normal: [1.5, 0.75, 0.1, .inf]}}
    inputs:
      - {type: poisson, target: E, rate_hz: 8, n_sources: 100, weight: 87.8}
      - {type: current, target: E, times_ms: [0, 100], amplitudes_pa: [0, 300]}
      - {type: noise, target: I, mean_pa: 0, std_pa: 2}
    monitors:
      spikes: [E, I]          # default: every population

A distribution is a number or one of ``{constant: x}``, ``{uniform: [low,
high]}``, ``{normal: [mean, std]}`` or ``{normal: [mean, std, low, high]}``.
``plasticity`` is reserved for the plasticity rules and rejected until they
are available.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from evospikenet.distributions import Constant, Distribution, Normal, Uniform
from evospikenet.errors import FileIOError, InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network, Population

__all__ = ["build_from_spec", "load_spec"]

_TOP = {"run", "populations", "projections", "inputs", "monitors", "plasticity"}


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML network spec.

    Raises
    ------
    FileIOError
        If the file cannot be read.
    InvalidParameterError
        If it is not valid YAML or not a mapping.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileIOError(
            f"cannot read spec {path}: {exc}", str(path), getattr(exc, "errno", None)
        ) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidParameterError.of("spec", str(path), f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidParameterError.of("spec", str(path), "must be a YAML mapping")
    return data


def _mapping(name: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidParameterError.of(name, value, "must be a mapping")
    return value


def _dist(name: str, value: Any) -> float | Distribution:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, args),) = value.items()
        args = args if isinstance(args, list) else [args]
        try:
            numbers = [float(a) for a in args]
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError.of(
                name, value, "distribution arguments must be numbers"
            ) from exc
        if kind == "constant" and len(numbers) == 1:
            return Constant(numbers[0])
        if kind == "uniform" and len(numbers) == 2:
            return Uniform(*numbers)
        if kind == "normal" and len(numbers) in (2, 4):
            return (
                Normal(*numbers)
                if len(numbers) == 4
                else Normal(numbers[0], numbers[1], -math.inf, math.inf)
            )
    raise InvalidParameterError.of(
        name, value, "must be a number or {constant|uniform|normal: [...]}"
    )


def _known(name: str, entry: Mapping[str, Any], allowed: set[str]) -> None:
    for key in entry:
        if key not in allowed:
            raise InvalidParameterError.of(
                f"{name}.{key}", entry[key], f"unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def build_from_spec(
    spec: Mapping[str, Any],
    *,
    seed: int | None = None,
    dt_ms: float | None = None,
    threads: int = 1,
) -> BuiltModel:
    """Build a network from a spec mapping (see the module docstring).

    ``seed`` and ``dt_ms`` override the spec's ``run`` section.

    Returns
    -------
    BuiltModel
        Named ``spec``, with a spike monitor per recorded population.

    Raises
    ------
    InvalidParameterError
        Unknown keys, missing fields, bad values; the message names the
        field as a dotted path (``projections[2].p``).
    """
    _known("spec", spec, _TOP)
    if spec.get("plasticity"):
        raise InvalidParameterError.of(
            "plasticity", spec["plasticity"], "plasticity rules are not available in this version"
        )
    run = _mapping("run", spec.get("run", {}))
    _known("run", run, {"duration_ms", "dt_ms", "seed"})
    net = Network(
        dt_ms=float(run.get("dt_ms", 0.1)) if dt_ms is None else dt_ms,
        seed=int(run.get("seed", 0)) if seed is None else seed,
        threads=threads,
    )
    pops: dict[str, Population] = {}
    populations = _mapping("populations", spec.get("populations"))
    if not populations:
        raise InvalidParameterError.of(
            "populations", populations, "at least one population is needed"
        )
    for name, raw in populations.items():
        entry = _mapping(f"populations.{name}", raw)
        where = f"populations.{name}"
        model = entry.get("model", "lif")
        n: Any = entry.get("n")
        if model == "lif":
            _known(where, entry, {"model", "n", "params", "init", "bias_pa"})
            pop: Population = net.lif(
                str(name), n, **_mapping(f"{where}.params", entry.get("params", {}))
            )
        elif model == "izhikevich":
            _known(
                where,
                entry,
                {"model", "n", "preset", "a", "b", "c", "d", "tau_syn_ms", "init", "bias_pa"},
            )
            pop = net.izhikevich(
                str(name), n, entry.get("preset", "RS"),
                a=entry.get("a"), b=entry.get("b"), c=entry.get("c"), d=entry.get("d"),
                tau_syn_ms=float(entry.get("tau_syn_ms", 0.0)),
            )  # fmt: skip
        elif model == "spike_source":
            _known(where, entry, {"model", "n", "times_ms", "neurons"})
            pop = net.spike_source(
                str(name), n, entry.get("times_ms", []), entry.get("neurons", [])
            )
        else:
            raise InvalidParameterError.of(
                f"{where}.model", model, "must be lif, izhikevich or spike_source"
            )
        for var, value in _mapping(f"{where}.init", entry.get("init", {})).items():
            dist = _dist(f"{where}.init.{var}", value)
            pop.set(str(var), dist)
        if "bias_pa" in entry:
            pop.set_bias(entry["bias_pa"])
        pops[str(name)] = pop

    def lookup(field: str, key: Any) -> Population:
        if key not in pops:
            raise InvalidParameterError.of(
                field, key, f"no such population (have {', '.join(pops)})"
            )
        return pops[key]

    for k, raw in enumerate(spec.get("projections") or []):
        where = f"projections[{k}]"
        entry = _mapping(where, raw)
        _known(
            where,
            entry,
            {
                "pre",
                "post",
                "receptor",
                "p",
                "indegree",
                "total_number",
                "rule",
                "weight",
                "delay_ms",
                "allow_autapses",
            },
        )
        net.connect(
            lookup(f"{where}.pre", entry.get("pre")),
            lookup(f"{where}.post", entry.get("post")),
            receptor=entry.get("receptor", "excitatory"),
            rule=entry.get("rule"),
            p=entry.get("p"),
            indegree=entry.get("indegree"),
            total_number=entry.get("total_number"),
            weight=_dist(f"{where}.weight", entry.get("weight", 1.0)),
            delay_ms=_dist(f"{where}.delay_ms", entry.get("delay_ms", net.dt_ms)),
            allow_autapses=bool(entry.get("allow_autapses", True)),
        )
    for k, raw in enumerate(spec.get("inputs") or []):
        where = f"inputs[{k}]"
        entry = _mapping(where, raw)
        kind = entry.get("type")
        target = lookup(f"{where}.target", entry.get("target"))
        if kind == "poisson":
            _known(where, entry, {"type", "target", "rate_hz", "n_sources", "weight", "receptor"})
            net.poisson(
                target,
                entry.get("rate_hz", 0.0),
                entry.get("weight", 0.0),
                receptor=entry.get("receptor", "excitatory"),
                n_sources=entry.get("n_sources", 1),
            )
        elif kind == "current":
            _known(where, entry, {"type", "target", "times_ms", "amplitudes_pa", "neurons"})
            net.current(
                target,
                entry.get("times_ms", []),
                entry.get("amplitudes_pa", []),
                entry.get("neurons"),
            )
        elif kind == "noise":
            _known(where, entry, {"type", "target", "mean_pa", "std_pa"})
            net.noise(target, entry.get("mean_pa", 0.0), entry.get("std_pa", 0.0))
        else:
            raise InvalidParameterError.of(
                f"{where}.type", kind, "must be poisson, current or noise"
            )
    monitors = _mapping("monitors", spec.get("monitors", {}))
    _known("monitors", monitors, {"spikes"})
    recorded = monitors.get("spikes", list(pops))
    if not isinstance(recorded, list):
        raise InvalidParameterError.of(
            "monitors.spikes", recorded, "must be a list of population names"
        )
    chosen = {str(name): lookup("monitors.spikes", name) for name in recorded}
    duration = run.get("duration_ms", 1000.0)
    if isinstance(duration, bool) or not isinstance(duration, int | float):
        raise InvalidParameterError.of("run.duration_ms", duration, "must be a number")
    return BuiltModel(
        name="spec",
        network=net,
        populations=chosen,
        monitors={name: net.spike_monitor(pop) for name, pop in chosen.items()},
        duration_ms=float(duration),
        parameters={"spec": dict(spec)},
    )
