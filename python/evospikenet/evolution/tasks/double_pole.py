"""Double-pole balancing with (``double-pole``) and without (``double-pole-nv``) velocities."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from evospikenet import _core
from evospikenet.errors import InvalidParameterError, ShapeMismatchError
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome
from evospikenet.evolution.pool import MutationConfig

__all__ = [
    "CONTROL_STEP_S",
    "DPNV_DIFFERENCE_SCALE",
    "DPNV_SCALE",
    "DPV_SCALE",
    "GENERALISATION_STATES",
    "INITIAL_STATE",
    "DoublePoleTask",
    "damping_fitness",
]

#: Standard initial state: at rest, the long pole at 4.5 degrees (Gomez et al. 2008).
INITIAL_STATE = (0.0, 0.0, float(np.deg2rad(4.5)), 0.0, 0.0, 0.0)
#: Divisors of the observation ``(x, x', th1, th1', th2, th2')`` (m, m/s, rad, rad/s)
#: into about [-1, 1] for a balancing controller: half the track for x, 0.1 rad
#: (5.7 degrees) for the angles, and typical peak speeds.
DPV_SCALE = (2.4, 1.0, 0.1, 0.5, 0.1, 1.0)
#: Divisors of ``(x, th1, th2)`` (DPNV), as :data:`DPV_SCALE`.
DPNV_SCALE = (2.4, 0.1, 0.1)
#: Control step of the task (s): the physics advances this much per force.
CONTROL_STEP_S = 0.02
#: Divisors of the changes ``(dx, dth1, dth2)`` over one control step (m, rad)
#: when DPNV encodes differences: the velocity divisors of :data:`DPV_SCALE`
#: times :data:`CONTROL_STEP_S`, so a change and the velocity it stands for
#: drive the inputs alike.
DPNV_DIFFERENCE_SCALE = (1.0 * CONTROL_STEP_S, 0.5 * CONTROL_STEP_S, 1.0 * CONTROL_STEP_S)
#: Solved: balanced this many steps (0.02 s each, 33 min of simulated time).
LONG_STEPS = 100_000
#: Episode length of the damping fitness and of each generalisation trial.
DAMPING_STEPS = 1000
#: Generalisation trials a DPNV winner must balance for 1000 steps (of 625).
GENERALISATION_PASS = 200


def _generalisation_states() -> np.ndarray:
    fractions = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    ranges = [(4.32, -2.16), (2.70, -1.35), (0.12566304, -0.06283152), (0.30019504, -0.15009752)]
    grid = np.array(np.meshgrid(*[fractions] * 4, indexing="ij")).reshape(4, -1).T
    states = np.zeros((grid.shape[0], 6))
    for k, (width, low) in enumerate(ranges):
        states[:, k] = grid[:, k] * width + low
    return states


#: The 625 initial states of the generalisation test (Gruau et al. 1996, as coded by
#: Stanley and by Gomez): x, x', th1, th1' each at 0.05, 0.25, 0.5, 0.75, 0.95 of
#: [-2.16, 2.16] m, [-1.35, 1.35] m/s, [-3.6, 3.6] degrees, [-8.6, 8.6] degrees/s;
#: the short pole at rest upright. float64, shape ``(625, 6)``.
GENERALISATION_STATES = _generalisation_states()


def damping_fitness(balanced: int, jiggle: float) -> float:
    r"""Damping fitness of Gruau, Whitley & Pyeatt (1996).

    .. math::

        f = 0.1 \frac{t}{1000} + 0.9 \frac{0.75}{\sum_{i} |x_i| + |\dot x_i|
            + |\theta_{1,i}| + |\dot\theta_{1,i}|}

    over the last 100 of the ``t`` steps balanced (of at most 1000); the second
    term is 0 when ``t < 100``. It rewards balancing long and, beyond that,
    balancing without oscillation ("jiggle"), which is what lets a controller
    without velocity inputs generalise.
    """
    f1 = balanced / DAMPING_STEPS
    f2 = 0.75 / jiggle if balanced >= 100 and jiggle > 0 else 0.0
    return 0.1 * f1 + 0.9 * f2


@dataclass
class DoublePoleTask:
    r"""Double-pole balancing (Wieland 1991) controlled by the network.

    The physics (cart on a 4.8 m track, poles of half-length 0.5 m and 0.05 m,
    frictions, RK4 at 0.01 s, a force every 0.02 s; constants and sources in
    docs/tasks.md) runs in the Rust core (``evospikenet._core.double_pole_episode``)
    with the spiking controller. Encoding: the observation divided by
    :data:`DPV_SCALE` / :data:`DPNV_SCALE` as input currents for one readout
    window per control step (push-pull rate code). Decoding: the force is
    :math:`\mathrm{clip}(10\,\mathrm{N}\,(n_1 - n_0) / N_f, \pm 10\,\mathrm{N})`
    from the spike counts :math:`n_0`, :math:`n_1` of the two output populations
    in the window, :math:`N_f` = ``full_force_spikes`` (16); with
    ``full_force_spikes = 0``, :math:`10\,\mathrm{N}\,(n_1 - n_0) / (n_1 + n_0)`
    (0 N when both are silent).

    Fitness. With velocities (``double-pole``): the steps balanced from
    :data:`INITIAL_STATE`, at most 100,000 (solved at 100,000, as Stanley &
    Miikkulainen 2002). Without (``double-pole-nv``): :func:`damping_fitness`
    of a 1000-step episode from :data:`INITIAL_STATE`; a genome solves the task
    when it also balances 100,000 steps from there and passes the
    generalisation test (:meth:`generalisation`: 1000 steps from at least 200
    of the 625 :data:`GENERALISATION_STATES`); :meth:`champion_test` runs both.

    Difference channel (``differences``, DPNV only). The controller sees
    positions only; with ``differences`` its encoder also keeps the previous
    control step's observation and feeds, after ``(x, th1, th2)``, their
    changes over that step ``(dx, dth1, dth2)`` (0 at an episode's first
    step), divided by :data:`DPNV_DIFFERENCE_SCALE`, to push-pull pairs of
    their own: the one step of memory that a recurrent NEAT network holds in
    its own state is held by the encoder here (the core's
    ``RateEncoder::differences``). No velocity of the physics reaches the
    controller.

    Mirror symmetry (``mirrored``). The physics is symmetric under
    :math:`s \to -s, F \to -F`; a mirrored controller is too: the off
    neuron of each push-pull input pair projects onto output population 0
    with the weights its on neuron has onto population 1, and onto 1 with
    those onto 0 (:meth:`mirror`), so a mirrored observation swaps the
    output spike counts and reverses the force. Evolution then searches
    the on neurons' weights only (half the genes) and cannot make a
    controller that pushes harder one way than the other (whose cart
    drifts off the track after a few hundred steps, the plateau where DPV
    runs spent most of their evaluations; see benches/README.md).

    Parameters
    ----------
    velocities : bool
        True: DPV (6 inputs), False: DPNV (3 inputs, 6 with ``differences``).
    differences : bool or None
        DPNV: encode the change of each observed position since the previous
        control step as well (see above). None (default): True for DPNV,
        False for DPV; ``True`` with ``velocities`` raises
        ``InvalidParameterError`` (field ``differences``).
    evolved_delays : bool or None
        Evolve a delay per input-to-output synapse. None (default): only for
        DPNV without ``differences`` (positions alone).
    neurons_per_output : int
        Neurons of each output population in :meth:`template`.
    mirrored : bool or None
        Keep every genome mirror-symmetric (:meth:`mirror`, applied by the
        pool through :meth:`constraint`). None (default): True for DPV,
        False for DPNV (not measured there yet).

    References
    ----------
    Wieland AP (1991) Evolving neural network controllers for unstable systems.
    IJCNN-91, vol 2, 667-673. doi:10.1109/IJCNN.1991.155416

    Gruau F, Whitley D, Pyeatt L (1996) A comparison between cellular encoding
    and direct encoding for genetic neural networks. Genetic Programming 1996, 81-89.

    Stanley KO, Miikkulainen R (2002) Evolving neural networks through augmenting
    topologies. Evol Comput 10:99-127. doi:10.1162/106365602320169811

    Gomez F, Schmidhuber J, Miikkulainen R (2008) Accelerated neural evolution
    through cooperatively coevolved synapses. J Mach Learn Res 9:937-965.
    """

    velocities: bool = True
    differences: bool | None = None
    neurons_per_output: int = 8
    full_force_spikes: int = 16
    window_ms: float = 20.0
    dt_ms: float = 0.25
    input_bias_pa: float = 400.0
    evolved_delays: bool | None = None
    name: str = ""
    n_inputs: int = 0
    n_outputs: int = 2
    readout: str = "populations"
    mirrored: bool | None = None

    def __post_init__(self) -> None:
        self.name = "double-pole" if self.velocities else "double-pole-nv"
        if self.mirrored is None:
            self.mirrored = self.velocities
        if self.differences is None:
            self.differences = not self.velocities
        if self.differences and self.velocities:
            raise InvalidParameterError.of(
                "differences", True, "only without velocities (DPV observes them)"
            )
        self.n_inputs = 6 if self.velocities or self.differences else 3
        if self.evolved_delays is None:
            # positions alone: velocities must be inferred from delayed positions
            self.evolved_delays = not self.velocities and not self.differences

    @property
    def scale(self) -> tuple[float, ...]:
        """Feature divisors: :data:`DPV_SCALE` or :data:`DPNV_SCALE`.

        With ``differences``, :data:`DPNV_SCALE` followed by :data:`DPNV_DIFFERENCE_SCALE`.
        """
        if self.velocities:
            return DPV_SCALE
        return DPNV_SCALE + DPNV_DIFFERENCE_SCALE if self.differences else DPNV_SCALE

    def episode(
        self, built: BuiltNetwork, state: Any = INITIAL_STATE, max_steps: int = LONG_STEPS
    ) -> tuple[int, float]:
        """Run one episode in the core from ``state``.

        Returns
        -------
        tuple of (int, float)
            Steps balanced (at most ``max_steps``) and the jiggle summed over
            the last 100 of them (see :func:`damping_fitness`).

        Raises
        ------
        ShapeMismatchError
            ``state`` not of 6 values.
        InvalidParameterError
            ``state`` not finite or already failed (field ``initial_state``).
        """
        s = [float(v) for v in state]
        if len(s) != 6:
            raise ShapeMismatchError(
                f"initial_state must have 6 values, got {len(s)}", "initial_state", "(6,)",
                f"({len(s)},)",
            )  # fmt: skip
        built.reset()
        g = built.genome
        balanced, jiggle = _core.double_pole_episode(
            built.network._engine,
            built.input.index,
            [float(x) for x in g.input.gains_pa],
            float(g.input.bias_pa),
            g.input.neurons_per_feature,
            list(self.scale),
            [p.index for p in built.outputs],
            round(g.readout.window_ms / g.dt_ms),
            (s[0], s[1], s[2], s[3], s[4], s[5]),
            int(max_steps),
            self.velocities,
            self.full_force_spikes,
            bool(self.differences),
        )
        built.sync_counts()
        return int(balanced), float(jiggle)

    def evaluate(self, built: BuiltNetwork) -> float:
        """Return the steps balanced (DPV) or the damping fitness (DPNV) from the start."""
        if self.velocities:
            return float(self.episode(built)[0])
        return damping_fitness(*self.episode(built, max_steps=DAMPING_STEPS))

    def generalisation(self, built: BuiltNetwork) -> int:
        """Count the :data:`GENERALISATION_STATES` from which the network balances 1000 steps."""
        return sum(
            self.episode(built, state, DAMPING_STEPS)[0] >= DAMPING_STEPS
            for state in GENERALISATION_STATES
        )

    def champion_test(self, genome: EvoGenome) -> dict[str, float]:
        """Whether ``genome`` solves the task, and the tests that decided it.

        Returns
        -------
        dict
            ``solved`` (1.0 or 0.0) and ``long_steps`` (steps balanced from
            :data:`INITIAL_STATE`, at most 100,000); DPNV adds
            ``generalisation`` (trials passed of 625) when the long test passed.
            For DPV a genome's recorded fitness is its ``long_steps`` already
            (no episode is run then).
        """
        built = genome.build()
        if self.velocities and genome.fitness is not None:
            steps = round(genome.fitness)
        else:
            steps = self.episode(built)[0]
        result: dict[str, float] = {"long_steps": float(steps)}
        solved = steps >= LONG_STEPS
        if solved and not self.velocities:
            passed = self.generalisation(built)
            result["generalisation"] = float(passed)
            solved = passed >= GENERALISATION_PASS
        result["solved"] = float(solved)
        return result

    def mutation_config(self) -> MutationConfig:
        """Return the mutation settings :func:`~evospikenet.evolution.run.evolve` uses here.

        Small steps (3 % of a gene's range) and no structural mutations. Each
        direct weight is perturbed with probability 0.3 by N(0, (250 pA)^2);
        DPNV with ``differences``: with probability 0.1 by N(0, (100 pA)^2),
        the finer steps the damping fitness needs (see benches/README.md,
        "Double-pole balancing", for the ablations).
        """
        if not self.velocities and self.differences:
            return MutationConfig(
                mutation_strength=0.03, structural=False, weight_rate=0.1, weight_sigma_pa=100.0
            )
        return MutationConfig(
            mutation_strength=0.03, structural=False, weight_rate=0.3, weight_sigma_pa=250.0
        )

    def mirror(self, genome: EvoGenome) -> None:
        """Make ``genome``'s input-to-output weights mirror-symmetric, in place.

        With the direct weights as a matrix ``W`` of shape
        ``(n_inputs * 2, 2 * neurons_per_output)`` (row ``2 i`` the on and
        ``2 i + 1`` the off neuron of feature ``i``; columns: population 0,
        then 1), the off rows become the on rows with the two populations
        swapped: ``W[2i+1, :n] = W[2i, n:]`` and ``W[2i+1, n:] = W[2i, :n]``
        (``n = neurons_per_output``); the on rows are kept. Evolved delays,
        when present, are mirrored the same way.

        Raises
        ------
        InvalidParameterError
            ``genome`` has no directly encoded input-to-output connection
            of this task's shape (field ``genome``).
        """
        c = genome.connections[0] if genome.connections else None
        n = genome.readout.neurons_per_output
        rows = genome.input.size * genome.input.neurons_per_feature
        if (
            c is None
            or c.weights is None
            or genome.input.neurons_per_feature != 2
            or genome.readout.size != 2
            or len(c.weights) != rows * 2 * n
        ):
            raise InvalidParameterError.of(
                "genome",
                genome.genome_id,
                "needs direct weights from push-pull inputs onto 2 output populations",
            )
        c.weights = _mirrored(c.weights, n)
        if c.delays is not None:
            c.delays = _mirrored(c.delays, n)

    def constraint(self) -> Callable[[EvoGenome], None] | None:
        """Return what the pool applies to each genome it makes: :meth:`mirror` or None.

        :func:`~evospikenet.evolution.run.evolve` passes it to
        :class:`~evospikenet.evolution.pool.GenomePool` (``constraint``).
        """
        return self.mirror if self.mirrored else None

    def template(self) -> EvoGenome:
        """Return the starting genome: push-pull inputs, 2 output populations, no hidden layer.

        The input-to-output connection is directly encoded (one evolved weight
        per synapse, :attr:`~evospikenet.evolution.genome.Connection.weights`,
        as NEAT's genes), starting at 0 like the gains: the pool draws them
        around it.
        """
        g = EvoGenome.minimal(self.n_inputs, 2)
        g.dt_ms = self.dt_ms
        g.readout.neurons_per_output = self.neurons_per_output
        g.readout.window_ms = self.window_ms
        # fast output neurons: no refractory period, 5 ms membrane
        g.readout.params.update(tau_m_ms=5.0, t_ref_ms=0.0)
        g.connections[0].delay_ms = (self.dt_ms, self.dt_ms)
        g.input.gains_pa = [0.0] * self.n_inputs
        g.input.bias_pa = self.input_bias_pa
        n_in = g.input.size * g.input.neurons_per_feature
        g.connections[0].weights = [0.0] * (n_in * 2 * self.neurons_per_output)
        if self.evolved_delays:
            g.connections[0].delays = [self.dt_ms] * len(g.connections[0].weights)
        g.validate()
        return g


def _mirrored(values: list[float], n: int) -> list[float]:
    w = np.asarray(values, dtype=np.float64).reshape(-1, 2 * n)
    w[1::2, :n] = w[0::2, n:]
    w[1::2, n:] = w[0::2, :n]
    return [float(x) for x in w.ravel()]
