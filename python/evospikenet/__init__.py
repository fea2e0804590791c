"""EvoSpikeNet: evolutionary spiking neural networks with a Rust core.

Units follow NEST everywhere: time in ms, voltage in mV, current in pA,
conductance in nS, capacitance in pF, rate in Hz; public names of dimensional
quantities carry a lowercase unit suffix (``tau_m_ms``, ``v_th_mv``).
"""

from __future__ import annotations

from evospikenet._core import __version__

__all__ = ["__version__"]
