r"""NIR interchange: graphs of the Neuromorphic Intermediate Representation in and out.

NIR (Pedersen et al. 2024) describes a spiking network as a graph of
continuous-time nodes (``LIF``, ``CubaLIF``, ``LI``, ``IF``, ``Affine``,
``Linear``, ``Delay``, ``Threshold``, ``Input``, ``Output``, nested graphs).
snnTorch, Norse, Lava-DL, Nengo, Rockpool, Sinabs and SpiNNaker2 read and
write it. :func:`import_graph` maps a graph onto the engine's LIF
populations and projections; :func:`export_graph` writes a
:class:`~evospikenet.network.Network` as a graph. Both need the ``nir``
extra (``pip install 'evospikenet[nir]'``).

Units and discretisation
------------------------
NIR is unitless. A graph is read with the step ``dt`` of the discrete-time
model it came from, in the graph's own time unit (snnTorch writes
``tau = dt / (1 - beta)`` with ``dt = 1e-4``, the default here), and one such
step becomes one engine step of ``dt_ms`` milliseconds. Voltages are taken as
mV (``v_threshold = 1`` is 1 mV). With ``discretisation="euler"`` (default;
snnTorch's and Norse's update) a node's decay per step is ``1 - dt / tau``
and its input gain ``dt r / tau``; with ``"exact"`` the decay is
``exp(-dt / tau)`` and the gain ``r (1 - exp(-dt / tau))`` (input held over
the step). The engine integrates exactly, so a decay ``beta`` becomes
``tau_m_ms = -dt_ms / ln(beta)``. The full mapping, with snnTorch's, is
``docs/interchange.md``.

Timing: every connection between neurons acts one engine step later than in a
discrete-time framework that feeds a layer's spikes to the next layer in the
same step (the engine's shortest delay); a NIR ``Delay`` adds
``round(delay / dt)`` steps. A neuron ``k`` hops from the inputs therefore
runs ``k`` steps behind; :meth:`ImportedGraph.run` shifts its outputs back.
Recurrent connections (snnTorch's ``RLeaky``) already act from the next step
there and here, so layered networks with recurrence inside a layer match step
for step.

References
----------
Pedersen JE, Abreu S, Jobst M, et al. (2024) Neuromorphic intermediate
representation: a unified instruction set for interoperable brain-inspired
computing. Nat Commun 15:8122. doi:10.1038/s41467-024-52259-9
"""

from __future__ import annotations

import errno
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from evospikenet._atomic import atomic_path
from evospikenet.errors import FileIOError, InvalidParameterError, MissingExtraError
from evospikenet.network import (
    InputPort,
    LIFPopulation,
    Network,
    PoissonGroupPopulation,
    Population,
    SpikeSourcePopulation,
)

__all__ = [
    "SUPPORTED_NODES",
    "ImportedGraph",
    "NIRRun",
    "export_graph",
    "import_graph",
    "read_graph",
    "write_graph",
]

Discretisation = Literal["euler", "exact"]

#: NIR node types :func:`import_graph` maps onto the engine.
SUPPORTED_NODES = (
    "Affine",
    "CubaLI",
    "CubaLIF",
    "Delay",
    "Flatten",
    "IF",
    "Input",
    "LI",
    "LIF",
    "Linear",
    "NIRGraph",
    "Output",
    "Scale",
    "Threshold",
)

#: Threshold (mV) of a non-spiking node (``LI``, ``CubaLI``): never reached by finite input.
NO_SPIKE_V_TH_MV = 1e300
#: ``tau_m`` (in steps) standing for no leak (``IF``): a relative leak of 1e-12 per step.
NO_LEAK_TAU_STEPS = 1e12
#: ``tau_m`` (in steps) of a memoryless ``Threshold`` node: ``exp(-40)`` ~ 4e-18 kept per step.
MEMORYLESS_TAU_STEPS = 1.0 / 40.0
#: Metadata key of the synapses of a sparse projection (COO) in an exported ``Linear``.
COO_KEY = "evospikenet_coo"

_NEURONS = ("LIF", "CubaLIF", "LI", "CubaLI", "IF", "Threshold")
_TRANSFER = ("Linear", "Affine", "Scale", "Delay", "Flatten")


def _nir() -> Any:
    try:
        import nir
    except ImportError:
        raise MissingExtraError("NIR interchange", "nir", "nir") from None
    return nir


# -- reading and writing files ------------------------------------------------


def read_graph(path: str | os.PathLike[str]) -> Any:
    """Read a NIR file (HDF5) with NIR's type checks (``nir.read``).

    Returns
    -------
    nir.NIRGraph

    Raises
    ------
    MissingExtraError
        Without the ``nir`` extra.
    FileIOError
        A missing or unreadable file.
    InvalidParameterError
        A file that is not a NIR graph (``path``), or one whose types do not check.
    """
    nir = _nir()
    p = Path(path)
    if not p.is_file():
        raise FileIOError(f"cannot read NIR file {str(p)!r}: no such file", str(p), errno.ENOENT)
    try:
        return nir.read(p)
    except OSError as exc:
        from evospikenet.io.sniff import describe_kind, file_kind

        raise InvalidParameterError.of(
            "path", str(p), f"not a NIR (HDF5) file: it is {describe_kind(file_kind(p))} ({exc})"
        ) from None
    except (KeyError, ValueError, AssertionError, TypeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InvalidParameterError.of("path", str(p), f"not a valid NIR graph: {first}") from None


def write_graph(graph: Any, path: str | os.PathLike[str]) -> None:
    """Write a NIR graph to ``path`` (``nir.write``, HDF5, gzip), atomically.

    Raises
    ------
    MissingExtraError
        Without the ``nir`` extra.
    FileIOError
        The directory cannot be written.
    """
    nir = _nir()
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)


# -- import ---------------------------------------------------------------------


def _refuse(name: str, node: Any, reason: str) -> InvalidParameterError:
    return InvalidParameterError.of(f"nodes.{name}", type(node).__name__, reason)


def _flatten(graph: Any, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Nodes and edges of ``graph`` with nested graphs inlined (names ``sub.node``).

    A nested graph's ``Input`` and ``Output`` nodes stay as identity nodes;
    an edge into (out of) a nested graph goes to its ``Input`` (from its
    ``Output``).
    """
    nir = _nir()
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []

    def port(name: str, kind: Any) -> str:
        node = graph.nodes.get(name)
        if isinstance(node, nir.NIRGraph):
            ends = [k for k, v in node.nodes.items() if isinstance(v, kind)]
            if len(ends) != 1:
                raise _refuse(
                    prefix + name,
                    node,
                    f"a nested graph needs exactly one {kind.__name__} node, it has {len(ends)}",
                )
            return port_of(node, prefix + name + ".", ends[0], kind)
        return prefix + name

    def port_of(sub: Any, sub_prefix: str, end: str, kind: Any) -> str:
        node = sub.nodes[end]
        if isinstance(node, nir.NIRGraph):  # pragma: no cover - Input/Output are leaves
            return port_of(node, sub_prefix + end + ".", end, kind)
        return sub_prefix + end

    for name, node in graph.nodes.items():
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten(node, prefix + name + ".")
            nodes.update(sub_nodes)
            edges.extend(sub_edges)
        else:
            nodes[prefix + name] = node
    for src, dst in graph.edges:
        edges.append((port(src, nir.Output), port(dst, nir.Input)))
    return nodes, edges


def _vec(node_name: str, node: Any, attr: str) -> npt.NDArray[np.float64]:
    value = np.asarray(getattr(node, attr), dtype=np.float64).ravel()
    if not np.all(np.isfinite(value)):
        raise InvalidParameterError.of(f"nodes.{node_name}.{attr}", value.tolist(), "not finite")
    return value


def _uniform(node_name: str, node: Any, attr: str) -> float:
    value = _vec(node_name, node, attr)
    if value.size == 0:
        raise InvalidParameterError.of(f"nodes.{node_name}.{attr}", [], "empty")
    if np.ptp(value) != 0.0:
        raise InvalidParameterError.of(
            f"nodes.{node_name}.{attr}",
            f"{value.min()}..{value.max()}",
            "per-neuron values differ; an engine population takes one value",
        )
    return float(value[0])


def _per_neuron(node_name: str, node: Any, attr: str, n: int) -> npt.NDArray[np.float64]:
    value = _vec(node_name, node, attr)
    if value.size == 1:
        return np.full(n, value[0])
    if value.size != n:
        raise InvalidParameterError.of(
            f"nodes.{node_name}.{attr}", f"shape {value.shape}", f"expected {n} values"
        )
    return value


@dataclass
class _Neuron:
    """One neuron node, as an engine LIF population."""

    name: str
    kind: str
    n: int
    params: dict[str, Any]
    gain: npt.NDArray[np.float64]  # per neuron: engine weight per unit of NIR input
    bias_gain: npt.NDArray[np.float64]  # per neuron: engine bias current (pA) per unit input
    hop_steps: int  # delay of a hop onto it (1 for delta, 0 for current synapses)
    spiking: bool


@dataclass
class _Path:
    """Synapses from one source node to one neuron node through transfer nodes."""

    src: str
    dst: str
    weight: npt.NDArray[np.float64]  # (n_dst, n_src), NIR units; 1-D: a diagonal
    d_src: npt.NDArray[np.float64]  # (n_src,) delay per source element, graph time units
    d_dst: npt.NDArray[np.float64]  # (n_dst,) delay per target element
    delay_nodes: tuple[str, ...]
    coo: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]] | None


@dataclass(frozen=True)
class NIRRun:
    """The result of :meth:`ImportedGraph.run`.

    Attributes
    ----------
    spikes : dict of str to ndarray of bool, shape (n_steps, n)
        Per spiking node, its spikes at the source model's steps (the
        engine's steps shifted back by the node's lag).
    voltages : dict of str to ndarray of float64, shape (n_steps, n)
        Per non-spiking node (``LI``, ``CubaLI``), its membrane (mV) after
        each source step.
    outputs : dict of str to ndarray of float64, shape (n_steps, n)
        Per ``Output`` node, what reaches it: spikes as 0/1 or voltages.
    lag_steps : dict of str to int
        Per neuron node, how many engine steps it runs behind the source.
    network : Network
        The engine network that ran (monitors included).
    """

    spikes: dict[str, npt.NDArray[np.bool_]]
    voltages: dict[str, npt.NDArray[np.float64]]
    outputs: dict[str, npt.NDArray[np.float64]]
    lag_steps: dict[str, int]
    network: Network


@dataclass
class ImportedGraph:
    """A NIR graph mapped onto the engine (see :func:`import_graph`).

    Attributes
    ----------
    dt_ms : float
        Engine step (ms); one step of the source model.
    inputs : dict of str to int
        ``Input`` node name -> size.
    neurons : dict of str to dict
        Neuron node name -> its engine LIF parameters (``LIFParameters`` fields).
    outputs : dict of str to str
        ``Output`` node name -> the neuron node feeding it.
    lag_steps : dict of str to int
        Neuron node name -> engine steps behind the source model.
    """

    dt_ms: float
    inputs: dict[str, int]
    neurons: dict[str, dict[str, Any]]
    outputs: dict[str, str]
    lag_steps: dict[str, int]
    _neurons: dict[str, _Neuron] = field(repr=False)
    _paths: list[_Path] = field(repr=False)
    _bias: dict[str, npt.NDArray[np.float64]] = field(repr=False)
    _dt: float = field(repr=False)

    def build(
        self, inputs: Mapping[str, npt.ArrayLike], seed: int = 0
    ) -> tuple[Network, dict[str, Population]]:
        """Build the engine network for input spike rasters (biases not yet on).

        Parameters
        ----------
        inputs : mapping of str to array_like of {0, 1}, shape (n_steps, n)
            Per ``Input`` node, its spikes per source step.
        seed : int
            Network seed (the imported network draws nothing random).

        Returns
        -------
        (Network, dict of str to Population)
            The network and its populations by node name (inputs included).

        Raises
        ------
        InvalidParameterError
            A missing or unknown input, a raster of the wrong shape or with
            values other than 0 and 1.
        """
        net = Network(dt_ms=self.dt_ms, seed=seed)
        pops: dict[str, Population] = {}
        for name, raster in self._rasters(inputs).items():
            steps, neurons = np.nonzero(raster)
            pops[name] = net.spike_source(
                name, self.inputs[name], steps.astype(np.float64) * self.dt_ms, neurons
            )
        for name, neuron in self._neurons.items():
            pop = net.lif(name, neuron.n, **neuron.params)
            pop.set("v_mv", neuron.params["e_l_mv"])
            pops[name] = pop
        for path in self._paths:
            self._connect(net, pops, path)
        return net, pops

    def _rasters(self, inputs: Mapping[str, npt.ArrayLike]) -> dict[str, npt.NDArray[np.float64]]:
        missing = sorted(set(self.inputs) - set(inputs))
        unknown = sorted(set(inputs) - set(self.inputs))
        if missing or unknown:
            raise InvalidParameterError.of(
                "inputs",
                sorted(inputs),
                f"expected the Input nodes {sorted(self.inputs)}"
                + (f"; missing {missing}" if missing else "")
                + (f"; unknown {unknown}" if unknown else ""),
            )
        out: dict[str, npt.NDArray[np.float64]] = {}
        lengths = set()
        for name, value in inputs.items():
            raster = np.asarray(value, dtype=np.float64)
            n = self.inputs[name]
            if raster.ndim == 1 and n == 1:
                raster = raster[:, None]
            raster = raster.reshape(raster.shape[0], -1) if raster.ndim > 2 else raster
            if raster.ndim != 2 or raster.shape[1] != n:
                raise InvalidParameterError.of(
                    f"inputs.{name}", f"shape {raster.shape}", f"expected (n_steps, {n})"
                )
            if not np.all((raster == 0) | (raster == 1)):
                raise InvalidParameterError.of(
                    f"inputs.{name}", "non-binary values", "the engine takes spikes (0 or 1)"
                )
            lengths.add(raster.shape[0])
            out[name] = raster
        if len(lengths) > 1:
            raise InvalidParameterError.of("inputs", sorted(lengths), "rasters differ in n_steps")
        return out

    def _connect(self, net: Network, pops: dict[str, Population], path: _Path) -> None:
        target = self._neurons[path.dst]
        if path.coo is not None:
            pre, post, w = path.coo
        elif path.weight.ndim == 1:  # one to one
            post = pre = np.flatnonzero(path.weight)
            w = path.weight[pre]
        else:
            post, pre = np.nonzero(path.weight)
            w = path.weight[post, pre]
        if pre.size == 0:
            return
        graph_delay = path.d_src[pre] + path.d_dst[post]
        delay = graph_delay / self._dt
        steps = np.rint(delay)
        if np.any(np.abs(steps - delay) > 1e-6) or np.any(steps < 0):
            bad = float(graph_delay[np.argmax(np.abs(steps - delay))])
            where = path.delay_nodes[0] if path.delay_nodes else path.dst
            raise InvalidParameterError.of(
                f"nodes.{where}.delay", bad, f"not a non-negative multiple of dt = {self._dt}"
            )
        delay_ms = (steps + target.hop_steps) * self.dt_ms
        weight = w * target.gain[post]
        for receptor, mask in (("excitatory", weight > 0), ("inhibitory", weight < 0)):
            if mask.any():
                net.connect_arrays(
                    pops[path.src],
                    pops[path.dst],
                    pre[mask],
                    post[mask],
                    weight[mask],
                    delay_ms[mask],
                    receptor=receptor,  # type: ignore[arg-type]
                )

    def run(
        self, inputs: Mapping[str, npt.ArrayLike], seed: int = 0, n_steps: int | None = None
    ) -> NIRRun:
        """Run the graph on input spike rasters; outputs on the source's step grid.

        The engine runs ``n_steps + max(lag)`` steps; a node's bias currents
        (from ``Affine`` biases) start at its lag, so every node sees its
        input as in the source model, ``lag`` steps later.

        Parameters
        ----------
        inputs : mapping of str to array_like of {0, 1}, shape (n_steps, n)
            Per ``Input`` node, its spikes per step.
        seed : int
            Network seed.
        n_steps : int, optional
            Steps to run; default the rasters' length (needed for a graph
            without ``Input`` nodes).

        Returns
        -------
        NIRRun

        Raises
        ------
        InvalidParameterError
            Bad inputs (see :meth:`build`).
        """
        rasters = self._rasters(inputs)
        if n_steps is None:
            n_steps = next(iter(rasters.values())).shape[0] if rasters else 0
        elif rasters and next(iter(rasters.values())).shape[0] != n_steps:
            raise InvalidParameterError.of(
                "n_steps", n_steps, "differs from the input rasters' length"
            )
        net, pops = self.build(rasters, seed=seed)
        monitors = {name: net.spike_monitor(pops[name]) for name in self._neurons}
        voltage = {
            name: net.state_monitor(pops[name], "v_mv", np.arange(neuron.n))
            for name, neuron in self._neurons.items()
            if not neuron.spiking
        }
        max_lag = max(self.lag_steps.values(), default=0)
        total = n_steps + max_lag + 1
        onsets = sorted({self.lag_steps[name] for name in self._bias})
        done = 0
        for onset in [*onsets, total]:
            if onset > done:
                net.run_chunk(onset - done)
                done = onset
            for name, bias in self._bias.items():
                if self.lag_steps[name] == onset and onset < total:
                    pops[name].set_bias(bias * self._neurons[name].bias_gain)
        spikes: dict[str, npt.NDArray[np.bool_]] = {}
        voltages: dict[str, npt.NDArray[np.float64]] = {}
        for name, neuron in self._neurons.items():
            lag = self.lag_steps[name]
            if neuron.spiking:
                mon = monitors[name]
                raster = np.zeros((n_steps, neuron.n), dtype=bool)
                steps = np.rint(mon.t_ms / self.dt_ms).astype(np.int64) - lag
                keep = (steps >= 0) & (steps < n_steps)
                raster[steps[keep], mon.neuron[keep].astype(np.int64)] = True
                spikes[name] = raster
            else:
                # State monitors sample at the start of a step: the membrane
                # after engine step s is sample s + 1.
                values = voltage[name].values
                voltages[name] = np.asarray(values[lag + 1 : lag + 1 + n_steps], dtype=np.float64)
        outputs: dict[str, npt.NDArray[np.float64]] = {}
        for out, src in self.outputs.items():
            outputs[out] = spikes[src].astype(np.float64) if src in spikes else voltages[src].copy()
        return NIRRun(spikes, voltages, outputs, dict(self.lag_steps), net)


def _decay(name: str, attr: str, dt: float, tau: float, how: Discretisation) -> float:
    if tau <= 0:
        raise InvalidParameterError.of(f"nodes.{name}.{attr}", tau, "must be > 0")
    if how == "exact":
        return math.exp(-dt / tau)
    decay = 1.0 - dt / tau
    if not 0.0 < decay < 1.0:
        raise InvalidParameterError.of(
            f"nodes.{name}.{attr}",
            tau,
            f"dt / {attr} = {dt / tau:g} must be below 1 for the Euler step (dt = {dt})",
        )
    return decay


def _tau_ms(decay: float, dt_ms: float) -> float:
    return -dt_ms / math.log(decay)


def _current_propagator(h: float, tau_m: float, tau_s: float, c_m: float) -> float:
    """Return the engine's ``p_ex`` (``rust/core/src/neuron/lif.rs``, ``current_propagator``)."""
    delta = 1.0 / tau_s - 1.0 / tau_m
    ratio = h if abs(delta * h) < 1e-14 else math.expm1(delta * h) / delta
    return math.exp(-h / tau_s) * ratio / c_m


def _neuron(name: str, node: Any, n: int, dt: float, dt_ms: float, how: Discretisation) -> _Neuron:
    kind = type(node).__name__
    params: dict[str, Any] = {"t_ref_ms": 0.0}
    if kind in ("LIF", "LI"):
        tau = _uniform(name, node, "tau")
        decay = _decay(name, "tau", dt, tau, how)
        tau_m = _tau_ms(decay, dt_ms)
        r = _per_neuron(name, node, "r", n)
        v_leak = _uniform(name, node, "v_leak")
        gain = r * (dt / tau if how == "euler" else 1.0 - decay)
        params |= {"synapse": "delta", "tau_m_ms": tau_m, "c_m_pf": tau_m, "e_l_mv": v_leak}
        bias_gain = r.copy()  # R = 1 mV/pA: a bias b drives the membrane to v_leak + r b
        if kind == "LIF":
            params |= {
                "v_th_mv": _uniform(name, node, "v_threshold"),
                "v_reset_mv": _uniform(name, node, "v_reset"),
            }
        else:
            params |= {"v_th_mv": NO_SPIKE_V_TH_MV, "v_reset_mv": v_leak}
        hop = 1
    elif kind in ("CubaLIF", "CubaLI"):
        tau_mem = _uniform(name, node, "tau_mem")
        tau_syn = _uniform(name, node, "tau_syn")
        decay_m = _decay(name, "tau_mem", dt, tau_mem, how)
        decay_s = _decay(name, "tau_syn", dt, tau_syn, how)
        tau_m, tau_s = _tau_ms(decay_m, dt_ms), _tau_ms(decay_s, dt_ms)
        r = _per_neuron(name, node, "r", n)
        w_in = _per_neuron(name, node, "w_in", n)
        v_leak = _uniform(name, node, "v_leak")
        p_ex = _current_propagator(dt_ms, tau_m, tau_s, tau_m)
        if how == "euler":
            # I += dt w_in S / tau_syn; v gets dt r I / tau_mem of the new I next step.
            gain = w_in * (dt / tau_syn) * r * (dt / tau_mem) / p_ex
        else:
            # I jumps by w_in S (1 - e^{-dt/tau_syn}); the engine current is r I (R = 1).
            gain = w_in * (1.0 - decay_s) * r
        params |= {
            "synapse": "current",
            "tau_m_ms": tau_m,
            "c_m_pf": tau_m,
            "e_l_mv": v_leak,
            "tau_syn_ex_ms": tau_s,
            "tau_syn_in_ms": tau_s,
        }
        bias_gain = np.zeros(n)  # refused below: a bias into the synaptic current
        if kind == "CubaLIF":
            params |= {
                "v_th_mv": _uniform(name, node, "v_threshold"),
                "v_reset_mv": _uniform(name, node, "v_reset"),
            }
        else:
            params |= {"v_th_mv": NO_SPIKE_V_TH_MV, "v_reset_mv": v_leak}
        hop = 0
    elif kind == "IF":
        r = _per_neuron(name, node, "r", n)
        tau_m = NO_LEAK_TAU_STEPS * dt_ms
        gain = r * dt
        v_reset = _uniform(name, node, "v_reset")
        params |= {
            "synapse": "delta",
            "tau_m_ms": tau_m,
            "c_m_pf": tau_m,
            "e_l_mv": v_reset,
            "v_th_mv": _uniform(name, node, "v_threshold"),
            "v_reset_mv": v_reset,
        }
        # per step the bias adds p_mi i_e = (1 - e^{-1e-12}) i_e; the source adds dt r b.
        bias_gain = r * dt / -math.expm1(-1.0 / NO_LEAK_TAU_STEPS)
        hop = 1
    else:  # Threshold: a memoryless comparator
        thr = _uniform(name, node, "threshold")
        tau_m = MEMORYLESS_TAU_STEPS * dt_ms
        gain = np.ones(n)
        params |= {
            "synapse": "delta",
            "tau_m_ms": tau_m,
            "c_m_pf": tau_m,
            "e_l_mv": 0.0,
            "v_th_mv": thr,
            "v_reset_mv": min(0.0, thr) - 1.0,
        }
        bias_gain = np.full(n, 1.0 / -math.expm1(-1.0 / MEMORYLESS_TAU_STEPS))
        hop = 1
    if params["v_reset_mv"] >= params["v_th_mv"]:
        raise InvalidParameterError.of(
            f"nodes.{name}.v_reset",
            params["v_reset_mv"],
            f"must be below v_threshold = {params['v_th_mv']}",
        )
    return _Neuron(name, kind, n, params, gain, bias_gain, hop, kind not in ("LI", "CubaLI"))


def _coo(
    name: str, c: Mapping[str, Any], dense: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Return the synapses kept in a Linear's metadata, checked against its dense matrix."""
    pre = np.asarray(c["pre"], dtype=np.int64).ravel()
    post = np.asarray(c["post"], dtype=np.int64).ravel()
    weight = np.asarray(c["weight"], dtype=np.float64).ravel()
    n_post, n_pre = dense.shape
    ok = bool(pre.size == post.size == weight.size and np.all(np.isfinite(weight)))
    ok = ok and bool(pre.size == 0 or (pre.min() >= 0 and pre.max() < n_pre))
    ok = ok and bool(post.size == 0 or (post.min() >= 0 and post.max() < n_post))
    if ok:
        summed = np.zeros_like(dense)
        np.add.at(summed, (post, pre), weight)
        ok = bool(np.allclose(summed, dense, rtol=1e-6, atol=1e-12))
    if not ok:
        raise InvalidParameterError.of(
            f"nodes.{name}.metadata.{COO_KEY}", f"{pre.size} synapses", "do not sum to its weight"
        )
    return pre, post, weight


def _sizes(nodes: Mapping[str, Any], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Count the elements of every node (from its parameters, else from its inputs)."""
    nir = _nir()
    size: dict[str, int] = {}
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind in ("Linear", "Affine"):
            continue
        if isinstance(node, nir.Input | nir.Output):
            size[name] = int(np.prod(next(iter(node.input_type.values()))))
            continue
        attr = {
            "LIF": "tau",
            "LI": "tau",
            "CubaLIF": "tau_mem",
            "CubaLI": "tau_mem",
            "IF": "r",
            "Threshold": "threshold",
            "Delay": "delay",
            "Scale": "scale",
        }.get(kind)
        if attr is not None and np.asarray(getattr(node, attr)).size > 1:
            size[name] = int(np.asarray(getattr(node, attr)).size)
    out_size: dict[str, int] = {}
    for name, node in nodes.items():
        if type(node).__name__ in ("Linear", "Affine"):
            out_size[name] = int(np.asarray(node.weight).shape[-2])
    changed = True
    while changed:
        changed = False
        for src, dst in edges:
            n = out_size.get(src, size.get(src))
            if (
                n is not None
                and dst not in size
                and type(nodes[dst]).__name__
                not in (
                    "Linear",
                    "Affine",
                )
            ):
                size[dst] = n
                changed = True
    for name, n in out_size.items():
        size[name] = n
    for name in nodes:
        if name not in size:  # an isolated scalar node
            size[name] = 1
    return size


def import_graph(
    graph: Any,
    *,
    dt: float = 1e-4,
    dt_ms: float = 1.0,
    discretisation: Discretisation = "euler",
    refractory_steps: int | Mapping[str, int] = 0,
) -> ImportedGraph:
    r"""Map a NIR graph onto engine populations and projections.

    Parameters
    ----------
    graph : nir.NIRGraph or path-like
        The graph, or a NIR file (read with :func:`read_graph`).
    dt : float
        Step of the discrete-time model the graph came from, in the graph's
        time unit (snnTorch: ``1e-4``; Norse's modules default to ``1e-3``).
    dt_ms : float
        Engine step (ms) standing for one such step.
    discretisation : {"euler", "exact"}
        How a node's continuous-time equation becomes a step: forward Euler
        (snnTorch, Norse) or exact for input held over the step.
    refractory_steps : int or mapping of str to int
        Steps a neuron's membrane stays at ``v_reset`` after a spike, input
        discarded (all nodes, or per node name; default 0). NIR has no
        refractory period; snnTorch's ``RLeaky`` and ``Synaptic`` with
        ``reset_mechanism="zero"`` hold the membrane at zero for the step
        after a spike (1), its ``Leaky`` does not (0).

    Returns
    -------
    ImportedGraph

    Raises
    ------
    MissingExtraError
        Without the ``nir`` extra.
    InvalidParameterError
        A node the engine cannot represent (named, e.g. ``nodes.conv1 =
        'Conv2d'``), per-neuron values where a population takes one, an
        unstable Euler step (``dt >= tau``), a delay off the grid, a bias into
        a ``CubaLIF``'s synaptic current, a non-spiking node feeding others.

    Notes
    -----
    Per node (``d`` = decay per step, ``g`` = input gain; ``euler``:
    :math:`d = 1 - dt/\tau`, :math:`g = dt\,r/\tau`; ``exact``:
    :math:`d = e^{-dt/\tau}`, :math:`g = r (1 - d)`), with the engine's
    :math:`\tau_m = -dt_{ms} / \ln d`, :math:`C_m = \tau_m` (so
    :math:`R = 1` mV/pA), no refractory period, voltages in mV:

    - ``LIF`` / ``LI``: delta synapses, jump ``g w`` mV per input spike of
      weight ``w``; ``LI`` never spikes (threshold 1e300);
    - ``CubaLIF`` / ``CubaLI``: current synapses with ``tau_syn_ms`` from
      ``tau_syn``; a spike of weight ``w`` adds ``g w`` pA, scaled by the
      engine's current-to-voltage propagator so that the membrane follows the
      discrete source;
    - ``IF``: no leak (``tau_m`` = 1e12 steps), jump ``dt r w``;
    - ``Threshold``: a memoryless comparator (``tau_m`` = 1/40 step);
    - ``Affine`` biases: bias currents ``r b`` pA from the node's lag on.
    """
    if not math.isfinite(dt) or dt <= 0:
        raise InvalidParameterError.of("dt", dt, "must be a positive number")
    if not math.isfinite(dt_ms) or dt_ms <= 0:
        raise InvalidParameterError.of("dt_ms", dt_ms, "must be a positive number")
    if discretisation not in ("euler", "exact"):
        raise InvalidParameterError.of("discretisation", discretisation, "'euler' or 'exact'")
    nir = _nir()
    if not isinstance(graph, nir.NIRGraph):
        graph = read_graph(graph)
    nodes, edges = _flatten(graph)
    top_inputs = {k for k, v in graph.nodes.items() if isinstance(v, nir.Input)}
    top_outputs = {k for k, v in graph.nodes.items() if isinstance(v, nir.Output)}
    for name, node in nodes.items():
        kind = type(node).__name__
        if kind not in SUPPORTED_NODES:
            raise _refuse(
                name, node, f"no engine counterpart (supported: {', '.join(SUPPORTED_NODES)})"
            )
        if kind in ("Linear", "Affine") and np.asarray(node.weight).ndim != 2:
            raise _refuse(name, node, "only 2-D weight matrices are supported")
    size = _sizes(nodes, edges)
    succ: dict[str, list[str]] = {k: [] for k in nodes}
    for src, dst in edges:
        succ[src].append(dst)
    neurons = {
        name: _neuron(name, node, size[name], dt, dt_ms, discretisation)
        for name, node in nodes.items()
        if type(node).__name__ in _NEURONS
    }
    if isinstance(refractory_steps, Mapping):
        unknown = sorted(set(refractory_steps) - set(neurons))
        if unknown:
            raise InvalidParameterError.of(
                "refractory_steps", unknown, f"not neuron nodes (they are {sorted(neurons)})"
            )
        ref = dict(refractory_steps)
    else:
        ref = dict.fromkeys(neurons, refractory_steps)
    for name, steps in ref.items():
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
            raise InvalidParameterError.of(
                f"refractory_steps.{name}", steps, "must be a whole number >= 0"
            )
        neurons[name].params["t_ref_ms"] = int(steps) * dt_ms

    paths: list[_Path] = []
    outputs: dict[str, str] = {}

    def walk(
        src: str,
        at: str,
        weight: npt.NDArray[np.float64],
        d_src: npt.NDArray[np.float64],
        d_cur: npt.NDArray[np.float64],
        linear: bool,
        delay_nodes: tuple[str, ...],
        coo: Any,
        seen: tuple[str, ...],
    ) -> None:
        for nxt in succ[at]:
            node = nodes[nxt]
            kind = type(node).__name__
            if nxt in seen and kind not in _NEURONS:
                raise _refuse(nxt, node, "a cycle without a neuron node")
            if kind in _NEURONS:
                if src in neurons and not neurons[src].spiking:
                    raise _refuse(
                        src, nodes[src], f"a non-spiking node feeds '{nxt}'; only an Output may"
                    )
                if weight.shape[0] != neurons[nxt].n:
                    raise _refuse(
                        nxt, node, f"{weight.shape[0]} inputs for {neurons[nxt].n} neurons"
                    )
                paths.append(_Path(src, nxt, weight, d_src, d_cur, delay_nodes, coo))
            elif nxt in top_outputs:
                direct = weight.ndim == 1 and bool(np.all(weight == 1.0))
                if src in top_inputs or not direct or np.any(d_src):
                    raise _refuse(nxt, node, "only a neuron node can feed an Output")
                outputs[nxt] = src
            elif isinstance(node, nir.Input | nir.Output) or kind == "Flatten":
                walk(src, nxt, weight, d_src, d_cur, linear, delay_nodes, coo, (*seen, nxt))
            elif kind == "Delay":
                delay = _per_neuron(nxt, node, "delay", weight.shape[0])
                if linear:
                    walk(
                        src, nxt, weight, d_src, d_cur + delay, linear,
                        (*delay_nodes, nxt), coo, (*seen, nxt),
                    )  # fmt: skip
                else:  # before any matrix the elements are the source's
                    walk(
                        src, nxt, weight, d_src + delay, d_cur, linear,
                        (*delay_nodes, nxt), coo, (*seen, nxt),
                    )  # fmt: skip
            elif kind == "Scale":
                scale = _per_neuron(nxt, node, "scale", weight.shape[0])
                walk(
                    src, nxt, (scale if weight.ndim == 1 else scale[:, None]) * weight,
                    d_src, d_cur, linear,
                    delay_nodes, None, (*seen, nxt),
                )  # fmt: skip
            else:  # Linear, Affine
                w = np.asarray(node.weight, dtype=np.float64)
                if w.shape[1] != weight.shape[0]:
                    raise _refuse(nxt, node, f"weight {w.shape} after {weight.shape[0]} elements")
                if not np.all(np.isfinite(w)):
                    raise InvalidParameterError.of(f"nodes.{nxt}.weight", "nan/inf", "not finite")
                if np.ptp(d_cur) != 0.0:
                    raise _refuse(nxt, node, "a Delay with per-element delays between two matrices")
                new_coo = None
                meta = getattr(node, "metadata", None) or {}
                if COO_KEY in meta and weight.ndim == 1 and bool(np.all(weight == 1.0)):
                    new_coo = _coo(nxt, meta[COO_KEY], w)
                walk(
                    src, nxt, w * weight[None, :] if weight.ndim == 1 else w @ weight,
                    d_src + d_cur[0] if d_cur.size else d_src,
                    np.zeros(w.shape[0]), True, delay_nodes, new_coo, (*seen, nxt),
                )  # fmt: skip

    sources = [k for k in nodes if k in top_inputs] + list(neurons)
    for src in sources:
        n = size[src]
        walk(src, src, np.ones(n), np.zeros(n), np.zeros(n), False, (), None, (src,))

    # Affine biases: constant inputs carried to the neurons downstream.
    bias: dict[str, npt.NDArray[np.float64]] = {}

    def carry(at: str, value: npt.NDArray[np.float64], seen: tuple[str, ...]) -> None:
        for nxt in succ[at]:
            node = nodes[nxt]
            kind = type(node).__name__
            if nxt in seen:
                continue
            if kind in _NEURONS:
                if kind in ("CubaLIF", "CubaLI"):
                    raise _refuse(
                        seen[0],
                        nodes[seen[0]],
                        f"a bias into '{nxt}' (a {kind}) would enter its synaptic current, "
                        "which the engine's bias (on the membrane) cannot; use a Linear",
                    )
                bias[nxt] = bias.get(nxt, np.zeros(neurons[nxt].n)) + value
            elif kind in ("Linear", "Affine"):
                carry(nxt, np.asarray(node.weight, dtype=np.float64) @ value, (*seen, nxt))
            elif kind == "Scale":
                carry(nxt, _per_neuron(nxt, node, "scale", value.size) * value, (*seen, nxt))
            elif nxt not in top_outputs:
                carry(nxt, value, (*seen, nxt))

    for name, node in nodes.items():
        if type(node).__name__ == "Affine":
            b = _vec(name, node, "bias")
            if np.any(b != 0):
                carry(name, np.broadcast_to(b, (size[name],)).astype(np.float64), (name,))

    # Lag: engine steps behind the source, the fewest hops from an Input.
    lag: dict[str, int] = {}
    frontier = [s for s in sources if s in top_inputs]
    for s in frontier:
        lag[s] = 0
    while frontier:
        nxt_frontier = []
        for s in frontier:
            for p in paths:
                if p.src == s and p.dst not in lag:
                    lag[p.dst] = lag[s] + 1
                    nxt_frontier.append(p.dst)
        frontier = nxt_frontier
    lag_steps = {name: lag.get(name, 0) for name in neurons}
    return ImportedGraph(
        dt_ms=dt_ms,
        inputs={k: size[k] for k in nodes if k in top_inputs},
        neurons={k: dict(v.params) for k, v in neurons.items()},
        outputs=outputs,
        lag_steps=lag_steps,
        _neurons=neurons,
        _paths=paths,
        _bias=bias,
        _dt=dt,
    )


# -- export ---------------------------------------------------------------------


def export_graph(
    network: Network,
    *,
    dt: float | None = None,
    sparse_below: float = 0.25,
    max_dense: int = 1 << 24,
) -> Any:
    """Write a network as a NIR graph (the inverse of :func:`import_graph`, Euler).

    LIF populations with delta synapses become ``LIF`` nodes, with current
    synapses (one ``tau_syn`` for both receptors) ``CubaLIF`` nodes; spike
    sources, Poisson groups and input ports become ``Input`` nodes; every
    neuron node gets an ``Output`` node ``out_<name>``. The projections
    between two populations become one ``Linear`` per distinct delay (the
    dense matrix, multapses summed, excitatory and inhibitory together),
    followed by a ``Delay`` node when the delay exceeds the one step a hop
    takes. A projection whose density is below ``sparse_below`` also keeps
    its synapses as COO arrays in the ``Linear`` node's metadata
    (``evospikenet_coo``: ``pre``, ``post``, ``weight``), which
    :func:`import_graph` prefers to the dense matrix.

    Parameters
    ----------
    network : Network
        The network; its weights as they are now (plasticity rules, Poisson
        inputs, currents and noise onto populations are not part of a NIR
        graph and are not written).
    dt : float, optional
        Time unit of the graph per engine step; default ``dt_ms * 1e-3``
        (times in seconds).
    sparse_below : float
        Density below which a projection's synapses are also stored sparsely.
    max_dense : int
        Largest dense matrix (entries) written.

    Returns
    -------
    nir.NIRGraph

    Raises
    ------
    MissingExtraError
        Without the ``nir`` extra.
    InvalidParameterError
        A population NIR cannot hold (named: an Izhikevich population,
        conductance synapses, different excitatory and inhibitory
        ``tau_syn``, a refractory period, which NIR's LIF lacks), a remote
        population, or a projection larger than ``max_dense``.
    """
    nir = _nir()
    dt_ms = network.dt_ms
    step = dt_ms * 1e-3 if dt is None else float(dt)
    if not math.isfinite(step) or step <= 0:
        raise InvalidParameterError.of("dt", dt, "must be a positive number")
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    p_ex: dict[str, float] = {}
    hop: dict[str, int] = {}
    for name, pop in network.populations.items():
        where = f"populations.{name}"
        if pop.remote:
            raise InvalidParameterError.of(where, name, "a remote population (partition)")
        if isinstance(pop, SpikeSourcePopulation | PoissonGroupPopulation | InputPort):
            nodes[name] = nir.Input(input_type={"input": np.array([pop.n])})
            continue
        if not isinstance(pop, LIFPopulation):
            raise InvalidParameterError.of(where, pop.model, "no NIR node for this model")
        p = pop.params
        if round(p.t_ref_ms / dt_ms) > 0:
            raise InvalidParameterError.of(
                f"{where}.t_ref_ms", p.t_ref_ms, "NIR's LIF has no refractory period (use 0)"
            )
        ones = np.ones(pop.n)
        decay_m = math.exp(-dt_ms / p.tau_m_ms)
        tau = step / (1.0 - decay_m)
        common = {
            "r": ones * tau / step,
            "v_leak": ones * p.e_l_mv,
            "v_threshold": ones * p.v_th_mv,
            "v_reset": ones * p.v_reset_mv,
        }
        if p.synapse == "delta":
            nodes[name] = nir.LIF(tau=ones * tau, **common)
            hop[name] = 1
        elif p.synapse == "current":
            if p.tau_syn_ex_ms != p.tau_syn_in_ms:
                raise InvalidParameterError.of(
                    f"{where}.tau_syn_in_ms",
                    p.tau_syn_in_ms,
                    f"NIR's CubaLIF has one tau_syn; tau_syn_ex_ms is {p.tau_syn_ex_ms}",
                )
            decay_s = math.exp(-dt_ms / p.tau_syn_ex_ms)
            tau_syn = step / (1.0 - decay_s)
            nodes[name] = nir.CubaLIF(
                tau_syn=ones * tau_syn, tau_mem=ones * tau, w_in=ones * tau_syn / step, **common
            )
            p_ex[name] = _current_propagator(dt_ms, p.tau_m_ms, p.tau_syn_ex_ms, p.c_m_pf)
            hop[name] = 0
        else:
            raise InvalidParameterError.of(
                f"{where}.synapse", p.synapse, "NIR has no conductance-based neuron"
            )
        nodes[f"out_{name}"] = nir.Output(output_type={"output": np.array([pop.n])})
        edges.append((name, f"out_{name}"))
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for proj in network.projections:
        if proj.post.name not in hop:
            raise InvalidParameterError.of(
                "projection", f"{proj.pre.name}->{proj.post.name}", "its target is not a neuron"
            )
        a = proj.arrays()
        steps = np.rint(a["delay_ms"] / dt_ms).astype(np.int64)
        extra = np.maximum(steps - hop[proj.post.name], 0)
        for d in np.unique(extra):
            sel = extra == d
            groups.setdefault((proj.pre.name, proj.post.name, int(d)), []).append(
                {k: v[sel] for k, v in a.items()} | {"w": a["weight"][sel].astype(np.float64)}
            )
    for (pre, post, d), parts in groups.items():
        n_pre, n_post = network.populations[pre].n, network.populations[post].n
        label = f"{pre}->{post}" + (f" (delay {d} steps)" if d else "")
        if n_pre * n_post > max_dense:
            raise InvalidParameterError.of(
                "projection", label, f"{n_pre}x{n_post} exceeds max_dense = {max_dense}"
            )
        pre_i = np.concatenate([q["pre"] for q in parts]).astype(np.int64)
        post_i = np.concatenate([q["post"] for q in parts]).astype(np.int64)
        w = np.concatenate([q["w"] for q in parts])
        if post in p_ex:  # pA -> NIR input units (w_in dt / tau_syn = 1, r dt / tau = 1)
            w = w * p_ex[post]
        dense = np.zeros((n_post, n_pre))
        np.add.at(dense, (post_i, pre_i), w)
        meta: dict[str, Any] = {}
        if pre_i.size < sparse_below * n_pre * n_post:
            meta[COO_KEY] = {"pre": pre_i, "post": post_i, "weight": w}
        lin = f"w_{pre}_{post}" + (f"_d{d}" if d else "")
        nodes[lin] = nir.Linear(weight=dense, metadata=meta)
        edges.append((pre, lin))
        if d:
            nodes[f"delay_{pre}_{post}_d{d}"] = nir.Delay(delay=np.full(n_post, d * step))
            edges += [(lin, f"delay_{pre}_{post}_d{d}"), (f"delay_{pre}_{post}_d{d}", post)]
        else:
            edges.append((lin, post))
    return nir.NIRGraph(
        nodes=nodes,
        edges=edges,
        metadata={"source": "evospikenet", "dt": step, "dt_ms": dt_ms},
    )
