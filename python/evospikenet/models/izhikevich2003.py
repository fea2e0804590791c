r"""The 1000-neuron network of Izhikevich (2003), Fig. 3.

800 excitatory neurons (regular spiking to chattering, ``c = -65 + 15 r^2``,
``d = 8 - 6 r^2``) and 200 inhibitory ones (fast spiking to low-threshold,
``a = 0.02 + 0.08 r``, ``b = 0.25 - 0.05 r``), with ``r`` uniform in [0, 1)
per neuron; all-to-all synapses (autapses included) of weight uniform in
[0, 0.5) from excitatory and in [-1, 0) from inhibitory neurons; random
thalamic input, a Gaussian current of std 5 (excitatory) or 2 (inhibitory)
redrawn every millisecond; dt = 1 ms, synaptic input lasting the step after
the spike, as in the paper's MATLAB listing. The network shows alpha and
gamma band rhythms.

References
----------
Izhikevich EM (2003) Simple model of spiking neurons. IEEE Trans Neural Netw
14:1569-1572. doi:10.1109/TNN.2003.820440
"""

from __future__ import annotations

import numpy as np

from evospikenet.distributions import Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel
from evospikenet.network import Network

__all__ = ["build"]


def build(
    n_exc: int = 800, n_inh: int = 200, seed: int = 0, dt_ms: float = 1.0, threads: int = 1
) -> BuiltModel:
    """Build the network.

    Parameters
    ----------
    n_exc, n_inh : int
        Population sizes (paper: 800 and 200).
    seed : int
        Master seed; also seeds the per-neuron heterogeneity ``r``.
    dt_ms : float
        Time step (ms); the paper's is 1.0 (two 0.5 ms half-steps for ``v``).
    threads : int
        Worker threads.

    Returns
    -------
    BuiltModel
        Populations ``E`` and ``I``; default duration 1000 ms.

    Raises
    ------
    InvalidParameterError
        For empty populations or bad simulation settings.
    """
    for name, value in (("n_exc", n_exc), ("n_inh", n_inh)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidParameterError.of(name, value, "must be an integer >= 1")
    net = Network(dt_ms=dt_ms, seed=seed, threads=threads)
    rng = np.random.default_rng(seed)
    r_e = rng.random(n_exc)
    r_i = rng.random(n_inh)
    exc = net.izhikevich(
        "E", n_exc, None, a=0.02, b=0.2, c=-65.0 + 15.0 * r_e**2, d=8.0 - 6.0 * r_e**2
    )
    inh = net.izhikevich("I", n_inh, None, a=0.02 + 0.08 * r_i, b=0.25 - 0.05 * r_i, c=-65.0, d=2.0)
    for post in (exc, inh):
        net.connect(exc, post, rule="all_to_all", weight=Uniform(0.0, 0.5), delay_ms=0.0)
        net.connect(
            inh,
            post,
            rule="all_to_all",
            weight=Uniform(-1.0, 0.0),
            delay_ms=0.0,
            receptor="inhibitory",
        )
    net.noise(exc, 0.0, 5.0)
    net.noise(inh, 0.0, 2.0)
    parameters = {
        "n_exc": n_exc,
        "n_inh": n_inh,
        "thalamic_std_exc": 5.0,
        "thalamic_std_inh": 2.0,
    }
    return BuiltModel.record("izhikevich2003", net, {"E": exc, "I": inh}, parameters)
