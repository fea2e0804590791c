"""Biomimetic modules: neuromodulation, episodic memory and sleep, development, energy.

Each module documents what it takes from which paper and what is a modelling
choice. :mod:`evospikenet.biomimetic.framework` ties them to the engine.
"""

from __future__ import annotations

from evospikenet.biomimetic.cortical import ColumnEdge, CorticalColumn, CorticalTopologyGenerator
from evospikenet.biomimetic.development import DevelopmentalSchedule
from evospikenet.biomimetic.efference import EfferenceCopy
from evospikenet.biomimetic.energy import JOULES_PER_ATP, NodeEnergyBudget
from evospikenet.biomimetic.memory import (
    Episode,
    HippocampalBuffer,
    SleepConsolidation,
    SleepWakeCycleController,
)
from evospikenet.biomimetic.neuromodulation import (
    LEVEL_NAMES,
    NeuromodulatorGate,
    NeuromodulatorRegistry,
    TDRewardSignal,
    connect_plasticity_gate,
    plasticity_scale,
    with_neuromodulation,
)

__all__ = [
    "JOULES_PER_ATP",
    "LEVEL_NAMES",
    "ColumnEdge",
    "CorticalColumn",
    "CorticalTopologyGenerator",
    "DevelopmentalSchedule",
    "EfferenceCopy",
    "Episode",
    "HippocampalBuffer",
    "NeuromodulatorGate",
    "NeuromodulatorRegistry",
    "NodeEnergyBudget",
    "SleepConsolidation",
    "SleepWakeCycleController",
    "TDRewardSignal",
    "connect_plasticity_gate",
    "plasticity_scale",
    "with_neuromodulation",
]
