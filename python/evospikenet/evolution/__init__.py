"""Evolution of spiking networks: genomes, operators, populations, fitness, snapshots.

See :class:`EvoGenome` (the genome format), :class:`GenomePool` (a population),
:class:`MutationEngine` / :class:`AdvancedMutationEngine` (variation),
:class:`FitnessEvaluator` (tasks, robustness, parallel evaluation), the executors
it runs evaluations on (:func:`make_executor`: serial, local processes, Dask, Ray),
:class:`SnapshotManager` and :class:`GenomeStore` (persistence), and
:func:`evolve` (the loop behind ``evospikenet evolve``).
"""

from __future__ import annotations

from evospikenet.evolution.executors import (
    DaskExecutor,
    Executor,
    LocalExecutor,
    RayExecutor,
    SerialExecutor,
    make_executor,
    parse_executor,
)
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
    "DaskExecutor",
    "DigitsTask",
    "EvoGenome",
    "Executor",
    "FitnessEvaluator",
    "FitnessWeights",
    "GenomePool",
    "GenomeStore",
    "InputEncoding",
    "Layer",
    "LocalExecutor",
    "Module",
    "MutationConfig",
    "MutationEngine",
    "MutationType",
    "PopulationStats",
    "RayExecutor",
    "Readout",
    "SelectionConfig",
    "SerialExecutor",
    "SnapshotManager",
    "TaskBenchmark",
    "crossover",
    "diversity",
    "load_genome",
    "make_executor",
    "make_task",
    "parse_executor",
    "rollback_to_snapshot",
    "rollback_version",
    "select",
]
