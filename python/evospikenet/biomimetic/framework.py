r"""The biomimetic brain-simulation loop on the Rust engine.

:class:`BrainSimulationFramework` builds a recurrent E/I circuit (LIF or
Izhikevich) fed by a sensory relay layer, attaches a plasticity rule to its
excitatory projections, and runs six phases per plasticity
interval:

1. :meth:`DevelopmentalSchedule.plasticity_multiplier` of the developmental time;
2. the circuit step: the engine advances ``plasticity_interval`` steps (the
   sensory stream — Poisson background plus recurring stimulus patterns —
   arrives through spike sources, plasticity acts inside the engine);
3. STDP × neuromodulator gate: dopamine decays, rewarded stimuli produce TD
   errors that move dopamine (Schultz et al. 1997), and the plasticity scale
   of the next interval becomes ``m_dev * gate.gated_learning_rate(1) * h_E``;
4. energy homeostasis: :class:`NodeEnergyBudget` counts the interval's spikes
   and synaptic events (sleep time is counted too); above the budget the
   energy factor ``h_E`` falls to ``budget / power`` (learning is the first
   thing an energy-starved brain gives up: Plaçais & Preat 2013 — the factor
   itself is a modelling choice);
5. :meth:`HippocampalBuffer.store` of each stimulus episode (the relay
   layer's spikes in the episode window, its context and reward);
6. every ``sleep_every`` steps, ``sleep_cycles`` rounds of
   :meth:`SleepConsolidation.offline_consolidation` replaying the buffer's
   most salient episodes with plasticity on; each round lasts at least
   ``sleep_phase_steps`` (quiet sleep after the replay). Sleep adds simulated
   time: a run of ``duration_ms`` of wake ends ``simulated_ms`` later.

Stimuli: ``n_patterns`` fixed random sets of relay neurons; every
``stimulus_interval_ms`` one of them (drawn uniformly) fires as a volley
(each neuron once, 0-10 ms jitter) over the 5 Hz background. Pattern
``rewarded_pattern`` is followed by reward 1 (TD state = pattern id), the
others by 0. ``tests/test_brain_simulation.py`` shows phase 6 raising the
stored patterns' synaptic selectivity against a same-time idle control.

References
----------
Plaçais PY, Preat T (2013) To favor survival under food shortage, the brain
disables costly memory. Science 339:440-442. doi:10.1126/science.1226018

Schultz W, Dayan P, Montague PR (1997) A neural substrate of prediction and
reward. Science 275:1593-1599. doi:10.1126/science.275.5306.1593
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import validation
from evospikenet.biomimetic import (
    CorticalTopologyGenerator,
    DevelopmentalSchedule,
    EfferenceCopy,
    Episode,
    HippocampalBuffer,
    NeuromodulatorGate,
    NeuromodulatorRegistry,
    NodeEnergyBudget,
    SleepConsolidation,
    SleepWakeCycleController,
    TDRewardSignal,
    connect_plasticity_gate,
)
from evospikenet.biomimetic.config import (
    PHASES,
    BrainRegionConfig,
    BrainSimulationConfig,
    is_int,
    is_real,
    parse_neuromod,
)
from evospikenet.biomimetic.memory import mean_abs_change
from evospikenet.distributions import Uniform
from evospikenet.errors import InvalidParameterError
from evospikenet.network import LIFParameters, Network, Population, Projection

__all__ = [
    "PHASES",
    "BrainRegionConfig",
    "BrainRegionIntegrator",
    "BrainSimulationConfig",
    "BrainSimulationFramework",
    "parse_neuromod",
]

# -- brain regions --------------------------------------------------------------------


class BrainRegionIntegrator:
    """Registry of brain regions and their connections; can materialise them in a network."""

    def __init__(self) -> None:
        self.regions: dict[str, BrainRegionConfig] = {}
        self.connections: list[tuple[str, str, float]] = []  # (pre, post, delay_ms)

    def add_region(self, region: BrainRegionConfig) -> None:
        """Register ``region``.

        Raises
        ------
        InvalidParameterError
            A name already registered.
        """
        if region.name in self.regions:
            raise InvalidParameterError.of("name", region.name, "a region with this name exists")
        self.regions[region.name] = region

    def add_cortical_topology(
        self, generator: CorticalTopologyGenerator, nx_cols: int, ny_cols: int
    ) -> int:
        r"""Register an ``nx_cols x ny_cols`` column grid and its local connections.

        Columns are named ``column_<id>``; connections join columns within the
        generator's radius (:math:`\sqrt2` mm by default), with delays of
        distance / conduction velocity.

        Returns
        -------
        int
            Number of columns registered.

        Raises
        ------
        InvalidParameterError
            Bad grid size, or column names already registered (nothing is added).
        """
        if not isinstance(generator, CorticalTopologyGenerator):
            raise InvalidParameterError.of(
                "generator", generator, "must be a CorticalTopologyGenerator"
            )
        cols = generator.columns(nx_cols, ny_cols)
        prefix = f"column{len(self.regions)}_" if self.regions else "column_"
        names = {c.column_id: f"{prefix}{c.column_id}" for c in cols}
        for name in names.values():
            if name in self.regions:  # pragma: no cover - prefix makes names fresh
                raise InvalidParameterError.of("name", name, "a region with this name exists")
        for c in cols:
            self.regions[names[c.column_id]] = BrainRegionConfig(
                names[c.column_id], c.n_neurons, c.x_mm, c.y_mm, "cortical_column"
            )
        for e in generator.edges(cols):
            self.connections.append((names[e.pre], names[e.post], e.delay_ms))
        return len(cols)

    @property
    def cortical_columns(self) -> int:
        """Number of registered cortical columns."""
        return sum(r.kind == "cortical_column" for r in self.regions.values())

    def build(
        self,
        network: Network,
        *,
        p_intra: float = 0.1,
        p_inter: float = 0.02,
        weight: float = 0.2,
        tau_m_ms: float = 20.0,
    ) -> dict[str, Population]:
        """Create one LIF population (delta synapses, mV) per region and the projections.

        Inter-region delays are rounded to the network's step grid (at least one step).

        Returns
        -------
        dict of str to Population
        """
        pops: dict[str, Population] = {
            name: network.lif(name, r.n_neurons, synapse="delta", tau_m_ms=tau_m_ms)
            for name, r in self.regions.items()
        }
        for pop in pops.values():
            network.connect(pop, pop, p=p_intra, weight=weight, delay_ms=network.dt_ms)
        for pre, post, delay in self.connections:
            steps = max(1, round(delay / network.dt_ms))
            network.connect(
                pops[pre], pops[post], p=p_inter, weight=weight, delay_ms=steps * network.dt_ms
            )
        return pops


# -- the framework ---------------------------------------------------------------------


ProgressCallback = Callable[[float, float], None]


class BrainSimulationFramework:
    """A six-phase biomimetic loop on an engine network.

    Parameters
    ----------
    enable_biomimetic : bool
        Run phases 1 and 3-6 (without it only the circuit runs, with
        plasticity at its base rate).
    config : BrainSimulationConfig or mapping, optional
        Parameters (a mapping is read with
        :meth:`BrainSimulationConfig.from_mapping`).

    Attributes
    ----------
    network : Network
        The circuit: populations ``input`` (relay LIF), ``E``, ``I``.
    gate, registry, td, schedule, energy, buffer, sleep, cycle, efference, integrator
        The biomimetic modules.

    Raises
    ------
    InvalidParameterError
        A bad parameter (named).

    Notes
    -----
    Circuit: LIF neurons with delta synapses (weights in mV; ``v_th`` 15 mV
    above rest and reset; J = 0.2 mV, inhibition g = 5 times stronger)
    receiving Poisson drive of 3500 Hz x 0.2 mV scaled by 20 ms /
    ``membrane_time_constant_ms`` (mean drive ~14 mV, near threshold: Brunel
    2000's fluctuation-driven regime; ~10 Hz at the defaults), or Izhikevich (2003) RS/FS neurons
    with the paper's thalamic noise and weights scaled to the connection
    probability. The relay layer fires one step after each sensory spike;
    input→E and E→E carry the plasticity rule.
    """

    #: LIF circuit constants (mV, Hz): coupling, relative inhibition, external drive.
    J_MV = 0.2
    G_INH = 5.0
    EXT_RATE_HZ = 3500.0
    W_IN_MV = 0.5
    W_MAX_MV = 2.0
    RELAY_WEIGHT_MV = 20.0

    def __init__(
        self,
        enable_biomimetic: bool = False,
        config: BrainSimulationConfig | Mapping[str, Any] | None = None,
    ) -> None:
        if config is None:
            config = BrainSimulationConfig()
        elif not isinstance(config, BrainSimulationConfig):
            config = BrainSimulationConfig.from_mapping(config)
        if not isinstance(enable_biomimetic, bool):
            raise InvalidParameterError.of(
                "enable_biomimetic", enable_biomimetic, "must be true or false"
            )
        self.config = config
        self.enable_biomimetic = enable_biomimetic
        self._rng = np.random.default_rng([config.seed, 0xB10])
        self.gate = NeuromodulatorGate(name="brain")
        self.gate.update(**dict(config.neuromod))
        # a dopamine level given in the config is the tonic level phasic dopamine returns to
        self.gate.tonic_dopamine = self.gate.dopamine
        self.registry = NeuromodulatorRegistry()
        self.gate.connect_to_registry(self.registry)
        self.gate.push_to_registry()
        self.td = TDRewardSignal(self.gate)
        self.schedule = DevelopmentalSchedule(total_epochs=config.total_epochs)
        self.energy = NodeEnergyBudget(
            budget_w=config.energy_budget_w, n_neurons=config.num_neurons
        )
        self.buffer = HippocampalBuffer(config.replay_buffer_size)
        # seed 000's wake-config maps onto the simulate parameters: awake_phase_steps is
        # sleep_every, sleep_cycles_per_epoch is sleep_cycles (replay rounds per sleep)
        self.sleep_enabled = config.sleep_every > 0 and config.sleep_cycles > 0
        self.cycle = SleepWakeCycleController(
            awake_phase_steps=config.sleep_every or 1,
            sleep_phase_steps=config.sleep_phase_steps,
            sleep_cycles_per_epoch=max(1, config.sleep_cycles),
        )
        self.efference = EfferenceCopy()
        self.integrator = BrainRegionIntegrator()
        self.energy_factor = 1.0
        self.epoch = config.development_epoch
        self._build()

    # -- construction ------------------------------------------------------------------

    def _build(self) -> None:
        c = self.config
        net = Network(dt_ms=c.dt_ms, seed=c.seed)
        n_e = max(1, round(c.num_neurons * c.excitatory_ratio))
        n_i = c.num_neurons - n_e
        p = c.connection_probability
        delay = c.dt_ms
        relay = net.lif("input", c.n_inputs, synapse="delta", t_ref_ms=c.dt_ms)
        exc: Population
        inh: Population | None
        if c.neuron_type == "lif":
            params = LIFParameters(
                synapse="delta",
                tau_m_ms=c.membrane_time_constant_ms,
                t_ref_ms=c.refractory_period_ms,
            )
            exc = net.lif("E", n_e, params)
            inh = net.lif("I", n_i, params) if n_i else None
            j, w_in, w_max = self.J_MV, self.W_IN_MV, self.W_MAX_MV
            for pop in (exc, inh):
                if pop is not None:
                    net.poisson(pop, self.EXT_RATE_HZ * 20.0 / c.membrane_time_constant_ms, j)
                    pop.set("v_mv", Uniform(-65.0, -50.0))
            w_ee: float | Uniform = j
            w_ie = -self.G_INH * j
        else:
            exc = net.izhikevich("E", n_e, "RS")
            inh = net.izhikevich("I", n_i, "FS") if n_i else None
            scale_e = 0.5 * 800.0 / max(1.0, n_e * p) if p > 0 else 0.0
            scale_i = 1.0 * 200.0 / max(1.0, n_i * p) if p > 0 else 0.0
            net.noise(exc, 0.0, 5.0)
            if inh is not None:
                net.noise(inh, 0.0, 2.0)
            w_ee = Uniform(0.0, scale_e) if scale_e > 0 else 0.0
            w_ie = -0.5 * scale_i
            w_in, w_max = 0.5 * scale_e if scale_e else 1.0, 2.0 * scale_e if scale_e else 2.0
        self.network = net
        self.relay, self.exc, self.inh = relay, exc, inh
        self.w_max = float(w_max)
        self.proj_in = net.connect(relay, exc, p=max(p, 0.1), weight=w_in, delay_ms=delay)
        self.plastic: list[Projection] = [self.proj_in]
        if p > 0:
            self.plastic.append(net.connect(exc, exc, p=p, weight=w_ee, delay_ms=delay))
            if inh is not None:
                net.connect(exc, inh, p=p, weight=w_ee, delay_ms=delay)
                for post in (exc, inh):
                    net.connect(inh, post, p=p, weight=w_ie, delay_ms=delay, receptor="inhibitory")
        # The sensory stream enters through one input port, made and connected once: each
        # wake segment pushes its spikes (no population is added during a run).
        self.stim = net.input_port("stim", c.n_inputs)
        net.connect(self.stim, relay, rule="one_to_one", weight=self.RELAY_WEIGHT_MV)
        self.monitors = {name: net.spike_monitor(pop) for name, pop in self._pops().items()}
        n_in = c.n_inputs
        k = max(1, round(c.pattern_fraction * n_in))
        self.patterns = [
            np.sort(self._rng.choice(n_in, k, replace=False)) for _ in range(c.n_patterns)
        ]
        self.rule = self._make_rule()
        for proj in self.plastic:
            net.add_plasticity(proj, self.rule)
        self.sleep = SleepConsolidation(
            net,
            {"input": relay},
            self.plastic,
            drive_weight=self.RELAY_WEIGHT_MV,
            time_compression=c.replay_compression,
        )
        for proj in self.plastic:
            self.sleep.set_scale(proj, self._plasticity_scale(0.0))
        self._stim_sessions = 0
        self._weights0 = self._weights()
        self.history: dict[str, Any] = {"sleeps": [], "td_errors": [], "stored": 0}

    def _pops(self) -> dict[str, Population]:
        pops: dict[str, Population] = {"input": self.relay, "E": self.exc}
        if self.inh is not None:
            pops["I"] = self.inh
        return pops

    def _make_rule(self) -> Any:
        from evospikenet import plasticity

        c = self.config
        w_max = self.w_max
        rule: Any
        if c.plasticity_rule == "rstdp":
            rule = plasticity.RewardModulatedSTDP(
                a_plus=0.01 * w_max, a_minus=0.0105 * w_max, tau_plus_ms=20.0,
                tau_minus_ms=20.0, tau_c_ms=1000.0, tau_d_ms=200.0, w_max=w_max,
            )  # fmt: skip
        else:
            # stdp: Song, Miller & Abbott (2000), A- / A+ = 1.05, tau 20 ms, A+ = 1 % of
            # w_max; bcm / oja: rates updated once per plasticity interval
            rule = plasticity.default_rule(c.plasticity_rule, w_max)
            if c.plasticity_rule in ("bcm", "oja"):
                rule = replace(rule, interval_ms=c.plasticity_interval * c.dt_ms)
        return connect_plasticity_gate(rule, self.gate)

    # -- helpers ---------------------------------------------------------------------

    def _weights(self) -> list[npt.NDArray[np.float64]]:
        return [p.weights() for p in self.plastic]

    def _plasticity_scale(self, t_dev: float) -> float:
        if not self.enable_biomimetic:
            return 1.0
        m_dev = self.schedule.plasticity_multiplier(t_dev)
        return m_dev * self.gate.gated_learning_rate(1.0) * self.energy_factor

    def _out_degree(self) -> dict[str, float]:
        syn: dict[str, int] = {}
        for proj in self.network.projections:
            syn[proj.pre.name] = syn.get(proj.pre.name, 0) + len(proj)
        return {name: syn.get(name, 0) / pop.n for name, pop in self._pops().items()}

    def _stimulus(self, t0_ms: float, steps: int) -> list[tuple[float, int]]:
        """Push the sensory stream of ``steps`` steps from ``t0_ms``; return (onset, pattern).

        The spikes go into the ``stim`` input port (latency 0, one-to-one onto the relay):
        times round to the nearest step and a (step, neuron) pair pushed twice is one
        spike, as in a spike source. Every time is at or after ``t0_ms``, the next step.
        """
        c = self.config
        dur = steps * c.dt_ms
        n_in = c.n_inputs
        times: list[npt.NDArray[np.float64]] = []
        neurons: list[npt.NDArray[np.int64]] = []
        count = self._rng.poisson(c.input_rate_hz * dur * 1e-3, n_in)
        neurons.append(np.repeat(np.arange(n_in), count))
        times.append(t0_ms + self._rng.uniform(0.0, dur, int(count.sum())))
        onsets: list[tuple[float, int]] = []
        if c.n_patterns:
            t = t0_ms + 0.5 * c.stimulus_interval_ms
            while t + c.episode_ms <= t0_ms + dur:
                pat = int(self._rng.integers(c.n_patterns))
                idx = self.patterns[pat]
                # each pattern neuron fires once, 0-10 ms after onset (jitter), as a volley
                times.append(t + self._rng.uniform(0.0, 10.0, idx.size))
                neurons.append(idx.astype(np.int64))
                onsets.append((round(t / c.dt_ms) * c.dt_ms, pat))
                t += c.stimulus_interval_ms
        self._stim_sessions += 1
        t_all = np.concatenate(times)
        n_all = np.concatenate(neurons)
        self.stim.push(n_all, t_ms=t_all)
        return onsets

    # -- running -----------------------------------------------------------------------

    def run_simulation(
        self, duration_ms: float | None = None, progress: ProgressCallback | None = None
    ) -> dict[str, Any]:
        """Run ``duration_ms`` of wake (plus the sleeps it contains) through the six phases.

        Parameters
        ----------
        duration_ms : float, optional
            Wake time (ms), a multiple of ``dt_ms``; default ``config.duration_ms``.
        progress : callable, optional
            ``progress(wake_ms_done, wake_ms_total)`` after each interval.

        Returns
        -------
        dict
            ``phase_results`` (one entry per phase, in pipeline order),
            ``biomimetic_status`` (:meth:`biomimetic_status`), ``duration_ms``
            (wake time), ``simulated_ms`` (wake + sleep), ``spikes_total``.

        Raises
        ------
        InvalidParameterError
            A negative or off-grid duration.
        """
        c, net = self.config, self.network
        dur = c.duration_ms if duration_ms is None else duration_ms
        n_steps = validation.steps("duration_ms", dur, c.dt_ms, 0)
        bio = self.enable_biomimetic
        sleeping = bio and self.sleep_enabled
        segment = self.cycle.awake_phase_steps if sleeping else max(n_steps, 1)
        out_degree = self._out_degree()
        counts0 = {n: p.spike_count for n, p in self._pops().items()}
        w_start = self._weights()
        dev: dict[str, float] = {}
        scales: list[float] = []
        td_errors: list[float] = []
        stored = 0
        sleeps: list[dict[str, Any]] = []
        done = 0
        in_mon = self.monitors["input"]
        while done < n_steps:
            seg_steps = min(segment, n_steps - done)
            onsets = self._stimulus(net.t_ms, seg_steps)
            pending = list(onsets)
            seg_done = 0
            while seg_done < seg_steps:
                steps = min(c.plasticity_interval, seg_steps - seg_done)
                # 1. developmental schedule
                t_dev = self.epoch + (done + seg_done) / max(n_steps, 1)
                m_dev = self.schedule.plasticity_multiplier(t_dev)
                dev.setdefault("multiplier_first", m_dev)
                dev["multiplier_last"] = m_dev
                before = {n: p.spike_count for n, p in self._pops().items()}
                # 2. circuit step (plasticity acts inside the engine)
                net.run(steps * c.dt_ms)
                seg_done += steps
                now = net.t_ms
                spikes = {n: p.spike_count - before[n] for n, p in self._pops().items()}
                ready = [(t, pat) for t, pat in pending if t + c.episode_ms <= now]
                pending = [(t, pat) for t, pat in pending if t + c.episode_ms > now]
                if bio:
                    # 3. STDP x neuromodulator gate
                    self.gate.decay(steps * c.dt_ms)
                    for _, pat in ready:
                        reward = 1.0 if pat == c.rewarded_pattern else 0.0
                        delta = self.td.update(("pattern", pat), reward, None)
                        td_errors.append(delta)
                        if c.plasticity_rule == "rstdp" and delta:
                            net.add_dopamine(delta)
                    self.gate.push_to_registry()
                    # 4. energy homeostasis
                    events = sum(spikes[n] * out_degree[n] for n in spikes)
                    self.energy.record(sum(spikes.values()), round(events), steps * c.dt_ms)
                    self.energy_factor = (
                        min(1.0, self.energy.budget_w / self.energy.power_w)
                        if self.energy.power_w > 0
                        else 1.0
                    )
                    scale = self._plasticity_scale(t_dev)
                    for proj in self.plastic:
                        self.sleep.set_scale(proj, scale)
                    scales.append(scale)
                    # 5. hippocampal store
                    # (only each episode's window of the input spikes is read)
                    for t_on, pat in ready:
                        t_in, n_in = in_mon.window(t_on, t_on + c.episode_ms)
                        ep = Episode.from_spikes(
                            {"input": (t_in - t_on, n_in)},
                            c.episode_ms,
                            reward=1.0 if pat == c.rewarded_pattern else 0.0,
                            context={"pattern": pat, "t_ms": t_on},
                            t_ms=t_on,
                        )
                        stored += int(self.buffer.store(ep))
                if progress is not None:
                    progress((done + seg_done) * c.dt_ms, n_steps * c.dt_ms)
            done += seg_steps
            # 6. sleep consolidation
            if sleeping and seg_steps == segment:
                for _ in range(self.cycle.sleep_cycles_per_epoch):
                    before = {n: p.spike_count for n, p in self._pops().items()}
                    t_sleep = net.t_ms
                    stats = self.sleep.offline_consolidation(
                        self.buffer.replay(c.replay_per_cycle), self.rule
                    )
                    # a cycle lasts at least sleep_phase_steps: quiet sleep after the replay
                    rest = self.cycle.sleep_phase_steps * c.dt_ms - (net.t_ms - t_sleep)
                    if rest > 0:
                        net.run(round(rest / c.dt_ms) * c.dt_ms)
                    stats["sleep_duration_ms"] = net.t_ms - t_sleep
                    # sleep costs energy too (phase 4's budget covers all simulated time)
                    spikes = {n: p.spike_count - before[n] for n, p in self._pops().items()}
                    events = sum(spikes[n] * out_degree[n] for n in spikes)
                    self.energy.record(
                        sum(spikes.values()), round(events), stats["sleep_duration_ms"]
                    )
                    sleeps.append(stats)
        self.epoch += 1
        w_end = self._weights()
        n_syn = sum(w.size for w in w_end)
        spikes_total = {n: p.spike_count - counts0[n] for n, p in self._pops().items()}
        phase_results = {
            "developmental_schedule": dev if bio else {"skipped": True},
            "circuit_step": {
                "spikes": spikes_total,
                "neuron_type": c.neuron_type,
                "steps": n_steps,
            },
            "plasticity_gate": {
                "rule": c.plasticity_rule,
                "scale_mean": float(np.mean(scales)) if scales else 1.0,
                "weight_change_mean": mean_abs_change(w_end, w_start),
                "weight_mean": float(np.mean(np.concatenate(w_end))) if n_syn else 0.0,
                "dopamine": self.gate.dopamine,
                "td_errors": len(td_errors),
                "td_error_last": td_errors[-1] if td_errors else 0.0,
            },
            "energy_homeostasis": (
                {**self.energy.status(), "fitness_term": self.energy.energy_fitness_term()}
                if bio
                else {"skipped": True}
            ),
            "hippocampal_store": (
                {"stored": stored, "buffer_size": len(self.buffer)} if bio else {"skipped": True}
            ),
            "sleep_consolidation": {
                "sleeps": len(sleeps) // self.cycle.sleep_cycles_per_epoch,
                "cycles": len(sleeps),
                "replayed_episodes": sum(s["replayed_episodes"] for s in sleeps),
                "replayed_events": sum(s["replayed_events"] for s in sleeps),
                "weight_updates_mean": (
                    float(np.mean([s["weight_updates_mean"] for s in sleeps])) if sleeps else 0.0
                ),
                "replay_duration_ms": sum(s["replay_duration_ms"] for s in sleeps),
                "sleep_duration_ms": sum(s["sleep_duration_ms"] for s in sleeps),
            },
        }
        return {
            "phase_results": phase_results,
            "biomimetic_status": self.biomimetic_status(),
            "duration_ms": n_steps * c.dt_ms,
            "simulated_ms": net.t_ms,
            "spikes_total": int(sum(spikes_total.values())),
        }

    # -- seed 000's /biomimetic/* operations --------------------------------------------

    def update_neuromod(self, **levels: float) -> dict[str, float]:
        """Set neuromodulator levels (POST /biomimetic/neuromod/update); return all seven.

        A dopamine level given here also becomes the tonic level. The levels
        are pushed to the registry and act from the next plasticity interval.

        Raises
        ------
        InvalidParameterError
            An unknown name or a level outside [0, 1]; nothing changes.
        """
        out = self.gate.update(**levels)
        if "dopamine" in levels:
            self.gate.tonic_dopamine = self.gate.dopamine
        self.gate.push_to_registry()
        return out

    def deliver_reward(
        self, reward: float, td_error: float | None = None, update_neuromod: bool = True
    ) -> dict[str, float]:
        r"""Deliver a reward (POST /biomimetic/reward); return ``td_error`` and ``dopamine_level``.

        Without ``td_error`` the TD error of an unpredicted terminal reward is
        learned: :math:`\delta = r - V(\mathrm{external})`, V updated by TD(0).
        With ``update_neuromod`` the phasic dopamine response moves the gate
        (and, for ``rstdp``, the engine's dopamine by :math:`\delta`).

        Raises
        ------
        InvalidParameterError
            ``reward`` outside [-1, 1] (the seed's range) or a non-finite TD error.
        """
        if not is_real(reward) or not -1.0 <= float(reward) <= 1.0:
            raise InvalidParameterError.of("reward", reward, "must be a number in [-1, 1]")
        if td_error is None:
            delta = self.td.learn("external", float(reward), None)
        elif is_real(td_error):
            delta = float(td_error)
        else:
            raise InvalidParameterError.of("td_error", td_error, "must be a finite number")
        if update_neuromod:
            self.gate.apply_td_error(delta)
            if self.config.plasticity_rule == "rstdp":
                self.network.add_dopamine(delta)
            self.gate.push_to_registry()
        return {"td_error": delta, "dopamine_level": self.gate.dopamine}

    def configure_sleep(self, **params: int) -> dict[str, int]:
        """Set the sleep/wake schedule (POST /biomimetic/sleep/wake-config); return it.

        ``awake_phase_steps`` is the wake time between sleeps (``sleep_every``),
        ``sleep_cycles_per_epoch`` the replay rounds per sleep
        (``sleep_cycles``), ``sleep_phase_steps`` the minimum length of a
        sleep cycle. Configuring enables sleep.

        Raises
        ------
        InvalidParameterError
            An unknown name or a value below 1; nothing changes.
        """
        out = self.cycle.configure(**params)
        self.sleep_enabled = True
        return out

    def consolidate(self, sleep_cycles: int = 3) -> dict[str, Any]:
        """Replay the buffer now (POST /biomimetic/sleep/consolidate).

        Returns
        -------
        dict
            ``cycles_completed`` and ``replayed_events`` of this call, and the
            per-cycle statistics of :meth:`SleepConsolidation.offline_consolidation`.

        Raises
        ------
        InvalidParameterError
            ``sleep_cycles`` below 1.
        """
        if not is_int(sleep_cycles) or sleep_cycles < 1:
            raise InvalidParameterError.of("sleep_cycles", sleep_cycles, "must be an integer >= 1")
        stats = [
            self.sleep.offline_consolidation(
                self.buffer.replay(self.config.replay_per_cycle), self.rule
            )
            for _ in range(int(sleep_cycles))
        ]
        return {
            "cycles_completed": len(stats),
            "replayed_events": sum(s["replayed_events"] for s in stats),
            "cycles": stats,
        }

    def reset(self, enable_biomimetic: bool | None = None) -> None:
        """Rebuild the network and every module from the config (POST /biomimetic/framework/reset).

        Raises
        ------
        InvalidParameterError
            ``enable_biomimetic`` not a bool.
        """
        enable = self.enable_biomimetic if enable_biomimetic is None else enable_biomimetic
        self.__init__(enable, self.config)  # type: ignore[misc]

    def biomimetic_status(self) -> dict[str, Any]:
        """Return a snapshot of every module's state."""
        return {
            "biomimetic_enabled": self.enable_biomimetic,
            "stdp_connected_gate": getattr(self.rule, "gate", None) is self.gate,
            "sleep_consolidation_replay": self.enable_biomimetic and self.sleep_enabled,
            "sleep_wake_config": self.cycle.configure(),
            "izhikevich_circuits": int(self.config.neuron_type == "izhikevich"),
            "cortical_columns_registered": self.integrator.cortical_columns,
            "neuromodulator_registry_linked": self.gate.registry_linked,
            "efference_copy_adaptive": True,
            "dmn_idle_phase_available": True,
            "neuromod_levels": self.gate.levels(),
            "energy_budget": {"current_w": self.energy.power_w, "budget_w": self.energy.budget_w},
            "sleep_stats": {
                "cycles_completed": self.sleep.cycles_completed,
                "replayed_events": self.sleep.replayed_events,
                "replayed_episodes": self.sleep.replayed_episodes,
            },
            "hippocampal_buffer": {"size": len(self.buffer), "capacity": self.buffer.capacity},
            "development_epoch": self.epoch,
            "developmental_multiplier": self.schedule.plasticity_multiplier(self.epoch),
            "efference_gain": self.efference.gain,
        }

    async def run_idle_phase(
        self, duration_s: float = 10.0, chunk_ms: float = 100.0
    ) -> dict[str, Any]:
        """Run the circuit without sensory input (spontaneous, "default-mode" activity).

        The engine runs in a worker thread (it releases the GIL), one
        ``chunk_ms`` at a time, so other coroutines proceed meanwhile. Only
        the circuit's own activity and drive remain: no stimulus, no
        learning phases (plasticity keeps its current scale). Do not call
        other methods of the framework while awaiting it. This is the
        network's idle activity, not a model of the default-mode network's
        anatomy.

        Returns
        -------
        dict
            ``duration_ms``, ``t_ms`` (chunk end times, list), ``spike_counts``
            (per population, spikes per chunk), ``rate_hz`` (per population).

        Raises
        ------
        InvalidParameterError
            A negative ``duration_s`` or a ``chunk_ms`` off the step grid.
        """
        if not is_real(duration_s) or duration_s < 0:
            raise InvalidParameterError.of("duration_s", duration_s, "must be a finite number >= 0")
        dt = self.config.dt_ms
        total = round(duration_s * 1e3 / dt)
        chunk = validation.steps("chunk_ms", chunk_ms, dt, 1)
        pops = {n: p for n, p in self._pops().items() if n != "input"}
        counts: dict[str, list[int]] = {n: [] for n in pops}
        t_ms: list[float] = []
        done = 0
        while done < total:
            steps = min(chunk, total - done)
            before = {n: p.spike_count for n, p in pops.items()}
            await asyncio.to_thread(self.network.run, steps * dt)
            for n, p in pops.items():
                counts[n].append(p.spike_count - before[n])
            done += steps
            t_ms.append(self.network.t_ms)
        dur = total * dt
        return {
            "duration_ms": dur,
            "t_ms": t_ms,
            "spike_counts": counts,
            "rate_hz": {
                n: (sum(v) / pops[n].n / (dur * 1e-3) if dur > 0 else 0.0)
                for n, v in counts.items()
            },
        }
