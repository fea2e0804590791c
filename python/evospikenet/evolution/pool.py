"""A population of genomes evolved generation by generation: :class:`GenomePool`."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from evospikenet.errors import IndexOutOfRangeError, InvalidParameterError
from evospikenet.evolution.genome import (
    DELAY_BOUNDS,
    GAIN_BOUNDS,
    P_BOUNDS,
    WEIGHT_MEAN_BOUNDS,
    EvoGenome,
)
from evospikenet.evolution.operators import (
    AdaptiveMutationConfig,
    AdvancedMutationEngine,
    MutationEngine,
    MutationType,
    crossover,
    select,
)

if TYPE_CHECKING:
    from evospikenet.evolution.fitness import FitnessEvaluator
    from evospikenet.evolution.snapshot import SnapshotManager

__all__ = [
    "CrossoverConfig",
    "GenomePool",
    "MutationConfig",
    "PopulationStats",
    "SelectionConfig",
    "diversity",
]


@dataclass
class SelectionConfig:
    """Parent selection settings.

    ``method`` (tournament, roulette, rank), ``tournament_size``, and
    ``elitism`` (best genomes copied unchanged into the next generation).
    """

    method: Literal["tournament", "roulette", "rank"] = "tournament"
    tournament_size: int = 3
    elitism: int = 2


@dataclass
class MutationConfig:
    """Mutation settings.

    Per-gene rate and step (see :class:`MutationEngine`), the perturbation
    of directly encoded weights (``weight_rate``, ``weight_sigma_pa``,
    ``weight_replace_rate``) and of evolved delays (``delay_rate``,
    ``delay_sigma_ms``), and the structural engine (``structural``,
    initial rate ``structural_rate``, ``max_layers``, ``max_neurons``).
    """

    base_mutation_rate: float = 0.3
    mutation_strength: float = 0.1
    structural: bool = True
    structural_rate: float = 0.05
    max_layers: int = 4
    max_neurons: int = 400
    weight_rate: float = 0.8
    weight_sigma_pa: float = 100.0
    weight_replace_rate: float = 0.02
    delay_rate: float = 0.05
    delay_sigma_ms: float = 2.0


@dataclass
class CrossoverConfig:
    """Crossover settings.

    ``method`` (uniform, single_point, two_point) and the probability ``rate``
    that an offspring comes from two parents.
    """

    method: Literal["uniform", "single_point", "two_point"] = "uniform"
    rate: float = 0.3


@dataclass
class PopulationStats:
    """Fitness statistics of one evaluated generation.

    ``diversity`` is :func:`diversity` of the population. Fitness statistics
    cover the evaluated genomes (``evaluated`` of them).
    """

    generation: int
    max_fitness: float
    mean_fitness: float
    min_fitness: float
    diversity: float
    evaluated: int
    best_genome_id: str


def _distance(a: EvoGenome, b: EvoGenome) -> float:
    ga = {la.name for la in a.layers()} | {(c.pre, c.post) for c in a.connections}
    gb = {la.name for la in b.layers()} | {(c.pre, c.post) for c in b.connections}
    n = max(len(ga), len(gb), 1)
    disjoint = len(ga ^ gb) / n
    diffs: list[float] = []
    width_g = GAIN_BOUNDS[1] - GAIN_BOUNDS[0]
    diffs.extend(
        abs(x - y) / width_g for x, y in zip(a.input.gains_pa, b.input.gains_pa, strict=False)
    )
    cb = {(c.pre, c.post): c for c in b.connections}
    width_w = WEIGHT_MEAN_BOUNDS[1] - WEIGHT_MEAN_BOUNDS[0]
    width_p = P_BOUNDS[1] - P_BOUNDS[0]
    for c in a.connections:
        o = cb.get((c.pre, c.post))
        if o is not None:
            diffs.append(abs(c.weight_mean - o.weight_mean) / width_w)
            diffs.append(abs(c.p - o.p) / width_p)
    return disjoint + (float(np.mean(diffs)) if diffs else 0.0)


def diversity(genomes: Sequence[EvoGenome]) -> float:
    r"""Mean pairwise genetic distance of a population (0 = all identical).

    .. math:: \delta(a, b) = \frac{E}{N} + \bar W

    after NEAT's compatibility distance (Stanley & Miikkulainen 2002):
    ``E`` the genes (layers by name, connections by ends) present in only one
    genome, ``N`` the gene count of the larger genome, ``W̄`` the mean absolute
    difference of matching numeric genes (input gains, connection weight
    means and probabilities), each divided by the width of its range.
    """
    if len(genomes) < 2:
        return 0.0
    total = sum(_distance(a, b) for a, b in itertools.combinations(genomes, 2))
    return total / (len(genomes) * (len(genomes) - 1) / 2)


class GenomePool:
    """A population of :class:`EvoGenome` with selection, crossover and mutation.

    Parameters
    ----------
    population_size : int
        Genomes per generation (>= 2).
    selection_config, mutation_config, crossover_config : optional
        Operator settings (defaults as their classes).
    seed : int, optional
        Seed of the pool's generator; every random choice comes from it.
    snapshot_manager : SnapshotManager, optional
        When set, :meth:`evolve_generation` saves the pool state as snapshot
        ``post_generation_{N}`` after generation ``N``.
    template : EvoGenome, optional
        Shape of the initial genomes (input/readout sizes, layers); its gains,
        weights and seed are redrawn for each genome. Default: a genome with
        4 inputs, 2 population outputs and no hidden layer.
    constraint : callable, optional
        ``constraint(genome)`` is applied, in place, to every genome the pool
        makes (each initial genome after its random draws, each child after
        crossover and mutation; elites are carried over as they are), so a
        task can keep its genomes inside a subspace (the double-pole tasks
        make the controller mirror-symmetric:
        :meth:`~evospikenet.evolution.tasks.DoublePoleTask.mirror`). It must
        leave the genome valid; it draws no random numbers of the pool.

    Raises
    ------
    InvalidParameterError
        For a population below 2 or elitism not below the population size.
    """

    def __init__(
        self,
        population_size: int = 50,
        selection_config: SelectionConfig | None = None,
        mutation_config: MutationConfig | None = None,
        crossover_config: CrossoverConfig | None = None,
        seed: int | None = None,
        snapshot_manager: SnapshotManager | None = None,
        template: EvoGenome | None = None,
        constraint: Callable[[EvoGenome], None] | None = None,
    ) -> None:
        if (
            isinstance(population_size, bool)
            or not isinstance(population_size, int)
            or population_size < 2
        ):
            raise InvalidParameterError.of(
                "population_size", population_size, "must be an integer >= 2"
            )
        self.population_size = population_size
        self.selection = selection_config or SelectionConfig()
        self.mutation = mutation_config or MutationConfig()
        self.crossover_config = crossover_config or CrossoverConfig()
        if self.selection.elitism < 0:
            raise InvalidParameterError.of("elitism", self.selection.elitism, "must be >= 0")
        if population_size <= self.selection.elitism:
            raise InvalidParameterError.of(
                "population_size",
                population_size,
                f"must be larger than the elitism ({self.selection.elitism} genomes copied"
                " unchanged into each generation)",
            )
        if not 0.0 <= self.crossover_config.rate <= 1.0:
            raise InvalidParameterError.of(
                "crossover rate", self.crossover_config.rate, "must be in [0, 1]"
            )
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.template = template or EvoGenome.minimal(4, 2)
        self.constraint = constraint
        advanced = None
        if self.mutation.structural:
            advanced = AdvancedMutationEngine(
                AdaptiveMutationConfig(
                    base_rate=self.mutation.structural_rate,
                    min_rate=min(0.01, self.mutation.structural_rate),
                    max_layers=self.mutation.max_layers,
                    max_neurons=self.mutation.max_neurons,
                )
            )
        self.mutation_engine = MutationEngine(
            self.mutation.base_mutation_rate,
            self.mutation.mutation_strength,
            advanced,
            weight_rate=self.mutation.weight_rate,
            weight_sigma_pa=self.mutation.weight_sigma_pa,
            weight_replace_rate=self.mutation.weight_replace_rate,
            delay_rate=self.mutation.delay_rate,
            delay_sigma_ms=self.mutation.delay_sigma_ms,
        )
        #: Spread (pA) added to the template's input gains and weight means in
        #: :meth:`initialize_population`.
        self.init_gain_std_pa = 600.0
        self.init_weight_std_pa = 150.0
        #: Spread (pA) added to each explicit weight of a directly encoded connection.
        self.init_direct_std_pa = 600.0
        self.genomes: list[EvoGenome] = []
        self.generation = 0
        self._next_id = 0
        self._parent_best: dict[str, float] = {}
        self.history: list[PopulationStats] = []
        self.snapshot_manager = snapshot_manager
        if snapshot_manager is not None and snapshot_manager.state_provider is None:
            snapshot_manager.state_provider = self.state

    # -- population ----------------------------------------------------------

    def _new_id(self) -> str:
        gid = f"g{self.generation:04d}-{self._next_id:05d}"
        self._next_id += 1
        return gid

    def initialize_population(self) -> list[EvoGenome]:
        """Fill generation 0 with random variants of the template.

        Each genome adds N(0, 600 pA) to the template's input gains and
        N(0, 150 pA) to every connection's weight mean and N(0, 600 pA) to
        each explicit weight (clipped to their bounds), draws each evolved
        delay uniformly on the step grid in ``(0, 20]`` ms, and draws its
        ``network_seed``; then applies the pool's ``constraint``, if any.
        """
        self.genomes = []
        for _ in range(self.population_size):
            g = self.template.copy()
            g.genome_id = self._new_id()
            g.generation = 0
            g.fitness = None
            g.parent_ids, g.mutations = [], []
            g.input.gains_pa = [
                float(np.clip(x + d, *GAIN_BOUNDS))
                for x, d in zip(
                    g.input.gains_pa,
                    self.rng.normal(0.0, self.init_gain_std_pa, g.input.size),
                    strict=True,
                )
            ]
            for c in g.connections:
                if c.weights is not None:
                    noise = self.rng.normal(0.0, self.init_direct_std_pa, len(c.weights))
                    c.weights = [
                        float(np.clip(w + d, *WEIGHT_MEAN_BOUNDS))
                        for w, d in zip(c.weights, noise, strict=True)
                    ]
                if c.delays is not None:
                    top = round(DELAY_BOUNDS[1] / g.dt_ms)
                    steps = self.rng.integers(1, top + 1, len(c.delays))
                    c.delays = [float(k * g.dt_ms) for k in steps]
                c.weight_mean = float(
                    np.clip(
                        c.weight_mean + self.rng.normal(0.0, self.init_weight_std_pa),
                        *WEIGHT_MEAN_BOUNDS,
                    )
                )
            g.network_seed = int(self.rng.integers(0, 2**32))
            if self.constraint is not None:
                self.constraint(g)
            g.validate()
            self.genomes.append(g)
        return self.genomes

    def get(self, genome_id: str) -> EvoGenome:
        """Return the genome with this id.

        Raises
        ------
        IndexOutOfRangeError
            If no genome of the current population has it.
        """
        for g in self.genomes:
            if g.genome_id == genome_id:
                return g
        raise IndexOutOfRangeError(
            f"no genome {genome_id!r} in the population", "genome", 0, len(self.genomes)
        )

    def update_fitness(self, genome_id: str, value: float) -> None:
        """Record the fitness of a genome.

        Raises
        ------
        IndexOutOfRangeError
            Unknown id.
        InvalidParameterError
            Non-finite value.
        """
        v = float(value)
        if not np.isfinite(v):
            raise InvalidParameterError.of("fitness", value, "must be finite")
        self.get(genome_id).fitness = v

    async def evaluate(self, evaluator: FitnessEvaluator) -> None:
        """Evaluate every genome without a fitness (in the evaluator's workers)."""
        todo = [g for g in self.genomes if g.fitness is None]
        values = await asyncio.to_thread(evaluator.evaluate_many, todo)
        for g, v in zip(todo, values, strict=True):
            g.fitness = v

    def stats(self) -> PopulationStats:
        """Statistics of the current population (see :class:`PopulationStats`).

        Raises
        ------
        InvalidParameterError
            If no genome has a fitness.
        """
        scored = [g for g in self.genomes if g.fitness is not None]
        if not scored:
            raise InvalidParameterError.of(
                "fitness", None, "no genome of the population is evaluated"
            )
        f = np.array([g.fitness for g in scored], dtype=np.float64)
        best = scored[int(np.argmax(f))]
        return PopulationStats(
            generation=self.generation,
            max_fitness=float(f.max()),
            mean_fitness=float(f.mean()),
            min_fitness=float(f.min()),
            diversity=diversity(self.genomes),
            evaluated=len(scored),
            best_genome_id=best.genome_id,
        )

    async def evolve_generation(self, stats: PopulationStats | None = None) -> PopulationStats:
        """Make the next generation from the current, evaluated one.

        Unevaluated genomes count as worse than every evaluated one. Steps:
        statistics; adaptation of the structural mutation rates from the
        offspring's improvements over their best parent; ``elitism`` best
        genomes carried over unchanged (fitness kept); the rest bred by
        selection, crossover (with probability ``rate``), mutation and the
        pool's ``constraint``, if any;
        snapshot ``post_generation_{N}``.

        Parameters
        ----------
        stats : PopulationStats, optional
            :meth:`stats` of the current population, when the caller has
            just computed it (saves the O(n^2) diversity); computed here
            otherwise.

        Returns
        -------
        PopulationStats
            Of the generation just evaluated.

        Raises
        ------
        InvalidParameterError
            If no genome is evaluated.
        """
        if stats is None:
            stats = self.stats()
        self.history.append(stats)
        self._adapt_rates()
        known = [g.fitness for g in self.genomes if g.fitness is not None]
        floor = min(known) - 1.0
        fitness = [g.fitness if g.fitness is not None else floor for g in self.genomes]
        order = sorted(range(len(self.genomes)), key=lambda k: -fitness[k])
        self.generation += 1
        nxt: list[EvoGenome] = [self.genomes[k] for k in order[: self.selection.elitism]]
        n_children = self.population_size - len(nxt)
        parents = select(
            fitness, 2 * n_children, self.rng, self.selection.method, self.selection.tournament_size
        )
        for k in range(n_children):
            i, j = parents[2 * k], parents[2 * k + 1]
            if fitness[j] > fitness[i]:
                i, j = j, i
            a, b = self.genomes[i], self.genomes[j]
            if self.rng.random() < self.crossover_config.rate and i != j:
                child = crossover(a, b, self.rng, self.crossover_config.method)
                child.mutations = ["crossover"]
                parent_ids = [a.genome_id, b.genome_id]
            else:
                child = a.copy()
                child.mutations = []
                parent_ids = [a.genome_id]
            child = self.mutation_engine.mutate_genome(child, self.rng)
            if self.constraint is not None:
                self.constraint(child)
                child.validate()
            child.genome_id = self._new_id()
            child.generation = self.generation
            child.fitness = None
            child.parent_ids = parent_ids
            self._parent_best[child.genome_id] = max(
                fitness[i], fitness[j] if len(parent_ids) == 2 else fitness[i]
            )
            nxt.append(child)
        self.genomes = nxt
        await asyncio.sleep(0)
        if self.snapshot_manager is not None:
            self.snapshot_manager.create_snapshot(
                f"post_generation_{stats.generation}", self.state()
            )
        return stats

    def _adapt_rates(self) -> None:
        engine = self.mutation_engine.advanced_engine
        if engine is None:
            return
        improvements: dict[MutationType | str, list[float]] = {}
        for g in self.genomes:
            base = self._parent_best.get(g.genome_id)
            if base is None or g.fitness is None:
                continue
            for m in g.mutations:
                if m in MutationType._value2member_map_:
                    improvements.setdefault(m, []).append(g.fitness - base)
        if improvements:
            engine.update_mutation_rates(self.generation, improvements)

    def best(self) -> EvoGenome:
        """Return the evaluated genome of highest fitness (first on ties).

        Raises
        ------
        InvalidParameterError
            If no genome is evaluated.
        """
        scored = [g for g in self.genomes if g.fitness is not None]
        if not scored:
            raise InvalidParameterError.of(
                "fitness", None, "no genome of the population is evaluated"
            )
        return max(scored, key=lambda g: g.fitness if g.fitness is not None else -np.inf)

    # -- state ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything needed to continue exactly where the pool is (JSON-ready)."""
        engine = self.mutation_engine.advanced_engine
        return {
            "generation": self.generation,
            "next_id": self._next_id,
            "genomes": [g.to_dict() for g in self.genomes],
            "rng": self.rng.bit_generator.state,
            "parent_best": dict(self._parent_best),
            "rates": engine.state() if engine is not None else {},
            "history": [asdict(s) for s in self.history],
        }

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by :meth:`state`.

        Raises
        ------
        InvalidParameterError
            If a genome in it is invalid.
        """
        for key in ("generation", "next_id"):
            value = state[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidParameterError.of(key, value, "must be an integer >= 0")
        self.generation = int(state["generation"])
        self._next_id = int(state["next_id"])
        self.genomes = [EvoGenome.from_dict(g) for g in state["genomes"]]
        self.rng.bit_generator.state = state["rng"]
        self._parent_best = {k: float(v) for k, v in state["parent_best"].items()}
        if self.mutation_engine.advanced_engine is not None:
            self.mutation_engine.advanced_engine.load_state(state["rates"])
        self.history = [PopulationStats(**s) for s in state["history"]]
