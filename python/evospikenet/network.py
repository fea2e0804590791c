"""The network-building and simulation API.

Declaration reads like Brian2's ``examples/CUBA.py``: make a
:class:`Network`, add populations, connect them with projections, add inputs
and monitors, then :meth:`Network.run`. Every object is created in the Rust
core at once, so a bad parameter raises
:class:`~evospikenet.errors.InvalidParameterError` (naming the field and the
value) where it is written, and nothing half-built stays behind.

Step semantics: step ``s`` covers ``t = s*dt_ms .. (s+1)*dt_ms``; a spike is
stamped ``t_ms = s*dt_ms`` of the step in which the membrane crossed
threshold; over a current or conductance synapse of delay ``d`` steps
(``d >= 0``) it is added to its target at the end of step ``s + d`` and acts
from step ``s + d + 1`` (a nominal delay ``D`` acts at ``(s + 1)*dt + D``, as
in Brian2 and NEST's ``iaf_psc_exp``; a delay of 0 is Brian2's default). Over a
delta synapse (``synapse="delta"``) the jump is added in step ``s + d`` itself,
after the membrane is propagated and before the threshold test, as NEST's
``iaf_psc_delta``: the target can fire in step ``s + d`` (spike-to-spike
latency exactly ``D``; Brian2's ``on_pre`` takes one step more), and a delay of
0 acts as one step.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from evospikenet import _core, validation
from evospikenet.distributions import Constant, Distribution, Normal, Uniform, as_distribution
from evospikenet.errors import InvalidParameterError, ShapeMismatchError
from evospikenet.partition import Part
from evospikenet.point_models import (
    POINT_MODELS,
    AeifCondExpParameters,
    AeifPscExpParameters,
    IafPscAlphaParameters,
    PointParameters,
)
from evospikenet.validation import count as _count
from evospikenet.validation import finite as _finite
from evospikenet.validation import indices as _indices
from evospikenet.validation import steps as _steps
from evospikenet.validation import uint64 as _uint64

if TYPE_CHECKING:
    from evospikenet.plasticity import PlasticityRule

__all__ = [
    "IZHIKEVICH_PRESETS",
    "CurrentInput",
    "InputPort",
    "IzhikevichPopulation",
    "LIFParameters",
    "LIFPopulation",
    "Network",
    "PointPopulation",
    "PoissonGroupPopulation",
    "PoissonInput",
    "Population",
    "Projection",
    "RemoteProjection",
    "SpikeMonitor",
    "SpikeSourcePopulation",
    "SplitProjection",
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

    =================  =======  ====  =====================  =================================
    name               default  unit  symbol                 meaning
    =================  =======  ====  =====================  =================================
    ``c_m_pf``         250      pF    :math:`C_m`            membrane capacitance
    ``tau_m_ms``       10       ms    :math:`\tau_m`         membrane time constant
    ``e_l_mv``         -65      mV    :math:`E_L`            leak reversal potential
    ``v_th_mv``        -50      mV    :math:`V_{th}`         spike threshold
    ``v_reset_mv``     -65      mV    :math:`V_{reset}`      reset potential
    ``t_ref_ms``       2        ms    :math:`t_{ref}`        absolute refractory period
    ``synapse``        current                               ``current``, ``conductance``, ``delta``
    ``tau_syn_ex_ms``  0.5      ms    :math:`\tau_{syn,ex}`  excitatory synaptic time constant
    ``tau_syn_in_ms``  0.5      ms    :math:`\tau_{syn,in}`  inhibitory synaptic time constant
    ``e_ex_mv``        0        mV    :math:`E_{ex}`         excitatory reversal (conductance)
    ``e_in_mv``        -80      mV    :math:`E_{in}`         inhibitory reversal (conductance)
    =================  =======  ====  =====================  =================================

    Defaults are NEST's ``iaf_psc_exp`` as used by Potjans & Diesmann (2014).
    They are not Vogels & Abbott's (``tau_m_ms=20``, ``tau_syn_ex_ms=5``, see
    :mod:`evospikenet.models.vogels_abbott`): with 0.5 ms synaptic currents a
    weight of ``w`` pA moves the membrane by about ``w * 0.5 / 250`` mV
    (2 µV per pA), so a population on these defaults needs strong or many
    inputs to fire. ``tests/test_docs.py`` checks this table against the
    defaults below; the documentation's LIF page is generated from both.

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
    remote : bool
        True for the proxy of a population another part simulates
        (``Network(part=...)``, :mod:`evospikenet.partition`): its engine
        object is the input port ``network.ports[name]``, and setting its
        state or bias does nothing here.
    span : tuple of int or None
        ``(lo, hi)`` for a population **split** over parts (``Part.ranges``):
        this part simulates its neurons ``lo <= i < hi`` (the engine object
        holds ``hi - lo`` neurons, with the global ids of those neurons) and
        receives the others' spikes through ``network.ports[name]``. ``n``,
        arrays given to it (shape ``(n,)``) and recorded neuron indices stay
        those of the whole population. None otherwise.
    """

    model = "population"

    def __init__(self, network: Network, name: str, n: int, index: int) -> None:
        self.network = network
        self.name = name
        self.n = n
        self.index = index
        self.remote = False
        self.span: tuple[int, int] | None = None

    def _local(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Return the entries of this part's neurons of a per-neuron array (shape ``(n,)``)."""
        if self.span is None or values.ndim != 1 or values.shape[0] != self.n:
            return values  # not split, or a bad shape for the core to report
        return np.ascontiguousarray(values[self.span[0] : self.span[1]])

    def _refuse_split(self, what: str) -> None:
        if self.span is not None:
            raise InvalidParameterError.of(
                "population", self.name, f"is split over parts: {what} is not supported on it"
            )

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, n={self.n})"

    @property
    def rng_key(self) -> int:
        """Key of the population's random streams (uint64; see ``docs/random-streams.md``).

        By default the 64-bit FNV-1a hash of :attr:`name`, so populations of
        the same name draw the same numbers in any network of the same seed.
        """
        return int(self.network._engine.rng_key(self.index))

    @property
    def spike_count(self) -> int:
        """Total spikes emitted so far."""
        return int(self.network._engine.spike_count(self.index))

    @property
    def state_variables(self) -> tuple[str, ...]:
        """Names of the state variables :meth:`get`, :meth:`set` and state monitors take.

        Empty for populations without state (spike sources, Poisson groups).
        """
        return tuple(self._state_names())

    def _state_names(self) -> dict[str, str]:
        """Public state-variable name -> the engine's name."""
        return {}

    def _state_var(self, variable: str) -> str:
        names = self._state_names()
        if not names:
            raise InvalidParameterError.of(
                "variable", variable, f"{self.model} has no state variables"
            )
        if variable not in names:
            raise InvalidParameterError.of(
                "variable",
                variable,
                f"not a state variable of {self.name} (have {', '.join(names)})",
            )
        return names[variable]

    def get(self, variable: str) -> npt.NDArray[np.float64]:
        """Return the current values of a state variable (a copy), float64, shape ``(n,)``.

        For a population split over parts, of this part's neurons only
        (shape ``(hi - lo,)``, see :attr:`span`).

        Raises
        ------
        InvalidParameterError
            If the population has no such variable, or is a remote proxy.
        """
        var = self._state_var(variable)
        if self.remote:
            raise InvalidParameterError.of(
                "population", self.name, "is remote: its state lives in the part that simulates it"
            )
        return self.network._engine.state(self.index, var)

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
        if self.remote:
            return  # the owning part sets it
        if isinstance(values, Constant | Uniform | Normal):
            self.network._engine.init_state(self.index, var, values.spec())
        else:
            if np.ndim(values) == 0:
                _finite(variable, values)  # type: ignore[arg-type]
            arr = self._local(_float_array(values, self.n))
            self.network._engine.set_state(self.index, var, arr)

    def set_bias(self, i_e_pa: float | npt.ArrayLike) -> None:
        """Set the constant bias current (pA), a scalar or shape ``(n,)``.

        Raises
        ------
        ShapeMismatchError
            If an array does not have shape ``(n,)``.
        InvalidParameterError
            For non-finite values or a spike source.
        """
        if self.remote:
            return  # the owning part sets it
        self.network._engine.set_bias(self.index, self._local(_float_array(i_e_pa, self.n)))


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

    def _state_names(self) -> dict[str, str]:
        names = {"v_mv": "v"}
        if self.params.synapse == "current":
            names |= {"i_syn_ex_pa": "syn_ex", "i_syn_in_pa": "syn_in"}
        elif self.params.synapse == "conductance":
            names |= {"g_ex_ns": "syn_ex", "g_in_ns": "syn_in"}
        return names


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

    def _state_names(self) -> dict[str, str]:
        return {"v_mv": "v", "u": "u", "i_syn_pa": "syn_ex"}


class PointPopulation(Population):
    """Neurons of one of NEST's point-neuron models (:mod:`evospikenet.point_models`).

    ``model`` is NEST's name (``iaf_psc_alpha``, ``aeif_cond_exp``,
    ``aeif_psc_exp``); ``params`` the parameter object; the state variables
    are listed in its class's docstring (``state_variables``).
    """

    def __init__(
        self, network: Network, name: str, n: int, index: int, params: PointParameters
    ) -> None:
        super().__init__(network, name, n, index)
        self.params = params
        self.model = params.model

    def _state_names(self) -> dict[str, str]:
        return dict(self.params.state_variables)


class SpikeSourcePopulation(Population):
    """Neurons that fire at given times (``times_ms[k]`` for ``neurons[k]``)."""

    model = "spike_source"


class PoissonGroupPopulation(Population):
    """Independent Poisson spike trains, one per neuron (:meth:`Network.poisson_group`).

    Brian2's ``PoissonGroup``, NEST's ``poisson_generator`` feeding
    ``parrot_neuron`` s: a population of spike sources that connects like any
    other. Each step, neuron ``i`` spikes at most once, with probability
    ``p = 1 - exp(-rate_hz[i] * dt)`` (``dt`` in s; the probability that a
    Poisson process of that rate has at least one event in the step), drawn
    from the neuron's own random stream (``docs/random-streams.md``).
    """

    model = "poisson_group"

    def set_rates(self, rate_hz: float | npt.ArrayLike) -> None:
        """Replace the rate per neuron (Hz) from the next step on.

        Parameters
        ----------
        rate_hz : float or array_like of float, shape (n,)
            Rate of neuron ``i`` (Hz, finite, >= 0; 0 = silent); a scalar
            applies to all.

        Raises
        ------
        InvalidParameterError
            A negative or non-finite rate (``rate_hz[k]``).
        ShapeMismatchError
            An array not of shape ``(n,)``.
        """
        if self.remote:
            return  # the owning part draws the spikes
        if np.ndim(rate_hz) == 0:
            _finite("rate_hz", rate_hz)  # type: ignore[arg-type]
        self.network._engine.set_poisson_group_rates(self.index, _float_array(rate_hz, self.n))


class InputPort(Population):
    """A population whose spikes are pushed from outside between runs.

    Made by :meth:`Network.input_port`; it stands for a remote population
    (another process, another module) and connects like any population.

    Attributes
    ----------
    latency_steps : int
        Fixed latency ``L`` (steps) between the remote emission and the port's.
    """

    model = "input_port"

    def __init__(self, network: Network, name: str, n: int, index: int, latency_steps: int) -> None:
        super().__init__(network, name, n, index)
        self.latency_steps = latency_steps

    @property
    def latency_ms(self) -> float:
        """Latency (ms), ``latency_steps * dt_ms``."""
        return self.latency_steps * self.network.dt_ms

    def push(
        self,
        neurons: npt.ArrayLike,
        *,
        steps: npt.ArrayLike | None = None,
        t_ms: npt.ArrayLike | None = None,
    ) -> None:
        """Queue spikes of the remote population, stamped with its emission time.

        Spike ``k`` of neuron ``neurons[k]``, emitted remotely at step
        ``steps[k]`` (or time ``t_ms[k]``, rounded to the step grid), is
        emitted by the port at step ``steps[k] + latency_steps``. Pushes may
        come in any order; the core keeps pending spikes sorted, and the same
        (step, neuron) pushed twice is one spike.

        Parameters
        ----------
        neurons : array_like of int, shape (k,)
            Neuron indices within the port (``< n``).
        steps : array_like of int, shape (k,), optional
            Remote emission steps (uint64). Give exactly one of ``steps``
            and ``t_ms``.
        t_ms : array_like of float, shape (k,), optional
            Remote emission times (ms, finite, >= 0).

        Raises
        ------
        InvalidParameterError
            A neuron index out of range (``neurons[k]``), a non-finite or
            negative time (``t_ms[k]``, ``steps[k]``), or a spike the port
            would emit before the next simulated step (``into the past``:
            ``steps[k] + latency_steps < network step``); nothing is queued
            then.
        ShapeMismatchError
            ``neurons`` and the times differ in length.
        """
        idx = _indices("neurons", neurons)
        engine = self.network._engine
        if (steps is None) == (t_ms is None):
            raise InvalidParameterError.of("steps", None, "give exactly one of steps, t_ms")
        if steps is not None:
            arr = np.asarray(steps)
            if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0):
                k = int(np.argmin(arr)) if np.issubdtype(arr.dtype, np.integer) else 0
                raise InvalidParameterError.of(
                    f"steps[{k}]", arr.ravel()[k], "must be non-negative integer steps"
                )
            engine.push_port_spikes(
                self.index, idx, steps=np.ascontiguousarray(arr, dtype=np.uint64).ravel()
            )
        else:
            t = np.ascontiguousarray(t_ms, dtype=np.float64).ravel()
            engine.push_port_spikes(self.index, idx, t_ms=t)


class _InputHandle:
    """An input of a network onto one population, changeable between runs.

    Attributes
    ----------
    target : Population
        The driven population.
    index : int
        Index of the input in the engine (-1 for an input of another part).
    """

    def __init__(self, network: Network, target: Population, index: int) -> None:
        self.network = network
        self.target = target
        self.index = index


class PoissonInput(_InputHandle):
    """A Poisson input made by :meth:`Network.poisson`; its rates can change between runs."""

    def __index__(self) -> int:
        return self.index

    def set_rates(self, rate_hz: float | npt.ArrayLike) -> None:
        """Replace the total rate per neuron (Hz) from the next step on.

        Parameters
        ----------
        rate_hz : float or array_like of float, shape (n,)
            Rate of neuron ``i`` (Hz, finite, >= 0; 0 = no input); a scalar
            applies to all. Gives inhomogeneous Poisson input when changed
            between chunks.

        Raises
        ------
        InvalidParameterError
            A negative or non-finite rate (``rate_hz[k]``).
        ShapeMismatchError
            An array not of shape ``(n,)``.
        """
        if self.target.remote:
            return  # an input of the part that simulates the target
        self.network._engine.set_poisson_rates(
            self.index, self.target._local(_float_array(rate_hz, self.target.n))
        )

    def schedule(self, times_ms: Sequence[float], rates_hz: npt.ArrayLike) -> None:
        """Make the rates piecewise constant in time (an inhomogeneous Poisson input).

        From ``times_ms[k]`` on (the step ``times_ms[k] / dt_ms``), neuron
        ``i`` gets the total rate ``rates_hz[k]`` (or ``rates_hz[k][i]``) as
        if :meth:`set_rates` were called at that step, in every way of
        running (:meth:`Network.run`, :meth:`Network.run_chunk`, parts); the
        current rates hold until the first change. Replaces an earlier
        schedule.

        Parameters
        ----------
        times_ms : sequence of float, shape (k,)
            Change times (ms, multiples of ``dt_ms``, strictly increasing,
            not before the network's current time).
        rates_hz : array_like of float, shape (k,) or (k, n)
            Total rate per neuron (Hz, finite, >= 0) from each time on.

        Raises
        ------
        InvalidParameterError
            A time off the grid, decreasing or in the past (``times_ms[k]``),
            a negative or non-finite rate (``rates_hz[k][i]``).
        ShapeMismatchError
            ``rates_hz`` not of shape ``(k,)`` or ``(k, n)``.
        """
        dt = self.network.dt_ms
        steps = np.array(
            [_steps(f"times_ms[{k}]", t, dt, minimum=0) for k, t in enumerate(times_ms)],
            dtype=np.uint64,
        )
        n = self.target.n
        arr = np.asarray(rates_hz, dtype=np.float64)
        if arr.ndim == 1 and arr.shape[0] == steps.size:
            arr = np.repeat(arr[:, None], n, axis=1)
        if arr.shape != (steps.size, n):
            raise ShapeMismatchError(
                f"rates_hz: expected shape ({steps.size},) or ({steps.size}, {n}), got {arr.shape}"
            )
        if self.target.remote:
            return  # an input of the part that simulates the target
        if self.target.span is not None:  # this part's neurons of a split population
            arr = arr[:, self.target.span[0] : self.target.span[1]]
        self.network._engine.set_poisson_schedule(
            self.index, steps, np.ascontiguousarray(arr).ravel()
        )


class CurrentInput(_InputHandle):
    """A constant current per neuron (pA), changeable between runs (:meth:`Network.current_input`).

    It adds to the neurons' bias current (:meth:`Population.set_bias`), which
    it leaves alone, so several inputs (a stimulus, an encoder) can drive one
    population side by side.
    """

    def set_amplitudes(self, amplitudes_pa: float | npt.ArrayLike) -> None:
        """Replace the current of each neuron (pA, finite) from the next step on.

        Parameters
        ----------
        amplitudes_pa : float or array_like of float, shape (n,)
            Current into neuron ``i`` (pA); a scalar applies to all.

        Raises
        ------
        InvalidParameterError
            A non-finite amplitude (``amplitudes_pa[k]``).
        ShapeMismatchError
            An array not of shape ``(n,)``.
        """
        if self.target.remote:
            return  # an input of the part that simulates the target
        self.network._engine.set_current_amplitudes(
            self.index, self.target._local(_float_array(amplitudes_pa, self.target.n))
        )


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
        # A projection from an input port stores its delays less the port's latency.
        port = self.network.ports.get(self.pre.name) if self.pre.remote else self.pre
        latency = port.latency_steps if isinstance(port, InputPort) else 0
        return {
            "pre": pre,
            "post": post,
            "weight": weight,
            "delay_ms": (delay_steps.astype(np.float64) + latency) * self.network.dt_ms,
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


@dataclass(frozen=True)
class _OpaqueProjection(Projection):
    """A projection whose synapses cannot be read or changed here as one projection.

    Every method that would read or change them raises
    :class:`~evospikenet.errors.InvalidParameterError` with :meth:`_why`.
    """

    def _why(self) -> str:
        raise NotImplementedError  # each subclass says why

    def _refuse(self) -> InvalidParameterError:
        return InvalidParameterError.of(
            "projection", f"{self.pre.name}->{self.post.name}", self._why()
        )

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        raise self._refuse()

    def bcm_threshold(self) -> npt.NDArray[np.float64]:
        raise self._refuse()

    def weights(self) -> npt.NDArray[np.float64]:
        raise self._refuse()

    def set_weights(self, values: float | npt.ArrayLike) -> None:
        raise self._refuse()


@dataclass(frozen=True)
class RemoteProjection(_OpaqueProjection):
    """Stands for a projection onto a remote population in a part (:mod:`evospikenet.partition`).

    ``Network.connect`` returns it where ``post`` is simulated by another
    part: the synapses live there, so it has no engine object (``index`` is
    -1) and every method that would read or change them (``len`` included)
    raises :class:`~evospikenet.errors.InvalidParameterError`; plasticity
    attached to it is skipped (the owning part attaches it).
    """

    def _why(self) -> str:
        return (
            f"is onto the remote population {self.post.name!r}: its synapses live in the part "
            "that simulates it"
        )

    def __len__(self) -> int:
        raise self._refuse()


@dataclass(frozen=True)
class SplitProjection(_OpaqueProjection):
    """A projection with an end split over parts (``Part.ranges``), in one part.

    ``Network.connect`` returns it where ``pre`` or ``post`` is a population
    split over parts: this part's synapses (onto its neurons of ``post``)
    live in one engine projection per presynaptic object (``indices``: from
    this part's neurons of ``pre``, from the input port standing for the
    others); ``index`` is the first. ``len`` counts them all; reading or
    changing the synapses raises :class:`~evospikenet.errors.InvalidParameterError`.
    """

    indices: tuple[int, ...] = ()

    def _why(self) -> str:
        return "has an end split over parts: its synapses are not readable as one projection"

    def __len__(self) -> int:
        return sum(int(self.network._engine.projection_size(i)) for i in self.indices)


class SpikeMonitor:
    """Records the spikes of a population.

    A monitor on a remote proxy (a population another part simulates,
    :mod:`evospikenet.partition`) records nothing: its ``index`` is -1 and
    it is not in ``Network.spike_monitors``; the owning part records them.

    Attributes
    ----------
    population : Population
        The recorded population.
    """

    def __init__(self, network: Network, population: Population, index: int) -> None:
        self.network = network
        self.population = population
        self.index = index

    def _spikes(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        if self.index < 0:  # on a remote proxy: records nothing
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.uint32)
        return self._whole(*self.network._engine.spikes(self.index))

    def _whole(
        self, steps: npt.NDArray[np.uint64], neurons: npt.NDArray[np.uint32]
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        span = self.population.span
        if span is not None and span[0]:  # a split population: indices in the whole
            neurons = neurons + np.uint32(span[0])
        return steps, neurons

    @property
    def t_ms(self) -> npt.NDArray[np.float64]:
        """Spike times (ms), float64, shape ``(n_spikes,)``, ascending."""
        steps, _ = self._spikes()
        return steps.astype(np.float64) * self.network.dt_ms

    @property
    def neuron(self) -> npt.NDArray[np.uint32]:
        """Neuron index within the population, uint32, shape ``(n_spikes,)``."""
        return self._spikes()[1]

    @property
    def count(self) -> int:
        """Number of recorded spikes."""
        if self.index < 0:
            return 0
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
        if self.index < 0:
            steps, neurons = self._spikes()
        else:
            steps, neurons = self._whole(*self.network._engine.spikes_window(self.index, lo, hi))
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
    A monitor on a remote proxy (:mod:`evospikenet.partition`) records
    nothing (``index`` -1).
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

    def _samples(self) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
        if self.index < 0:  # on a remote proxy: records nothing
            return np.zeros(0, dtype=np.uint64), np.zeros((0, self.neurons.size))
        return self.network._engine.samples(self.index)

    @property
    def t_ms(self) -> npt.NDArray[np.float64]:
        """Sample times (ms), float64, shape ``(n_samples,)``."""
        steps, _ = self._samples()
        return steps.astype(np.float64) * self.network.dt_ms

    @property
    def values(self) -> npt.NDArray[np.float64]:
        """Samples, float64, shape ``(n_samples, n_neurons)``, unit of the variable."""
        return self._samples()[1]


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
    part : Part, optional
        Build only a part of the network: populations not in
        ``part.local`` become remote proxies (input ports of latency
        ``part.latency_ms``), and what belongs to their part is skipped;
        populations in ``part.ranges`` are built as the given range of
        their neurons (split over parts, :attr:`Population.span`; see
        :mod:`evospikenet.partition`).

    Attributes
    ----------
    part : Part or None
        The part this network simulates (None: the whole network).
    ports : dict of str to InputPort
        The input port behind each remote proxy, by population name.
    exports : frozenset of str
        Local populations projecting onto a remote population (their
        spikes go to the other parts).
    imports : frozenset of str
        Remote proxies projecting onto a local population (their ports
        take the other parts' spikes).

    Raises
    ------
    InvalidParameterError
        For a non-positive ``dt_ms``, a bad seed, ``threads < 1``, or a
        ``part`` whose latency is not a positive multiple of ``dt_ms``.

    Examples
    --------
    >>> net = Network(dt_ms=0.1, seed=1)
    >>> exc = net.lif("E", 80, tau_m_ms=20.0)
    >>> _ = net.connect(exc, exc, p=0.1, weight=10.0, delay_ms=1.0)
    >>> _ = net.poisson(exc, rate_hz=8000.0, weight=30.0)
    >>> mon = net.spike_monitor(exc)
    >>> net.run(100.0)
    """

    def __init__(
        self, dt_ms: float = 0.1, seed: int = 0, threads: int = 1, part: Part | None = None
    ) -> None:
        dt_ms = _finite("dt_ms", dt_ms)
        if dt_ms <= 0:
            raise InvalidParameterError.of("dt_ms", dt_ms, "must be > 0")
        _uint64("seed", seed)
        if (
            isinstance(threads, bool)
            or not isinstance(threads, int | np.integer)
            or int(threads) < 1
        ):
            raise InvalidParameterError.of("threads", threads, "must be an integer >= 1")
        if part is not None and not isinstance(part, Part):
            raise InvalidParameterError.of("part", part, "must be a Part or None")
        self._latency = 0 if part is None else _steps("latency_ms", part.latency_ms, dt_ms, 1)
        self.part = part
        self.ports: dict[str, InputPort] = {}
        self._exports: set[str] = set()
        self._imports: set[str] = set()
        self._ids: dict[str, npt.NDArray[np.uint64] | None] = {}
        self.dt_ms = dt_ms
        self.seed = int(seed)
        self.threads = int(threads)
        self._engine = _core.Engine(dt_ms, self.seed, self.threads)
        self.populations: dict[str, Population] = {}
        self.projections: list[Projection] = []
        self._synapse_bytes = 0.0  # CSR bytes of the projections built (validation.fits_in_memory)
        self.spike_monitors: list[SpikeMonitor] = []
        self.state_monitors: list[StateMonitor] = []
        # Plasticity rule per projection index (evospikenet.plasticity).
        self._plasticity: dict[int, PlasticityRule] = {}

    @property
    def exports(self) -> frozenset[str]:
        """Local populations whose spikes other parts need (see :class:`Network`)."""
        return frozenset(self._exports)

    @property
    def imports(self) -> frozenset[str]:
        """Remote proxies whose spikes this part needs (see :class:`Network`)."""
        return frozenset(self._imports)

    # -- populations -------------------------------------------------------

    def _is_remote(self, name: str) -> bool:
        return self.part is not None and name not in self.part.local

    def _proxy(self, name: str, n: int) -> int:
        """Add the input port standing for remote population ``name``; return its index."""
        index = int(self._engine.add_input_port(name, n, self._latency))
        self.ports[name] = InputPort(self, name, n, index, self._latency)
        return index

    def _span(self, name: str, n: int, splittable: bool = True) -> tuple[int, int] | None:
        """Return this part's neurons ``(lo, hi)`` of ``name`` if it is split (``Part.ranges``)."""
        if self.part is None or name not in self.part.ranges:
            return None
        lo, hi = self.part.ranges[name]
        if not splittable:
            raise InvalidParameterError.of(
                f"ranges.{name}", (lo, hi), "only neuron populations can be split over parts"
            )
        if hi > n:
            raise InvalidParameterError.of(
                f"ranges.{name}", (lo, hi), f"passes the {n} neurons of the population"
            )
        return lo, hi

    def _count_here(self, name: str, n: int, splittable: bool = True) -> int:
        """Neurons of population ``name`` this part's engine object holds."""
        span = self._span(name, n, splittable)
        return n if span is None else span[1] - span[0]

    def _register(
        self,
        pop: Population,
        identity: tuple[int | None, npt.NDArray[np.uint64] | None] = (None, None),
    ) -> Any:
        key, ids = identity
        span = self._span(pop.name, pop.n)
        if span is not None and pop.name not in self.ports:
            # A split population: the engine object holds neurons lo..hi with
            # their global ids; the input port standing for the whole (same
            # rng key and ids) brings the other parts' neurons' spikes.
            key = int(self._engine.rng_key(pop.index)) if key is None else key
            whole = np.arange(pop.n, dtype=np.uint64) if ids is None else ids
            local = np.ascontiguousarray(whole[span[0] : span[1]])
            self._engine.set_identity(pop.index, key, local)
            port = int(self._engine.add_input_port(f"{pop.name} (other parts)", pop.n,
                                                   self._latency))  # fmt: skip
            self._engine.set_identity(port, key, ids)
            self.ports[pop.name] = InputPort(self, pop.name, pop.n, port, self._latency)
            pop.span = span
        elif key is not None or ids is not None:
            self._engine.set_identity(pop.index, key, ids)
        pop.remote = pop.name in self.ports and pop.span is None
        self._ids[pop.name] = ids
        self.populations[pop.name] = pop
        return pop

    def _whole_ids(self, pop: Population) -> npt.NDArray[np.uint64]:
        ids = self._ids.get(pop.name)
        return np.arange(pop.n, dtype=np.uint64) if ids is None else ids

    def lif(
        self,
        name: str,
        n: int,
        params: LIFParameters | None = None,
        *,
        rng_key: int | None = None,
        neuron_ids: npt.ArrayLike | None = None,
        **overrides: Any,
    ) -> LIFPopulation:
        """Add ``n`` LIF neurons (parameters as :class:`LIFParameters`).

        Neurons start at ``v_reset_mv``; use :meth:`Population.set`. Without
        ``params`` or overrides a population gets NEST's ``iaf_psc_exp``
        defaults: ``c_m_pf=250``, ``tau_m_ms=10``, ``e_l_mv=-65``,
        ``v_th_mv=-50``, ``v_reset_mv=-65``, ``t_ref_ms=2``,
        ``tau_syn_ex_ms=0.5``, ``tau_syn_in_ms=0.5`` (current synapses). With
        0.5 ms synaptic currents an input of ``w`` pA moves the membrane by
        about ``w * 0.5 / 250`` mV, so models written for 5 ms synapses (Brian2's
        CUBA, Vogels & Abbott) must pass their time constants.

        Parameters
        ----------
        name : str
            Unique population name; its FNV-1a hash is the default rng key.
        n : int
            Number of neurons.
        params : LIFParameters, optional
            Base parameters, updated by ``overrides``.
        rng_key : int, optional
            Key of the population's random streams (uint64), instead of the
            hash of ``name``.
        neuron_ids : array_like of int, shape (n,), optional
            Global neuron ids (distinct, uint64; default ``0..n``): with the
            rng key of a whole population, neuron ``i`` draws its initial
            state, Poisson input and noise as neuron ``neuron_ids[i]`` of the
            whole population (a connectome shard). See
            ``docs/random-streams.md``.

        Raises
        ------
        InvalidParameterError
            Unknown parameter name, non-finite or out-of-domain value (e.g. a
            negative time constant, ``v_reset_mv >= v_th_mv``), a taken name,
            a bad ``rng_key`` or repeated ``neuron_ids``.
        ShapeMismatchError
            ``neuron_ids`` not of shape ``(n,)``.
        """
        p = LIFParameters.from_mapping(overrides, params)
        count = _count("n", n)
        identity = _identity(count, rng_key, neuron_ids)
        if self._is_remote(name):
            index = self._proxy(name, count)
        else:
            index = self._engine.add_lif(
                name, self._count_here(name, count), p.c_m_pf, p.tau_m_ms, p.e_l_mv, p.v_th_mv,
                p.v_reset_mv, p.t_ref_ms, p.synapse, p.tau_syn_ex_ms, p.tau_syn_in_ms, p.e_ex_mv,
                p.e_in_mv,
            )  # fmt: skip
        pop = LIFPopulation(self, name, count, index, p)
        return self._register(pop, identity)  # type: ignore[no-any-return]

    def point(
        self,
        model: str,
        name: str,
        n: int,
        params: PointParameters | None = None,
        *,
        rng_key: int | None = None,
        neuron_ids: npt.ArrayLike | None = None,
        **overrides: Any,
    ) -> PointPopulation:
        """Add ``n`` neurons of NEST point-neuron model ``model``.

        Parameters
        ----------
        model : str
            ``iaf_psc_alpha``, ``aeif_cond_exp`` or ``aeif_psc_exp``
            (:data:`evospikenet.point_models.POINT_MODELS`).
        name : str
            Unique population name.
        n : int
            Number of neurons.
        params : PointParameters, optional
            Base parameters (of the model's class), updated by ``overrides``;
            default NEST 3.10's.
        rng_key, neuron_ids : optional
            Identity of the population's random streams, as in :meth:`lif`.
        **overrides : float
            Parameter fields by name (e.g. ``tau_syn_ex_ms=0.5``).

        Returns
        -------
        PointPopulation
            Neurons start in NEST's initial state (``v_mv`` at ``e_l_mv``);
            ``i_e_pa`` is their initial bias (:meth:`Population.set_bias`).

        Raises
        ------
        InvalidParameterError
            Unknown model or parameter name, a parameter object of another
            model, a non-finite or out-of-domain value, a taken name.
        """
        if model not in POINT_MODELS:
            raise InvalidParameterError.of(
                "model", model, f"unknown neuron model (known: {', '.join(POINT_MODELS)})"
            )
        cls = POINT_MODELS[model]
        if params is not None and not isinstance(params, cls):
            raise InvalidParameterError.of(
                "params", type(params).__name__, f"must be {cls.__name__} for {model}"
            )
        p = cls.from_mapping(overrides, params)
        count = _count("n", n)
        identity = _identity(count, rng_key, neuron_ids)
        if self._is_remote(name):
            index = self._proxy(name, count)
        else:
            here = self._count_here(name, count)
            index = self._engine.add_point(name, here, model, p.pairs())
        return self._register(PointPopulation(self, name, count, index, p), identity)  # type: ignore[no-any-return]

    def iaf_psc_alpha(
        self,
        name: str,
        n: int,
        params: IafPscAlphaParameters | None = None,
        **overrides: Any,
    ) -> PointPopulation:
        """Add NEST ``iaf_psc_alpha`` neurons (parameters: ``IafPscAlphaParameters``).

        Same as :meth:`point` with ``model="iaf_psc_alpha"``.
        """
        return self.point("iaf_psc_alpha", name, n, params, **overrides)

    def aeif_cond_exp(
        self,
        name: str,
        n: int,
        params: AeifCondExpParameters | None = None,
        **overrides: Any,
    ) -> PointPopulation:
        """Add NEST ``aeif_cond_exp`` AdEx neurons (parameters: ``AeifCondExpParameters``).

        Same as :meth:`point` with ``model="aeif_cond_exp"``.
        """
        return self.point("aeif_cond_exp", name, n, params, **overrides)

    def aeif_psc_exp(
        self,
        name: str,
        n: int,
        params: AeifPscExpParameters | None = None,
        **overrides: Any,
    ) -> PointPopulation:
        """Add NEST ``aeif_psc_exp`` AdEx neurons (parameters: ``AeifPscExpParameters``).

        Same as :meth:`point` with ``model="aeif_psc_exp"``.
        """
        return self.point("aeif_psc_exp", name, n, params, **overrides)

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
        rng_key: int | None = None,
        neuron_ids: npt.ArrayLike | None = None,
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
        rng_key, neuron_ids : optional
            Identity of the population's random streams, as in :meth:`lif`.

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
        identity = _identity(count, rng_key, neuron_ids)
        if self._is_remote(name):
            index = self._proxy(name, count)
        else:
            span = self._span(name, count)
            if span is not None:
                arrays = [np.ascontiguousarray(a[span[0] : span[1]]) for a in arrays]
            index = self._engine.add_izhikevich(
                name, arrays[0], arrays[1], arrays[2], arrays[3], tau
            )
        pop = IzhikevichPopulation(self, name, count, index)
        return self._register(pop, identity)  # type: ignore[no-any-return]

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
        self._span(name, count, splittable=False)
        if self._is_remote(name):
            index = self._proxy(name, count)
        else:
            index = self._engine.add_spike_source(name, count, t, idx)
        return self._register(SpikeSourcePopulation(self, name, count, index))  # type: ignore[no-any-return]

    def poisson_group(
        self,
        name: str,
        n: int,
        rate_hz: float | npt.ArrayLike,
        *,
        rng_key: int | None = None,
        neuron_ids: npt.ArrayLike | None = None,
    ) -> PoissonGroupPopulation:
        r"""Add ``n`` independent Poisson spike trains (a spike-source population).

        Brian2's ``PoissonGroup``, NEST's ``poisson_generator`` +
        ``parrot_neuron``. Each step, neuron ``i`` spikes at most once, with
        probability :math:`p_i = 1 - e^{-r_i\,dt}` (``dt`` in s): the
        probability that a Poisson process of rate :math:`r_i` has at least
        one event in the step. The emitted rate is :math:`p_i / dt`, below
        :math:`r_i` by a relative :math:`\approx r_i\,dt / 2` (0.1 % at
        20 Hz and ``dt`` = 0.1 ms). Neuron ``i`` draws one uniform number per
        step (when its rate is nonzero) from its own stream, keyed
        ``(seed, POISSON_GROUP, rng key, global id of i)``; the rates change
        between runs with :meth:`PoissonGroupPopulation.set_rates`.

        Parameters
        ----------
        name : str
            Population name.
        n : int
            Number of spike trains.
        rate_hz : float or array_like of float, shape (n,)
            Rate per neuron (Hz, finite, >= 0; 0 = silent).
        rng_key, neuron_ids : optional
            Identity of the population's random streams, as in :meth:`lif`.

        Returns
        -------
        PoissonGroupPopulation

        Raises
        ------
        InvalidParameterError
            A taken name, a negative or non-finite rate (``rate_hz[k]``).
        ShapeMismatchError
            A rate array not of shape ``(n,)``.
        """
        count = _count("n", n)
        if np.ndim(rate_hz) == 0:
            _finite("rate_hz", rate_hz)  # type: ignore[arg-type]
        rates = _float_array(rate_hz, count)
        if rates.shape != (count,):
            raise ShapeMismatchError(
                f"shape mismatch for rate_hz: expected ({count},), got {rates.shape}",
                "rate_hz",
                f"({count},)",
                str(rates.shape),
            )
        identity = _identity(count, rng_key, neuron_ids)
        self._span(name, count, splittable=False)
        if self._is_remote(name):
            index = self._proxy(name, count)
        else:
            index = self._engine.add_poisson_group(name, rates)
        pop = PoissonGroupPopulation(self, name, count, index)
        return self._register(pop, identity)  # type: ignore[no-any-return]

    def input_port(
        self,
        name: str,
        n: int,
        *,
        latency_ms: float = 0.0,
        rng_key: int | None = None,
        neuron_ids: npt.ArrayLike | None = None,
    ) -> InputPort:
        r"""Add an input port: ``n`` neurons whose spikes are pushed from outside.

        The port stands for a remote population (in another process or
        module); give it the remote population's name so that it has the
        same rng key. It connects like any population, so weights, delays and
        plasticity work unchanged.

        Parameters
        ----------
        name : str
            Population name (the remote population's).
        n : int
            Number of neurons.
        latency_ms : float
            Fixed latency :math:`L` (ms, >= 0, a multiple of ``dt_ms``): a
            spike pushed with remote emission step ``s`` is emitted by the
            port at step ``s + L``. Every projection from the port stores its
            delays reduced by ``L`` (so each must be ``>= latency_ms``):
            ``connect(port, B, delay_ms=d)`` then acts exactly like the remote
            population connected with delay ``d``; arrivals at the synapses
            (and plasticity) happen at the same steps as in the unsplit
            network.
        rng_key, neuron_ids : optional
            Identity of the population's random streams, as in :meth:`lif`.

        Returns
        -------
        InputPort

        Raises
        ------
        InvalidParameterError
            A taken name, a negative latency or one off the step grid.

        Notes
        -----
        The exchange loop of a network split into parts A and B (each built
        alone, with a port standing for each population of the other part
        that projects into it), with :math:`L` at most the smallest delay of
        a projection between parts and every part's ports of latency
        :math:`L`:

        .. code-block:: python

            port_b = net_a.input_port("B", n_b, latency_ms=L_ms)   # in A
            port_a = net_b.input_port("A", n_a, latency_ms=L_ms)   # in B
            steps = round(L_ms / dt_ms)
            for _ in range(n_chunks):
                out_a = net_a.run_chunk(steps, ["A"])
                out_b = net_b.run_chunk(steps, ["B"])
                port_a.push(out_a["A"][1], steps=out_a["A"][0])
                port_b.push(out_b["B"][1], steps=out_b["B"][0])

        A spike emitted at step :math:`s` of chunk :math:`[c, c + L)` is
        emitted by the other part's port at :math:`s + L \ge c + L`, the
        next chunk or later, so it is never pushed into the past, and both
        parts give the spikes of the whole network bit for bit (random
        streams are keyed by population names, ``docs/random-streams.md``).
        """
        count = _count("n", n)
        latency = _steps("latency_ms", latency_ms, self.dt_ms, minimum=0)
        identity = _identity(count, rng_key, neuron_ids)
        index = self._engine.add_input_port(name, count, latency)
        port = InputPort(self, name, count, index, latency)
        return self._register(port, identity)  # type: ignore[no-any-return]

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
        outdegree: int | None = None,
        total_number: int | None = None,
        weight: float | Distribution = 1.0,
        delay_ms: float | Distribution = 0.0,
        allow_autapses: bool = True,
    ) -> Projection:
        """Connect two populations with a NEST connection rule.

        Give exactly one of ``p`` (``fixed_probability``), ``indegree``
        (``fixed_indegree``: every post neuron gets exactly ``indegree``
        sources), ``outdegree`` (``fixed_outdegree``: every pre neuron gets
        exactly ``outdegree`` targets), ``total_number``
        (``fixed_total_number``, pre and post drawn uniformly), or
        ``rule="all_to_all" | "one_to_one"``. The three fixed-count rules
        draw partners uniformly with replacement (multapses allowed, as
        NEST's default); in-degree draws from one random stream per target
        neuron and out-degree from one per source neuron, keyed by global
        neuron id, so a partitioned network draws the same synapses.

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
            A :class:`RemoteProjection` onto a remote population in a part,
            a :class:`SplitProjection` where an end is split over parts.

        Raises
        ------
        InvalidParameterError
            Conflicting or missing rule, probability outside [0, 1], weights
            of the wrong sign, a delay off the grid, or (from an input port) a
            delay below the port's latency (``delay_ms``), or more synapses
            (at least 10 bytes each) than the memory this process may use
            (:func:`evospikenet.validation.memory_limit_bytes`), refused
            before anything is allocated, naming the rule and the estimate.
        KeyboardInterrupt
            On Ctrl-C during a large build (checked every few thousand rows;
            nothing is added).
        """
        chosen: dict[str, object] = {
            k: v
            for k, v in (
                ("p", p),
                ("indegree", indegree),
                ("outdegree", outdegree),
                ("total_number", total_number),
            )
            if v is not None
        }
        if rule is not None:
            chosen["rule"] = rule
        if len(chosen) != 1:
            raise InvalidParameterError.of(
                "rule",
                chosen or None,
                "give exactly one of p, indegree, outdegree, total_number or rule",
            )
        ((kind, value),) = chosen.items()
        names = {
            "p": "fixed_probability",
            "indegree": "fixed_indegree",
            "outdegree": "fixed_outdegree",
            "total_number": "fixed_total_number",
        }
        if kind == "rule":
            if value not in ("all_to_all", "one_to_one"):
                raise InvalidParameterError.of(
                    "rule",
                    value,
                    "must be 'all_to_all' or 'one_to_one'"
                    " (or pass p, indegree, outdegree, total_number)",
                )
            rule_name, rule_value = str(value), 0.0
        else:
            rule_name, rule_value = names[kind], _finite(kind, value)  # type: ignore[arg-type]
        w = as_distribution("weight", weight)
        d = as_distribution("delay_ms", delay_ms)
        self._check_member(pre, "pre")
        self._check_member(post, "post")
        split = pre.span is not None or post.span is not None
        if (pre.remote or post.remote) and not split:
            remote = self._cross_part(pre, post, receptor)
            if remote is not None:
                return remote
        if split and post.remote:  # onto another part: this part's slice of pre is exported
            self._exports.add(pre.name)
            return RemoteProjection(self, pre, post, receptor, -1)
        expected = {
            "fixed_probability": rule_value * pre.n * post.n,
            "fixed_indegree": rule_value * post.n,
            "fixed_outdegree": rule_value * pre.n,
            "fixed_total_number": rule_value,
            "all_to_all": float(pre.n) * post.n,
            "one_to_one": float(post.n),
        }.get(rule_name, 0.0)
        validation.fits_in_memory(
            kind, value, expected * validation.SYNAPSE_BYTES, self._synapse_bytes
        )
        if split:
            return self._connect_split(
                pre, post, receptor, rule_name, rule_value, bool(allow_autapses), w, d
            )
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
        self._synapse_bytes += len(proj) * validation.SYNAPSE_BYTES
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
        pre._refuse_split("connect_arrays")
        post._refuse_split("connect_arrays")
        pi = _indices("pre_index", pre_index)
        po = _indices("post_index", post_index)
        w = _float_array(weight, pi.size)
        dl = _float_array(delay_ms, pi.size)
        if pre.remote or post.remote:
            remote = self._cross_part(pre, post, receptor)
            if remote is not None:
                return remote
        index = self._engine.connect_arrays(pre.index, post.index, receptor, pi, po, w, dl)
        proj = Projection(self, pre, post, receptor, index)
        self.projections.append(proj)
        return proj

    def _connect_split(
        self, pre: Population, post: Population, receptor: Receptor, rule: str, value: float,
        allow_autapses: bool, w: Distribution, d: Distribution,
    ) -> Projection:  # fmt: skip
        """Build this part's synapses of ``connect(pre, post)`` where an end is split over parts.

        ``post`` is simulated here, whole or in part. The core draws the
        projection between the whole populations (so it draws what the whole
        network draws) and keeps the synapses onto this part's neurons of
        ``post``: from this part's neurons of ``pre`` on its engine object,
        from the others on the input port standing for ``pre`` (imported).
        A ``pre`` simulated here is exported when ``post`` is split (the
        other parts hold the rest of ``post``).
        """
        n_pre = pre.n
        port = self.ports.get(pre.name)
        if pre.remote:
            assert port is not None
            pieces = [(port.index, 0, n_pre, 0)]
        elif pre.span is not None:
            assert port is not None
            lo, hi = pre.span
            pieces = [(pre.index, lo, hi, lo)]
            pieces += [(port.index, a, b, 0) for a, b in ((0, lo), (hi, n_pre)) if a < b]
        else:
            pieces = [(pre.index, 0, n_pre, 0)]
        if pre.remote or pre.span is not None:
            self._imports.add(pre.name)
        if not pre.remote and post.span is not None:
            self._exports.add(pre.name)
        indices = self._engine.connect_window(
            pre.index, post.index, receptor, rule, value, allow_autapses, w.spec(), d.spec(),
            self._whole_ids(pre), self._whole_ids(post), 0 if post.span is None else post.span[0],
            pre is post, pieces,
        )  # fmt: skip
        proj = SplitProjection(self, pre, post, receptor, int(indices[0]), tuple(indices))
        self.projections.append(proj)
        self._synapse_bytes += len(proj) * validation.SYNAPSE_BYTES
        return proj

    def _cross_part(
        self, pre: Population, post: Population, receptor: Receptor
    ) -> RemoteProjection | None:
        """Book a projection with a remote end; a placeholder where ``post`` is remote.

        From a remote proxy onto a local population: the proxy is imported
        and the projection is made on its port (None). Onto a remote
        population: nothing is made here; a local ``pre`` is exported.
        """
        if not post.remote:
            self._imports.add(pre.name)
            return None
        if not pre.remote:
            self._exports.add(pre.name)
        return RemoteProjection(self, pre, post, receptor, -1)

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
            Index of the junction set (-1 when both are remote proxies of a
            part: nothing is made here).

        Raises
        ------
        InvalidParameterError
            A non-LIF population, indices out of range, a junction of a neuron
            with itself, negative or non-finite ``g_ns``, a total
            conductance per neuron above the stability bound (Notes), or
            (in a part) one end local and the other remote: voltage coupling
            cannot be exchanged as spikes, so both ends must be in one part.
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
        if pre.remote or post.remote:
            if pre.remote and post.remote:
                return -1
            local, remote = (post, pre) if pre.remote else (pre, post)
            raise InvalidParameterError.of(
                "post" if post.remote else "pre",
                remote.name,
                f"gap junctions cannot join the local population {local.name!r} and a remote "
                "one: voltage coupling cannot be exchanged as spikes; put both in one part",
            )
        pre._refuse_split("gap junctions")
        post._refuse_split("gap junctions")
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
        if isinstance(projection, RemoteProjection):
            return  # the part that simulates the target attaches it
        if isinstance(projection, SplitProjection):
            projection.pre._refuse_split("plasticity")
            projection.post._refuse_split("plasticity")
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
        if isinstance(projection, RemoteProjection):
            return
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
        rate_hz: float | npt.ArrayLike,
        weight: float,
        *,
        receptor: Receptor = "excitatory",
        n_sources: int = 1,
    ) -> PoissonInput:
        """Independent Poisson input into every neuron of ``target``.

        Each neuron receives ``n_sources`` Poisson trains of ``rate_hz`` each;
        their sum is a Poisson train of ``n_sources * rate_hz``, drawn once
        per neuron per step from the neuron's own random stream. Each input
        spike adds ``weight`` to ``receptor``.

        Parameters
        ----------
        target : Population
            Driven population.
        rate_hz : float or array_like of float, shape (n,)
            Rate per source (Hz, >= 0), one for all or one per neuron (0 = no
            input for that neuron).
        weight : float
            Weight of an input spike (unit of the target variable).
        receptor : {"excitatory", "inhibitory"}
            Target synaptic variable.
        n_sources : int
            Number of summed sources per neuron.

        Returns
        -------
        PoissonInput
            Handle whose :meth:`~PoissonInput.set_rates` changes the rates
            between runs (inhomogeneous Poisson input).
            For a remote proxy target in a part nothing is added and the
            handle's ``set_rates`` does nothing (likewise :meth:`current_input`).

        Raises
        ------
        InvalidParameterError
            Negative or non-finite rate (``rate_hz[k]``), non-finite weight or
            weight of the wrong sign.
        ShapeMismatchError
            A rate array not of shape ``(n,)``.
        """
        self._check_member(target, "target")
        sources = _count("n_sources", n_sources)
        if np.ndim(rate_hz) == 0:
            _finite("rate_hz", rate_hz)  # type: ignore[arg-type]
        rates = _float_array(rate_hz, target.n) * sources
        if target.remote:
            return PoissonInput(self, target, -1)  # an input of the owning part
        rates = target._local(rates)
        index = self._engine.add_poisson(target.index, receptor, rates, _finite("weight", weight))
        return PoissonInput(self, target, int(index))

    def current_input(
        self, target: Population, amplitudes_pa: float | npt.ArrayLike = 0.0
    ) -> CurrentInput:
        """Add a constant current per neuron of ``target`` (pA), changeable between runs.

        Parameters
        ----------
        target : Population
            A LIF or Izhikevich population.
        amplitudes_pa : float or array_like of float, shape (n,)
            Initial current of each neuron (pA); a scalar applies to all.

        Returns
        -------
        CurrentInput
            Handle whose :meth:`~CurrentInput.set_amplitudes` changes the
            currents between runs. The current adds to the bias current.

        Raises
        ------
        InvalidParameterError
            Non-finite amplitudes, or a spike source or input port target.
        ShapeMismatchError
            An array not of shape ``(n,)``.
        """
        self._check_member(target, "target")
        if target.remote:
            return CurrentInput(self, target, -1)  # an input of the owning part
        amplitudes = target._local(_float_array(amplitudes_pa, target.n))
        index = self._engine.add_current_input(target.index, amplitudes)
        return CurrentInput(self, target, int(index))

    def noise(self, target: Population, mean_pa: float, std_pa: float) -> int:
        """Gaussian current (pA) redrawn every step for each neuron of ``target``.

        Parameters
        ----------
        target : Population
            A LIF or Izhikevich population.
        mean_pa : float
            Mean of the current (pA).
        std_pa : float
            Standard deviation (pA, >= 0), drawn anew each step from each
            neuron's own random stream.

        Raises
        ------
        InvalidParameterError
            Non-finite mean, negative std, or a spike-source target.

        Notes
        -----
        Returns the input's index, or -1 for a remote proxy target in a part
        (nothing is added: the owning part adds it); so does :meth:`current`.
        """
        self._check_member(target, "target")
        if target.remote:
            return -1  # an input of the owning part
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
        if target.remote:
            return -1  # an input of the owning part
        if idx is not None:
            target._refuse_split("a step current onto some neurons")
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
        if population.remote:
            return SpikeMonitor(self, population, -1)  # records nothing (class docs)
        if idx is not None:
            population._refuse_split("a spike monitor of some neurons")
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
        if population.remote:
            return StateMonitor(self, population, variable, idx, -1)  # records nothing
        population._refuse_split("a state monitor")
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
            On Ctrl-C, within about 50 ms whatever the network size (the
            core checks between steps by wall time); the network stops at a
            step boundary.
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

    def run_chunk(
        self,
        n_steps: int,
        populations: Sequence[str | Population] = (),
        progress: ProgressCallback | None = None,
    ) -> dict[str, tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]]:
        """Advance by ``n_steps`` steps and return the spikes of ``populations`` in them.

        Only the chosen populations record (into per-population chunk
        buffers in the core, drained by this call), so populations nobody
        asks for cost nothing and no whole recording is copied. Spike
        monitors record as in :meth:`run`.

        Parameters
        ----------
        n_steps : int
            Steps to simulate (>= 0).
        populations : sequence of str or Population
            Populations whose spikes to return.
        progress : callable, optional
            ``progress(t_done_ms, duration_ms)``, as in :meth:`run`.

        Returns
        -------
        dict
            Population name -> ``(steps, neurons)``: the emission steps
            (uint64, absolute, ascending; ``t_ms = steps * dt_ms``) and the
            neuron indices (uint32), each of shape ``(n_spikes,)``. Steps
            rather than times, so they can be pushed to an
            :class:`InputPort` exactly (``port.push(neurons, steps=steps)``).

        Raises
        ------
        InvalidParameterError
            A negative ``n_steps`` or a population not of this network.
        KeyboardInterrupt
            On Ctrl-C (within about 50 ms); the network stops at a step
            boundary and the chunk's spikes are dropped.
        """
        count = _uint64("n_steps", n_steps)
        pops: list[Population] = []
        for p in populations:
            pop = self.populations.get(p) if isinstance(p, str) else p
            if pop is None:
                raise InvalidParameterError.of("populations", p, "no population of that name")
            self._check_member(pop, "populations")
            pops.append(pop)
        dt = self.dt_ms
        callback = None
        if progress is not None:
            cb = progress

            def callback(done: int, total: int) -> None:
                cb(done * dt, total * dt)

        chunk = max(round(10.0 / self.dt_ms), count // 100, 1)
        out = self._engine.run_chunk(count, [p.index for p in pops], chunk, callback)
        return {
            p.name: spikes if not (p.span and p.span[0]) else (spikes[0], spikes[1] + p.span[0])
            for p, spikes in zip(pops, out, strict=True)
        }

    def reset(self) -> None:
        """Start a new episode: initial state, nothing in flight, same weights.

        Restores every population's state (membrane potential, recovery
        variable, synaptic variables, refractory counters) to its values at
        the first step of its first run (a snapshot the core takes when that
        run starts, so :meth:`Population.set` before the first run defines
        it; a population never run keeps its state), and drops every spike
        in flight: synaptic event queues, plastic arrival queues, plasticity
        traces (pre/post, eligibility, dopamine, rate filters), pending
        input-port spikes. Weights (learnt ones too), bias currents, inputs
        and monitors are kept.

        Notes
        -----
        Time is monotonic: the step counter continues, and so do the random
        streams, so each episode gets fresh Poisson input and noise. Two
        episodes of a network without random input, started with
        :meth:`reset` and given the same stimulus, spike identically (up to
        the time offset).
        """
        self._engine.reset()

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
        sizes: dict[str, int] = {}
        for mon in self.spike_monitors:
            spikes[mon.population.name] = (mon.t_ms, mon.neuron)
            sizes[mon.population.name] = mon.population.n
        write_spikes(
            path, spikes, model=model, seed=self.seed, dt_ms=self.dt_ms, duration_ms=self.t_ms,
            sizes=sizes,
        )  # fmt: skip

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


def _identity(
    n: int, rng_key: int | None, neuron_ids: npt.ArrayLike | None
) -> tuple[int | None, npt.NDArray[np.uint64] | None]:
    """Check an rng key and global neuron ids before the population is added."""
    key = None if rng_key is None else _uint64("rng_key", rng_key)
    ids = None
    if neuron_ids is not None:
        arr = np.asarray(neuron_ids)
        if arr.size and (not np.issubdtype(arr.dtype, np.integer) or arr.min() < 0):
            raise InvalidParameterError.of(
                "neuron_ids", arr.dtype.name, "must be non-negative integers"
            )
        ids = np.ascontiguousarray(arr, dtype=np.uint64).ravel()
        if ids.shape != (n,):
            raise ShapeMismatchError(
                f"shape mismatch for neuron_ids: expected ({n},), got {ids.shape}",
                "neuron_ids",
                f"({n},)",
                str(ids.shape),
            )
        if np.unique(ids).size != n:
            raise InvalidParameterError.of("neuron_ids", "repeated ids", "must be distinct")
    return key, ids
