"""Fitness of genomes: the evaluator (robustness, energy, parallel evaluation).

The tasks it scores live in :mod:`evospikenet.evolution.tasks`.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evospikenet.errors import InvalidParameterError
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome
from evospikenet.evolution.tasks import TaskBenchmark, make_task

__all__ = ["FitnessEvaluator", "FitnessWeights", "default_workers"]


# -- fitness -------------------------------------------------------------------


@dataclass(frozen=True)
class FitnessWeights:
    r"""Weights of the combined fitness.

    .. math::

        F = w_{task} S + w_{robust} \bar R - w_{energy} \frac{\bar r}{100\ \mathrm{Hz}}

    ``S`` the task score, ``R̄`` the mean of the three robustness scores
    (:meth:`FitnessEvaluator._evaluate_robustness`, each in [0, 1]), ``r̄``
    the mean firing rate (Hz) of all neurons during the task. Defaults: the
    task score alone.
    """

    task: float = 1.0
    robustness: float = 0.0
    energy: float = 0.0


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Bray-Curtis similarity of two count vectors, 1 when both are silent."""
    total = float(np.abs(a).sum() + np.abs(b).sum())
    return 1.0 if total == 0 else 1.0 - float(np.abs(a - b).sum()) / total


_WORKER_TASKS: dict[str, Any] = {}

#: How often (s) a worker process checks that its parent still lives.
PARENT_POLL_S = 0.2


def _exit_with_parent(parent: int) -> None:
    """Initialise a worker: exit as soon as the process that started it is gone.

    A parent killed by ``SIGKILL`` cannot shut its pool down, and its spawn
    workers (and with them multiprocessing's resource tracker, which lives
    while any of them holds its pipe) would run on with parent 1. A daemon
    thread polls ``os.getppid()`` every :data:`PARENT_POLL_S` and ends the
    worker with ``os._exit`` once it changes (portable, unlike Linux's
    ``PR_SET_PDEATHSIG``, which fires when the spawning *thread* exits).
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="evospikenet-parent-watch", daemon=True).start()


def _worker_evaluate(args: tuple[str, int | None, dict[str, float], dict[str, Any]]) -> float:
    task_name, episodes, weights, genome = args
    key = f"{task_name}/{episodes}"
    task = _WORKER_TASKS.get(key)
    if task is None:
        task = _WORKER_TASKS[key] = make_task(task_name, episodes)
    evaluator = FitnessEvaluator(task, FitnessWeights(**weights), workers=1)
    return evaluator.evaluate(EvoGenome.from_dict(genome))


class FitnessEvaluator:
    """Scores genomes on a task, optionally with robustness and energy terms.

    Parameters
    ----------
    task : TaskBenchmark or str
        The task, or its name for :func:`make_task` (a name is needed for
        ``workers > 1``: the workers rebuild the task from it).
    weights : FitnessWeights, optional
        Weights of the combined fitness.
    workers : int
        Processes evaluating in parallel (1 = in this process). Results do
        not depend on it: an evaluation depends only on the genome and the
        task's fixed seeds.
    episodes : int, optional
        Passed to :func:`make_task` when ``task`` is a name.

    Raises
    ------
    InvalidParameterError
        For ``workers < 1`` or ``workers > 1`` with a task given as an object.
    """

    #: σ of the Gaussian noise added to the normalised input features.
    NOISE_SIGMA = 0.2
    #: Fraction of a hidden layer's incoming synapses silenced.
    MASK_FRACTION = 0.1
    #: Probe inputs of the robustness tests.
    N_PROBES = 8

    def __init__(
        self,
        task: TaskBenchmark | str,
        weights: FitnessWeights | None = None,
        workers: int = 1,
        episodes: int | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidParameterError.of("workers", workers, "must be an integer >= 1")
        self.task_name = task if isinstance(task, str) else None
        self.episodes = episodes
        self.task: TaskBenchmark = make_task(task, episodes) if isinstance(task, str) else task
        if workers > 1 and self.task_name is None:
            raise InvalidParameterError.of("task", task, "give the task by name to use workers > 1")
        self.weights = weights or FitnessWeights()
        self.workers = workers
        self.evaluations = 0
        self._executor: ProcessPoolExecutor | None = None

    def evaluate(self, genome: EvoGenome) -> float:
        """Return the combined fitness of one genome (see :class:`FitnessWeights`).

        Raises
        ------
        InvalidParameterError
            If the genome does not fit the task (input or output size) or is invalid.
        """
        self._check(genome)
        self.evaluations += 1
        built = genome.build()
        score = self.task.evaluate(built)
        total = self.weights.task * score
        if self.weights.robustness:
            rob = self._evaluate_robustness(genome, genome.build())
            total += self.weights.robustness * float(np.mean(list(rob.values())))
        if self.weights.energy:
            neurons = genome.n_neurons()
            rate = built.total_spikes() / max(neurons * built.network.t_ms * 1e-3, 1e-12)
            total -= self.weights.energy * rate / 100.0
        return float(total)

    def _check(self, genome: EvoGenome) -> None:
        if genome.input.size != self.task.n_inputs:
            raise InvalidParameterError.of(
                "input.size",
                genome.input.size,
                f"task {self.task.name} has {self.task.n_inputs} inputs",
            )
        if genome.readout.size != self.task.n_outputs or genome.readout.kind != self.task.readout:
            raise InvalidParameterError.of(
                "readout",
                f"{genome.readout.kind}/{genome.readout.size}",
                f"task {self.task.name} needs {self.task.readout}/{self.task.n_outputs}",
            )

    def evaluate_many(self, genomes: Sequence[EvoGenome]) -> list[float]:
        """Fitness of each genome, in order, over ``workers`` processes."""
        if self.workers == 1 or len(genomes) <= 1:
            return [self.evaluate(g) for g in genomes]
        for g in genomes:
            self._check(g)
        if self._executor is None:
            # spawn: the Rust core's thread pool must not be forked.
            # Workers exit when this process dies, even by SIGKILL.
            self._executor = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        assert self.task_name is not None
        args = [(self.task_name, self.episodes, asdict(self.weights), g.to_dict()) for g in genomes]
        chunk = max(1, len(args) // (4 * self.workers))
        values = list(self._executor.map(_worker_evaluate, args, chunksize=chunk))
        self.evaluations += len(values)
        return values

    def close(self) -> None:
        """Shut the worker processes down."""
        if self._executor is not None:
            self._executor.shutdown()
            self._executor = None

    def __enter__(self) -> FitnessEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- robustness ------------------------------------------------------------

    def _probe(self, built: BuiltNetwork, xs: np.ndarray, repeat: int = 1) -> np.ndarray:
        """Response vector of a fresh network to each probe (presented ``repeat`` times)."""
        out = []
        for x in xs:
            built.reset()
            for _ in range(repeat):
                out.append(self._response(built, x))
        return np.array(out)

    @staticmethod
    def _response(built: BuiltNetwork, x: np.ndarray) -> np.ndarray:
        if built.outputs:
            return built.step(x).astype(np.float64)
        pops = [built.populations[la.name] for la in built.genome.layers()]
        before = np.array([p.spike_count for p in pops], dtype=np.float64)
        built.input.set_bias(built.input_currents(x))
        built.network.run(built.genome.readout.window_ms)
        after = np.array([p.spike_count for p in pops], dtype=np.float64)
        return np.asarray(after - before, dtype=np.float64)

    def _evaluate_robustness(
        self, genome: EvoGenome, brain: BuiltNetwork | None
    ) -> dict[str, float]:
        """Robustness scores in [0, 1].

        With a built network ``brain`` (probes: ``N_PROBES`` feature vectors
        uniform in [-1, 1] from a generator seeded 0; response: output spike
        counts, or hidden-layer spike counts for a ridge readout; similarity:
        Bray-Curtis, 1 = identical):

        * ``noise_resistance`` — similarity of the responses to clean and
          noisy inputs (Gaussian, σ = 0.2, added to the features);
        * ``failure_tolerance`` — similarity of the responses of the network
          and of one with 10 % of the synapses onto its middle hidden layer
          (the output if it has none) set to 0;
        * ``stability`` — similarity of the responses to the same input
          presented twice in a row.

        Without one, structural proxies: ``noise_resistance =
        0.5 + 0.05 * skips``, ``stability = 0.6 + 0.04 * recurrent``,
        ``failure_tolerance = 0.8`` for 2-4 hidden layers, less by 0.1 per
        layer outside that range (at least 0.3); each capped at 1.

        Returns
        -------
        dict
            ``noise_resistance``, ``failure_tolerance``, ``stability``.
        """
        if brain is None:
            depth = len(genome.layers())
            off = max(0, 2 - depth, depth - 4)
            return {
                "noise_resistance": min(1.0, 0.5 + 0.05 * genome.n_skip()),
                "failure_tolerance": max(0.3, 0.8 - 0.1 * off),
                "stability": min(1.0, 0.6 + 0.04 * genome.n_recurrent()),
            }
        rng = np.random.default_rng(0)
        xs = rng.uniform(-1.0, 1.0, (self.N_PROBES, genome.input.size))
        noisy = xs + rng.normal(0.0, self.NOISE_SIGMA, xs.shape)
        seed = brain.network.seed
        clean = self._probe(brain, xs)
        noise = self._probe(brain, noisy)
        layers = genome.layers()
        target = layers[len(layers) // 2].name if layers else "output"
        masked = genome.build(seed, weight_masks={target: self.MASK_FRACTION})
        damaged = self._probe(masked, xs)
        twice = self._probe(genome.build(seed), xs, repeat=2)
        return {
            "noise_resistance": _similarity(clean, noise),
            "failure_tolerance": _similarity(clean, damaged),
            "stability": _similarity(twice[0::2], twice[1::2]),
        }


def default_workers() -> int:
    """Usable CPU count (affinity-aware)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
