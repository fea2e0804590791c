"""The evolvable description of a spiking network: :class:`EvoGenome`.

A genome is a JSON document (``schema_version`` 1)::

    {
      "schema_version": 1,
      "genome_id": "g0000-00000",
      "generation": 0,
      "fitness": null,
      "parent_ids": [],
      "mutations": [],
      "dt_ms": 1.0,
      "network_seed": 12345,
      "input": {"size": 4, "neurons_per_feature": 2, "gains_pa": [...], "bias_pa": 300.0},
      "modules": [{"name": "m0", "layers": [{"name": "h0", "model": "lif", "size": 8,
                   "bias_pa": 0.0, "params": {...}}]}],
      "connections": [{"pre": "input", "post": "h0", "p": 0.5, "weight_mean": 200.0,
                       "weight_std": 50.0, "delay_ms": [1.0, 2.0]}],
      "readout": {"kind": "populations", "size": 2, "neurons_per_output": 4,
                  "window_ms": 20.0, "params": {...}},
      "plasticity": null
    }

``plasticity`` is null or ``{"rule": "stdp" | "bcm" | "oja", "params": {...}}``:
:meth:`EvoGenome.build` attaches the rule (:mod:`evospikenet.plasticity`,
:func:`~evospikenet.plasticity.rule_from_params`) to every excitatory
projection with a positive weight, each with ``w_max`` = ``params["w_max"]``
or twice the projection's largest initial weight. Weights then learn during
an evaluation (lifetime learning): a closed-loop task's episode reset keeps
them, as :meth:`evospikenet.network.Network.reset` does.

Nodes are ordered ``input``, the layers of every module in order (the
"chromosomes"), then ``output`` (readout ``populations``). A connection from
node *i* to node *j* is *feed-forward* when ``j = i + 1``, a *skip* when
``j > i + 1`` and *recurrent* when ``j <= i``. Every consecutive pair of nodes
is joined (the backbone), so the readout always hears the input.
"""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from evospikenet._atomic import write_atomic
from evospikenet._formats import parse_json, read_json
from evospikenet.distributions import Constant, Normal, Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.network import LIFPopulation, Network, Population
from evospikenet.plasticity import STANDALONE_RULES, rule_fields, rule_from_params

__all__ = [
    "IZHIKEVICH_BOUNDS",
    "LIF_BOUNDS",
    "SCHEMA_VERSION",
    "BuiltNetwork",
    "Connection",
    "EvoGenome",
    "InputEncoding",
    "Layer",
    "Module",
    "Readout",
    "load_genome",
]

SCHEMA_VERSION = 1

#: Evolvable LIF parameters: name -> (low, high). ``e_l_mv = v_reset_mv = -65 mV``,
#: ``c_m_pf = 250 pF`` (NEST ``iaf_psc_exp``), current-based synapses.
LIF_BOUNDS: dict[str, tuple[float, float]] = {
    "tau_m_ms": (2.0, 100.0),
    "v_th_mv": (-60.0, -40.0),
    "t_ref_ms": (0.0, 10.0),
    "tau_syn_ex_ms": (0.5, 50.0),
    "tau_syn_in_ms": (0.5, 50.0),
}
LIF_DEFAULTS: dict[str, float] = {
    "tau_m_ms": 20.0,
    "v_th_mv": -50.0,
    "t_ref_ms": 2.0,
    "tau_syn_ex_ms": 5.0,
    "tau_syn_in_ms": 5.0,
}
#: Evolvable Izhikevich (2003) parameters (paper units) and their bounds.
IZHIKEVICH_BOUNDS: dict[str, tuple[float, float]] = {
    "a": (0.005, 0.2),
    "b": (0.1, 0.3),
    "c": (-70.0, -45.0),
    "d": (0.05, 10.0),
    "tau_syn_ms": (0.0, 20.0),
}
IZHIKEVICH_DEFAULTS: dict[str, float] = {
    "a": 0.02,
    "b": 0.2,
    "c": -65.0,
    "d": 8.0,
    "tau_syn_ms": 5.0,
}

#: Bounds of the other numeric genes.
SIZE_BOUNDS = (1, 256)
BIAS_BOUNDS = (-2000.0, 2000.0)  # pA
GAIN_BOUNDS = (-5000.0, 5000.0)  # pA per unit of a normalised feature
WEIGHT_MEAN_BOUNDS = (-5000.0, 5000.0)  # unit of the target variable (pA for LIF)
WEIGHT_STD_BOUNDS = (0.0, 2000.0)
P_BOUNDS = (0.01, 1.0)
DELAY_BOUNDS = (0.0, 20.0)  # ms
WINDOW_BOUNDS = (2.0, 200.0)  # ms
MAX_SEED = 2**32

INPUT = "input"
OUTPUT = "output"

Model = Literal["lif", "izhikevich"]


# -- genes -------------------------------------------------------------------


@dataclass
class Layer:
    """A population of one neuron model (a gene of a module).

    Attributes
    ----------
    name : str
        Unique node name (not ``input``/``output``).
    model : {"lif", "izhikevich"}
        Neuron model.
    size : int
        Number of neurons, in ``SIZE_BOUNDS``.
    bias_pa : float
        Tonic current into every neuron (pA).
    params : dict of str to float
        :data:`LIF_BOUNDS` or :data:`IZHIKEVICH_BOUNDS` names, all present.
    """

    name: str
    model: Model
    size: int
    bias_pa: float = 0.0
    params: dict[str, float] = field(default_factory=dict)


@dataclass
class Module:
    """A "chromosome": a named run of consecutive layers."""

    name: str
    layers: list[Layer]


@dataclass
class Connection:
    """A connection gene: fixed-probability synapses from ``pre`` to ``post``.

    Attributes
    ----------
    pre, post : str
        Node names (``pre`` may be ``input``; ``post`` may be ``output``).
    p : float
        Connection probability, in ``P_BOUNDS``.
    weight_mean, weight_std : float
        Normal weight distribution in the unit of the target variable (pA
        for LIF). ``weight_mean >= 0`` makes an excitatory projection with
        weights clipped to ``>= 0``, a negative mean an inhibitory one with
        weights ``<= 0`` (NEST ``normal_clipped``).
    delay_ms : (float, float)
        Delays drawn uniformly in ``[low, high]`` on the ``dt_ms`` grid.
    weights : list of float or None
        Direct encoding (as NEAT's connection genes, one weight per synapse):
        the weight of every pair (pre neuron *i*, post neuron *j*), row-major
        ``i * n_post + j``, ``n_post`` counting all output populations in order
        for ``post = "output"``; in the unit of the target variable, within
        ``WEIGHT_MEAN_BOUNDS``. Positive weights act on the excitatory,
        negative ones on the inhibitory synaptic current; every delay is
        ``delay_ms[0]``. When set, ``p``, ``weight_mean`` and ``weight_std``
        are not used. None (the default): synapses drawn with ``p`` and the
        weight distribution.
    delays : list of float or None
        With ``weights`` only: the delay (ms) of every synapse, in the same
        order, on the ``dt_ms`` grid within ``DELAY_BOUNDS`` (evolved delays);
        None: ``delay_ms[0]`` for all.
    """

    pre: str
    post: str
    p: float
    weight_mean: float
    weight_std: float
    delay_ms: tuple[float, float] = (0.0, 0.0)
    weights: list[float] | None = None
    delays: list[float] | None = None


@dataclass
class InputEncoding:
    r"""How a feature vector becomes input currents.

    Feature *i* (normalised to about ``[-1, 1]`` by the task) drives
    ``neurons_per_feature`` LIF neurons of the ``input`` node with constant
    currents for the presentation window:

    * 1 neuron: :math:`I = b + g_i x_i`;
    * 2 neurons (push-pull): :math:`I_{on} = b + [g_i x_i]_+`,
      :math:`I_{off} = b + [-g_i x_i]_+`,

    with ``b = bias_pa`` and ``g = gains_pa`` (pA). The spike rate of a LIF
    neuron grows with its current above rheobase (375 pA for the fixed
    input-neuron parameters), so this is a rate code.
    """

    size: int
    neurons_per_feature: int = 2
    gains_pa: list[float] = field(default_factory=list)
    bias_pa: float = 300.0


@dataclass
class Readout:
    """How the network's answer is read.

    Attributes
    ----------
    kind : {"populations", "ridge"}
        ``populations``: one LIF population of ``neurons_per_output`` neurons
        per output (node ``output``); the answer is the output with the most
        spikes in the window, ties broken by the higher mean membrane
        potential. ``ridge``: a linear readout (ridge regression, fitted by
        the task on training data) of the spike counts of the last layer,
        for classification tasks.
    size : int
        Number of outputs (actions or classes).
    neurons_per_output : int
        Neurons per output population (``populations``).
    window_ms : float
        Presentation window per input (ms).
    params : dict
        LIF parameters of the output neurons (``populations``).
    ridge_alpha : float
        Ridge penalty (``ridge``), > 0.
    """

    kind: Literal["populations", "ridge"] = "populations"
    size: int = 2
    neurons_per_output: int = 4
    window_ms: float = 20.0
    params: dict[str, float] = field(default_factory=lambda: dict(LIF_DEFAULTS))
    ridge_alpha: float = 1.0


# -- the genome ----------------------------------------------------------------


@dataclass
class EvoGenome:
    """A versioned, validated genome encoding a spiking network.

    Build one with :meth:`from_dict` / :func:`load_genome` (validated) or
    :meth:`minimal`; turn it into a runnable network with :meth:`build`.

    Attributes
    ----------
    genome_id : str
        Identifier (unique within a run).
    generation : int
        Generation in which it was made (>= 0).
    fitness : float or None
        Last measured fitness (None = not evaluated).
    parent_ids : list of str
        Ids of the parents (0, 1 or 2).
    mutations : list of str
        Names of the operators that made it from its parents (for the
        adaptive mutation rates).
    dt_ms : float
        Simulation step (ms).
    network_seed : int
        Seed of the connectivity draws when :meth:`build` gets none.
    input, modules, connections, readout
        The network description (see the module docstring).
    plasticity : dict or None
        ``{"rule": name, "params": {...}}`` (see the module docstring): a
        plasticity rule on every excitatory projection, or None.
    """

    genome_id: str
    input: InputEncoding
    modules: list[Module]
    connections: list[Connection]
    readout: Readout
    generation: int = 0
    fitness: float | None = None
    parent_ids: list[str] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    dt_ms: float = 1.0
    network_seed: int = 0
    plasticity: dict[str, Any] | None = None

    # -- structure ---------------------------------------------------------

    def layers(self) -> list[Layer]:
        """All hidden layers in node order."""
        return [layer for module in self.modules for layer in module.layers]

    def node_names(self) -> list[str]:
        """Node names in order: ``input``, hidden layers, ``output`` (if any)."""
        names = [INPUT, *(layer.name for layer in self.layers())]
        if self.readout.kind == "populations":
            names.append(OUTPUT)
        return names

    def node_index(self) -> dict[str, int]:
        """Map node name -> position in :meth:`node_names`."""
        return {name: k for k, name in enumerate(self.node_names())}

    def connection_kind(self, conn: Connection) -> Literal["feedforward", "skip", "recurrent"]:
        """Classify a connection by the positions of its ends."""
        index = self.node_index()
        i, j = index[conn.pre], index[conn.post]
        if j == i + 1:
            return "feedforward"
        if j > i + 1:
            return "skip"
        return "recurrent"

    def n_skip(self) -> int:
        """Count the skip connections."""
        return sum(self.connection_kind(c) == "skip" for c in self.connections)

    def n_recurrent(self) -> int:
        """Count the recurrent connections."""
        return sum(self.connection_kind(c) == "recurrent" for c in self.connections)

    def n_neurons(self) -> int:
        """Neurons the built network has (input, hidden, output)."""
        n = self.input.size * self.input.neurons_per_feature
        n += sum(layer.size for layer in self.layers())
        if self.readout.kind == "populations":
            n += self.readout.size * self.readout.neurons_per_output
        return n

    def summary(self) -> str:
        """One line describing the architecture."""
        sizes = "-".join(str(layer.size) for layer in self.layers()) or "direct"
        return (
            f"{self.genome_id}: {len(self.modules)} module(s), layers {sizes}, "
            f"{len(self.connections)} connections ({self.n_skip()} skip, "
            f"{self.n_recurrent()} recurrent), {self.n_neurons()} neurons"
        )

    def copy(self) -> EvoGenome:
        """Deep copy."""
        return copy.deepcopy(self)

    # -- JSON --------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready dictionary (schema_version 1)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "genome_id": self.genome_id,
            "generation": self.generation,
            "fitness": self.fitness,
            "parent_ids": list(self.parent_ids),
            "mutations": list(self.mutations),
            "dt_ms": self.dt_ms,
            "network_seed": self.network_seed,
            "input": {
                "size": self.input.size,
                "neurons_per_feature": self.input.neurons_per_feature,
                "gains_pa": list(self.input.gains_pa),
                "bias_pa": self.input.bias_pa,
            },
            "modules": [
                {
                    "name": m.name,
                    "layers": [
                        {
                            "name": layer.name,
                            "model": layer.model,
                            "size": layer.size,
                            "bias_pa": layer.bias_pa,
                            "params": dict(layer.params),
                        }
                        for layer in m.layers
                    ],
                }
                for m in self.modules
            ],
            "connections": [
                {
                    "pre": c.pre,
                    "post": c.post,
                    "p": c.p,
                    "weight_mean": c.weight_mean,
                    "weight_std": c.weight_std,
                    "delay_ms": [c.delay_ms[0], c.delay_ms[1]],
                    **({"weights": list(c.weights)} if c.weights is not None else {}),
                    **({"delays": list(c.delays)} if c.delays is not None else {}),
                }
                for c in self.connections
            ],
            "readout": {
                "kind": self.readout.kind,
                "size": self.readout.size,
                "neurons_per_output": self.readout.neurons_per_output,
                "window_ms": self.readout.window_ms,
                "params": dict(self.readout.params),
                "ridge_alpha": self.readout.ridge_alpha,
            },
            "plasticity": self.plasticity,
        }

    def to_json(self) -> str:
        """Serialise to JSON text (keys in schema order, 2-space indent)."""
        return json.dumps(self.to_dict(), indent=2)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the genome as JSON, atomically.

        Raises
        ------
        FileIOError
            If the file cannot be written (an existing file is kept).
        """
        write_atomic(path, self.to_json() + "\n", "genome")

    @classmethod
    def from_dict(cls, data: Any) -> EvoGenome:
        """Parse and validate a genome dictionary.

        Raises
        ------
        InvalidParameterError
            Naming the field path (e.g. ``modules[0].layers[1].size``) and
            the value, for a missing, unknown, mistyped or out-of-range field
            or a structure that cannot be built.
        """
        return _parse(data)

    @classmethod
    def from_json(cls, text: str) -> EvoGenome:
        """Parse JSON text (see :meth:`from_dict`).

        Raises
        ------
        InvalidParameterError
            For text that is not JSON (field ``genome``) or an invalid genome.
        """
        return _parse(parse_json(text, "genome", text[:40]))

    def validate(self) -> None:
        """Check every field and the structure; see :meth:`from_dict`.

        Raises
        ------
        InvalidParameterError
            As :meth:`from_dict`.
        """
        _parse(self.to_dict())

    # -- minimal genome ----------------------------------------------------

    @classmethod
    def minimal(
        cls,
        n_inputs: int,
        n_outputs: int,
        *,
        readout: Literal["populations", "ridge"] = "populations",
        hidden: Sequence[int] = (),
        rng: np.random.Generator | None = None,
        genome_id: str = "g0000-00000",
    ) -> EvoGenome:
        """Make a small valid genome: input, ``hidden`` LIF layers (one module), readout.

        With ``rng`` the gains, weights and seed are drawn at random
        (initial population); without, they take fixed defaults.

        Raises
        ------
        InvalidParameterError
            For sizes out of bounds (via :meth:`validate`).
        """
        r = rng if rng is not None else np.random.default_rng(0)
        npf = 2 if readout == "populations" else 1
        gains = r.normal(0.0, 600.0, n_inputs) if rng is not None else np.full(n_inputs, 600.0)
        layers = [
            Layer(f"h{k}", "lif", int(size), 0.0, dict(LIF_DEFAULTS))
            for k, size in enumerate(hidden)
        ]
        modules = [Module("m0", layers)] if layers else []
        genome = cls(
            genome_id=genome_id,
            input=InputEncoding(n_inputs, npf, [float(np.clip(g, *GAIN_BOUNDS)) for g in gains]),
            modules=modules,
            connections=[],
            readout=Readout(kind=readout, size=n_outputs),
            network_seed=int(r.integers(0, MAX_SEED)) if rng is not None else 0,
        )
        names = genome.node_names()
        for pre, post in itertools.pairwise(names):
            mean = float(r.normal(300.0, 150.0)) if rng is not None else 300.0
            genome.connections.append(
                Connection(pre, post, 0.5, float(np.clip(mean, -1000, 1000)), 100.0, (1.0, 1.0))
            )
        genome.validate()
        return genome

    # -- building ----------------------------------------------------------

    def build(
        self, seed: int | None = None, *, weight_masks: Mapping[str, float] | None = None
    ) -> BuiltNetwork:
        """Build the network this genome encodes.

        Parameters
        ----------
        seed : int, optional
            Seed of the connectivity and initial-state draws; defaults to
            ``network_seed``. The same genome and seed give the same network
            and the same spikes.
        weight_masks : mapping of str to float, optional
            For fault injection: layer name -> fraction of the synapses onto
            that layer whose weight is set to 0 (chosen with a generator
            seeded by ``seed``).

        Returns
        -------
        BuiltNetwork

        Raises
        ------
        InvalidParameterError
            If the genome is invalid, or ``plasticity.params.w_max`` lies
            below a projection's initial weights.
        """
        self.validate()
        s = self.network_seed if seed is None else int(seed)
        net = Network(dt_ms=self.dt_ms, seed=s)
        pops: dict[str, Population] = {}
        n_in = self.input.size * self.input.neurons_per_feature
        pops[INPUT] = net.lif(INPUT, n_in, **_lif_kwargs(LIF_DEFAULTS))
        for layer in self.layers():
            if layer.model == "lif":
                pop: Population = net.lif(layer.name, layer.size, **_lif_kwargs(layer.params))
            else:
                prm = layer.params
                pop = net.izhikevich(
                    layer.name,
                    layer.size,
                    preset=None,
                    a=prm["a"],
                    b=prm["b"],
                    c=prm["c"],
                    d=prm["d"],
                    tau_syn_ms=prm["tau_syn_ms"],
                )
                pop.set("v_mv", prm["c"])
                pop.set("u", prm["b"] * prm["c"])
            if layer.bias_pa != 0.0:
                pop.set_bias(layer.bias_pa)
            pops[layer.name] = pop
        outputs: list[LIFPopulation] = []
        if self.readout.kind == "populations":
            for k in range(self.readout.size):
                outputs.append(
                    net.lif(
                        f"{OUTPUT}{k}",
                        self.readout.neurons_per_output,
                        **_lif_kwargs(self.readout.params),
                    )
                )
        masked: dict[int, dict[str, np.ndarray]] = {}
        if weight_masks:
            # The engine seeds each projection by its index: build unmasked, read the
            # synapses of the masked projections, and rebuild them from arrays at the
            # same index with a fraction of the weights set to 0.
            base = self.build(s)
            mask_rng = np.random.default_rng([s, 0x6D61736B])
            for k, proj in enumerate(base.network.projections):
                frac = weight_masks.get(proj.post.name if proj.post.name in pops else OUTPUT)
                if frac:
                    arrays = proj.arrays()
                    n = arrays["weight"].size
                    chosen = mask_rng.choice(n, size=round(frac * n), replace=False)
                    arrays["weight"] = arrays["weight"].astype(np.float64)
                    arrays["weight"][chosen] = 0.0
                    masked[k] = arrays
        k = 0
        for conn in self.connections:
            posts: list[Population] = list(outputs) if conn.post == OUTPUT else [pops[conn.post]]
            if conn.weights is not None:
                k += len(_connect_direct(net, pops[conn.pre], posts, conn, masked, k))
                continue
            for post in posts:
                _connect(net, pops[conn.pre], post, conn, self.dt_ms, masked.get(k))
                k += 1
        if self.plasticity is not None:
            _attach_plasticity(net, self.plasticity)
        return BuiltNetwork(self, net, pops[INPUT], pops, outputs)


@dataclass
class BuiltNetwork:
    """A network built from a genome, with handles on its input and output.

    Attributes
    ----------
    genome : EvoGenome
    network : Network
    input : Population
        The input node (``input.size * neurons_per_feature`` LIF neurons).
    populations : dict of str to Population
        Input and hidden nodes by name.
    outputs : list of LIFPopulation
        One population per output (readout ``populations``), else empty.
    """

    genome: EvoGenome
    network: Network
    input: Population
    populations: dict[str, Population]
    outputs: list[LIFPopulation]

    def __post_init__(self) -> None:
        # Hot path of closed-loop tasks: keep what step() needs at hand and call
        # the engine directly (one bias update, one run, one count per output).
        enc = self.genome.input
        self._gains = np.asarray(enc.gains_pa, dtype=np.float64)
        self._currents = np.empty(enc.size * enc.neurons_per_feature)
        self._engine = self.network._engine
        self._window_steps = round(self.genome.readout.window_ms / self.genome.dt_ms)
        self._out_index = [p.index for p in self.outputs]
        self._last = np.zeros(len(self.outputs), dtype=np.int64)

    def input_currents(self, x: np.ndarray) -> np.ndarray:
        """Encode features ``x`` (shape ``(size,)``) into input currents (pA).

        Returns
        -------
        numpy.ndarray
            float64, shape ``(size * neurons_per_feature,)`` (see
            :class:`InputEncoding`); a buffer reused by the next call.
        """
        enc = self.genome.input
        drive = self._gains * x
        out = self._currents
        if enc.neurons_per_feature == 1:
            np.add(drive, enc.bias_pa, out=out)
        else:
            np.maximum(drive, 0.0, out=out[0::2])
            np.maximum(-drive, 0.0, out=out[1::2])
            out += enc.bias_pa
        return out

    def reset(self) -> None:
        """Start a new episode: :meth:`evospikenet.network.Network.reset`.

        Every population returns to its state at the first step of the
        first episode (at rest: ``v_mv`` at reset, synaptic variables and
        refractory counters 0; Izhikevich ``v = c``, ``u = b c``), and no
        spike stays in flight, so episodes are independent.
        """
        self.network.reset()

    def step(self, x: np.ndarray) -> np.ndarray:
        """Present ``x`` for one readout window; return output spike counts.

        Parameters
        ----------
        x : numpy.ndarray
            float64, shape ``(input.size,)``, normalised features.

        Returns
        -------
        numpy.ndarray
            int64, shape ``(readout.size,)``: spikes of each output population
            in the window.
        """
        engine = self._engine
        engine.set_bias(self.input.index, self.input_currents(x))
        engine.run(self._window_steps, self._window_steps, None)
        now = np.array([engine.spike_count(k) for k in self._out_index], dtype=np.int64)
        counts = now - self._last
        self._last = now
        return counts

    def act(self, x: np.ndarray) -> int:
        """Present ``x`` and return the chosen output (most spikes; ties: higher summed ``v``)."""
        counts = self.step(x).tolist()
        top = max(counts)
        best = [k for k, c in enumerate(counts) if c == top]
        if len(best) == 1:
            return best[0]
        # Summed left to right, as the core's closed loop does (identical results).
        v = [sum(self.outputs[k].get("v_mv").tolist()) for k in best]
        return best[v.index(max(v))]

    def sync_counts(self) -> None:
        """Take the output spike counts as they are now as the start of the next window."""
        self._last = np.array(
            [self._engine.spike_count(k) for k in self._out_index], dtype=np.int64
        )

    def total_spikes(self) -> int:
        """Spikes of all populations so far."""
        return sum(p.spike_count for p in [*self.populations.values(), *self.outputs])


def _lif_kwargs(params: Mapping[str, float]) -> dict[str, Any]:
    return {
        "c_m_pf": 250.0,
        "e_l_mv": -65.0,
        "v_reset_mv": -65.0,
        "synapse": "current",
        **{k: float(v) for k, v in params.items()},
    }


def _connect_direct(
    net: Network,
    pre: Population,
    posts: Sequence[Population],
    conn: Connection,
    masked: Mapping[int, dict[str, np.ndarray]],
    k: int,
) -> list[int]:
    """Build a directly encoded connection; return the projection indices used from ``k``.

    Per post population: one excitatory projection of its positive weights and
    one inhibitory of its negative ones (each only if not empty).
    """
    assert conn.weights is not None
    n_post = sum(p.n for p in posts)
    w = np.asarray(conn.weights, dtype=np.float64).reshape(pre.n, n_post)
    d = (
        np.full(w.shape, conn.delay_ms[0])
        if conn.delays is None
        else np.asarray(conn.delays, dtype=np.float64).reshape(pre.n, n_post)
    )
    used: list[int] = []
    start = 0
    for post in posts:
        block = w[:, start : start + post.n]
        dblock = d[:, start : start + post.n]
        start += post.n
        for receptor, keep in (("excitatory", block > 0), ("inhibitory", block < 0)):
            i, j = np.nonzero(keep)
            if i.size == 0:
                continue
            arrays = masked.get(k + len(used))
            weight, delay = block[i, j], dblock[i, j]
            if arrays is not None:
                i, j = arrays["pre"], arrays["post"]
                weight, delay = arrays["weight"], arrays["delay_ms"]
            net.connect_arrays(
                pre, post, i, j, weight, delay,
                receptor="excitatory" if receptor == "excitatory" else "inhibitory",
            )  # fmt: skip
            used.append(k + len(used))
    return used


def _connect(
    net: Network,
    pre: Population,
    post: Population,
    conn: Connection,
    dt_ms: float,
    arrays: dict[str, np.ndarray] | None,
) -> None:
    excitatory = conn.weight_mean >= 0
    # Inhibition: weights <= 0 onto the inhibitory receptor (LIF: its own synaptic
    # current; Izhikevich: the one synaptic current, so it subtracts).
    receptor: Literal["excitatory", "inhibitory"] = "excitatory" if excitatory else "inhibitory"
    if arrays is not None:
        net.connect_arrays(
            pre, post, arrays["pre"], arrays["post"], arrays["weight"], arrays["delay_ms"],
            receptor=receptor,
        )  # fmt: skip
        return
    if conn.weight_std == 0:
        weight: Constant | Normal = Constant(conn.weight_mean)
    elif excitatory:
        weight = Normal(conn.weight_mean, conn.weight_std, 0.0, math.inf)
    else:
        weight = Normal(conn.weight_mean, conn.weight_std, -math.inf, 0.0)
    lo, hi = conn.delay_ms
    # The core rounds drawn delays to the nearest step: draw in [lo - dt/2, hi + dt/2).
    delay: Constant | Uniform = (
        Constant(lo) if lo == hi else Uniform(max(lo - dt_ms / 2, 0.0), hi + 0.499 * dt_ms)
    )
    net.connect(pre, post, receptor=receptor, p=conn.p, weight=weight, delay_ms=delay)


# -- parsing and validation --------------------------------------------------


def _fail(path: str, value: object, reason: str) -> InvalidParameterError:
    return InvalidParameterError.of(path, value, reason)


def _obj(
    data: Any, path: str, required: Sequence[str], optional: Sequence[str] = ()
) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise _fail(path or "genome", type(data).__name__, "must be a JSON object")
    for key in required:
        if key not in data:
            raise _fail(f"{path}.{key}".lstrip("."), None, "missing")
    allowed = set(required) | set(optional)
    for key in data:
        if key not in allowed:
            raise _fail(
                f"{path}.{key}".lstrip("."),
                data[key],
                f"unknown field (known: {', '.join(sorted(allowed))})",
            )
    return data


def _num(value: Any, path: str, bounds: tuple[float, float] | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(path, value, "must be a number")
    if not math.isfinite(value):
        raise _fail(path, value, "must be finite")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise _fail(path, value, f"must be in [{bounds[0]}, {bounds[1]}]")
    return float(value)


def _int(value: Any, path: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, value, "must be an integer")
    if not bounds[0] <= value <= bounds[1]:
        raise _fail(path, value, f"must be in [{bounds[0]}, {bounds[1]}]")
    return value


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise _fail(path, value, "must be a non-empty string")
    return value


def _params(data: Any, path: str, model: str) -> dict[str, float]:
    bounds = LIF_BOUNDS if model == "lif" else IZHIKEVICH_BOUNDS
    obj = _obj(data, path, list(bounds))
    return {k: _num(obj[k], f"{path}.{k}", bounds[k]) for k in bounds}


def node_size(genome: EvoGenome, name: str) -> int:
    """Neurons of node ``name`` (``output``: all output populations together)."""
    if name == INPUT:
        return genome.input.size * genome.input.neurons_per_feature
    if name == OUTPUT:
        return genome.readout.size * genome.readout.neurons_per_output
    return next(layer.size for layer in genome.layers() if layer.name == name)


def _weights(value: Any, path: str, genome: EvoGenome, pre: str, post: str) -> list[float] | None:
    if value is None:
        return None
    n = node_size(genome, pre) * node_size(genome, post)
    if not isinstance(value, list) or len(value) != n:
        raise _fail(
            path,
            len(value) if isinstance(value, list) else value,
            f"must be a list of {n} numbers ({pre} neurons x {post} neurons)",
        )
    return [_num(w, f"{path}[{k}]", WEIGHT_MEAN_BOUNDS) for k, w in enumerate(value)]


def _delays(value: Any, path: str, weights: Any, dt_ms: float) -> list[float] | None:
    if value is None:
        return None
    if not isinstance(weights, list):
        raise _fail(path, "set", "needs weights (delays of directly encoded synapses)")
    if not isinstance(value, list) or len(value) != len(weights):
        raise _fail(
            path,
            len(value) if isinstance(value, list) else value,
            f"must be a list of {len(weights)} delays (one per weight)",
        )
    out = [_num(d, f"{path}[{k}]", DELAY_BOUNDS) for k, d in enumerate(value)]
    for k, d in enumerate(out):
        _on_grid(d, dt_ms, f"{path}[{k}]")
    return out


def _on_grid(value: float, dt_ms: float, path: str) -> None:
    steps = value / dt_ms
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise _fail(path, value, f"must be a multiple of dt_ms = {dt_ms}")


def _parse(data: Any) -> EvoGenome:
    top = _obj(
        data,
        "",
        [
            "schema_version", "genome_id", "generation", "fitness", "parent_ids", "dt_ms",
            "network_seed", "input", "modules", "connections", "readout",
        ],
        ["mutations", "plasticity"],
    )  # fmt: skip
    if top["schema_version"] != SCHEMA_VERSION:
        raise _fail("schema_version", top["schema_version"], f"must be {SCHEMA_VERSION}")
    genome_id = _str(top["genome_id"], "genome_id")
    generation = _int(top["generation"], "generation", (0, 2**31))
    fitness = None if top["fitness"] is None else _num(top["fitness"], "fitness")
    parents = top["parent_ids"]
    if not isinstance(parents, list) or len(parents) > 2:
        raise _fail("parent_ids", parents, "must be a list of at most 2 ids")
    parent_ids = [_str(p, f"parent_ids[{k}]") for k, p in enumerate(parents)]
    muts = top.get("mutations", [])
    if not isinstance(muts, list):
        raise _fail("mutations", muts, "must be a list of operator names")
    mutations = [_str(m, f"mutations[{k}]") for k, m in enumerate(muts)]
    dt_ms = _num(top["dt_ms"], "dt_ms", (0.01, 5.0))
    network_seed = _int(top["network_seed"], "network_seed", (0, MAX_SEED - 1))

    inp = _obj(top["input"], "input", ["size", "neurons_per_feature", "gains_pa", "bias_pa"])
    size = _int(inp["size"], "input.size", (1, 4096))
    npf = _int(inp["neurons_per_feature"], "input.neurons_per_feature", (1, 2))
    gains = inp["gains_pa"]
    if not isinstance(gains, list) or len(gains) != size:
        raise _fail("input.gains_pa", gains if not isinstance(gains, list) else len(gains),
                    f"must be a list of input.size = {size} numbers")  # fmt: skip
    encoding = InputEncoding(
        size,
        npf,
        [_num(g, f"input.gains_pa[{k}]", GAIN_BOUNDS) for k, g in enumerate(gains)],
        _num(inp["bias_pa"], "input.bias_pa", BIAS_BOUNDS),
    )

    ro = _obj(
        top["readout"],
        "readout",
        ["kind", "size", "window_ms"],
        ["neurons_per_output", "params", "ridge_alpha"],
    )
    kind = ro["kind"]
    if kind not in ("populations", "ridge"):
        raise _fail("readout.kind", kind, "must be 'populations' or 'ridge'")
    readout = Readout(
        kind=kind,
        size=_int(ro["size"], "readout.size", (1, 1024)),
        neurons_per_output=_int(
            ro.get("neurons_per_output", 4), "readout.neurons_per_output", (1, 64)
        ),
        window_ms=_num(ro["window_ms"], "readout.window_ms", WINDOW_BOUNDS),
        params=_params(ro.get("params", dict(LIF_DEFAULTS)), "readout.params", "lif"),
        ridge_alpha=_num(ro.get("ridge_alpha", 1.0), "readout.ridge_alpha", (1e-8, 1e8)),
    )
    _on_grid(readout.window_ms, dt_ms, "readout.window_ms")

    mods = top["modules"]
    if not isinstance(mods, list):
        raise _fail("modules", mods, "must be a list")
    names: set[str] = {INPUT, OUTPUT}
    module_names: set[str] = set()
    modules: list[Module] = []
    for i, mdata in enumerate(mods):
        mp = f"modules[{i}]"
        m = _obj(mdata, mp, ["name", "layers"])
        mname = _str(m["name"], f"{mp}.name")
        if mname in module_names:
            raise _fail(f"{mp}.name", mname, "duplicate module name")
        module_names.add(mname)
        if not isinstance(m["layers"], list) or not m["layers"]:
            raise _fail(f"{mp}.layers", m["layers"], "must be a non-empty list")
        layers = []
        for j, ldata in enumerate(m["layers"]):
            lp = f"{mp}.layers[{j}]"
            la = _obj(ldata, lp, ["name", "model", "size", "params"], ["bias_pa"])
            lname = _str(la["name"], f"{lp}.name")
            if lname in names or lname.startswith(OUTPUT):
                raise _fail(f"{lp}.name", lname, "duplicate or reserved layer name")
            names.add(lname)
            model = la["model"]
            if model not in ("lif", "izhikevich"):
                raise _fail(f"{lp}.model", model, "must be 'lif' or 'izhikevich'")
            layers.append(
                Layer(
                    lname,
                    model,
                    _int(la["size"], f"{lp}.size", SIZE_BOUNDS),
                    _num(la.get("bias_pa", 0.0), f"{lp}.bias_pa", BIAS_BOUNDS),
                    _params(la["params"], f"{lp}.params", model),
                )
            )
        modules.append(Module(mname, layers))

    genome = EvoGenome(
        genome_id=genome_id,
        input=encoding,
        modules=modules,
        connections=[],
        readout=readout,
        generation=generation,
        fitness=fitness,
        parent_ids=parent_ids,
        mutations=mutations,
        dt_ms=dt_ms,
        network_seed=network_seed,
        plasticity=None,
    )
    if readout.kind == "ridge" and not genome.layers():
        raise _fail("modules", [], "a 'ridge' readout needs at least one hidden layer")
    index = genome.node_index()
    conns = top["connections"]
    if not isinstance(conns, list):
        raise _fail("connections", conns, "must be a list")
    seen: set[tuple[str, str]] = set()
    for k, cdata in enumerate(conns):
        cp = f"connections[{k}]"
        c = _obj(
            cdata,
            cp,
            ["pre", "post", "p", "weight_mean", "weight_std", "delay_ms"],
            ["weights", "delays"],
        )
        pre, post = _str(c["pre"], f"{cp}.pre"), _str(c["post"], f"{cp}.post")
        if pre not in index or pre == OUTPUT:
            raise _fail(f"{cp}.pre", pre, f"must be a node that sends (have {sorted(index)})")
        if post not in index or post == INPUT:
            raise _fail(f"{cp}.post", post, f"must be a node that receives (have {sorted(index)})")
        if (pre, post) in seen:
            raise _fail(f"{cp}", f"{pre}->{post}", "duplicate connection")
        seen.add((pre, post))
        delay = c["delay_ms"]
        if not isinstance(delay, list) or len(delay) != 2:
            raise _fail(f"{cp}.delay_ms", delay, "must be [low, high]")
        lo = _num(delay[0], f"{cp}.delay_ms[0]", DELAY_BOUNDS)
        hi = _num(delay[1], f"{cp}.delay_ms[1]", DELAY_BOUNDS)
        if hi < lo:
            raise _fail(f"{cp}.delay_ms", delay, "high must be >= low")
        _on_grid(lo, dt_ms, f"{cp}.delay_ms[0]")
        _on_grid(hi, dt_ms, f"{cp}.delay_ms[1]")
        genome.connections.append(
            Connection(
                pre,
                post,
                _num(c["p"], f"{cp}.p", P_BOUNDS),
                _num(c["weight_mean"], f"{cp}.weight_mean", WEIGHT_MEAN_BOUNDS),
                _num(c["weight_std"], f"{cp}.weight_std", WEIGHT_STD_BOUNDS),
                (lo, hi),
                _weights(c.get("weights"), f"{cp}.weights", genome, pre, post),
                _delays(c.get("delays"), f"{cp}.delays", c.get("weights"), dt_ms),
            )
        )
    order = genome.node_names()
    for a, b in itertools.pairwise(order):
        if (a, b) not in seen:
            raise _fail(
                "connections", f"{a}->{b}", "missing backbone connection between consecutive nodes"
            )
    plasticity = top.get("plasticity")
    if plasticity is not None:
        _obj(plasticity, "plasticity", ["rule", "params"])
        rule = _str(plasticity["rule"], "plasticity.rule")
        if rule not in STANDALONE_RULES:
            raise _fail(
                "plasticity.rule",
                rule,
                f"must be one of {', '.join(STANDALONE_RULES)} (rstdp needs a reward signal)",
            )
        if not isinstance(plasticity["params"], dict):
            raise _fail("plasticity.params", plasticity["params"], "must be an object")
        fields_ = rule_fields(rule)
        for key, val in plasticity["params"].items():
            where = f"plasticity.params.{key}"
            if key not in fields_:
                raise _fail(where, val, f"not a parameter of {rule} (have {', '.join(fields_)})")
            kind, choices = fields_[key]
            if kind is bool and not isinstance(val, bool):
                raise _fail(where, val, "must be true or false")
            if choices and val not in choices:
                raise _fail(where, val, f"must be one of {', '.join(choices)}")
            if kind is float:
                _num(val, where)
        try:
            rule_from_params(rule, plasticity["params"], 1.0)
        except InvalidParameterError as exc:
            raise _fail(f"plasticity.params.{exc.name}", exc.value, exc.reason) from exc
        genome.plasticity = {"rule": rule, "params": dict(plasticity["params"])}
    return genome


def _attach_plasticity(net: Network, plasticity: Mapping[str, Any]) -> None:
    """Attach the genome's rule to every excitatory projection with a positive weight."""
    for proj in net.projections:
        if proj.receptor != "excitatory" or len(proj) == 0:
            continue
        top = float(proj.weights().max())
        if top <= 0:
            continue
        try:
            rule = rule_from_params(plasticity["rule"], plasticity["params"], 2.0 * top)
            net.add_plasticity(proj, rule)
        except InvalidParameterError as exc:
            raise _fail(
                f"plasticity.params.{exc.name}",
                exc.value,
                f"{exc.reason} (projection {proj.pre.name}->{proj.post.name})",
            ) from exc


def load_genome(path: str | os.PathLike[str]) -> EvoGenome:
    """Read and validate a genome JSON file.

    Raises
    ------
    FileIOError
        If the file cannot be read.
    InvalidParameterError
        For invalid JSON or an invalid genome (naming the field).
    """
    return _parse(read_json(path, "genome"))
