"""Fitness of genomes: task benchmarks, robustness, energy, parallel evaluation.

Tasks (:class:`TaskBenchmark`):

* :class:`CartPoleTask` — gymnasium's ``CartPole-v1``, the network as the
  controller;
* :class:`DigitsTask` — scikit-learn's bundled 8x8 digits, rate-coded;
* :class:`CallableTask` — a user function ``(BuiltNetwork) -> float`` named
  ``module:callable``.

gymnasium and scikit-learn come with the ``evolve`` extra
(``pip install evospikenet[evolve]``) and are imported only when a task
needs them.
"""

from __future__ import annotations

import importlib
import math
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from evospikenet import _core
from evospikenet.errors import InvalidParameterError, MissingExtraError
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome

__all__ = [
    "CallableTask",
    "CartPoleTask",
    "DigitsTask",
    "FitnessEvaluator",
    "FitnessWeights",
    "TaskBenchmark",
    "make_task",
]


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError("this task", repr(module), "evolve") from exc


class TaskBenchmark(Protocol):
    """A task that scores a built network (higher is better)."""

    name: str
    n_inputs: int
    n_outputs: int
    readout: str

    def evaluate(self, built: BuiltNetwork) -> float:
        """Score of the network on the task."""
        ...

    def template(self) -> EvoGenome:
        """Return a minimal genome fitting the task's input and output."""
        ...


# -- CartPole ------------------------------------------------------------------

#: Scales dividing CartPole's observation (x, x_dot, theta, theta_dot) into ~[-1, 1]:
#: the termination bounds for x (2.4 m) and theta (12 deg = 0.2094 rad), and typical
#: peak speeds of a balancing controller for the velocities.
CARTPOLE_SCALE = np.array([2.4, 2.0, 0.2094, 2.0])


@dataclass
class CartPoleTask:
    r"""gymnasium ``CartPole-v1`` controlled by the network.

    Encoding: the observation :math:`(x, \dot x, \theta, \dot\theta)` is
    divided by :data:`CARTPOLE_SCALE` and presented as input currents for one
    readout window per environment step (push-pull rate code of
    :class:`~evospikenet.evolution.genome.InputEncoding`). Decoding: action 0
    (push left) or 1 (push right) is the output population with more spikes
    in the window (ties: higher mean membrane potential). The network is
    built once per genome; its state is reset between episodes.

    Fitness: mean return over the episodes with ``seeds`` (environment reset
    seeds), at most 500 each.

    Parameters
    ----------
    seeds : sequence of int
        Reset seeds of the training episodes.
    """

    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    name: str = "cartpole"
    n_inputs: int = 4
    n_outputs: int = 2
    readout: str = "populations"
    _env: Any = field(default=None, repr=False, compare=False)

    def _make_env(self) -> Any:
        if self._env is None:
            gym = _require("gymnasium")
            self._env = gym.make("CartPole-v1")
        return self._env

    def episode(self, built: BuiltNetwork, seed: int) -> float:
        """Return of one episode started with reset seed ``seed``, run in the core.

        gymnasium draws the initial state (``env.reset(seed=seed)``); the
        episode then runs in Rust (``evospikenet._core.cartpole_episode``):
        gymnasium's CartPole-v1 dynamics operation for operation, the same
        encoding and decoding as :meth:`episode_python`, which the tests check
        it against step for step.
        """
        env = self._make_env()
        env.reset(seed=int(seed))
        state = [float(v) for v in env.unwrapped.state]
        built.reset()
        g = built.genome
        ret = _core.cartpole_episode(
            built.network._engine,
            built.input.index,
            [float(x) for x in g.input.gains_pa],
            float(g.input.bias_pa),
            g.input.neurons_per_feature,
            CARTPOLE_SCALE.tolist(),
            [p.index for p in built.outputs],
            round(g.readout.window_ms / g.dt_ms),
            (state[0], state[1], state[2], state[3]),
            int(env.spec.max_episode_steps),
        )
        built.sync_counts()
        return float(ret)

    def episode_python(self, built: BuiltNetwork, seed: int) -> float:
        """Return of one episode with gymnasium's own ``step`` (the reference loop)."""
        env = self._make_env()
        obs, _ = env.reset(seed=int(seed))
        built.reset()
        total = 0.0
        while True:
            action = built.act(np.asarray(obs, dtype=np.float64) / CARTPOLE_SCALE)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            if terminated or truncated:
                return total

    def evaluate(self, built: BuiltNetwork) -> float:
        """Mean return over ``seeds``."""
        return float(np.mean([self.episode(built, s) for s in self.seeds]))

    def test(self, genome: EvoGenome, seeds: Sequence[int]) -> list[float]:
        """Returns of the genome's network on new episodes (for generalisation)."""
        built = genome.build()
        return [self.episode(built, s) for s in seeds]

    def template(self) -> EvoGenome:
        """Return the starting genome: 4 inputs (push-pull), 2 output populations, no hidden layer.

        Gains start at 0: the pool draws them around it.
        """
        g = EvoGenome.minimal(4, 2)
        g.input.gains_pa = [0.0] * 4
        return g


# -- digits ------------------------------------------------------------------


@dataclass
class DigitsTask:
    r"""scikit-learn's digits (1797 8x8 images, 10 classes), rate-coded.

    Encoding: pixel intensities (0-16) divided by 16 drive the 64 input
    neurons with :math:`I = b + g_i x_i` for ``readout.window_ms``, followed
    by ``gap_ms`` without input; all images run back to back in one call
    into the core (piecewise-constant currents). Decoding: the spike counts
    of the last hidden layer in each image's window plus gap feed a ridge
    classifier (:class:`sklearn.linear_model.RidgeClassifier`, penalty
    ``readout.ridge_alpha``) fitted on the training split.

    Fitness: accuracy on the validation split. :meth:`test_accuracy` refits
    on training + validation and scores the held-out test split. Splits
    (60/20/20, stratified) are fixed by ``split_seed``.
    """

    split_seed: int = 0
    gap_ms: float = 10.0
    name: str = "digits"
    n_inputs: int = 64
    n_outputs: int = 10
    readout: str = "ridge"
    _data: Any = field(default=None, repr=False, compare=False)

    def _splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self._data is None:
            datasets = _require("sklearn.datasets")
            model_selection = _require("sklearn.model_selection")
            x, y = datasets.load_digits(return_X_y=True)
            x = x / 16.0
            x_rest, x_test, y_rest, y_test = model_selection.train_test_split(
                x, y, test_size=0.2, random_state=self.split_seed, stratify=y
            )
            x_train, x_val, y_train, y_val = model_selection.train_test_split(
                x_rest, y_rest, test_size=0.25, random_state=self.split_seed, stratify=y_rest
            )
            self._data = {
                "train": (x_train, y_train),
                "val": (x_val, y_val),
                "test": (x_test, y_test),
            }
        return dict(self._data)

    def features(self, built: BuiltNetwork, x: np.ndarray) -> np.ndarray:
        """Spike counts of the last hidden layer per image.

        Returns
        -------
        numpy.ndarray
            float64, shape ``(n_images, layer size)``.
        """
        g = built.genome
        net = built.network
        window, dt = g.readout.window_ms, g.dt_ms
        period = window + self.gap_ms
        n = x.shape[0]
        starts = np.arange(n) * period + net.t_ms
        times = np.empty(2 * n)
        times[0::2], times[1::2] = starts, starts + window
        gains = np.asarray(g.input.gains_pa)
        built.input.set_bias(0.0)
        for i in range(g.input.size):
            amps = np.zeros(2 * n)
            amps[0::2] = g.input.bias_pa + gains[i] * x[:, i]
            net.current(built.input, times, amps, neurons=[i])
        layer = built.populations[g.layers()[-1].name]
        mon = net.spike_monitor(layer)
        t0 = net.t_ms
        net.run(n * period)
        steps_per = round(period / dt)
        which = (np.round((mon.t_ms - t0) / dt).astype(np.int64)) // steps_per
        counts = np.zeros((n, layer.n))
        np.add.at(counts, (which, mon.neuron.astype(np.int64)), 1.0)
        return counts

    def _score(
        self, genome: EvoGenome, fit: str, score: str, built: BuiltNetwork | None = None
    ) -> float:
        linear_model = _require("sklearn.linear_model")
        data = self._splits()
        parts = fit.split("+")
        x_fit = np.concatenate([data[p][0] for p in parts])
        y_fit = np.concatenate([data[p][1] for p in parts])
        x_all = np.concatenate([x_fit, data[score][0]])
        feats = self.features(built if built is not None else genome.build(), x_all)
        clf = linear_model.RidgeClassifier(alpha=genome.readout.ridge_alpha)
        clf.fit(feats[: len(x_fit)], y_fit)
        return float(clf.score(feats[len(x_fit) :], data[score][1]))

    def evaluate(self, built: BuiltNetwork) -> float:
        """Return the validation accuracy of the ridge readout fitted on the training split."""
        return self._score(built.genome, "train", "val", built)

    def test_accuracy(self, genome: EvoGenome) -> float:
        """Held-out test accuracy, readout fitted on training + validation."""
        return self._score(genome, "train+val", "test")

    def template(self) -> EvoGenome:
        """Return the starting genome: 64 inputs, 200 LIF neurons (p = 0.1), ridge readout."""
        g = EvoGenome.minimal(64, 10, readout="ridge", hidden=(200,))
        g.readout.window_ms = 40.0
        g.connections[0].p = 0.1
        g.validate()
        return g


# -- user callable ---------------------------------------------------------------


@dataclass
class CallableTask:
    """A user task: ``module:callable`` taking a :class:`BuiltNetwork`, returning a float.

    The module may define ``N_INPUTS``, ``N_OUTPUTS`` (defaults 4 and 2) for
    the template genome.

    Raises
    ------
    InvalidParameterError
        If the spec is not ``module:callable``, cannot be imported, or is
        not callable (field ``task``).
    """

    spec: str
    name: str = ""
    n_inputs: int = 4
    n_outputs: int = 2
    readout: str = "populations"
    _fn: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        module_name, sep, attr = self.spec.partition(":")
        if not sep or not module_name or not attr:
            raise InvalidParameterError.of(
                "task", self.spec, "must be cartpole, digits or module:callable"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidParameterError.of(
                "task", self.spec, f"cannot import {module_name}: {exc}"
            ) from exc
        fn = getattr(module, attr, None)
        if not callable(fn):
            raise InvalidParameterError.of(
                "task", self.spec, f"{attr} is not a callable of {module_name}"
            )
        self._fn = fn
        self.name = self.spec
        self.n_inputs = int(getattr(module, "N_INPUTS", 4))
        self.n_outputs = int(getattr(module, "N_OUTPUTS", 2))

    def evaluate(self, built: BuiltNetwork) -> float:
        """Return the callable's value (must be a finite number)."""
        value = float(self._fn(built))
        if not math.isfinite(value):
            raise InvalidParameterError.of(
                "fitness", value, f"{self.spec} returned a non-finite value"
            )
        return value

    def template(self) -> EvoGenome:
        """``N_INPUTS`` inputs, ``N_OUTPUTS`` output populations, no hidden layer."""
        return EvoGenome.minimal(self.n_inputs, self.n_outputs)


def make_task(name: str, episodes: int | None = None) -> CartPoleTask | DigitsTask | CallableTask:
    """Task by name: ``cartpole``, ``digits`` or ``module:callable``.

    Parameters
    ----------
    name : str
        Task name.
    episodes : int, optional
        ``cartpole`` only: training episodes per evaluation (reset seeds
        ``0 .. episodes-1``; default 5).

    Raises
    ------
    InvalidParameterError
        For an unknown name (field ``task``) or ``episodes`` < 1 or given
        for another task (field ``episodes``).
    """
    if episodes is not None:
        if name != "cartpole":
            raise InvalidParameterError.of(
                "episodes", episodes, "only the cartpole task has episodes"
            )
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise InvalidParameterError.of("episodes", episodes, "must be an integer >= 1")
        return CartPoleTask(seeds=tuple(range(episodes)))
    if name == "cartpole":
        return CartPoleTask()
    if name == "digits":
        return DigitsTask()
    if ":" in name:
        return CallableTask(name)
    raise InvalidParameterError.of("task", name, "must be cartpole, digits or module:callable")


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

    #: σ of the Gaussian noise added to the normalised input features (seed 000).
    NOISE_SIGMA = 0.2
    #: Fraction of a hidden layer's incoming synapses silenced (seed 000).
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
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn")
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
        """Robustness scores in [0, 1] (seed 000, v2.2.0).

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

        Without one, structural proxies (seed 000): ``noise_resistance =
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
