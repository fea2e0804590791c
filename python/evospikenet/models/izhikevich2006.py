r"""Izhikevich (2006) polychronization network (``spnet``) with STDP.

As Izhikevich's ``spnet.cpp`` (2004): 800 excitatory regular-spiking
neurons (``a = 0.02, d = 8``) and 200 inhibitory fast-spiking ones
(``a = 0.1, d = 2``), ``b = 0.2, c = -65``; each neuron makes ``M = 100``
synapses onto distinct random targets (excitatory: any other neuron;
inhibitory: excitatory neurons only); excitatory weights start at 6 and are
plastic in ``[0, 10]``, inhibitory ones are -5 and fixed; excitatory delays
are spread evenly over 1..20 ms (5 synapses per delay), inhibitory ones are
1 ms; ``dt = 1 ms`` with the paper's two 0.5 ms half-steps for ``v``.
Plasticity: :class:`~evospikenet.plasticity.IzhikevichSTDP` with spnet's
constants (traces 0.1 / 0.12 decaying by 0.95 per ms, once per second
``w += 0.01 + sd``, ``sd *= 0.9``).

Mapping onto this engine:

* spnet's delay ``k`` ms means the input acts in the ``k``-th step after
  the step in which ``v`` crossed 30 mV; here a delay ``D`` acts from the
  step ``(s + 1) + D``, so spnet's 1..20 ms are ``delay_ms`` 0..19;
* thalamic input: spnet gives a current of 20 to one random neuron each ms
  (1 Hz per neuron); here each neuron receives an independent 1 Hz Poisson
  train of weight 20 (the same rate, drawn per neuron rather than exactly
  one per ms). In a C transcription of spnet
  (``tests/reference/spnet_transcription.c``) the two inputs give the same
  statistics after 10 min (E 2.93 / 2.77 Hz, gamma peak 36 / 37 Hz,
  weights below 1: 0.339 / 0.338);
* STDP pairing follows spnet's order (postsynaptic spikes before
  arrivals, so same-step pairs depress; potentiation 0.1 at a lag of one
  step), see :class:`~evospikenet.plasticity.IzhikevichSTDP`.

References
----------
Izhikevich EM (2006) Polychronization: computation with spikes. Neural
Comput 18:245-282. doi:10.1162/089976606775093882

Pauli R, Weidel P, Kunkel S, Plesser HE, Morrison A, Tetzlaff T (2018)
Reproducing polychronization: a guide to maximizing the reproducibility of
spiking network models. Front Neuroinform 12:46. doi:10.3389/fninf.2018.00046
"""

from __future__ import annotations

import numpy as np

from evospikenet import validation
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network
from evospikenet.plasticity import IzhikevichSTDP

__all__ = ["build"]

M = 100
D = 20


def build(
    n_exc: int = 800,
    n_inh: int = 200,
    seed: int = 0,
    dt_ms: float = 1.0,
    threads: int = 1,
    plastic: bool = True,
) -> BuiltModel:
    """Build the network.

    Parameters
    ----------
    n_exc, n_inh : int
        Population sizes (spnet: 800 and 200; ``n_exc > M``).
    seed : int
        Seed of the wiring and of the network.
    dt_ms : float
        Time step (ms); spnet's is 1 (delays are whole ms).
    threads : int
        Worker threads.
    plastic : bool
        Attach the STDP rule to the excitatory projections.

    Returns
    -------
    BuiltModel
        Populations ``E`` and ``I``; default duration 1000 ms;
        ``parameters['plastic_projections']`` lists the E->E and E->I
        projections.

    Raises
    ------
    InvalidParameterError
        Sizes too small for 100 distinct targets, or bad settings.
    """
    plastic = validation.flag("plastic", plastic)
    for name, value in (("n_exc", n_exc), ("n_inh", n_inh)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError.of(name, value, "must be an integer >= 1")
    if n_exc <= M:
        raise InvalidParameterError.of("n_exc", n_exc, f"must exceed M = {M}")
    n = n_exc + n_inh
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads)  # validates seed before numpy
    rng = np.random.default_rng(seed)
    exc = net.izhikevich("E", n_exc, None, a=0.02, b=0.2, c=-65.0, d=8.0)
    inh = net.izhikevich("I", n_inh, None, a=0.1, b=0.2, c=-65.0, d=2.0)
    # Excitatory: M distinct targets among the other n - 1 neurons; synapse
    # j of each neuron has delay j // (M / D) ms + 1 (spnet) = j // 5 here.
    pre_e = np.repeat(np.arange(n_exc), M)
    targets = np.empty((n_exc, M), dtype=np.int64)
    for i in range(n_exc):
        choice = rng.choice(n - 1, M, replace=False)
        targets[i] = choice + (choice >= i)  # skip self
    delay_e = np.tile(np.arange(M) // (M // D), n_exc).astype(np.float64) * dt_ms
    post_e = targets.ravel()
    to_e = post_e < n_exc
    projections = []
    for mask, post_pop, offset in ((to_e, exc, 0), (~to_e, inh, n_exc)):
        projections.append(
            net.connect_arrays(
                exc, post_pop, pre_e[mask], post_e[mask] - offset, 6.0, delay_e[mask]
            )
        )
    # Inhibitory: M distinct excitatory targets, 1 ms (spnet) = delay 0 here.
    pre_i = np.repeat(np.arange(n_inh), M)
    post_i = np.concatenate([rng.choice(n_exc, M, replace=False) for _ in range(n_inh)])
    net.connect_arrays(inh, exc, pre_i, post_i, -5.0, 0.0, receptor="inhibitory")
    for pop in (exc, inh):
        net.poisson(pop, rate_hz=1.0, weight=20.0)
    rule = IzhikevichSTDP()
    if plastic:
        for proj in projections:
            net.add_plasticity(proj, rule)
    parameters = {
        "n_exc": n_exc,
        "n_inh": n_inh,
        "synapses_per_neuron": M,
        "max_delay_ms": D,
        "rule": rule,
        "plastic_projections": projections,
    }
    return BuiltModel.record("izhikevich2006", net, {"E": exc, "I": inh}, parameters)
