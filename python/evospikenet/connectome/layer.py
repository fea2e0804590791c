r"""A connectome as a simulated LIF network: :class:`ConnectomeLIFLayer`.

:func:`apply_connectome_to_layer` turns a :class:`~evospikenet.connectome.Connectome`
(the NPZ contract of :mod:`evospikenet.connectome.schema`) into one engine LIF population with
projections and gap junctions:

- **neurons**: one LIF neuron per ``neuron_id``, in the connectome's order
  (index ``k`` of the population is ``neuron_id[k]``);
- **chemical edges** (``synapse_type == 0``): Dale's principle by the
  presynaptic ``neuron_sign`` — edges from +1 neurons go onto the
  excitatory receptor with weight ``+|weight| * weight_scale_pa``, edges
  from -1 neurons onto the inhibitory receptor with weight
  ``-|weight| * weight_scale_pa * g_inh`` (pA, current-based synapses);
  ``weight`` is the synapse count for imported anatomical connectomes
  (``meta["weight_unit"] == "synapse_count"``), so a connection of ``k``
  synapses acts as ``k`` unit synapses;
- **delays**: ``delay_ms``, rounded to the step grid (the engine's delay of
  ``d`` steps acts at ``(s + 1 + d) dt``);
- **electrical edges** (``synapse_type == 1``): one gap junction per
  unordered neuron pair, conductance ``max(w_ij, w_ji) * gap_scale_ns``
  (nS) — a pair stored in both directions (symmetric matrices, as the
  ``cect`` data) and a pair stored once give the same junction; self-pairs
  are dropped;
- **structural mask**: ``structural_mask[i, j]`` is True where a chemical
  edge ``i -> j`` exists (the support of the weight matrix).

Defaults and where they come from:

============================  =========  ====  ===================================
name                          default    unit  meaning / source
============================  =========  ====  ===================================
``params``                    NEST              :class:`~evospikenet.network.LIFParameters`
                                                 (NEST ``iaf_psc_exp`` as in Potjans &
                                                 Diesmann 2014)
``weight_scale_pa``           87.8       pA    PSC per anatomical synapse: Potjans &
                                                 Diesmann's 87.8 pA (0.15 mV PSP)
``g_inh``                     1.0              inhibitory / excitatory scale ratio
``gap_scale_ns``              1.0        nS    conductance per anatomical gap junction
                                                 (an assumption: ~10 connexin channels of
                                                 ~100 pS; change it to suit)
``drive_rate_hz``             10000      Hz    summed Poisson input per neuron
``drive_weight_pa``           87.8       pA    PSC of each input spike
============================  =========  ====  ===================================

The default drive (independent Poisson input into every neuron, total
10 kHz of 87.8 pA PSCs, mean current ``rate * w * tau_syn`` = 439 pA, free
membrane equilibrium -47.4 mV, just above threshold) stands in for the
sensory and neuromodulatory input that the connectome does not contain; C.
elegans neurons are mostly graded, non-spiking cells, so a LIF network built
from its wiring is a model of the wiring's dynamics, not of the worm.

Driving a subset (``drive="sensory"``, ``"type:REGEX"``, ``"name:REGEX"``)
--------------------------------------------------------------------------
A subset is driven by the engine's Poisson input
(:meth:`~evospikenet.network.Network.poisson`) with a rate per neuron:
``rate_hz`` for the driven neurons, 0 for the others
(:meth:`ConnectomeLIFLayer.drive_subset`). Each driven neuron draws its
count of input spikes per step from Poisson(``rate_hz * dt``) from its own
engine stream (``docs/random-streams.md``), each spike a PSC of ``weight_pa``
acting in the step it is drawn, exactly as :meth:`ConnectomeLIFLayer.drive`.
Nothing is drawn up front, so memory does not grow with the duration. A
drive for a limited ``duration_ms`` ends through
:meth:`~evospikenet.network.PoissonInput.set_rates` (all rates 0) when
:meth:`ConnectomeLIFLayer.run` reaches its end (it splits the run there);
a network run by other means keeps the drive on until
:meth:`ConnectomeLIFLayer.stop_drive`. Neurons outside the subset receive
no external input at all.
``"sensory"`` selects the types in ``meta["sensory_types"]`` when the
import recorded them (flyvis: the photoreceptors R1–R8) and otherwise the
WormAtlas sensory classes of the cect data (:data:`SENSORY_TYPE_PATTERN`,
the same classes as the sensory shard of ``examples/connectome_config.yaml``).

References
----------
Cook SJ, Jarrell TA, Brittin CA, et al. (2019) Whole-animal connectomes of
both Caenorhabditis elegans sexes. Nature 571:63-71. doi:10.1038/s41586-019-1352-7

Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit.
Cereb Cortex 24:785-806. doi:10.1093/cercor/bhs358
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from evospikenet import validation
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import (
    LIFParameters,
    LIFPopulation,
    Network,
    PoissonInput,
    Projection,
    SpikeMonitor,
)

if TYPE_CHECKING:
    from evospikenet.connectome import Connectome

__all__ = [
    "SENSORY_TYPE_PATTERN",
    "ConnectomeLIFLayer",
    "apply_connectome_to_layer",
    "connectome_model",
    "select_neurons",
]

WEIGHT_SCALE_PA = 87.8
GAP_SCALE_NS = 1.0
DRIVE_RATE_HZ = 10000.0
DRIVE_WEIGHT_PA = 87.8
#: WormAtlas cell types (cect ``data/all_cell_info.csv``) of sensory neurons,
#: matched with ``re.search`` against ``neuron_type``.
SENSORY_TYPE_PATTERN = (
    r"^(Amphid|Cephalic|Mechanosensory|Touch|Phasmid|O2, CO2|Pharyngeal polymodal)|sensory"
)


class ConnectomeLIFLayer:
    """A LIF network built from a connectome (see the module docs).

    Make one, then fill it with :func:`apply_connectome_to_layer`.

    Parameters
    ----------
    num_neurons : int, optional
        Expected number of neurons; when given, applying a connectome with
        another count raises.
    params : LIFParameters, optional
        Neuron parameters (default NEST ``iaf_psc_exp``, current synapses).
    weight_scale_pa : float
        PSC amplitude per unit of ``weight`` (pA), > 0.
    g_inh : float
        Inhibitory over excitatory scale, >= 0.
    gap_scale_ns : float
        Gap-junction conductance per unit of electrical ``weight`` (nS), >= 0.
    dt_ms : float
        Time step (ms).
    seed : int
        Master seed of the network.
    threads : int
        Worker threads (results do not depend on it).
    device : str
        ``"cpu"`` only (the engine runs on the CPU); kept for the seed API.

    Attributes
    ----------
    network : Network or None
        The engine network, once a connectome is applied.
    population : LIFPopulation or None
        The neurons, index ``k`` = ``neuron_id[k]``.
    neuron_id : ndarray of int64, shape (n,)
    structural_mask : ndarray of bool, shape (n, n)
        Chemical edge ``i -> j`` present (dense; built on first access).
    ei_ratio : float
        :func:`evospikenet.connectome.ei_ratio` of the applied connectome.
    n_gap_junctions : int
        Gap junctions in the network (unordered pairs).
    n_drive_spikes : int
        Expected input spikes of :meth:`drive_subset`
        (``rate_hz * duration_ms * n_driven``, rounded; 0 before): the spikes
        are drawn by the engine as it runs.

    Raises
    ------
    InvalidParameterError
        For a bad scale, count or device.
    """

    def __init__(
        self,
        num_neurons: int | None = None,
        *,
        params: LIFParameters | None = None,
        weight_scale_pa: float = WEIGHT_SCALE_PA,
        g_inh: float = 1.0,
        gap_scale_ns: float = GAP_SCALE_NS,
        dt_ms: float = 0.1,
        seed: int = 0,
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        if device != "cpu":
            raise InvalidParameterError.of("device", device, "only 'cpu' is supported")
        if num_neurons is not None and (
            isinstance(num_neurons, bool)
            or not isinstance(num_neurons, int | np.integer)
            or num_neurons < 0
        ):
            raise InvalidParameterError.of("num_neurons", num_neurons, "must be an integer >= 0")
        self.num_neurons = None if num_neurons is None else int(num_neurons)
        self.params = params or LIFParameters()
        if self.params.synapse != "current":
            raise InvalidParameterError.of(
                "params.synapse", self.params.synapse, "connectome layers use current synapses"
            )
        self.weight_scale_pa = validation.positive("weight_scale_pa", weight_scale_pa)
        self.g_inh = validation.positive("g_inh", g_inh, allow_zero=True)
        self.gap_scale_ns = validation.positive("gap_scale_ns", gap_scale_ns, allow_zero=True)
        self.dt_ms = dt_ms
        self.seed = seed
        self.threads = threads
        self.network: Network | None = None
        self.population: LIFPopulation | None = None
        self.projections: list[Projection] = []
        self.spike_monitor: SpikeMonitor | None = None
        self.neuron_id: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self.ei_ratio = float("nan")
        self.n_gap_junctions = 0
        self.n_drive_spikes = 0
        self.drive_input: PoissonInput | None = None
        self._drive_end_step: int | None = None
        self._chem: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]] | None = None
        self._mask: npt.NDArray[np.bool_] | None = None

    @property
    def structural_mask(self) -> npt.NDArray[np.bool_]:
        """Dense ``(n, n)`` bool matrix of chemical edges ``pre -> post``."""
        if self._chem is None:
            raise InvalidParameterError.of("layer", "empty", "apply a connectome first")
        if self._mask is None:
            n = self.neuron_id.size
            mask = np.zeros((n, n), dtype=bool)
            mask[self._chem] = True
            self._mask = mask
        return self._mask

    def _require(self) -> tuple[Network, LIFPopulation]:
        if self.network is None or self.population is None:
            raise InvalidParameterError.of("layer", "empty", "apply a connectome first")
        return self.network, self.population

    def drive(self, rate_hz: float = DRIVE_RATE_HZ, weight_pa: float = DRIVE_WEIGHT_PA) -> int:
        """Independent Poisson input (total ``rate_hz`` per neuron) into every neuron.

        Returns
        -------
        int
            Index of the input in the network.
        """
        net, pop = self._require()
        return net.poisson(pop, rate_hz=rate_hz, weight=weight_pa).index

    def drive_subset(
        self,
        neurons: npt.ArrayLike,
        duration_ms: float,
        rate_hz: float = DRIVE_RATE_HZ,
        weight_pa: float = DRIVE_WEIGHT_PA,
    ) -> PoissonInput:
        """Independent Poisson input (``rate_hz`` per neuron) into ``neurons`` only.

        One engine Poisson input with a rate per neuron (``rate_hz`` for
        ``neurons``, 0 elsewhere; module docs). It lasts ``duration_ms`` from
        now when run through :meth:`run` (which sets the rates to 0 at the
        end); a network run by other means keeps it on until
        :meth:`stop_drive`.

        Parameters
        ----------
        neurons : array_like of int, shape (m,), or of bool, shape (n,)
            Population indices of the driven neurons, or a mask.
        duration_ms : float
            Driven time (ms), > 0.
        rate_hz : float
            Poisson rate per driven neuron (Hz), >= 0.
        weight_pa : float
            PSC of each input spike (pA), > 0 (excitatory receptor).

        Returns
        -------
        PoissonInput
            The input (also ``drive_input``).

        Raises
        ------
        InvalidParameterError
            Bad indices, an empty subset, bad rate, weight or duration.
        """
        net, pop = self._require()
        idx = np.asarray(neurons)
        if idx.dtype == np.bool_:
            if idx.shape != (pop.n,):
                raise InvalidParameterError.of("neurons", f"mask {idx.shape}", f"needs ({pop.n},)")
            idx = np.flatnonzero(idx)
        idx = validation.indices("neurons", idx).astype(np.int64)
        if idx.size == 0:
            raise InvalidParameterError.of("neurons", "[]", "select at least one neuron")
        if idx.max() >= pop.n or np.unique(idx).size != idx.size:
            raise InvalidParameterError.of(
                "neurons", idx.tolist()[:10], f"distinct, in [0, {pop.n})"
            )
        duration = validation.positive("duration_ms", duration_ms)
        rate = validation.positive("rate_hz", rate_hz, allow_zero=True)
        weight = validation.positive("weight_pa", weight_pa)
        n_steps = math.ceil(duration / net.dt_ms - 1e-9)
        rates = np.zeros(pop.n)
        rates[idx] = rate
        self.stop_drive()
        self.drive_input = net.poisson(pop, rates, weight, receptor="excitatory")
        self._drive_end_step = round(net.t_ms / net.dt_ms) + n_steps
        self.n_drive_spikes = round(rate * n_steps * net.dt_ms * 1e-3 * idx.size)
        return self.drive_input

    def stop_drive(self) -> None:
        """End the drive of :meth:`drive_subset` (its rates set to 0); no-op without one."""
        if self.drive_input is not None:
            self.drive_input.set_rates(0.0)
        self._drive_end_step = None

    def run(self, duration_ms: float, **kwargs: Any) -> None:
        """Advance the network (see :meth:`evospikenet.network.Network.run`).

        A run across the end of a :meth:`drive_subset` drive is split there
        and the drive stopped.
        """
        net, _ = self._require()
        end = self._drive_end_step
        if end is not None:
            n = validation.steps("duration_ms", duration_ms, net.dt_ms, 0)
            now = round(net.t_ms / net.dt_ms)
            if now + n >= end:
                net.run((end - now) * net.dt_ms, **kwargs)
                self.stop_drive()
                net.run((now + n - end) * net.dt_ms, **kwargs)
                return
        net.run(duration_ms, **kwargs)

    def spikes(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Return the recorded spikes ``(t_ms, neuron_id)`` (float64 ms, int64 ids)."""
        self._require()
        assert self.spike_monitor is not None
        return self.spike_monitor.t_ms, self.neuron_id[self.spike_monitor.neuron]


def apply_connectome_to_layer(
    connectome: Connectome, layer: ConnectomeLIFLayer | None = None
) -> ConnectomeLIFLayer:
    """Build ``layer``'s network from ``connectome`` (see the module docs).

    Parameters
    ----------
    connectome : Connectome
        A validated connectome (:func:`evospikenet.connectome.load_connectome_npz`).
    layer : ConnectomeLIFLayer, optional
        The layer to fill (a new one with defaults when None). A layer can
        be filled once.

    Returns
    -------
    ConnectomeLIFLayer
        ``layer``, with ``network``, ``population``, ``projections`` (at most
        two: excitatory and inhibitory), gap junctions and a spike monitor.

    Raises
    ------
    InvalidParameterError
        Layer already filled, neuron count different from
        ``layer.num_neurons``, or gap junctions beyond the engine's
        stability bound (lower ``gap_scale_ns`` or ``dt_ms``).
    """
    from evospikenet.connectome import SYNAPSE_ELECTRICAL, ei_ratio, validate_connectome

    layer = layer or ConnectomeLIFLayer()
    if layer.network is not None:
        raise InvalidParameterError.of("layer", "filled", "a connectome was already applied")
    validate_connectome(connectome)
    n = connectome.n_neurons
    if layer.num_neurons is not None and layer.num_neurons != n:
        raise InvalidParameterError.of(
            "num_neurons", layer.num_neurons, f"connectome has {n} neurons"
        )
    ids = connectome.neuron_id
    order = np.argsort(ids, kind="stable")
    pre = order[np.searchsorted(ids, connectome.pre_id, sorter=order)]
    post = order[np.searchsorted(ids, connectome.post_id, sorter=order)]
    net = Network(dt_ms=layer.dt_ms, seed=layer.seed, threads=layer.threads)
    pop = net.lif("connectome", n, layer.params)
    pop.set("v_mv", layer.params.e_l_mv)
    gap = connectome.synapse_type == SYNAPSE_ELECTRICAL
    chem = ~gap
    sign = connectome.neuron_sign[pre]
    count = np.abs(connectome.weight.astype(np.float64))
    delay = np.round(connectome.delay_ms.astype(np.float64) / net.dt_ms) * net.dt_ms
    projections = []
    for receptor, mask, scale in (
        ("excitatory", chem & (sign > 0), layer.weight_scale_pa),
        ("inhibitory", chem & (sign < 0), -layer.weight_scale_pa * layer.g_inh),
    ):
        if mask.any():
            projections.append(
                net.connect_arrays(
                    pop, pop, pre[mask], post[mask], count[mask] * scale, delay[mask],
                    receptor=receptor,  # type: ignore[arg-type]
                )
            )  # fmt: skip
    a, b = pre[gap], post[gap]
    keep = a != b
    lo, hi, g = np.minimum(a, b)[keep], np.maximum(a, b)[keep], count[gap][keep]
    n_gap = 0
    if lo.size:
        key = lo.astype(np.int64) * max(n, 1) + hi
        uniq, inverse = np.unique(key, return_inverse=True)
        g_pair = np.zeros(uniq.size)
        np.maximum.at(g_pair, inverse, g)
        g_pair *= layer.gap_scale_ns
        net.gap_junctions(pop, pop, uniq // max(n, 1), uniq % max(n, 1), g_pair)
        n_gap = int(uniq.size)
    layer.network, layer.population, layer.projections = net, pop, projections
    layer.spike_monitor = net.spike_monitor(pop)
    layer.neuron_id = ids.copy()
    layer.ei_ratio = ei_ratio(connectome)
    layer.n_gap_junctions = n_gap
    layer._chem = (pre[chem], post[chem])
    return layer


def select_neurons(connectome: Connectome, drive: str) -> npt.NDArray[np.bool_]:
    """Which neurons a drive selector names (module docs, "Driving a subset").

    Parameters
    ----------
    connectome : Connectome
    drive : str
        ``"all"``; ``"sensory"`` (``meta["sensory_types"]`` if recorded, else
        :data:`SENSORY_TYPE_PATTERN` on ``neuron_type``); ``"type:REGEX"`` or
        ``"name:REGEX"`` (``re.search`` on ``neuron_type`` / ``neuron_name``).

    Returns
    -------
    ndarray of bool, shape (n_neurons,)

    Raises
    ------
    InvalidParameterError
        Unknown selector, bad regular expression, or no neuron selected.
    """
    if not isinstance(drive, str):
        raise InvalidParameterError.of("drive", drive, "must be a string")
    n = connectome.n_neurons
    blank = np.full(n, "", dtype=str)
    types_of = blank if connectome.neuron_type is None else connectome.neuron_type.astype(str)
    names_of = blank if connectome.neuron_name is None else connectome.neuron_name.astype(str)
    if drive == "all":
        mask = np.ones(n, dtype=bool)
    elif drive == "sensory":
        types = connectome.meta.get("sensory_types")
        if isinstance(types, list):
            mask = np.isin(types_of, [str(t) for t in types])
        else:
            pattern = re.compile(SENSORY_TYPE_PATTERN)
            mask = np.array([bool(pattern.search(t)) for t in types_of], dtype=bool)
    elif drive.startswith(("type:", "name:")):
        field, _, expr = drive.partition(":")
        try:
            pattern = re.compile(expr)
        except re.error as exc:
            raise InvalidParameterError.of(
                "drive", drive, f"bad regular expression: {exc}"
            ) from exc
        values = types_of if field == "type" else names_of
        mask = np.array([bool(pattern.search(v)) for v in values], dtype=bool)
    else:
        raise InvalidParameterError.of(
            "drive", drive, "must be 'all', 'sensory', 'type:REGEX' or 'name:REGEX'"
        )
    mask = mask.astype(bool).reshape(n)
    if not mask.any():
        raise InvalidParameterError.of("drive", drive, "selects no neuron")
    return mask


def connectome_model(
    connectome: Connectome,
    *,
    dt_ms: float | None = None,
    seed: int = 0,
    threads: int = 1,
    drive_rate_hz: float = DRIVE_RATE_HZ,
    drive_weight_pa: float = DRIVE_WEIGHT_PA,
    weight_scale_pa: float = WEIGHT_SCALE_PA,
    g_inh: float = 1.0,
    gap_scale_ns: float = GAP_SCALE_NS,
    name: str = "connectome",
    drive: str = "all",
    duration_ms: float | None = None,
) -> BuiltModel:
    """Build a connectome layer with its default drive, as a :class:`BuiltModel`.

    What ``evospikenet simulate --connectome FILE.npz`` runs: the layer of
    :func:`apply_connectome_to_layer` plus Poisson input of ``drive_rate_hz``
    (total per neuron) with PSCs of ``drive_weight_pa`` into every neuron,
    or with ``drive`` other than ``"all"`` into the neurons
    :func:`select_neurons` names only (:meth:`ConnectomeLIFLayer.drive_subset`
    for ``duration_ms``, default the model's 1000 ms; the model's ``run``
    runs the network directly, so the subset drive stays on past that
    duration).

    Raises
    ------
    InvalidParameterError
        As :class:`ConnectomeLIFLayer` and :func:`apply_connectome_to_layer`.
    """
    layer = ConnectomeLIFLayer(
        weight_scale_pa=weight_scale_pa, g_inh=g_inh, gap_scale_ns=gap_scale_ns,
        dt_ms=0.1 if dt_ms is None else dt_ms, seed=seed, threads=threads,
    )  # fmt: skip
    apply_connectome_to_layer(connectome, layer)
    duration = 1000.0 if duration_ms is None else duration_ms
    mask = select_neurons(connectome, drive)
    if drive == "all":
        layer.drive(drive_rate_hz, drive_weight_pa)
    else:
        layer.drive_subset(np.flatnonzero(mask), duration, drive_rate_hz, drive_weight_pa)
    net, pop = layer._require()
    assert layer.spike_monitor is not None
    parameters = {
        "weight_scale_pa": layer.weight_scale_pa, "g_inh": layer.g_inh,
        "gap_scale_ns": layer.gap_scale_ns, "drive_rate_hz": drive_rate_hz,
        "drive_weight_pa": drive_weight_pa, "ei_ratio": layer.ei_ratio,
        "n_gap_junctions": layer.n_gap_junctions,
        "drive": drive, "n_driven": int(mask.sum()),
    }  # fmt: skip
    return BuiltModel(
        name, net, {pop.name: pop}, {pop.name: layer.spike_monitor}, duration, parameters,
        neuron_ids={pop.name: layer.neuron_id.copy()},
    )  # fmt: skip
