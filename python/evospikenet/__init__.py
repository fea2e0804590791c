"""EvoSpikeNet: evolutionary spiking neural networks with a Rust core.

Units follow NEST everywhere: time in ms, voltage in mV, current in pA,
conductance in nS, capacitance in pF, rate in Hz; public names of dimensional
quantities carry a lowercase unit suffix (``tau_m_ms``, ``v_th_mv``).
"""

from __future__ import annotations

from evospikenet._core import __version__
from evospikenet.connectome import load_connectome_npz  # issue 5 (seed 000's top-level names)
from evospikenet.connectome.layer import ConnectomeLIFLayer, apply_connectome_to_layer
from evospikenet.distributions import Constant, Normal, Uniform
from evospikenet.network import (
    LIFParameters,
    Network,
    Projection,
    SpikeMonitor,
    StateMonitor,
)

__all__ = [
    "ConnectomeLIFLayer",
    "Constant",
    "LIFParameters",
    "Network",
    "Normal",
    "Projection",
    "SpikeMonitor",
    "StateMonitor",
    "Uniform",
    "__version__",
    "apply_connectome_to_layer",
    "load_connectome_npz",
]
