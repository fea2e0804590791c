"""Networks described in YAML (the ``simulate --spec`` format) and its JSON Schema.

A spec is a mapping with these keys (only ``populations`` is required)::

    run:          {duration_ms: 1000, dt_ms: 0.1, seed: 1}
    populations:
      E: {model: lif, n: 3200, params: {tau_m_ms: 20, ...},
          init: {v_mv: {uniform: [-60, -50]}}}
      I: {model: izhikevich, n: 200, preset: FS}
      S: {model: spike_source, n: 10, times_ms: [...], neurons: [...]}
      # optional on every population: node: NAME (the brain node simulating
      # it when the spec is split over processes, `evospikenet brain simulate
      # --spec`; give it on every population or on none)
    projections:
      - {name: EI, pre: E, post: I, receptor: excitatory, p: 0.02,
         weight: 16.2, delay_ms: {normal: [1.5, 0.75, 0.1, .inf]}}
      - {pre: S, post: E, outdegree: 20, weight: 50}
    inputs:
      - {type: poisson, target: E, rate_hz: 8, n_sources: 100, weight: 87.8}
      - {type: poisson, target: I, times_ms: [0, 200], rates_hz: [5, 40], weight: 20}
      - {type: current, target: E, times_ms: [0, 100], amplitudes_pa: [0, 300]}
      - {type: noise, target: I, mean_pa: 0, std_pa: 2}
    plasticity:
      - {projection: EI, rule: stdp, params: {a_plus: 0.1, w_max: 40}}
    monitors:
      spikes: [E, I]          # default: every population

A distribution is a number or one of ``{constant: x}``, ``{uniform: [low,
high]}``, ``{normal: [mean, std]}`` or ``{normal: [mean, std, low, high]}``.
A projection gives exactly one rule: ``p`` (fixed probability), ``indegree``,
``outdegree``, ``total_number``, or ``rule: all_to_all | one_to_one``.
A Poisson input gives a constant ``rate_hz`` or a piecewise-constant
schedule: rate ``rates_hz[k]`` (per source, Hz) from ``times_ms[k]`` on, 0
before ``times_ms[0]``. A ``plasticity`` entry makes the projection named
(by its ``name``, or its index in ``projections``) plastic under ``stdp``,
``bcm`` or ``oja`` (:mod:`evospikenet.plasticity`); ``params`` override the
rule's defaults (:func:`~evospikenet.plasticity.rule_from_params`; ``w_max``
defaults to twice the projection's largest initial weight).

The structure is defined once, by :func:`spec_schema` (a JSON Schema, draft
2020-12, generated from the parameter classes it describes), and every spec
is checked against it before it is built, so the schema and the builder
accept the same documents. ``evospikenet spec schema`` prints it (for
editors), ``evospikenet spec check FILE`` reports every error with the full
path of the bad field.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from evospikenet._formats import read_yaml
from evospikenet.distributions import Constant, Distribution, Normal, Uniform
from evospikenet.errors import InvalidParameterError, ShapeMismatchError
from evospikenet.models._base import BuiltModel
from evospikenet.network import (
    IZHIKEVICH_PRESETS,
    LIFParameters,
    Network,
    Population,
    RemoteProjection,
)
from evospikenet.plasticity import STANDALONE_RULES, rule_fields, rule_from_params
from evospikenet.point_models import POINT_MODELS

if TYPE_CHECKING:
    import jsonschema

    from evospikenet.partition import Part

__all__ = ["build_from_spec", "check_spec", "load_spec", "spec_errors", "spec_schema"]

SCHEMA_ID = "urn:evospikenet:network-spec"

_LIF_STATE = {
    "v_mv": "membrane potential (mV)",
    "i_syn_ex_pa": "excitatory synaptic current (pA; synapse: current)",
    "i_syn_in_pa": "inhibitory synaptic current (pA; synapse: current)",
    "g_ex_ns": "excitatory conductance (nS; synapse: conductance)",
    "g_in_ns": "inhibitory conductance (nS; synapse: conductance)",
}
_IZH_STATE = {
    "v_mv": "membrane potential (mV)",
    "u": "recovery variable (paper units)",
    "i_syn_pa": "synaptic current (pA)",
}
_RULE_KEYS = ("p", "indegree", "outdegree", "total_number", "rule")


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML network spec.

    Raises
    ------
    FileIOError
        If the file cannot be read.
    InvalidParameterError
        If it is not valid YAML or not a mapping.
    """
    data = read_yaml(path, "spec")
    if not isinstance(data, dict):
        raise InvalidParameterError.of("spec", str(path), "must be a YAML mapping")
    return data


# -- the schema ------------------------------------------------------------------


def _obj(
    properties: Mapping[str, Any], required: tuple[str, ...] = (), **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "object",
        "properties": dict(properties),
        "additionalProperties": False,
    }
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


def _num(description: str, **bounds: Any) -> dict[str, Any]:
    return {"type": "number", "description": description, **bounds}


def _numbers(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "number"}, "description": description}


def _scalar_or_array(description: str, **bounds: Any) -> dict[str, Any]:
    number = {"type": "number", **bounds}
    return {
        "anyOf": [number, {"type": "array", "items": number}],
        "description": "a number or one per neuron: " + description,
    }


def _lif_params() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in dataclasses.fields(LIFParameters):
        if f.name == "synapse":
            props[f.name] = {
                "enum": ["current", "conductance", "delta"],
                "default": f.default,
                "description": "synapse model",
            }
        else:
            props[f.name] = _num(f"{f.name} (default {f.default})", default=f.default)
    return _obj(props, description="LIFParameters fields; defaults are NEST's iaf_psc_exp")


def _point_params(model: str) -> dict[str, Any]:
    cls = POINT_MODELS[model]
    props = {
        f.name: _num(f"{f.name} (default {f.default})", default=f.default)
        for f in dataclasses.fields(cls)
    }
    return _obj(props, description=f"{cls.__name__} fields; defaults are NEST 3.10's {model}")


def _rule_params(rule: str) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name, (kind, choices) in rule_fields(rule).items():
        if kind is bool:
            props[name] = {"type": "boolean"}
        elif choices:
            props[name] = {"enum": list(choices)}
        else:
            props[name] = _num(name, exclusiveMinimum=0)
    return _obj(props)


def _when(key: str, value: str, then: dict[str, Any], *, default: bool = False) -> dict[str, Any]:
    """``if key == value then ...`` (also when ``key`` is absent if ``default``)."""
    cond: dict[str, Any] = {"properties": {key: {"const": value}}}
    if not default:
        cond["required"] = [key]
    return {"if": cond, "then": then}


def spec_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the network spec.

    Generated from the classes the spec builds (:class:`LIFParameters`, the
    Izhikevich presets, the plasticity rules), so it cannot drift from them.
    It checks structure, types and ranges; :func:`spec_errors` adds what a
    schema cannot say (names that refer to populations and projections).

    Returns
    -------
    dict
        A JSON-serialisable schema.
    """
    dist = {
        "description": "a number or {constant: x} | {uniform: [low, high]}"
        " | {normal: [mean, std]} | {normal: [mean, std, low, high]}",
        "oneOf": [
            {"type": "number"},
            _obj({"constant": {"type": "number"}}, ("constant",)),
            _obj(
                {"uniform": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                             "maxItems": 2}},
                ("uniform",),
            ),
            _obj(
                {"normal": {"type": "array", "items": {"type": "number"}, "minItems": 2,
                            "maxItems": 4, "not": {"minItems": 3, "maxItems": 3}}},
                ("normal",),
            ),
        ],
    }  # fmt: skip
    count = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
    models = ["lif", "izhikevich", *POINT_MODELS, "spike_source"]
    common = {
        "model": {"enum": models, "default": "lif"},
        "n": {**count, "description": "size"},
        "node": {"type": "string", "minLength": 1,
                 "description": "brain node that simulates it (evospikenet brain simulate --spec)"},
    }  # fmt: skip
    lif = _obj(
        {
            **common,
            "params": {"$ref": "#/$defs/lif_params"},
            "init": _obj({k: {"$ref": "#/$defs/distribution", "description": v}
                          for k, v in _LIF_STATE.items()}),
            "bias_pa": _scalar_or_array("bias current (pA)"),
        },
        ("n",),
    )  # fmt: skip
    izh = _obj(
        {
            **common,
            "preset": {"enum": list(IZHIKEVICH_PRESETS), "default": "RS"},
            **{k: _scalar_or_array(f"Izhikevich {k} (overrides the preset)") for k in "abcd"},
            "tau_syn_ms": _num("synaptic time constant (ms; 0 = delta)", minimum=0),
            "init": _obj({k: {"$ref": "#/$defs/distribution", "description": v}
                          for k, v in _IZH_STATE.items()}),
            "bias_pa": _scalar_or_array("bias current (pA)"),
        },
        ("n",),
    )  # fmt: skip
    points = {
        model: _obj(
            {
                **common,
                "params": {"$ref": f"#/$defs/{model}_params"},
                "init": _obj({k: {"$ref": "#/$defs/distribution",
                                  "description": f"state variable {k}"}
                              for k in cls.state_variables}),
                "bias_pa": _scalar_or_array("bias current (pA), replacing i_e_pa"),
            },
            ("n",),
        )
        for model, cls in POINT_MODELS.items()
    }  # fmt: skip
    source = _obj(
        {
            **common,
            "times_ms": _numbers("spike times (ms)"),
            "neurons": {"type": "array", "items": count, "description": "neuron of each spike"},
        },
        ("n",),
    )
    population = {
        "type": "object",
        "properties": {"model": {"enum": models}},
        "allOf": [
            _when("model", "lif", lif, default=True),
            _when("model", "izhikevich", izh),
            *(_when("model", m, schema) for m, schema in points.items()),
            _when("model", "spike_source", source),
        ],
    }
    receptor = {"enum": ["excitatory", "inhibitory"], "default": "excitatory"}
    projection = _obj(
        {
            "name": {"type": "string", "description": "name for the plasticity section"},
            "pre": {"type": "string"},
            "post": {"type": "string"},
            "receptor": receptor,
            "p": _num("fixed_probability", minimum=0, maximum=1),
            "indegree": {**count, "description": "fixed_indegree: sources per target"},
            "outdegree": {**count, "description": "fixed_outdegree: targets per source"},
            "total_number": {**count, "description": "fixed_total_number"},
            "rule": {"enum": ["all_to_all", "one_to_one"]},
            "weight": {"$ref": "#/$defs/distribution"},
            "delay_ms": {"$ref": "#/$defs/distribution"},
            "allow_autapses": {"type": "boolean", "default": True},
        },
        ("pre", "post"),
        oneOf=[{"required": [k]} for k in _RULE_KEYS],
        description="give exactly one of " + ", ".join(_RULE_KEYS),
    )
    poisson = _obj(
        {
            "type": {"const": "poisson"},
            "target": {"type": "string"},
            "rate_hz": _scalar_or_array("rate per source (Hz, >= 0)", minimum=0),
            "times_ms": _numbers("times of the rate changes (ms)"),
            "rates_hz": {"type": "array",
                         "items": _scalar_or_array("rate per source (Hz, >= 0)", minimum=0),
                         "description": "rate per source from times_ms[k] on (Hz)"},
            "n_sources": {**count, "minimum": 1, "default": 1},
            "weight": _num("weight of an input spike"),
            "receptor": receptor,
        },
        ("type", "target"),
        dependentRequired={"times_ms": ["rates_hz"], "rates_hz": ["times_ms"]},
        oneOf=[{"required": ["rate_hz"], "not": {"required": ["rates_hz"]}},
               {"required": ["rates_hz"], "not": {"required": ["rate_hz"]}}],
        description="give rate_hz, or times_ms and rates_hz",
    )  # fmt: skip
    current = _obj(
        {
            "type": {"const": "current"},
            "target": {"type": "string"},
            "times_ms": _numbers("times of the steps (ms)"),
            "amplitudes_pa": _numbers("current from times_ms[k] on (pA)"),
            "neurons": {"type": "array", "items": count},
        },
        ("type", "target"),
    )
    noise = _obj(
        {
            "type": {"const": "noise"},
            "target": {"type": "string"},
            "mean_pa": _num("mean current (pA)"),
            "std_pa": _num("standard deviation (pA)", minimum=0),
        },
        ("type", "target"),
    )
    kinds = ["poisson", "current", "noise"]
    input_ = {
        "type": "object",
        "properties": {"type": {"enum": kinds}},
        "required": ["type"],
        "allOf": [
            _when("type", k, s) for k, s in zip(kinds, (poisson, current, noise), strict=True)
        ],
    }
    plastic = {
        "type": "object",
        "properties": {
            "projection": {"type": ["string", "integer"],
                           "description": "a projection's name or index"},
            "rule": {"enum": list(STANDALONE_RULES)},
        },
        "required": ["projection", "rule"],
        "allOf": [
            _when("rule", r, _obj({"projection": True, "rule": True, "params": _rule_params(r)}))
            for r in STANDALONE_RULES
        ],
    }  # fmt: skip
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "EvoSpikeNet network spec",
        "type": "object",
        "properties": {
            "run": _obj(
                {
                    "duration_ms": _num("simulated time (ms)", minimum=0, default=1000),
                    "dt_ms": _num("time step (ms)", exclusiveMinimum=0, default=0.1),
                    "seed": {"type": "integer", "minimum": 0, "maximum": 2**64 - 1,
                             "default": 0},
                }
            ),
            "populations": {"type": "object", "minProperties": 1,
                            "additionalProperties": population,
                            "description": "at least one population, by name"},
            "projections": {"type": "array", "items": projection},
            "inputs": {"type": "array", "items": input_},
            "monitors": _obj({"spikes": {"type": "array", "items": {"type": "string"}}}),
            "plasticity": {"type": "array", "items": plastic},
        },
        "required": ["populations"],
        "additionalProperties": False,
        "$defs": {
            "distribution": dist,
            "lif_params": _lif_params(),
            **{f"{m}_params": _point_params(m) for m in POINT_MODELS},
        },
    }  # fmt: skip


# -- checking --------------------------------------------------------------------


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _describe(error: jsonschema.ValidationError) -> tuple[str, Any, str]:
    """Return ``(field path, value, reason)`` of one schema error."""
    path, value, reason = _explain(error)
    return path or "spec", value, reason


def _explain(error: jsonschema.ValidationError) -> tuple[str, Any, str]:
    path = _path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    kind = error.validator
    instance: Any = error.instance
    expected: Any = error.validator_value
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = [k for k in instance if k not in allowed]
        key = extra[0] if extra else "?"
        return (
            _join(path, key),
            instance.get(key),
            f"unknown key (allowed: {', '.join(allowed)})",
        )
    if kind == "required":
        missing = [k for k in expected if k not in instance]
        return _join(path, missing[0] if missing else "?"), None, "is required"
    if kind in ("oneOf", "anyOf", "not") and "description" in schema:
        text = str(schema["description"])
        return path, error.instance, text if text.startswith("give") else f"must be {text}"
    if kind == "type":
        return path, error.instance, f"must be of type {error.validator_value}"
    if kind in ("enum", "const"):
        values = expected if kind == "enum" else [expected]
        return path, error.instance, f"must be one of {', '.join(map(str, values))}"
    if kind == "minimum":
        return path, error.instance, f"must be >= {error.validator_value}"
    if kind == "exclusiveMinimum":
        return path, error.instance, f"must be > {error.validator_value}"
    if kind == "maximum":
        return path, error.instance, f"must be <= {error.validator_value}"
    if kind == "minProperties":
        return path, error.instance, schema.get("description", error.message)
    if kind == "dependentRequired":
        return path, error.instance, error.message
    return path, error.instance, error.message


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    """Return the validator of :func:`spec_schema` (built once per process)."""
    import jsonschema  # 60 ms: imported only when a spec is checked

    return jsonschema.Draft202012Validator(spec_schema())


def _references(spec: Mapping[str, Any]) -> list[InvalidParameterError]:
    """Check what a schema cannot: names must refer to populations and projections."""
    errors = []
    pops = list(spec.get("populations") or {})

    def pop(field: str, name: Any) -> None:
        if name not in pops:
            errors.append(
                InvalidParameterError.of(
                    field, name, f"no such population (have {', '.join(pops)})"
                )
            )

    projections = spec.get("projections") or []
    names: dict[str, int] = {}
    for k, entry in enumerate(projections):
        pop(f"projections[{k}].pre", entry["pre"])
        pop(f"projections[{k}].post", entry["post"])
        if "name" in entry:
            if entry["name"] in names:
                errors.append(
                    InvalidParameterError.of(
                        f"projections[{k}].name",
                        entry["name"],
                        f"already names projections[{names[entry['name']]}]",
                    )
                )
            names[entry["name"]] = k
    sizes = {name: entry["n"] for name, entry in (spec.get("populations") or {}).items()}

    def per_neuron(field: str, value: Any, target: Any) -> None:
        if isinstance(value, list) and target in sizes and len(value) != sizes[target]:
            errors.append(
                InvalidParameterError.of(
                    field, value, f"needs one value per neuron of {target} ({sizes[target]})"
                )
            )

    for k, entry in enumerate(spec.get("inputs") or []):
        pop(f"inputs[{k}].target", entry["target"])
        per_neuron(f"inputs[{k}].rate_hz", entry.get("rate_hz"), entry["target"])
        for j, rates in enumerate(entry.get("rates_hz", [])):
            per_neuron(f"inputs[{k}].rates_hz[{j}]", rates, entry["target"])
        if entry["type"] == "poisson" and len(entry.get("times_ms", [])) != len(
            entry.get("rates_hz", [])
        ):
            errors.append(
                InvalidParameterError.of(
                    f"inputs[{k}].rates_hz",
                    entry["rates_hz"],
                    f"needs one rate per time ({len(entry['times_ms'])} times_ms)",
                )
            )
    for k, name in enumerate((spec.get("monitors") or {}).get("spikes", [])):
        pop(f"monitors.spikes[{k}]", name)
    seen: dict[int, int] = {}
    for k, entry in enumerate(spec.get("plasticity") or []):
        ref = entry["projection"]
        index = names.get(ref) if isinstance(ref, str) else ref
        if index is None or not 0 <= index < len(projections):
            have = ", ".join(names) if names else "none named"
            errors.append(
                InvalidParameterError.of(
                    f"plasticity[{k}].projection",
                    ref,
                    f"no such projection (names: {have}; {len(projections)} projections)",
                )
            )
        elif index in seen:
            errors.append(
                InvalidParameterError.of(
                    f"plasticity[{k}].projection",
                    ref,
                    f"already made plastic by plasticity[{seen[index]}]",
                )
            )
        else:
            seen[index] = k
    populations = spec.get("populations") or {}
    with_node = [name for name, entry in populations.items() if "node" in entry]
    if with_node and len(with_node) < len(populations):
        name = next(n for n in populations if n not in with_node)
        errors.append(
            InvalidParameterError.of(
                f"populations.{name}.node",
                None,
                "missing: give node on every population or on none",
            )
        )
    return errors


def spec_errors(spec: Any) -> list[InvalidParameterError]:
    """Return every error of a spec mapping, each naming the full path of its field.

    The schema errors (:func:`spec_schema`) come first, in document order;
    when there are none, the reference errors (a ``pre``, ``post``,
    ``target``, monitor or plasticity ``projection`` naming nothing).
    Values the engine checks when building (a delay off the ``dt_ms`` grid,
    a weight of the wrong sign) are not found here.

    Returns
    -------
    list of InvalidParameterError
        Empty when the spec is valid.
    """
    errors = sorted(_validator().iter_errors(spec), key=lambda e: [str(p) for p in e.absolute_path])
    found: dict[tuple[str, str], InvalidParameterError] = {}
    for error in errors:
        path, value, reason = _describe(error)
        found.setdefault((path, reason), InvalidParameterError.of(path, value, reason))
    if found:
        return list(found.values())
    return _references(spec)


def check_spec(spec: Any) -> None:
    """Raise the first error of :func:`spec_errors`, if any.

    Raises
    ------
    InvalidParameterError
        Naming the bad field by its full path (``projections[2].p``,
        ``populations.E.params.tau_m_ms``).
    """
    errors = spec_errors(spec)
    if errors:
        raise errors[0]


# -- building --------------------------------------------------------------------


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Prefix the field named by an engine error with ``where`` (its place in the spec)."""
    try:
        yield
    except InvalidParameterError as exc:
        name = f"{where}.{exc.name}" if exc.name else where
        raise InvalidParameterError(
            f"invalid parameter {name} = {exc.value}: {exc.reason}", name, exc.value, exc.reason
        ) from exc
    except ShapeMismatchError as exc:
        raise ShapeMismatchError(f"{where}: {exc}", exc.name, exc.expected, exc.got) from exc


def _dist(value: Any) -> float | Distribution:
    """Return a checked distribution (see :func:`spec_schema`) as a number or Distribution."""
    if not isinstance(value, Mapping):
        return float(value)
    ((kind, args),) = value.items()
    numbers = [float(a) for a in (args if isinstance(args, list) else [args])]
    if kind == "constant":
        return Constant(numbers[0])
    if kind == "uniform":
        return Uniform(*numbers)
    if len(numbers) == 4:
        return Normal(*numbers)
    return Normal(numbers[0], numbers[1], -math.inf, math.inf)


def build_from_spec(
    spec: Mapping[str, Any],
    *,
    seed: int | None = None,
    dt_ms: float | None = None,
    threads: int = 1,
    part: Part | None = None,
) -> BuiltModel:
    """Build a network from a spec mapping (see the module docstring).

    The spec is checked first (:func:`check_spec`); ``seed`` and ``dt_ms``
    override its ``run`` section. With ``part`` the network is built as one
    part of a split network (:mod:`evospikenet.partition`): the populations
    not in ``part.local`` become remote proxies.

    Returns
    -------
    BuiltModel
        Named ``spec``, with a spike monitor per recorded population.

    Raises
    ------
    InvalidParameterError
        Unknown keys, missing fields, bad values; the message names the
        field by its full path (``projections[2].p``).
    ShapeMismatchError
        Per-neuron values of the wrong length (prefixed with their place).
    """
    check_spec(spec)
    run = spec.get("run", {})
    net = Network(
        dt_ms=float(run.get("dt_ms", 0.1)) if dt_ms is None else dt_ms,
        seed=int(run.get("seed", 0)) if seed is None else seed,
        threads=threads,
        part=part,
    )
    pops: dict[str, Population] = {}
    for name, entry in spec["populations"].items():
        where = f"populations.{name}"
        model = entry.get("model", "lif")
        with _at(where):
            pop: Population
            if model == "lif":
                with _at("params"):
                    pop = net.lif(str(name), int(entry["n"]), **entry.get("params", {}))
            elif model in POINT_MODELS:
                with _at("params"):
                    pop = net.point(model, str(name), int(entry["n"]), **entry.get("params", {}))
            elif model == "izhikevich":
                pop = net.izhikevich(
                    str(name), int(entry["n"]), entry.get("preset", "RS"),
                    a=entry.get("a"), b=entry.get("b"), c=entry.get("c"), d=entry.get("d"),
                    tau_syn_ms=float(entry.get("tau_syn_ms", 0.0)),
                )  # fmt: skip
            else:
                pop = net.spike_source(
                    str(name), int(entry["n"]), entry.get("times_ms", []), entry.get("neurons", [])
                )
            for var, value in entry.get("init", {}).items():
                with _at(f"init.{var}"):
                    pop.set(str(var), _dist(value))
            if "bias_pa" in entry:
                with _at("bias_pa"):
                    pop.set_bias(entry["bias_pa"])
        pops[str(name)] = pop

    projections = []
    for k, entry in enumerate(spec.get("projections") or []):
        rule = {key: entry[key] for key in _RULE_KEYS if key in entry}
        with _at(f"projections[{k}]"):
            projections.append(
                net.connect(
                    pops[entry["pre"]],
                    pops[entry["post"]],
                    receptor=entry.get("receptor", "excitatory"),
                    weight=_dist(entry.get("weight", 1.0)),
                    delay_ms=_dist(entry.get("delay_ms", net.dt_ms)),
                    allow_autapses=bool(entry.get("allow_autapses", True)),
                    **rule,
                )
            )
    for k, entry in enumerate(spec.get("inputs") or []):
        kind = entry["type"]
        target = pops[entry["target"]]
        with _at(f"inputs[{k}]"):
            if kind == "poisson":
                sources = int(entry.get("n_sources", 1))
                handle = net.poisson(
                    target,
                    entry.get("rate_hz", 0.0),
                    entry.get("weight", 0.0),
                    receptor=entry.get("receptor", "excitatory"),
                    n_sources=sources,
                )
                if "times_ms" in entry:
                    n = target.n
                    rates = [
                        np.broadcast_to(np.asarray(r, np.float64), (n,)) for r in entry["rates_hz"]
                    ]
                    handle.schedule(entry["times_ms"], np.reshape(rates, (len(rates), n)) * sources)
            elif kind == "current":
                net.current(
                    target,
                    entry.get("times_ms", []),
                    entry.get("amplitudes_pa", []),
                    entry.get("neurons"),
                )
            else:
                net.noise(target, entry.get("mean_pa", 0.0), entry.get("std_pa", 0.0))
    names = {
        entry["name"]: k for k, entry in enumerate(spec.get("projections") or []) if "name" in entry
    }
    for k, entry in enumerate(spec.get("plasticity") or []):
        ref = entry["projection"]
        proj = projections[names[ref] if isinstance(ref, str) else ref]
        if isinstance(proj, RemoteProjection):
            continue  # its synapses, and their rule, live in the part simulating the target
        weights = proj.weights()
        top = float(weights.max()) if weights.size else 0.0
        with _at(f"plasticity[{k}]"):
            net.add_plasticity(
                proj, rule_from_params(entry["rule"], entry.get("params", {}), 2.0 * top or 1.0)
            )
    recorded = (spec.get("monitors") or {}).get("spikes", list(pops))
    chosen = {str(name): pops[name] for name in recorded}
    return BuiltModel(
        name="spec",
        network=net,
        populations=chosen,
        monitors={name: net.spike_monitor(pop) for name, pop in chosen.items()},
        duration_ms=float(run.get("duration_ms", 1000.0)),
        parameters={"spec": dict(spec)},
    )
