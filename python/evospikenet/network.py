"""The network-building and simulation API.

Declaration reads like Brian2's ``examples/CUBA.py``: make a
:class:`Network`, add populations, connect them with projections, add inputs
and monitors, then :meth:`Network.run`. Every object is created in the Rust
core at once, so a bad parameter raises
:class:`~evospikenet.errors.InvalidParameterError` (naming the field and the
value) where it is written, and nothing half-built stays behind.

Step semantics: step ``s`` covers ``t = s*dt_ms .. (s+1)*dt_ms``; a spike is
stamped ``t_ms = s*dt_ms`` of the step in which the membrane crossed
threshold; over a synapse of delay ``d`` steps (``d >= 0``) it is added to its
target at the end of step ``s + d`` and acts from step ``s + d + 1``. A delay
of 0 is Brian2's default; a nominal delay ``D`` acts at ``(s + 1)*dt + D``
as in Brian2 and NEST.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from evospikenet import _core
from evospikenet.distributions import Constant, Distribution, Normal, Uniform, as_distribution
from evospikenet.errors import InvalidParameterError
from evospikenet.validation import count as _count
from evospikenet.validation import finite as _finite
from evospikenet.validation import indices as _indices
from evospikenet.validation import steps as _steps

if TYPE_CHECKING:
    from evospikenet.plasticity import PlasticityRule

__all__ = [
    "IZHIKEVICH_PRESETS",
    "IzhikevichPopulation",
    "LIFParameters",
    "LIFPopulation",
    "Network",
    "Population",
    "Projection",
    "SpikeMonitor",
    "SpikeSourcePopulation",
    "StateMonitor",
]

Receptor = Literal["excitatory", "inhibitory"]
ProgressCallback = Callable[[float, float], None]

#: Izhikevich (2003) Fig. 2 parameter sets: name -> (a, b, c, d).
IZHIKEVICH_PRESETS: dict[str, tuple[float, float, float, float]] = {
    "RS": (0.02, 0.2, -65.0, 8.0),
    "IB": (0.02, 0.2, -55.0, 4.0),
    "CH": (0.02, 0.2, -50.0, 2.0),
    "FS": (0.1, 0.2, -65.0, 2.0),
    "LTS": (0.02, 0.25, -65.0, 2.0),
    "TC": (0.02, 0.25, -65.0, 0.05),
    "RZ": (0.1, 0.26, -65.0, 2.0),
}


@dataclass(frozen=True)
class LIFParameters:
    r"""Parameters of a leaky integrate-and-fire population.

    ========================  =========  =====  ==================================
    name                      default    unit   meaning
    ========================  =========  =====  ==================================
    ``c_m_pf``                250        pF     membrane capacitance :math:`C_m`
    ``tau_m_ms``              10         ms     membrane time constant
    ``e_l_mv``                -65        mV     leak reversal potential
    ``v_th_mv``               -50        mV     spike threshold
    ``v_reset_mv``            -65        mV     reset potential
    ``t_ref_ms``              2          ms     absolute refractory period
    ``synapse``               current           ``current``, ``conductance``, ``delta``
    ``tau_syn_ex_ms``         0.5        ms     excitatory synaptic time constant
    ``tau_syn_in_ms``         0.5        ms     inhibitory synaptic time constant
    ``e_ex_mv``               0          mV     excitatory reversal (conductance)
    ``e_in_mv``               -80        mV     inhibitory reversal (conductance)
    ========================  =========  =====  ==================================

    Defaults are NEST's ``iaf_psc_exp`` as used by Potjans & Diesmann (2014).

    Notes
    -----
    .. math::

        C_m \frac{dV}{dt} = -\frac{C_m}{\tau_m}(V - E_L) + I_{syn} + I_e

    ``current``: :math:`I_{syn} = i_{ex} + i_{in}`, each decaying with its
    time constant; weights in pA (inhibitory ones <= 0). ``conductance``:
    :math:`I_{syn} = g_{ex}(E_{ex} - V) + g_{in}(E_{in} - V)`; weights in nS
    (>= 0). ``delta``: weights are voltage jumps in mV. Current-based and
    delta synapses are integrated exactly (Rotter & Diesmann 1999); with
    conductances the membrane takes an exponential-Euler step with the
    conductances of the step start. After a spike the membrane is held at
    ``v_reset_mv`` for ``round(t_ref_ms / dt_ms)`` steps.

    References
    ----------
    Rotter S, Diesmann M (1999) Exact digital simulation of time-invariant
    linear systems with applications to neuronal modeling. Biol Cybern
    81:381-402. doi:10.1007/s004220050570
    """

    c_m_pf: float = 250.0
    tau_m_ms: float = 10.0
    e_l_mv: float = -65.0
    v_th_mv: float = -50.0
    v_reset_mv: float = -65.0
    t_ref_ms: float = 2.0
    synapse: Literal["current", "conductance", "delta"] = "current"
    tau_syn_ex_ms: float = 0.5
    tau_syn_in_ms: float = 0.5
    e_ex_mv: float = 0.0
    e_in_mv: float = -80.0

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], base: LIFParameters | None = None
    ) -> LIFParameters:
        """Build from a mapping, rejecting unknown names.

        Raises
        ------
        InvalidParameterError
            For a name that is not a field, a non-numeric value, or an
            unknown ``synapse``.
        """
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise InvalidParameterError.of(
                    key, values[key], f"unknown LIF parameter (known: {', '.join(sorted(known))})"
                )
        checked: dict[str, Any] = {}
        for key, value in values.items():
            if key == "synapse":
                if value not in ("current", "conductance", "delta"):
                    raise InvalidParameterError.of(
                        "synapse", value, "must be 'current', 'conductance' or 'delta'"
                    )
                checked[key] = value
            else:
                checked[key] = _finite(key, value)
        return replace(base or cls(), **checked)


class Population:
    """A group of neurons in a :class:`Network` (base class).

    Attributes
    ----------
    name : str
        Unique name in the network.
    n : int
        Number of neurons.
    index : int
        Index of the population in the engine.
    """

    model = "population"

    def __init__(self, network: Network, name: str, n: int, index: int) -> None:
        self.network = network
        self.name = name
        self.n = n
        self.index = index

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n={self.n})"

    @property
    def spike_count(self) -> int:
        """Total spikes emitted so far."""
        return int(self.network._engine.spike_count(self.index))

    def _state_var(self, variable: str) -> str:
        raise InvalidParameterError.of("variable", variable, f"{self.model} has no state variables")

    def get(self, variable: str) -> npt.NDArray[np.float64]:
        """Return the current values of a state variable (a copy), float64, shape ``(n,)``.

        Raises
        ------
        InvalidParameterError
            If the population has no such variable.
        """
        return self.network._engine.state(self.index, self._state_var(variable))

    def set(self, variable: str, values: float | npt.ArrayLike | Distribution) -> None:
        """Set a state variable: a scalar, an array of shape ``(n,)`` or a distribution.

        A distribution is sampled in the core from a stream seeded by the
        network seed, the population and the variable.

        Raises
        ------
        InvalidParameterError
            Unknown variable or non-finite value.
        ShapeMismatchError
            If an array does not have shape ``(n,)``.
        """
        var = self._state_var(variable)
        if isinstance(values, Constant | Uniform | Normal):
            self.network._engine.init_state(self.index, var, values.spec())
        else:
            if np.ndim(values) == 0:
                _finite(variable, values)  # type: ignore[arg-type]
            self.network._engine.set_state(self.index, var, _float_array(values, self.n))

    def set_bias(self, i_e_pa: float | npt.ArrayLike) -> None:
        """Set the constant bias current (pA), a scalar or shape ``(n,)``.

        Raises
        ------
        ShapeMismatchError
            If an array does not have shape ``(n,)``.
        InvalidParameterError
            For non-finite values or a spike source.
        """
        self.network._engine.set_bias(self.index, _float_array(i_e_pa, self.n))


class LIFPopulation(Population):
    """Leaky integrate-and-fire neurons (see :class:`LIFParameters`).

    State variables: ``v_mv`` and, by synapse model, ``i_syn_ex_pa`` /
    ``i_syn_in_pa`` (current), ``g_ex_ns`` / ``g_in_ns`` (conductance).
    """

    model = "lif"

    def __init__(
        self, network: Network, name: str, n: int, index: int, params: LIFParameters
    ) -> None:
        super().__init__(network, name, n, index)
        self.params = params

    def _state_var(self, variable: str) -> str:
        names = {"v_mv": "v"}
        if self.params.synapse == "current":
            names |= {"i_syn_ex_pa": "syn_ex", "i_syn_in_pa": "syn_in"}
        elif self.params.synapse == "conductance":
            names |= {"g_ex_ns": "syn_ex", "g_in_ns": "syn_in"}
        if variable not in names:
            raise InvalidParameterError.of(
                "variable",
                variable,
                f"not a state variable of {self.name} (have {', '.join(names)})",
            )
        return names[variable]


class IzhikevichPopulation(Population):
    r"""Izhikevich (2003) neurons with per-neuron ``a, b, c, d``.

    State variables: ``v_mv``, ``u`` and ``i_syn_pa``.

    Notes
    -----
    .. math::

        \dot v = 0.04 v^2 + 5 v + 140 - u + I,\quad \dot u = a(bv - u),\quad
        v \ge 30 \Rightarrow v \leftarrow c,\ u \leftarrow u + d

    ``v`` advances in ``ceil(dt/0.5 ms)`` Euler sub-steps (the paper's two
    half-steps at dt = 1 ms), ``u`` one Euler step of ``dt`` with the new
    ``v``; as in the paper's listing, ``v`` may overshoot 30 mV within the
    step of a spike, and is reset to ``c`` after it. Currents
    are in the paper's units (written pA). With ``tau_syn_ms = 0`` synaptic
    weights form the current of the step in which they arrive (the paper's
    scheme); otherwise the current decays with ``tau_syn_ms``.

    References
    ----------
    Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural
    Netw 14:1569-1572. doi:10.1109/TNN.2003.820440
    """

    model = "izhikevich"

    def _state_var(self, variable: str) -> str:
        names = {"v_mv": "v", "u": "u", "i_syn_pa": "syn_ex"}
        if variable not in names:
            raise InvalidParameterError.of(
                "variable",
                variable,
                f"not a state variable of {self.name} (have {', '.join(names)})",
            )
        return names[variable]


class SpikeSourcePopulation(Population):
    """Neurons that fire at given times (``times_ms[k]`` for ``neurons[k]``)."""

    model = "spike_source"


@dataclass(frozen=True)
class Projection:
    """Synapses from ``pre`` to ``post`` onto one receptor.

    Attributes
    ----------
    pre, post : Population
        Source and target populations.
    receptor : {"excitatory", "inhibitory"}
        Target synaptic variable.
    index : int
        Index of the projection in the engine.
    """

    network: Network
    pre: Population
    post: Population
    receptor: Receptor
    index: int

    def __len__(self) -> int:
        return int(self.network._engine.projection_size(self.index))

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        """Return the synapses as arrays in CSR order (by presynaptic neuron).

        Returns
        -------
        dict
            ``pre`` (uint32), ``post`` (uint32), ``weight`` (float32, unit of
            the target variable), ``delay_ms`` (float64), each of shape
            ``(n_synapses,)``.
        """
        pre, post, weight, delay_steps = self.network._engine.projection_arrays(self.index)
        return {
            "pre": pre,
            "post": post,
            "weight": weight,
            "delay_ms": delay_steps.astype(np.float64) * self.network.dt_ms,
        }

    # -- plasticity (evospikenet.plasticity) --------------------------------

    @property
    def plasticity(self) -> PlasticityRule | None:
        """The plasticity rule attached with :meth:`Network.add_plasticity`, or None."""
        return self.network._plasticity.get(self.index)

    def bcm_threshold(self) -> npt.NDArray[np.float64]:
        """Return the BCM thresholds per postsynaptic neuron, float64, shape ``(post.n,)``.

        In units of the squared normalised rate ``(r / rate_ref_hz)**2``
        (see :class:`~evospikenet.plasticity.BCM`); empty for other rules.
        """
        return self.network._engine.plasticity_theta(self.index)

    def weights(self) -> npt.NDArray[np.float64]:
        """Return the current weights in CSR order, float64, shape ``(n_synapses,)``.

        For a plastic projection these are the weights as learnt so far
        (:meth:`arrays` returns them too, as float32).
        """
        return self.network._engine.projection_weights(self.index)

    def set_weights(self, values: float | npt.ArrayLike) -> None:
        """Replace the weights (CSR order): a scalar or shape ``(n_synapses,)``.

        Raises
        ------
        ShapeMismatchError
            If an array does not have one entry per synapse.
        InvalidParameterError
            Non-finite values, values of the wrong sign for the receptor, or
            (plastic projections) values outside ``[0, w_max]``.
        """
        self.network._engine.set_projection_weights(self.index, _float_array(values, len(self)))


class SpikeMonitor:
    """Records the spikes of a population.

    Attributes
    ----------
    population : Population
        The recorded population.
    """

    def __init__(self, network: Network, population: Population, index: int) -> None:
        self.network = network
        self.population = population
        self.index = index

    @property
    def t_ms(self) -> npt.NDArray[np.float64]:
        """Spike times (ms), float64, shape ``(n_spikes,)``, ascending."""
        steps, _ = self.network._engine.spikes(self.index)
        return steps.astype(np.float64) * self.network.dt_ms

    @property
    def neuron(self) -> npt.NDArray[np.uint32]:
        """Neuron index within the population, uint32, shape ``(n_spikes,)``."""
        return self.network._engine.spikes(self.index)[1]

    @property
    def count(self) -> int:
        """Number of recorded spikes."""
        return int(self.network._engine.spike_monitor_len(self.index))

    def window(
        self, start_ms: float, stop_ms: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]:
        """Return the spikes with ``start_ms <= t_ms < stop_ms``, copying only those.

        The recorded times ascend, so the core finds the window by binary
        search: a query costs ``O(log n_spikes + n_window)`` instead of the
        ``O(n_spikes)`` copy of :attr:`t_ms` and :attr:`neuron`. The result
        equals ``(t_ms[sel], neuron[sel])`` with
        ``sel = (t_ms >= start_ms) & (t_ms < stop_ms)``, bit for bit (times
        are the same float64 ``step * dt_ms``).

        Parameters
        ----------
        start_ms : float
            Window start (ms), inclusive; ``-inf`` for no lower bound.
        stop_ms : float
            Window end (ms), exclusive; ``inf`` for no upper bound; ``>= start_ms``.

        Returns
        -------
        t_ms : numpy.ndarray
            Spike times (ms), float64, shape ``(n_window,)``, ascending.
        neuron : numpy.ndarray
            Neuron index within the population, uint32, shape ``(n_window,)``.

        Raises
        ------
        InvalidParameterError
            If a bound is NaN or ``stop_ms < start_ms``.
        """
        for name, value in (("start_ms", start_ms), ("stop_ms", stop_ms)):
            if math.isnan(value):
                raise InvalidParameterError.of(name, value, "must be a number, not NaN")
        if stop_ms < start_ms:
            raise InvalidParameterError.of(
                "stop_ms", stop_ms, f"must be >= start_ms = {start_ms!r}"
            )
        dt = self.network.dt_ms
        lo, hi = _first_step_at(start_ms, dt), _first_step_at(stop_ms, dt)
        steps, neurons = self.network._engine.spikes_window(self.index, lo, hi)
        return steps.astype(np.float64) * dt, neurons


_MAX_STEP = 2**64 - 1


def _first_step_at(t_ms: float, dt_ms: float) -> int:
    """Return the least step ``s >= 0`` with ``float64(s) * dt_ms >= t_ms`` (or ``2**64 - 1``).

    The same float64 product as :attr:`SpikeMonitor.t_ms`, so a window in
    steps selects exactly the spikes a mask on the times would; the product
    is monotone in ``s``, so the boundary is a single step near
    ``ceil(t_ms / dt_ms)``.
    """
    if t_ms <= 0.0:
        return 0
    q = t_ms / dt_ms
    if not q < _MAX_STEP:
        return _MAX_STEP
    s = max(math.ceil(q), 0)
    while s > 0 and float(s - 1) * dt_ms >= t_ms:
        s -= 1
    while s < _MAX_STEP and float(s) * dt_ms < t_ms:
        s += 1
    return s


class StateMonitor:
    """Samples a state variable of chosen neurons at a fixed interval.

    Samples are the state at the start of each sampled step, ``t_ms = s*dt_ms``.
    """

    def __init__(
        self,
        network: Network,
        population: Population,
        variable: str,
        neurons: npt.NDArray[np.uint32],
        index: int,
    ) -> None:
        self.network = network
        self.population = population
        self.variable = variable
        self.neurons = neurons
        self.index = index

    @property
    def t_ms(self) -> npt.NDArray[np.float64]:
        """Sample times (ms), float64, shape ``(n_samples,)``."""
        steps, _ = self.network._engine.samples(self.index)
        return steps.astype(np.float64) * self.network.dt_ms

    @property
    def values(self) -> npt.NDArray[np.float64]:
        """Samples, float64, shape ``(n_samples, n_neurons)``, unit of the variable."""
        return self.network._engine.samples(self.index)[1]


class Network:
    """A spiking network simulated by the Rust core.

    Parameters
    ----------
    dt_ms : float
        Time step (ms), > 0. Default 0.1.
    seed : int
        Master seed (0 <= seed < 2**64); every random draw derives from it.
    threads : int
        Worker threads (>= 1). Results do not depend on it.

    Raises
    ------
    InvalidParameterError
        For a non-positive ``dt_ms``, a bad seed or ``threads < 1``.

    Examples
    --------
    >>> net = Network(dt_ms=0.1, seed=1)
    >>> exc = net.lif("E", 80, tau_m_ms=20.0)
    >>> _ = net.connect(exc, exc, p=0.1, weight=10.0, delay_ms=1.0)
    >>> _ = net.poisson(exc, rate_hz=8000.0, weight=30.0)
    >>> mon = net.spike_monitor(exc)
    >>> net.run(100.0)
    """

    def __init__(self, dt_ms: float = 0.1, seed: int = 0, threads: int = 1) -> None:
        dt_ms = _finite("dt_ms", dt_ms)
        if dt_ms <= 0:
            raise InvalidParameterError.of("dt_ms", dt_ms, "must be > 0")
        if (
            isinstance(seed, bool)
            or not isinstance(seed, int | np.integer)
            or not 0 <= int(seed) < 2**64
        ):
            raise InvalidParameterError.of("seed", seed, "must be an integer in [0, 2**64)")
        if (
            isinstance(threads, bool)
            or not isinstance(threads, int | np.integer)
            or int(threads) < 1
        ):
            raise InvalidParameterError.of("threads", threads, "must be an integer >= 1")
        self.dt_ms = dt_ms
        self.seed = int(seed)
        self.threads = int(threads)
        self._engine = _core.Engine(dt_ms, self.seed, self.threads)
        self.populations: dict[str, Population] = {}
        self.projections: list[Projection] = []
        self.spike_monitors: list[SpikeMonitor] = []
        self.state_monitors: list[StateMonitor] = []
        # Plasticity rule per projection index (evospikenet.plasticity).
        self._plasticity: dict[int, PlasticityRule] = {}

    # -- populations -------------------------------------------------------

    def _register(self, pop: Population) -> Any:
        self.populations[pop.name] = pop
        return pop

    def lif(
        self, name: str, n: int, params: LIFParameters | None = None, **overrides: Any
    ) -> LIFPopulation:
        """Add ``n`` LIF neurons (parameters as :class:`LIFParameters`).

        Neurons start at ``v_reset_mv``; use :meth:`Population.set`.

        Raises
        ------
        InvalidParameterError
            Unknown parameter name, non-finite or out-of-domain value (e.g. a
            negative time constant, ``v_reset_mv >= v_th_mv``), or a taken name.
        """
        p = LIFParameters.from_mapping(overrides, params)
        count = _count("n", n)
        index = self._engine.add_lif(
            name, count, p.c_m_pf, p.tau_m_ms, p.e_l_mv, p.v_th_mv, p.v_reset_mv, p.t_ref_ms,
            p.synapse, p.tau_syn_ex_ms, p.tau_syn_in_ms, p.e_ex_mv, p.e_in_mv,
        )  # fmt: skip
        return self._register(LIFPopulation(self, name, count, index, p))  # type: ignore[no-any-return]

    def izhikevich(
        self,
        name: str,
        n: int,
        preset: str | None = "RS",
        *,
        a: float | npt.ArrayLike | None = None,
        b: float | npt.ArrayLike | None = None,
        c: float | npt.ArrayLike | None = None,
        d: float | npt.ArrayLike | None = None,
        tau_syn_ms: float = 0.0,
    ) -> IzhikevichPopulation:
        """Add ``n`` Izhikevich (2003) neurons.

        Parameters
        ----------
        name : str
            Population name.
        n : int
            Number of neurons.
        preset : str or None
            One of ``RS IB CH FS LTS TC RZ`` (Izhikevich 2003, Fig. 2), giving
            the ``a b c d`` not passed explicitly.
        a, b, c, d : float or array_like of shape (n,), optional
            Per-neuron parameters (dimensionless; ``c`` in mV).
        tau_syn_ms : float
            Synaptic current decay (ms); 0 = the paper's one-step current.

        Raises
        ------
        InvalidParameterError
            Unknown preset, missing parameter, non-finite values.
        ShapeMismatchError
            Arrays not of shape ``(n,)``.
        """
        count = _count("n", n)
        base: tuple[float, ...] | None = None
        if preset is not None:
            key = preset.upper()
            if key not in IZHIKEVICH_PRESETS:
                raise InvalidParameterError.of(
                    "preset",
                    preset,
                    f"unknown Izhikevich preset (known: {', '.join(IZHIKEVICH_PRESETS)})",
                )
            base = IZHIKEVICH_PRESETS[key]
        arrays = []
        for k, (pname, value) in enumerate((("a", a), ("b", b), ("c", c), ("d", d))):
            if value is None:
                if base is None:
                    raise InvalidParameterError.of(pname, None, "needed when preset is None")
                value = base[k]
            arrays.append(_float_array(value, count))
        tau = _finite("tau_syn_ms", tau_syn_ms)
        index = self._engine.add_izhikevich(name, arrays[0], arrays[1], arrays[2], arrays[3], tau)
        return self._register(IzhikevichPopulation(self, name, count, index))  # type: ignore[no-any-return]

    def spike_source(
        self, name: str, n: int, times_ms: npt.ArrayLike, neurons: npt.ArrayLike
    ) -> SpikeSourcePopulation:
        """Add ``n`` neurons firing at given times (rounded to the step grid).

        Parameters
        ----------
        name : str
            Population name.
        n : int
            Number of source neurons.
        times_ms : array_like of float, shape (k,)
            Spike times (ms, >= 0).
        neurons : array_like of int, shape (k,)
            Index of the neuron firing at each time (< n).

        Raises
        ------
        InvalidParameterError
            Negative times or out-of-range neurons.
        ShapeMismatchError
            ``times_ms`` and ``neurons`` differ in length.
        """
        count = _count("n", n)
        t = np.ascontiguousarray(times_ms, dtype=np.float64).ravel()
        idx = _indices("neurons", neurons)
        index = self._engine.add_spike_source(name, count, t, idx)
        return self._register(SpikeSourcePopulation(self, name, count, index))  # type: ignore[no-any-return]

    # -- projections -------------------------------------------------------

    def connect(
        self,
        pre: Population,
        post: Population,
        *,
        receptor: Receptor = "excitatory",
        rule: str | None = None,
        p: float | None = None,
        indegree: int | None = None,
        total_number: int | None = None,
        weight: float | Distribution = 1.0,
        delay_ms: float | Distribution = 0.0,
        allow_autapses: bool = True,
    ) -> Projection:
        """Connect two populations with a NEST connection rule.

        Give exactly one of ``p`` (``fixed_probability``), ``indegree``
        (``fixed_indegree``), ``total_number`` (``fixed_total_number``, pre
        and post drawn uniformly, multapses allowed), or
        ``rule="all_to_all" | "one_to_one"``.

        Parameters
        ----------
        pre, post : Population
            Source and target.
        receptor : {"excitatory", "inhibitory"}
            Target synaptic variable. Weights onto a current-based or delta
            inhibitory receptor must be <= 0, onto any other >= 0.
        weight : float or Distribution
            Weight in the unit of the target variable (pA, nS or mV).
        delay_ms : float or Distribution
            Delay (ms); a constant must be a multiple of ``dt_ms``, drawn
            delays round to the grid; 0 (the default) acts from the next step.
        allow_autapses : bool
            Allow a neuron to connect to itself when ``pre is post``.

        Returns
        -------
        Projection

        Raises
        ------
        InvalidParameterError
            Conflicting or missing rule, probability outside [0, 1], weights
            of the wrong sign, a delay off the grid.
        """
        chosen: dict[str, object] = {
            k: v
            for k, v in (("p", p), ("indegree", indegree), ("total_number", total_number))
            if v is not None
        }
        if rule is not None:
            chosen["rule"] = rule
        if len(chosen) != 1:
            raise InvalidParameterError.of(
                "rule", chosen or None, "give exactly one of p, indegree, total_number or rule"
            )
        ((kind, value),) = chosen.items()
        names = {
            "p": "fixed_probability",
            "indegree": "fixed_indegree",
            "total_number": "fixed_total_number",
        }
        if kind == "rule":
            if value not in ("all_to_all", "one_to_one"):
                raise InvalidParameterError.of(
                    "rule",
                    value,
                    "must be 'all_to_all' or 'one_to_one' (or pass p, indegree, total_number)",
                )
            rule_name, rule_value = str(value), 0.0
        else:
            rule_name, rule_value = names[kind], _finite(kind, value)  # type: ignore[arg-type]
        w = as_distribution("weight", weight)
        d = as_distribution("delay_ms", delay_ms)
        self._check_member(pre, "pre")
        self._check_member(post, "post")
        index = self._engine.connect(
            pre.index,
            post.index,
            receptor,
            rule_name,
            rule_value,
            bool(allow_autapses),
            w.spec(),
            d.spec(),
        )
        proj = Projection(self, pre, post, receptor, index)
        self.projections.append(proj)
        return proj

    def connect_arrays(
        self,
        pre: Population,
        post: Population,
        pre_index: npt.ArrayLike,
        post_index: npt.ArrayLike,
        weight: npt.ArrayLike,
        delay_ms: npt.ArrayLike,
        *,
        receptor: Receptor = "excitatory",
    ) -> Projection:
        """Connect with explicit synapses (indices local to each population).

        ``weight`` and ``delay_ms`` may be scalars or arrays like ``pre_index``.

        Raises
        ------
        ShapeMismatchError
            Arrays of different lengths.
        InvalidParameterError
            Indices out of range, non-finite weights, delays off the grid.
        """
        self._check_member(pre, "pre")
        self._check_member(post, "post")
        pi = _indices("pre_index", pre_index)
        po = _indices("post_index", post_index)
        w = _float_array(weight, pi.size)
        dl = _float_array(delay_ms, pi.size)
        index = self._engine.connect_arrays(pre.index, post.index, receptor, pi, po, w, dl)
        proj = Projection(self, pre, post, receptor, index)
        self.projections.append(proj)
        return proj

    # -- gap junctions (electrical synapses) -------------------------------

    def gap_junctions(
        self,
        pre: Population,
        post: Population,
        pre_index: npt.ArrayLike,
        post_index: npt.ArrayLike,
        g_ns: npt.ArrayLike,
    ) -> int:
        r"""Join neurons by gap junctions (electrical synapses) of conductance ``g_ns``.

        Junction ``k`` joins neuron ``pre_index[k]`` of ``pre`` and neuron
        ``post_index[k]`` of ``post`` (LIF populations; ``pre`` may be
        ``post``). It is symmetric: ``pre``/``post`` only name the ends.

        Parameters
        ----------
        pre, post : Population
            LIF populations of this network.
        pre_index, post_index : array_like of int, shape (n_junctions,)
            Neuron indices local to each population.
        g_ns : float or array_like of float, shape (n_junctions,)
            Junction conductances (nS), >= 0.

        Returns
        -------
        int
            Index of the junction set.

        Raises
        ------
        InvalidParameterError
            A non-LIF population, indices out of range, a junction of a neuron
            with itself, negative or non-finite ``g_ns``, or a total
            conductance per neuron above the stability bound (Notes).
        ShapeMismatchError
            Arrays of different lengths.

        Notes
        -----
        Current into each end (pA):

        .. math::

            I_{pre} = g (V_{post} - V_{pre}), \qquad I_{post} = -I_{pre}.

        The currents are computed from the membrane potentials at the start
        of each step and held constant over it, where the exact LIF
        propagator integrates them with the leak (as NEST without waveform
        relaxation, which couples with the potentials of the previous
        communication interval; here one step): global error :math:`O(dt)`
        in the coupling. The step is a contraction for passive membranes when
        every neuron's total junction conductance :math:`G_i` satisfies
        :math:`2 \tau_m (1 - e^{-dt/\tau_m}) G_i / C_m < 1 + e^{-dt/\tau_m}`
        (roughly :math:`dt\,G_i/C_m < 1`); larger totals are rejected.

        References
        ----------
        Hahne J, Helias M, Kunkel S, et al. (2015) A unified framework for
        spiking and gap-junction interactions in distributed neuronal
        network simulations. Front Neuroinform 9:22.
        doi:10.3389/fninf.2015.00022
        """
        self._check_member(pre, "pre")
        self._check_member(post, "post")
        pi = _indices("pre_index", pre_index)
        po = _indices("post_index", post_index)
        g = _float_array(g_ns, pi.size)
        return int(self._engine.add_gap_junctions(pre.index, post.index, pi, po, g))

    # -- plasticity (evospikenet.plasticity) --------------------------------

    def add_plasticity(self, projection: Projection, rule: PlasticityRule) -> None:
        """Make ``projection`` plastic under ``rule`` from now on.

        Parameters
        ----------
        projection : Projection
            A projection of this network; excitatory unless the rule sets
            ``allow_inhibitory=True`` (then onto a conductance receptor).
            Its weights must lie in ``[0, rule.w_max]``.
        rule : STDP, RewardModulatedSTDP, BCM, Oja or IzhikevichSTDP
            See :mod:`evospikenet.plasticity`.

        Raises
        ------
        InvalidParameterError
            Not a rule, a projection of another network, an inhibitory
            projection without ``allow_inhibitory``, weights outside the
            bounds, or a projection that already has a rule.
        """
        from evospikenet.plasticity import BCM, STDP, IzhikevichSTDP, Oja, RewardModulatedSTDP

        if not isinstance(projection, Projection) or projection.network is not self:
            raise InvalidParameterError.of(
                "projection", projection, "must be a projection of this network"
            )
        if not isinstance(rule, STDP | RewardModulatedSTDP | BCM | Oja | IzhikevichSTDP):
            raise InvalidParameterError.of(
                "rule", rule, "must be STDP, RewardModulatedSTDP, BCM, Oja or IzhikevichSTDP"
            )
        rule._attach(self._engine, projection.index)
        self._plasticity[projection.index] = rule

    def set_plasticity_scale(self, projection: Projection, scale: float) -> None:
        """Multiply every later weight change of ``projection`` by ``scale``.

        The hook for neuromodulator gating: 0 freezes learning, 1 is the
        rule as given. Applies from the current time on (reward-modulated
        STDP integrates up to now with the old scale first).

        Raises
        ------
        InvalidParameterError
            ``scale`` negative or not finite, or the projection has no rule.
        """
        if not isinstance(projection, Projection) or projection.network is not self:
            raise InvalidParameterError.of(
                "projection", projection, "must be a projection of this network"
            )
        self._engine.set_plasticity_scale(projection.index, _finite("scale", scale))

    def add_dopamine(self, amount: float) -> None:
        """Raise the dopamine concentration of every reward-modulated projection now.

        The concentration then decays with each rule's ``tau_d_ms``
        (see :class:`~evospikenet.plasticity.RewardModulatedSTDP`).
        Other rules ignore it.

        Raises
        ------
        InvalidParameterError
            ``amount`` not finite.
        """
        self._engine.add_dopamine(_finite("amount", amount))

    # -- inputs ------------------------------------------------------------

    def poisson(
        self,
        target: Population,
        rate_hz: float,
        weight: float,
        *,
        receptor: Receptor = "excitatory",
        n_sources: int = 1,
    ) -> int:
        """Independent Poisson input into every neuron of ``target``.

        Each neuron receives ``n_sources`` Poisson trains of ``rate_hz`` each;
        their sum is a Poisson train of ``n_sources * rate_hz``, drawn once
        per neuron per step. Each input spike adds ``weight`` to ``receptor``.

        Raises
        ------
        InvalidParameterError
            Negative rate, non-finite weight or weight of the wrong sign.
        """
        self._check_member(target, "target")
        total = _finite("rate_hz", rate_hz) * _count("n_sources", n_sources)
        return int(
            self._engine.add_poisson(target.index, receptor, total, _finite("weight", weight))
        )

    def noise(self, target: Population, mean_pa: float, std_pa: float) -> int:
        """Gaussian current (pA) redrawn every step for each neuron of ``target``.

        Raises
        ------
        InvalidParameterError
            Non-finite mean, negative std, or a spike-source target.
        """
        self._check_member(target, "target")
        return int(
            self._engine.add_noise(
                target.index, _finite("mean_pa", mean_pa), _finite("std_pa", std_pa)
            )
        )

    def current(
        self,
        target: Population,
        times_ms: npt.ArrayLike,
        amplitudes_pa: npt.ArrayLike,
        neurons: npt.ArrayLike | None = None,
    ) -> int:
        """Add a step current: ``amplitudes_pa[k]`` from ``times_ms[k]`` to the next time.

        Zero before ``times_ms[0]``. For a DC current pass ``[0.0], [amp]``.
        Applied to ``neurons`` of ``target`` (all when None).

        Raises
        ------
        InvalidParameterError
            Times not increasing or off the step grid, non-finite amplitudes.
        ShapeMismatchError
            ``times_ms`` and ``amplitudes_pa`` differ in length.
        """
        self._check_member(target, "target")
        t = np.ascontiguousarray(times_ms, dtype=np.float64).ravel()
        a = np.ascontiguousarray(amplitudes_pa, dtype=np.float64).ravel()
        idx = None if neurons is None else _indices("neurons", neurons)
        return int(self._engine.add_step_current(target.index, idx, t, a))

    # -- monitors ----------------------------------------------------------

    def spike_monitor(
        self, population: Population, neurons: npt.ArrayLike | None = None
    ) -> SpikeMonitor:
        """Record the spikes of ``population`` (of ``neurons`` only, if given).

        Raises
        ------
        InvalidParameterError
            Out-of-range neuron indices.
        """
        self._check_member(population, "population")
        idx = None if neurons is None else _indices("neurons", neurons)
        mon = SpikeMonitor(self, population, self._engine.add_spike_monitor(population.index, idx))
        self.spike_monitors.append(mon)
        return mon

    def state_monitor(
        self,
        population: Population,
        variable: str,
        neurons: npt.ArrayLike,
        every_ms: float | None = None,
    ) -> StateMonitor:
        """Sample ``variable`` of ``neurons`` every ``every_ms`` (default every step).

        Raises
        ------
        InvalidParameterError
            Unknown variable, out-of-range neurons, an interval that is not a
            positive multiple of ``dt_ms``.
        """
        self._check_member(population, "population")
        var = population._state_var(variable)
        idx = _indices("neurons", neurons)
        every = 1 if every_ms is None else _steps("every_ms", every_ms, self.dt_ms, minimum=1)
        mon = StateMonitor(
            self,
            population,
            variable,
            idx,
            self._engine.add_state_monitor(population.index, var, idx, every),
        )
        self.state_monitors.append(mon)
        return mon

    # -- running -----------------------------------------------------------

    @property
    def t_ms(self) -> float:
        """Simulated time so far (ms)."""
        return float(self._engine.step) * self.dt_ms

    def run(
        self,
        duration_ms: float,
        progress: ProgressCallback | None = None,
        chunk_ms: float | None = None,
    ) -> None:
        """Advance the network by ``duration_ms`` in one call into the core.

        The core runs in chunks (default ~1 % of the run, at least 10 ms)
        with the GIL released; between chunks Ctrl-C is honoured and
        ``progress(t_done_ms, duration_ms)`` is called.

        Raises
        ------
        InvalidParameterError
            Negative, NaN, or non-multiple-of-``dt_ms`` duration.
        KeyboardInterrupt
            On Ctrl-C (the state is that at the end of the last whole chunk).
        """
        n_steps = _steps("duration_ms", duration_ms, self.dt_ms, minimum=0)
        if chunk_ms is None:
            chunk = max(round(10.0 / self.dt_ms), n_steps // 100, 1)
        else:
            chunk = _steps("chunk_ms", chunk_ms, self.dt_ms, minimum=1)
        dt = self.dt_ms
        callback = None
        if progress is not None:
            cb = progress

            def callback(done: int, total: int) -> None:
                cb(done * dt, total * dt)

        self._engine.run(n_steps, chunk, callback)

    def to_parquet(self, path: str | os.PathLike[str], model: str = "network") -> None:
        """Write the spikes of every spike monitor to Parquet, atomically.

        Columns ``t_ms`` (float64), ``neuron`` (uint32, index within the
        population), ``population`` (dictionary<string>); metadata
        ``evospikenet_version``, ``model``, ``seed``, ``dt_ms``,
        ``duration_ms`` (the simulated time so far). See
        :func:`evospikenet.io.read_spikes`.

        Raises
        ------
        FileIOError
            If the file cannot be written (an existing file is kept).
        """
        from evospikenet.io import write_spikes

        spikes: dict[str, tuple[Any, Any]] = {}
        for mon in self.spike_monitors:
            spikes[mon.population.name] = (mon.t_ms, mon.neuron)
        write_spikes(
            path, spikes, model=model, seed=self.seed, dt_ms=self.dt_ms, duration_ms=self.t_ms
        )

    def _check_member(self, pop: Population, field: str) -> None:
        if not isinstance(pop, Population) or pop.network is not self:
            raise InvalidParameterError.of(field, pop, "must be a population of this network")


def _float_array(values: float | npt.ArrayLike, size: int) -> npt.NDArray[np.float64]:
    """Return ``values`` as a contiguous float64 array; a scalar is repeated ``size`` times.

    Arrays keep their shape, so the core can report a wrong one.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    return np.ascontiguousarray(arr)
