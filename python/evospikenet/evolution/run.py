"""The evolution loop behind ``evospikenet evolve``, with checkpoints and resume."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evospikenet._atomic import check_output, check_output_dir, write_atomic
from evospikenet._formats import gzip_json, read_bytes
from evospikenet.errors import FileIOError, InvalidParameterError
from evospikenet.evolution.executors import Executor, make_executor, parse_executor
from evospikenet.evolution.fitness import FitnessEvaluator, FitnessWeights
from evospikenet.evolution.genome import EvoGenome
from evospikenet.evolution.pool import GenomePool, PopulationStats
from evospikenet.evolution.snapshot import SnapshotManager
from evospikenet.evolution.tasks import CartPoleTask, make_task

__all__ = ["CHECKPOINT", "VALIDATION_SEED0", "EvolveResult", "GenerationReport", "evolve"]

#: Checkpoint file in the output directory (gzip JSON, replaced atomically).
CHECKPOINT = "checkpoint.json.gz"
#: The best genome of the run, in the output directory (written at the end).
BEST_GENOME = "best_genome.json"

#: First CartPole reset seed of the validation episodes (``validation_episodes``).
VALIDATION_SEED0 = 1000


@dataclass
class GenerationReport:
    """What :func:`evolve` reports after each generation."""

    stats: PopulationStats
    evaluations: int
    evaluations_per_s: float
    best: EvoGenome


@dataclass
class EvolveResult:
    """Outcome of :func:`evolve`.

    Attributes
    ----------
    best_genome_id : str
    best_fitness : float
    evaluations : int
        Fitness evaluations over the whole run (resumed runs included).
    history : list of dict
        Per generation: generation, max_fitness, mean_fitness, min_fitness, diversity.
    out : str
        Output directory (``best_genome.json``, ``checkpoint.json.gz``,
        ``snapshots/``).
    best : EvoGenome
    solved_at_evaluations : int or None
        Evaluations done when ``target_fitness`` was first reached.
    """

    best_genome_id: str
    best_fitness: float
    evaluations: int
    history: list[dict[str, float]]
    out: str
    best: EvoGenome
    solved_at_evaluations: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the ``--json`` object."""
        return {
            "best_genome_id": self.best_genome_id,
            "best_fitness": self.best_fitness,
            "evaluations": self.evaluations,
            "solved_at_evaluations": self.solved_at_evaluations,
            "history": self.history,
            "out": self.out,
            **self.extra,
        }


def _write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    data = gzip.compress(json.dumps(state, sort_keys=True).encode(), compresslevel=6, mtime=0)
    write_atomic(path, data, "checkpoint")


def _read_checkpoint(path: Path) -> dict[str, Any]:
    state = gzip_json(read_bytes(path, "checkpoint"), "checkpoint", str(path))
    if not isinstance(state, dict):
        raise FileIOError(f"checkpoint {path} is not an object", str(path))
    return state


def evolve(
    task: str,
    *,
    population: int = 50,
    generations: int = 30,
    seed: int = 0,
    workers: int = 1,
    out: str | os.PathLike[str],
    resume: bool = False,
    target_fitness: float | None = None,
    weights: FitnessWeights | None = None,
    on_generation: Callable[[GenerationReport], None] | None = None,
    snapshots: bool = True,
    episodes: int | None = None,
    validation_episodes: int = 0,
    validation_top: int = 5,
    executor: str | Executor = "local",
) -> EvolveResult:
    """Evolve genomes on a task; checkpoint after every generation.

    Parameters
    ----------
    task : str
        ``cartpole``, ``digits`` or ``module:callable`` (see :func:`make_task`).
    population, generations : int
        Population size (>= 2) and generations to evaluate (>= 1).
    seed : int
        Seed of the pool's generator (the tasks' seeds are fixed).
    workers : int
        Processes of the ``local`` executor; the result does not depend on it.
    out : path
        Output directory.
    resume : bool
        Continue from ``out/checkpoint.json.gz`` (same task, population and
        seed required; it must exist). A run killed at any point and resumed
        gives the same result as one never interrupted: the checkpoint holds
        the whole pool state, generator included, and evaluations are
        deterministic. A run that ended because its generations ran out is
        extended to ``generations`` (a 3-generation run resumed with 6 ends
        exactly as a 6-generation run); one that reached ``target_fitness``
        stays finished.
    target_fitness : float, optional
        Stop after the first generation whose best reaches it. Tasks with a
        ``champion_test`` (the double-pole tasks) also stop, without a
        target, after the first generation whose best genome passes it
        (:meth:`~evospikenet.evolution.tasks.DoublePoleTask.champion_test`:
        100,000 steps balanced, and for ``double-pole-nv`` the
        generalisation test); its results go to ``EvolveResult.extra``
        (``long_steps``, ``generalisation``, ``champion_tests``). Champion
        tests are not counted in ``evaluations`` (as in Stanley &
        Miikkulainen 2002).
    weights : FitnessWeights, optional
        Combined-fitness weights.
    on_generation : callable, optional
        Called with a :class:`GenerationReport` after each generation.
    snapshots : bool
        Also keep a pool snapshot per generation in ``out/snapshots``.
    episodes : int, optional
        ``cartpole``: training episodes per evaluation (default 5).
    validation_episodes : int
        ``cartpole`` with ``target_fitness`` only (0 = off): before a run is
        declared solved, the (at most) ``validation_top`` genomes of the
        generation whose training fitness reaches ``target_fitness`` also
        play ``validation_episodes`` episodes with reset seeds
        :data:`VALIDATION_SEED0` ``+ 0, 1, ...`` (disjoint from the training
        seeds and from the 10000-10099 test seeds of the benches). The
        winner is the candidate with the highest validation mean; the run
        stops only when that mean also reaches ``target_fitness``, otherwise
        it evolves on (and if the generations run out, the best validated
        candidate seen is the winner). Validation episodes count in
        ``EvolveResult.extra["validation_episodes"]`` and, converted to
        evaluations of the training size, in ``evaluations``.
    validation_top : int
        Candidates validated per generation (>= 1).
    executor : str or Executor
        Where the evaluations run (:mod:`evospikenet.evolution.executors`):
        ``serial``, ``local`` (``workers`` processes; the default),
        ``dask://HOST:PORT`` (a Dask scheduler), ``ray://HOST:PORT`` (a Ray
        cluster's Ray Client server), or an :class:`Executor` (the caller
        closes it). The result does not depend on it, and a run may be
        resumed on another executor. Validation episodes run in this process.

    Returns
    -------
    EvolveResult

    Raises
    ------
    InvalidParameterError
        Bad task name, sizes, executor string, ``resume`` without a
        checkpoint, or a checkpoint of a different run.
    FileIOError
        If the output cannot be written or the checkpoint read.
    MissingExtraError
        A Dask or Ray executor without its extra.
    TransportError
        The Dask scheduler or Ray cluster cannot be reached, or was lost.
    WorkerLostError
        Workers died more often than the executor reruns their evaluations.
    """
    if isinstance(generations, bool) or not isinstance(generations, int) or generations < 1:
        raise InvalidParameterError.of("generations", generations, "must be an integer >= 1")
    task_obj = make_task(task, episodes)
    if isinstance(executor, str):
        spec = parse_executor(executor)
        if spec.kind != "local" and workers != 1:
            make_executor(spec, workers)  # refuses workers > 1, naming the field
    elif workers != 1:
        raise InvalidParameterError.of(
            "workers", workers, "give the workers to the executor object, not to evolve"
        )
    for name, value, low in (
        ("validation_episodes", validation_episodes, 0),
        ("validation_top", validation_top, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InvalidParameterError.of(name, value, f"must be an integer >= {low}")
    validator: CartPoleTask | None = None
    if validation_episodes:
        if not isinstance(task_obj, CartPoleTask) or target_fitness is None:
            raise InvalidParameterError.of(
                "validation_episodes",
                validation_episodes,
                "needs the cartpole task and a target_fitness",
            )
        validator = CartPoleTask(
            seeds=tuple(range(VALIDATION_SEED0, VALIDATION_SEED0 + validation_episodes))
        )
    train_episodes = len(task_obj.seeds) if isinstance(task_obj, CartPoleTask) else 1
    out_dir = Path(out)
    check_output_dir("out", out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileIOError(f"cannot create {out_dir}: {exc}", str(out_dir), exc.errno) from exc
    # every file a generation or the end writes, checked before the first generation
    check_output("out", out_dir / CHECKPOINT)
    check_output("out", out_dir / BEST_GENOME)
    if snapshots:
        check_output_dir("out", out_dir / "snapshots")
    config: dict[str, Any] = {
        "task": task,
        "population": population,
        "seed": seed,
        "episodes": episodes,
    }
    if validation_episodes:
        config["validation"] = [validation_episodes, validation_top]
    manager = SnapshotManager(out_dir / "snapshots") if snapshots else None
    # a task may bring its own mutation settings and a constraint on its genomes
    # (the double-pole tasks do: DoublePoleTask.mutation_config, .constraint)
    mutation_config = getattr(task_obj, "mutation_config", None)
    constraint = getattr(task_obj, "constraint", None)
    pool = GenomePool(
        population,
        seed=seed,
        snapshot_manager=manager,
        template=task_obj.template(),
        mutation_config=mutation_config() if mutation_config is not None else None,
        constraint=constraint() if constraint is not None else None,
    )
    ckpt = out_dir / CHECKPOINT
    evaluations = 0
    solved_at: int | None = None
    best: EvoGenome | None = None
    # genome_id -> validation mean; the best validated candidate so far
    validated: dict[str, float] = {}
    val_best: EvoGenome | None = None
    val_best_mean = -math.inf
    val_episodes_done = 0
    champion_test = getattr(task_obj, "champion_test", None)
    champion_tests = 0
    champion_result: dict[str, float] = {}
    tested: set[str] = set()
    if resume and not ckpt.exists():
        raise InvalidParameterError.of(
            "resume", str(ckpt), "no checkpoint to resume from (run without --resume to start)"
        )
    if resume:
        state = _read_checkpoint(ckpt)
        if state.get("config") != config:
            raise InvalidParameterError.of(
                "resume", state.get("config"), f"checkpoint is of another run (this one: {config})"
            )
        try:
            pool.load_state(state["pool"])
            evaluations = int(state["evaluations"])
            solved_at = state.get("solved_at")
            best = EvoGenome.from_dict(state["best"]) if state.get("best") else None
            done = bool(state.get("done"))
            if validator is not None:
                vstate = state["validation"]
                validated = {str(k): float(v) for k, v in vstate["validated"].items()}
                val_best = EvoGenome.from_dict(vstate["best"]) if vstate["best"] else None
                val_best_mean = float(vstate["best_mean"]) if val_best is not None else -math.inf
                val_episodes_done = int(vstate["episodes"])
            if isinstance(state["evaluations"], bool) or evaluations < 0:
                raise InvalidParameterError.of(
                    "evaluations", state["evaluations"], "must be an integer >= 0"
                )
        except InvalidParameterError as exc:  # name the file the bad field came from
            raise InvalidParameterError(
                f"checkpoint {ckpt}: {exc}", exc.name, exc.value, exc.reason
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FileIOError(
                f"checkpoint {ckpt} is incomplete or malformed: {exc!r}", str(ckpt)
            ) from exc
        if done and solved_at is None and pool.generation + 1 < generations and pool.history:
            # It stopped because its generations ran out: breed the next
            # generation from the last evaluated one, as a longer run would have.
            asyncio.run(pool.evolve_generation(pool.history.pop()))
            done = False
    else:
        pool.initialize_population()
        done = False
    # Connects to a cluster now, so an unreachable one fails before any work.
    owned = make_executor(executor, workers) if isinstance(executor, str) else None
    runner = owned if owned is not None else executor
    assert isinstance(runner, Executor)
    try:
        evaluator = FitnessEvaluator(
            task if runner.parallel else task_obj, weights, episodes=episodes, executor=runner
        )
    except BaseException:
        if owned is not None:
            owned.close()
        raise
    try:
        while not done:
            t0 = time.perf_counter()
            todo = [g for g in pool.genomes if g.fitness is None]
            for g, v in zip(todo, evaluator.evaluate_many(todo), strict=True):
                g.fitness = v
            evaluations += len(todo)
            training_evaluations = evaluations - math.ceil(val_episodes_done / train_episodes)
            elapsed = time.perf_counter() - t0
            stats = pool.stats()
            gen_best = pool.get(stats.best_genome_id)
            if best is None or (gen_best.fitness or 0.0) > (best.fitness or 0.0):
                best = gen_best.copy()
            if (
                target_fitness is not None
                and solved_at is None
                and stats.max_fitness >= target_fitness
            ):
                if validator is None:
                    solved_at = evaluations
                else:
                    passing = sorted(
                        (g for g in pool.genomes if (g.fitness or 0.0) >= target_fitness),
                        key=lambda g: -(g.fitness or 0.0),
                    )[:validation_top]
                    for g in passing:
                        if g.genome_id not in validated:
                            validated[g.genome_id] = validator.evaluate(g.build())
                            val_episodes_done += validation_episodes
                        if validated[g.genome_id] > val_best_mean:
                            val_best, val_best_mean = g.copy(), validated[g.genome_id]
                    evaluations = training_evaluations + math.ceil(
                        val_episodes_done / train_episodes
                    )
                    if val_best_mean >= target_fitness:
                        solved_at = evaluations
            if champion_test is not None and solved_at is None:
                champ = pool.get(stats.best_genome_id)
                if champ.genome_id not in tested:
                    tested.add(champ.genome_id)
                    champion_tests += 1
                    verdict = champion_test(champ)
                    if verdict["solved"] or not champion_result.get("solved"):
                        champion_result = {**verdict}
                    if verdict["solved"]:
                        solved_at = evaluations
                        best = champ.copy()
            last = pool.generation + 1 >= generations or solved_at is not None
            if last:
                pool.history.append(stats)
                done = True
            else:
                asyncio.run(pool.evolve_generation(stats))
            _write_checkpoint(
                ckpt,
                {
                    "config": config,
                    "pool": pool.state(),
                    "evaluations": evaluations,
                    "solved_at": solved_at,
                    "best": best.to_dict(),
                    "done": done,
                    **(
                        {
                            "validation": {
                                "validated": validated,
                                "best": val_best.to_dict() if val_best is not None else None,
                                "best_mean": val_best_mean if val_best is not None else None,
                                "episodes": val_episodes_done,
                            }
                        }
                        if validator is not None
                        else {}
                    ),
                },
            )
            if on_generation is not None:
                on_generation(
                    GenerationReport(
                        stats, evaluations, len(todo) / elapsed if elapsed > 0 else 0.0, best
                    )
                )
    finally:
        if owned is not None:
            owned.close()
    assert best is not None and best.fitness is not None
    extra: dict[str, Any] = {}
    if champion_test is not None:
        extra.update(champion_result)
        extra["champion_tests"] = champion_tests
    if validator is not None:
        if val_best is not None:
            best = val_best
            extra["validation_mean"] = val_best_mean
        extra["validation_episodes"] = val_episodes_done
    assert best.fitness is not None
    best.save(out_dir / BEST_GENOME)
    history = [
        {
            "generation": s.generation,
            "max_fitness": s.max_fitness,
            "mean_fitness": s.mean_fitness,
            "min_fitness": s.min_fitness,
            "diversity": s.diversity,
        }
        for s in pool.history
    ]
    return EvolveResult(
        best.genome_id,
        float(best.fitness),
        evaluations,
        history,
        str(out_dir),
        best,
        solved_at,
        extra,
    )
