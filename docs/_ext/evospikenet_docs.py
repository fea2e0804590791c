"""Sphinx directives that build the model reference tables from the code.

NEST documents each neuron model with two tables: its parameters (default, unit,
symbol) and its state variables (initial value). Here both are generated at
build time from the installed package, so they cannot drift from it:

``evospikenet-parameters lif``
    :class:`~evospikenet.network.LIFParameters`: the defaults come from the
    dataclass, unit, symbol and meaning from its docstring table; a docstring
    default that differs from the code's is a build error.
``evospikenet-parameters izhikevich``
    The presets of :data:`~evospikenet.network.IZHIKEVICH_PRESETS` and the
    keyword defaults of :meth:`~evospikenet.network.Network.izhikevich`.
``evospikenet-parameters iaf_psc_alpha`` (``aeif_cond_exp``, ``aeif_psc_exp``)
    The parameter classes of :mod:`evospikenet.point_models`, as for ``lif``.
``evospikenet-state lif`` / ``evospikenet-state izhikevich`` / ``evospikenet-state iaf_psc_alpha``
    Every state variable (:attr:`~evospikenet.network.Population.state_variables`)
    and its initial value, read from a freshly built one-neuron population.
``evospikenet-cli``
    The ``--help`` of every ``evospikenet`` command and subcommand, rendered
    by click itself.
``evospikenet-signature Network.poisson``
    The parameters of a :class:`~evospikenet.network.Network` method: default
    from the signature, unit from the name's suffix, description from the
    numpydoc ``Parameters`` section.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import MISSING, fields
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Parser as RstParser
from docutils.utils import new_document
from numpydoc.docscrape import FunctionDoc
from sphinx.util.docutils import SphinxDirective

#: Unit of a public name, from its suffix (the package's naming rule).
UNIT_SUFFIXES = {
    "_ms": "ms",
    "_mv": "mV",
    "_pa": "pA",
    "_pf": "pF",
    "_ns": "nS",
    "_hz": "Hz",
}

#: What each state variable is (a variable missing here is a build error).
STATE_MEANINGS = {
    "v_mv": "membrane potential",
    "i_syn_ex_pa": "excitatory synaptic current",
    "i_syn_in_pa": "inhibitory synaptic current (<= 0)",
    "g_ex_ns": "excitatory synaptic conductance",
    "g_in_ns": "inhibitory synaptic conductance",
    "u": "recovery variable (the paper's units)",
    "i_syn_pa": "synaptic input current (the paper's units)",
    "w_pa": "adaptation current",
    "m": "sodium activation",
    "h": "sodium inactivation",
    "n": "potassium activation",
}


def unit_of(name: str) -> str:
    """Return the unit a name's suffix declares ("" for dimensionless names)."""
    for suffix, unit in UNIT_SUFFIXES.items():
        if name.endswith(suffix):
            return unit
    return ""


def parse_simple_table(doc: str) -> list[dict[str, str]]:
    """Rows of the first reST simple table in ``doc``, keyed by its header.

    Columns are sliced at the positions of the ``=`` runs of the border line,
    so empty cells stay empty.
    """
    lines = doc.splitlines()
    borders = [i for i, ln in enumerate(lines) if re.fullmatch(r"\s*=+(\s+=+)+\s*", ln)]
    if len(borders) < 3:
        raise ValueError("no simple table with a header in the docstring")
    top, mid, bottom = borders[:3]
    spans = [m.span() for m in re.finditer(r"=+", lines[top])]

    def cells(line: str) -> list[str]:
        out = []
        for k, (a, b) in enumerate(spans):
            end = b if k + 1 < len(spans) else len(line)
            out.append(line[a:end].strip())
        return out

    header = cells(lines[top + 1])
    body = [ln for ln in lines[mid + 1 : bottom] if ln.strip()]
    return [dict(zip(header, cells(ln), strict=True)) for ln in body]


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return f"{value:g}"
    return str(value)


def _list_table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        out.append(f"   * - {row[0] or ' '}")
        out.extend(f"     - {cell or ' '}" for cell in row[1:])
    return [*out, ""]


def dataclass_parameter_rows(cls: type) -> list[list[str]]:
    """Rows (name, default, unit, symbol, meaning) of a parameter dataclass.

    Raises
    ------
    ValueError
        The docstring table and the dataclass disagree (a name or a default).
    """
    name = cls.__name__
    documented = {row["name"].strip("`"): row for row in parse_simple_table(cls.__doc__ or "")}
    rows = []
    for f in fields(cls):
        if f.name not in documented:
            raise ValueError(f"{name}.{f.name} is missing from its docstring table")
        doc = documented.pop(f.name)
        default = _fmt(f.default) if f.default is not MISSING else ""
        if doc["default"] != default:
            raise ValueError(
                f"{name} docstring says {f.name} = {doc['default']}, the code {default}"
            )
        if doc["unit"] != unit_of(f.name):
            raise ValueError(f"{name} docstring gives {f.name} the unit {doc['unit']!r}")
        rows.append([f"``{f.name}``", default, doc["unit"], doc["symbol"], doc["meaning"]])
    if documented:
        raise ValueError(f"{name} docstring documents unknown fields {sorted(documented)}")
    return rows


def lif_parameter_rows() -> list[list[str]]:
    """Rows (name, default, unit, symbol, meaning) of the LIF parameters."""
    from evospikenet.network import LIFParameters

    return dataclass_parameter_rows(LIFParameters)


def point_parameter_rows(model: str) -> list[list[str]]:
    """Rows of the parameters of a NEST point-neuron model (``iaf_psc_alpha``, ...)."""
    from evospikenet.point_models import POINT_MODELS

    return dataclass_parameter_rows(POINT_MODELS[model])


def point_state_rows(model: str) -> list[list[str]]:
    """Rows (name, initial value, unit, meaning) of a NEST point-neuron model's state."""
    from evospikenet.network import Network

    pop = Network(dt_ms=0.1).point(model, "x", 1)
    rows = []
    for var in pop.state_variables:
        value = float(pop.get(var)[0])
        initial = _fmt(value)
        if var == "v_mv":
            if value != pop.params.e_l_mv:  # type: ignore[attr-defined]
                raise ValueError(f"{model} v_mv no longer starts at e_l_mv")
            initial = "``e_l_mv``"
        rows.append([f"``{var}``", initial, unit_of(var), STATE_MEANINGS[var]])
    return rows


def lif_state_rows() -> list[list[str]]:
    """Rows (name, initial value, unit, synapse models, meaning) of the LIF state."""
    from evospikenet.network import Network

    seen: dict[str, tuple[float, list[str]]] = {}
    for synapse in ("current", "conductance", "delta"):
        pop = Network(dt_ms=0.1).lif("x", 1, synapse=synapse)
        for var in pop.state_variables:
            value = float(pop.get(var)[0])
            if var in seen and seen[var][0] != value:
                raise ValueError(f"{var} starts at different values by synapse model")
            seen.setdefault(var, (value, []))[1].append(f"``{synapse}``")
    rows = []
    for var, (value, synapses) in seen.items():
        note = "all" if len(synapses) == 3 else ", ".join(synapses)
        initial = "``v_reset_mv``" if var == "v_mv" else _fmt(value)
        if var == "v_mv" and value != Network(dt_ms=0.1).lif("y", 1).params.v_reset_mv:
            raise ValueError("LIF v_mv no longer starts at v_reset_mv")
        rows.append([f"``{var}``", initial, unit_of(var), note, STATE_MEANINGS[var]])
    return rows


def izhikevich_parameter_rows() -> list[list[str]]:
    """Rows (preset, a, b, c, d) of the Izhikevich (2003) presets."""
    from evospikenet.network import IZHIKEVICH_PRESETS

    return [[f"``{k}``", *(_fmt(x) for x in v)] for k, v in IZHIKEVICH_PRESETS.items()]


def izhikevich_state_rows() -> list[list[str]]:
    """Rows (name, initial value, unit, meaning); ``u`` starts at ``b * v``."""
    from evospikenet.network import IZHIKEVICH_PRESETS, Network

    pops = {k: Network(dt_ms=1.0).izhikevich("x", 1, preset=k) for k in IZHIKEVICH_PRESETS}
    rs = pops["RS"]
    rows = []
    for var in rs.state_variables:
        values = {k: float(p.get(var)[0]) for k, p in pops.items()}
        if var == "u":
            for k, v in values.items():
                b, v0 = IZHIKEVICH_PRESETS[k][1], float(pops[k].get("v_mv")[0])
                if abs(v - b * v0) > 1e-12:
                    raise ValueError(f"Izhikevich u of preset {k} starts at {v}, not b * v")
            initial = f"``b * v_mv`` ({_fmt(values['RS'])} for ``RS``)"
        else:
            if len(set(values.values())) != 1:
                raise ValueError(f"Izhikevich {var} starts at different values by preset")
            initial = _fmt(values["RS"])
        unit = unit_of(var) or "mV"  # u has the unit of v in the paper
        if var == "i_syn_pa":
            unit = "pA (paper units)"
        rows.append([f"``{var}``", initial, unit, STATE_MEANINGS[var]])
    return rows


def signature_rows(qualname: str) -> list[list[str]]:
    """Rows (name, default, unit, description) of a ``Network`` method's parameters."""
    import evospikenet.network as network_module

    obj: Any = network_module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    doc = FunctionDoc(obj)
    described = {}
    for p in doc["Parameters"]:
        for name in p.name.split(","):
            described[name.strip()] = (p.type, " ".join(p.desc))
    rows = []
    for name, param in inspect.signature(obj).parameters.items():
        if name == "self" or param.kind is param.VAR_KEYWORD:
            continue
        if name not in described:
            raise ValueError(f"{qualname}: parameter {name} is not in its docstring")
        kind, desc = described[name]
        default = "required" if param.default is param.empty else f"``{param.default!r}``"
        rows.append([f"``{name}``", default, unit_of(name), f"{kind}: {desc}" if kind else desc])
    return rows


class _TableDirective(SphinxDirective):
    required_arguments = 1
    has_content = False

    def tables(self, what: str) -> list[str]:
        """Return the reST lines of the table(s) for the directive's argument."""
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        try:
            text = self.tables(self.arguments[0])
        except (ValueError, KeyError, AttributeError) as exc:
            raise self.error(f"{self.name} {self.arguments[0]}: {exc}") from exc
        # The tables are reStructuredText whatever the page's source (MyST pages
        # would parse nested content as Markdown).
        doc = new_document(f"<{self.name}>", self.state.document.settings)
        RstParser().parse("\n".join(text), doc)
        return list(doc.children)


class ParametersDirective(_TableDirective):
    """``evospikenet-parameters lif|izhikevich|iaf_psc_alpha|aeif_cond_exp|aeif_psc_exp``."""

    def tables(self, what: str) -> list[str]:  # noqa: D102
        from evospikenet.point_models import POINT_MODELS

        if what in POINT_MODELS:
            return _list_table(
                ["name", "default", "unit", "symbol", "meaning"], point_parameter_rows(what)
            )
        if what == "lif":
            return _list_table(
                ["name", "default", "unit", "symbol", "meaning"], lif_parameter_rows()
            )
        if what == "izhikevich":
            return _list_table(["preset", "a", "b", "c (mV)", "d"], izhikevich_parameter_rows())
        raise ValueError("expected lif, izhikevich or a NEST point model (iaf_psc_alpha, ...)")


class StateDirective(_TableDirective):
    """``evospikenet-state lif|izhikevich|iaf_psc_alpha|aeif_cond_exp|aeif_psc_exp``."""

    def tables(self, what: str) -> list[str]:  # noqa: D102
        from evospikenet.point_models import POINT_MODELS

        if what in POINT_MODELS:
            return _list_table(
                ["state variable", "initial value", "unit", "meaning"], point_state_rows(what)
            )
        if what == "lif":
            return _list_table(
                ["state variable", "initial value", "unit", "synapse models", "meaning"],
                lif_state_rows(),
            )
        if what == "izhikevich":
            return _list_table(
                ["state variable", "initial value", "unit", "meaning"], izhikevich_state_rows()
            )
        raise ValueError("expected lif, izhikevich or a NEST point model (iaf_psc_alpha, ...)")


class SignatureDirective(_TableDirective):
    """``evospikenet-signature Network.METHOD``."""

    def tables(self, what: str) -> list[str]:  # noqa: D102
        return _list_table(["parameter", "default", "unit", "description"], signature_rows(what))


def cli_help_texts() -> list[tuple[str, str]]:
    """Return ``(command path, --help text)`` for every command of the CLI, depth first."""
    import click

    from evospikenet.cli import cli

    out: list[tuple[str, str]] = []

    def walk(cmd: click.Command, path: list[str], parent: click.Context | None) -> None:
        name = " ".join(path)
        ctx = click.Context(cmd, info_name=path[-1], parent=parent, terminal_width=88)
        out.append((name, cmd.get_help(ctx)))
        if isinstance(cmd, click.Group):
            for sub in cmd.list_commands(ctx):
                child = cmd.get_command(ctx, sub)
                if child is not None and not child.hidden:
                    walk(child, [*path, sub], ctx)

    walk(cli, ["evospikenet"], None)
    return out


class CliDirective(SphinxDirective):
    """``evospikenet-cli``: one section per command with its ``--help``."""

    required_arguments = 0
    has_content = False

    def run(self) -> list[nodes.Node]:  # noqa: D102
        result: list[nodes.Node] = []
        for name, text in cli_help_texts():
            section = nodes.section(ids=[nodes.make_id(name)])
            section += nodes.title(text=name)
            section += nodes.literal_block(text, text)
            result.append(section)
        return result


def setup(app: Any) -> dict[str, Any]:  # noqa: D103
    app.add_directive("evospikenet-parameters", ParametersDirective)
    app.add_directive("evospikenet-state", StateDirective)
    app.add_directive("evospikenet-signature", SignatureDirective)
    app.add_directive("evospikenet-cli", CliDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
