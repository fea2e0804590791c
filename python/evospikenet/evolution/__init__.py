"""Evolution of spiking networks: genomes, operators, populations, fitness, snapshots.

See :class:`EvoGenome` (the genome format), :class:`GenomePool` (a population),
:class:`MutationEngine` / :class:`AdvancedMutationEngine` (variation),
:class:`FitnessEvaluator` (tasks, robustness, parallel evaluation),
:class:`SnapshotManager` and :class:`GenomeStore` (persistence), and
:func:`evolve` (the loop behind ``evospikenet evolve``).
"""

from __future__ import annotations

from evospikenet.evolution.fitness import FitnessEvaluator, FitnessWeights
from evospikenet.evolution.genome import (
    BuiltNetwork,
    Connection,
    EvoGenome,
    InputEncoding,
    Layer,
    Module,
    Readout,
    load_genome,
)
from evospikenet.evolution.operators import (
    AdaptiveMutationConfig,
    AdvancedMutationEngine,
    MutationEngine,
    MutationType,
    crossover,
    select,
)
from evospikenet.evolution.pool import (
    CrossoverConfig,
    GenomePool,
    MutationConfig,
    PopulationStats,
    SelectionConfig,
    diversity,
)
from evospikenet.evolution.snapshot import (
    GenomeStore,
    SnapshotManager,
    rollback_to_snapshot,
    rollback_version,
)
from evospikenet.evolution.tasks import (
    CallableTask,
    CartPoleTask,
    DigitsTask,
    TaskBenchmark,
    make_task,
)

__all__ = [
    "AdaptiveMutationConfig",
    "AdvancedMutationEngine",
    "BuiltNetwork",
    "CallableTask",
    "CartPoleTask",
    "Connection",
    "CrossoverConfig",
    "DigitsTask",
    "EvoGenome",
    "FitnessEvaluator",
    "FitnessWeights",
    "GenomePool",
    "GenomeStore",
    "InputEncoding",
    "Layer",
    "Module",
    "MutationConfig",
    "MutationEngine",
    "MutationType",
    "PopulationStats",
    "Readout",
    "SelectionConfig",
    "SnapshotManager",
    "TaskBenchmark",
    "crossover",
    "diversity",
    "load_genome",
    "make_task",
    "rollback_to_snapshot",
    "rollback_version",
    "select",
]
