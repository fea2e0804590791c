"""Fitness of genomes: the evaluator (robustness, energy, parallel evaluation).

The tasks it scores live in :mod:`evospikenet.evolution.tasks`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from evospikenet.errors import InvalidParameterError
from evospikenet.evolution.executors import Executor, make_executor
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


#: Tasks a worker process has built, by name and episodes (a task keeps only
#: data that does not change between evaluations: splits, an environment it
#: resets with each episode's seed).
_WORKER_TASKS: dict[str, Any] = {}


def _worker_evaluate(args: tuple[str, int | None, dict[str, float], dict[str, Any]]) -> float:
    """One evaluation in a worker, from plain data: task name, episodes, weights, genome dict."""
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
        The task, or its name for :func:`make_task` (a name is needed for a
        parallel executor: the workers rebuild the task from it).
    weights : FitnessWeights, optional
        Weights of the combined fitness.
    workers : int
        Processes of the ``local`` executor (1 = in this process).
    episodes : int, optional
        Passed to :func:`make_task` when ``task`` is a name.
    executor : Executor or str, optional
        Where :meth:`evaluate_many` runs the evaluations
        (:mod:`evospikenet.evolution.executors`): ``serial``, ``local``
        (default), ``dask://HOST:PORT``, ``ray://HOST:PORT``, or an
        :class:`Executor`, which the caller keeps and closes. Results do not
        depend on it: an evaluation depends only on the genome (its
        ``network_seed``) and the task's fixed seeds.

    Raises
    ------
    InvalidParameterError
        For ``workers < 1``, ``workers > 1`` with another executor than
        ``local``, a bad executor string, or a parallel executor with a task
        given as an object.
    MissingExtraError
        For a Dask or Ray executor without its extra.
    TransportError
        If the Dask scheduler or Ray cluster cannot be reached.
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
        executor: Executor | str | None = None,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InvalidParameterError.of("workers", workers, "must be an integer >= 1")
        self.task_name = task if isinstance(task, str) else None
        self.episodes = episodes
        self.task: TaskBenchmark = make_task(task, episodes) if isinstance(task, str) else task
        self.weights = weights or FitnessWeights()
        self.workers = workers
        self.evaluations = 0
        if isinstance(executor, Executor):
            if workers != 1:
                raise InvalidParameterError.of(
                    "workers", workers, "give the workers to the executor, not the evaluator"
                )
            self.executor, self._owns_executor = executor, False
        else:
            self.executor = make_executor("local" if executor is None else executor, workers)
            self._owns_executor = True
        if self.executor.parallel and self.task_name is None:
            self.close()
            raise InvalidParameterError.of(
                "task", task, f"give the task by name to evaluate on executor {self.executor.url}"
            )

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
        """Fitness of each genome, in order, computed by the executor.

        Raises
        ------
        InvalidParameterError
            If a genome does not fit the task (checked before any is sent).
        WorkerLostError
            Workers died more often than the executor reruns their work.
        TransportError
            The connection to the scheduler or cluster was lost.
        """
        if not self.executor.parallel or len(genomes) <= 1:
            return [self.evaluate(g) for g in genomes]
        for g in genomes:
            self._check(g)
        assert self.task_name is not None
        weights = asdict(self.weights)
        args = [(self.task_name, self.episodes, weights, g.to_dict()) for g in genomes]
        values = self.executor.map(_worker_evaluate, args)
        self.evaluations += len(values)
        return [float(v) for v in values]

    def close(self) -> None:
        """Shut the executor's workers (or its connection) down, if this evaluator made it."""
        if self._owns_executor:
            self.executor.close()

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
