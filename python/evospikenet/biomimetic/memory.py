r"""Episodic memory and sleep: a hippocampal episode buffer, offline replay, wake/sleep schedule.

The picture is the standard two-stage model of systems consolidation: during
wake the hippocampus stores episodes quickly; during sleep it reactivates
them, and the reactivated activity drives plasticity in the network that
stores them for the long term (Marr 1971; McClelland, McNaughton & O'Reilly
1995; Wilson & McNaughton 1994 observed the replay). Reward-associated
episodes are replayed preferentially (Singer & Frank 2009), which
:class:`HippocampalBuffer` models by a reward priority.

References
----------
Nádasdy Z, Hirase H, Czurkó A, Csicsvari J, Buzsáki G (1999) Replay and time
compression of recurring spike sequences in the hippocampus. J Neurosci
19:9497-9507. doi:10.1523/JNEUROSCI.19-21-09497.1999

Lee AK, Wilson MA (2002) Memory of sequential experience in the hippocampus
during slow wave sleep. Neuron 36:1183-1194. doi:10.1016/S0896-6273(02)01096-6

Wilson MA, McNaughton BL (1994) Reactivation of hippocampal ensemble memories
during sleep. Science 265:676-679. doi:10.1126/science.8036517

McClelland JL, McNaughton BL, O'Reilly RC (1995) Why there are complementary
learning systems in the hippocampus and neocortex. Psychol Rev 102:419-457.
doi:10.1037/0033-295X.102.3.419

Singer AC, Frank LM (2009) Rewarded outcomes enhance reactivation of
experience in the hippocampus. Neuron 64:910-921.
doi:10.1016/j.neuron.2009.11.023
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from evospikenet import validation
from evospikenet.errors import InvalidParameterError
from evospikenet.network import InputPort, Network, Population, Projection

__all__ = [
    "Episode",
    "HippocampalBuffer",
    "SleepConsolidation",
    "SleepWakeCycleController",
]


def mean_abs_change(
    after: Sequence[npt.NDArray[np.float64]], before: Sequence[npt.NDArray[np.float64]]
) -> float:
    """Mean of ``|after - before|`` over all synapses of all projections (0 when none)."""
    changes = [np.abs(a - b) for a, b in zip(after, before, strict=True)]
    total = sum(c.size for c in changes)
    return float(sum(c.sum() for c in changes) / total) if total else 0.0


@dataclass(frozen=True)
class Episode:
    """One stored experience: spike patterns, context and reward.

    Attributes
    ----------
    spikes : dict of str to (t_ms, neuron)
        Per population name, spike times relative to the episode start (ms,
        float64, shape ``(k,)``, >= 0) and neuron indices within the
        population (uint32, shape ``(k,)``).
    duration_ms : float
        Length of the episode window (ms); every spike time is below it.
    reward : float
        Reward associated with the episode.
    context : dict
        Free-form context (e.g. stimulus id, wall or simulated time).
    t_ms : float
        Simulated time at which the episode started (ms).
    """

    spikes: Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]]
    duration_ms: float
    reward: float = 0.0
    context: Mapping[str, Any] = field(default_factory=dict)
    t_ms: float = 0.0

    @classmethod
    def from_spikes(
        cls,
        spikes: Mapping[str, tuple[npt.ArrayLike, npt.ArrayLike]],
        duration_ms: float,
        reward: float = 0.0,
        context: Mapping[str, Any] | None = None,
        t_ms: float = 0.0,
    ) -> Episode:
        """Validate and build an episode.

        Raises
        ------
        InvalidParameterError
            Non-positive duration, spike times outside ``[0, duration_ms)``,
            negative neuron indices, non-finite reward.
        ShapeMismatchError
            Times and neurons of a population differ in length.
        """
        from evospikenet.errors import ShapeMismatchError

        dur = validation.positive("duration_ms", duration_ms)
        checked: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.uint32]]] = {}
        for pop, (t, n) in spikes.items():
            ta = np.ascontiguousarray(t, dtype=np.float64).ravel()
            na_raw = np.asarray(n)
            if na_raw.size and (not np.issubdtype(na_raw.dtype, np.integer) or na_raw.min() < 0):
                raise InvalidParameterError.of(
                    f"spikes[{pop!r}].neuron", na_raw.dtype.name, "must be non-negative integers"
                )
            na = np.ascontiguousarray(na_raw, dtype=np.uint32).ravel()
            if ta.shape != na.shape:
                raise ShapeMismatchError(
                    f"spikes[{pop!r}]: {ta.size} times but {na.size} neurons",
                    f"spikes[{pop!r}]",
                    f"({ta.size},)",
                    f"({na.size},)",
                )
            if ta.size and (not np.all(np.isfinite(ta)) or ta.min() < 0 or ta.max() >= dur):
                raise InvalidParameterError.of(
                    f"spikes[{pop!r}].t_ms",
                    (float(ta.min()), float(ta.max())),
                    f"must lie in [0, duration_ms = {dur})",
                )
            checked[str(pop)] = (ta, na)
        return cls(
            checked,
            dur,
            validation.finite("reward", reward),
            dict(context or {}),
            validation.finite("t_ms", t_ms),
        )

    @property
    def n_spikes(self) -> int:
        """Total number of spikes over all populations."""
        return int(sum(t.size for t, _ in self.spikes.values()))


class HippocampalBuffer:
    """Bounded store of episodes with reward-priority replay.

    Parameters
    ----------
    capacity : int
        Maximum number of episodes kept (>= 1).

    Notes
    -----
    Priority of an episode is ``|reward|``, ties broken by recency (the later
    stored first). When full, :meth:`store` evicts the episode of lowest
    priority (the oldest among equals) — or rejects the new one if it has
    the lowest priority of all. Preferring rewarded episodes follows Singer
    & Frank (2009); using ``|reward|`` (punished episodes are salient too)
    is a modelling choice.

    Raises
    ------
    InvalidParameterError
        A capacity below 1.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = validation.positive_int("capacity", capacity)
        self._episodes: list[tuple[int, Episode]] = []
        self._counter = itertools.count()
        self.stored_total = 0
        self.evicted_total = 0

    def __len__(self) -> int:
        return len(self._episodes)

    @staticmethod
    def _priority(item: tuple[int, Episode]) -> tuple[float, int]:
        order, ep = item
        return (abs(ep.reward), order)

    def store(self, episode: Episode) -> bool:
        """Store ``episode``; return False if it was rejected as the least salient.

        Raises
        ------
        InvalidParameterError
            If ``episode`` is not an :class:`Episode`.
        """
        if not isinstance(episode, Episode):
            raise InvalidParameterError.of("episode", type(episode).__name__, "must be an Episode")
        item = (next(self._counter), episode)
        self.stored_total += 1
        if len(self._episodes) < self.capacity:
            self._episodes.append(item)
            return True
        lowest = min(self._episodes, key=self._priority)
        # The new episode is the most recent, so it loses only on |reward|.
        if abs(episode.reward) < abs(lowest[1].reward):
            self.evicted_total += 1
            return False
        self._episodes.remove(lowest)
        self._episodes.append(item)
        self.evicted_total += 1
        return True

    def replay(
        self,
        n: int | None = None,
        order: Literal["priority", "recent", "stored"] = "priority",
    ) -> list[Episode]:
        """Return up to ``n`` episodes (all when None) for replay.

        Parameters
        ----------
        n : int, optional
            How many (>= 1).
        order : {"priority", "recent", "stored"}
            ``priority``: by ``|reward|`` then recency; ``recent``: newest
            first; ``stored``: oldest first.

        Raises
        ------
        InvalidParameterError
            A bad ``n`` or ``order``.
        """
        if order == "priority":
            items = sorted(self._episodes, key=self._priority, reverse=True)
        elif order == "recent":
            items = sorted(self._episodes, key=lambda it: it[0], reverse=True)
        elif order == "stored":
            items = sorted(self._episodes, key=lambda it: it[0])
        else:
            raise InvalidParameterError.of(
                "order", order, "must be 'priority', 'recent' or 'stored'"
            )
        if n is not None:
            items = items[: validation.positive_int("n", n)]
        return [ep for _, ep in items]

    def clear(self) -> None:
        """Forget every episode."""
        self._episodes.clear()


@dataclass
class SleepWakeCycleController:
    """Alternating wake and sleep phases counted in simulation steps.

    Parameters
    ----------
    awake_phase_steps : int
        Steps of each wake phase (>= 1).
    sleep_phase_steps : int
        Steps of each sleep phase (>= 1).
    sleep_cycles_per_epoch : int
        Wake+sleep cycles that make one epoch (>= 1).

    Notes
    -----
    A cycle is a wake phase followed by a sleep phase; step ``s`` of the
    schedule is in phase ``"wake"`` when ``s mod (wake + sleep) < wake``.
    """

    awake_phase_steps: int = 500
    sleep_phase_steps: int = 100
    sleep_cycles_per_epoch: int = 3

    def __post_init__(self) -> None:
        self.configure(
            awake_phase_steps=self.awake_phase_steps,
            sleep_phase_steps=self.sleep_phase_steps,
            sleep_cycles_per_epoch=self.sleep_cycles_per_epoch,
        )
        self.step_count = 0

    def configure(self, **params: int) -> dict[str, int]:
        """Validate and set any of the three parameters at once; return all three.

        Raises
        ------
        InvalidParameterError
            An unknown name or a value that is not an integer >= 1; nothing changes.
        """
        known = ("awake_phase_steps", "sleep_phase_steps", "sleep_cycles_per_epoch")
        checked = {}
        for key, value in params.items():
            if key not in known:
                raise InvalidParameterError.of(key, value, f"unknown (known: {', '.join(known)})")
            checked[key] = validation.positive_int(key, value)
        for key, value in checked.items():
            object.__setattr__(self, key, value)
        return {k: int(getattr(self, k)) for k in known}

    @property
    def cycle_steps(self) -> int:
        """Steps of one wake+sleep cycle."""
        return self.awake_phase_steps + self.sleep_phase_steps

    def phase_at(self, step: int) -> Literal["wake", "sleep"]:
        """Return the phase of schedule step ``step`` (>= 0)."""
        s = validation.positive_int("step", step, minimum=0)
        return "wake" if s % self.cycle_steps < self.awake_phase_steps else "sleep"

    def cycle_at(self, step: int) -> int:
        """Return the index of the cycle that contains step ``step``."""
        return validation.positive_int("step", step, minimum=0) // self.cycle_steps

    def epoch_at(self, step: int) -> int:
        """Return the epoch that contains step ``step``."""
        return self.cycle_at(step) // self.sleep_cycles_per_epoch

    def advance(self, steps: int = 1) -> list[tuple[int, str]]:
        """Advance the internal counter; return the ``(step, new_phase)`` transitions crossed."""
        n = validation.positive_int("steps", steps, minimum=0)
        out: list[tuple[int, str]] = []
        for s in range(self.step_count + 1, self.step_count + n + 1):
            if self.phase_at(s) != self.phase_at(s - 1):
                out.append((s, self.phase_at(s)))
        self.step_count += n
        return out

    @property
    def phase(self) -> Literal["wake", "sleep"]:
        """Phase at the internal counter."""
        return self.phase_at(self.step_count)


class SleepConsolidation:
    r"""Offline replay of stored episodes through a network with plasticity on.

    Parameters
    ----------
    network : Network
        The network whose weights consolidate.
    targets : mapping of str to Population
        For each population name used in episodes, the population of
        ``network`` into which replayed spikes are injected. Each replayed
        spike of neuron ``i`` reaches neuron ``i`` of the target through a
        one-to-one projection of weight ``drive_weight`` from an input port
        ``replay_<name>`` (latency 0), added to ``network`` and connected
        once, here; each replay pushes its spikes into it.
    projections : sequence of Projection
        Plastic projections whose weight change is reported and whose
        plasticity scale is set during replay.
    drive_weight : float
        Weight of the replay drive (unit of the target's excitatory
        receptor), chosen large enough for one input spike to make the
        target neuron fire.
    gap_ms : float
        Silent interval after each replayed episode (ms, >= 0), letting
        traces and membrane potentials decay between episodes.
    sleep_scale : float
        Multiplier of the plasticity scale during replay (>= 0).
    time_compression : float
        Replay speed-up (>= 1): spike times and episode lengths are divided
        by it. Hippocampal replay in sleep runs several times faster than the
        experience (Nádasdy et al. 1999; Lee & Wilson 2002); 1, the default,
        replays in real time. Times still round to the step grid, so spikes
        closer than ``time_compression * dt_ms`` may merge.

    Notes
    -----
    ``offline_consolidation`` pushes every replayed spike into the target's
    port, at absolute times from the current network time (rounded to the
    step grid; a repeated (step, neuron) pair is one spike), episode after
    episode (each ``duration_ms + gap_ms`` long), and runs the network for
    the whole replay with
    the plasticity scale of each plastic projection set to
    ``sleep_scale * gate.gated_learning_rate(1.0)`` (the gate of the rule, or 1).
    The scale is restored afterwards. The replay uses the engine's normal
    propagation and plasticity: spikes that the replay evokes downstream
    pair with the replayed ones exactly as during wake.
    """

    def __init__(
        self,
        network: Network,
        targets: Mapping[str, Population],
        projections: Sequence[Projection] = (),
        *,
        drive_weight: float = 20.0,
        gap_ms: float = 50.0,
        sleep_scale: float = 1.0,
        time_compression: float = 1.0,
    ) -> None:
        if not isinstance(network, Network):
            raise InvalidParameterError.of("network", network, "must be a Network")
        for name, pop in targets.items():
            network._check_member(pop, f"targets[{name!r}]")
        for k, proj in enumerate(projections):
            if not isinstance(proj, Projection) or proj.network is not network:
                raise InvalidParameterError.of(
                    f"projections[{k}]", proj, "must be a projection of this network"
                )
        self.network = network
        self.targets = dict(targets)
        self.projections = list(projections)
        self.drive_weight = validation.finite("drive_weight", drive_weight)
        self.gap_ms = validation.non_negative("gap_ms", gap_ms)
        self.sleep_scale = validation.non_negative("sleep_scale", sleep_scale)
        self.time_compression = validation.at_least("time_compression", time_compression, 1.0)
        self.cycles_completed = 0
        self.replayed_events = 0
        self.replayed_episodes = 0
        self._sessions = 0
        self._scales: dict[int, float] = {}
        # One input port per target, connected once: replays add no population.
        self.ports: dict[str, InputPort] = {}
        for name, pop in self.targets.items():
            port = network.input_port(f"replay_{name}", pop.n)
            network.connect(port, pop, rule="one_to_one", weight=self.drive_weight)
            self.ports[name] = port

    def set_scale(self, projection: Projection, scale: float) -> None:
        """Set and remember the plasticity scale of ``projection`` (outside replay)."""
        self._scales[projection.index] = float(scale)
        self.network.set_plasticity_scale(projection, float(scale))

    def _weights(self) -> list[npt.NDArray[np.float64]]:
        return [p.weights() for p in self.projections]

    def offline_consolidation(
        self, episodes: Iterable[Episode], stdp: Any = None
    ) -> dict[str, Any]:
        """Replay ``episodes`` through the network with plasticity on.

        Parameters
        ----------
        episodes : iterable of Episode
            What to replay, in order (e.g. ``buffer.replay()``).
        stdp : plasticity rule, optional
            The rule whose gate (see
            :func:`~evospikenet.biomimetic.connect_plasticity_gate`) scales
            learning during replay; the rule must already be attached to the
            projections with ``Network.add_plasticity``.

        Returns
        -------
        dict
            ``replayed_episodes`` (int), ``replayed_events`` (int, spikes
            injected), ``weight_updates_mean`` (float, mean absolute weight
            change per synapse of the plastic projections, unit of the
            weights), ``replay_duration_ms`` (float, simulated time of the
            replay).

        Raises
        ------
        InvalidParameterError
            An episode naming a population without a target, or a neuron
            index beyond the target's size.
        """
        from evospikenet.biomimetic.neuromodulation import plasticity_scale

        eps = list(episodes)
        for k, ep in enumerate(eps):
            if not isinstance(ep, Episode):
                raise InvalidParameterError.of(f"episodes[{k}]", ep, "must be an Episode")
            for pop, (_, idx) in ep.spikes.items():
                if pop not in self.targets:
                    raise InvalidParameterError.of(
                        f"episodes[{k}].spikes",
                        pop,
                        f"no replay target (have {list(self.targets)})",
                    )
                if idx.size and int(idx.max()) >= self.targets[pop].n:
                    raise InvalidParameterError.of(
                        f"episodes[{k}].spikes[{pop!r}].neuron",
                        int(idx.max()),
                        f"must be < {self.targets[pop].n}",
                    )
        if not eps:
            return {
                "replayed_episodes": 0,
                "replayed_events": 0,
                "weight_updates_mean": 0.0,
                "replay_duration_ms": 0.0,
            }
        net = self.network
        dt = net.dt_ms
        start = net.t_ms + dt  # one step after now, as the former spike sources
        times: dict[str, list[npt.NDArray[np.float64]]] = {pop: [] for pop in self.targets}
        neurons: dict[str, list[npt.NDArray[np.uint32]]] = {pop: [] for pop in self.targets}
        offset = start
        for ep in eps:
            for pop, (t, n) in ep.spikes.items():
                times[pop].append(t / self.time_compression + offset)
                neurons[pop].append(n)
            offset += ep.duration_ms / self.time_compression + self.gap_ms
        duration = math.ceil((offset - net.t_ms) / dt - 1e-9) * dt
        self._sessions += 1
        events = 0
        for pop in self.targets:
            if not times[pop]:
                continue
            t_all = np.concatenate(times[pop])
            n_all = np.concatenate(neurons[pop])
            events += int(t_all.size)
            self.ports[pop].push(n_all, t_ms=t_all)
        before = self._weights()
        scale = self.sleep_scale * plasticity_scale(stdp, 1.0)
        for proj in self.projections:
            net.set_plasticity_scale(proj, scale)
        try:
            net.run(duration)
        finally:
            for proj in self.projections:
                net.set_plasticity_scale(proj, self._scales.get(proj.index, 1.0))
        mean_change = mean_abs_change(self._weights(), before)
        self.cycles_completed += 1
        self.replayed_events += events
        self.replayed_episodes += len(eps)
        return {
            "replayed_episodes": len(eps),
            "replayed_events": events,
            "weight_updates_mean": mean_change,
            "replay_duration_ms": float(duration),
        }

    def status(self) -> dict[str, int]:
        """Return ``cycles_completed``, ``replayed_events`` and ``replayed_episodes``."""
        return {
            "cycles_completed": self.cycles_completed,
            "replayed_events": self.replayed_events,
            "replayed_episodes": self.replayed_episodes,
        }
