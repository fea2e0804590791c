"""Typed stubs of the Rust extension ``evospikenet._core``.

The public API is :mod:`evospikenet.network`; these classes are its engine.
Arrays in must be C-contiguous with the exact dtype shown; arrays out are
new numpy arrays. Errors are the classes of :mod:`evospikenet.errors`.
"""

import os
from collections.abc import Callable
from typing import Any, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "Engine",
    "__git_revision__",
    "__version__",
    "cartpole_episode",
    "cartpole_episode_guarded",
    "double_pole_episode",
    "double_pole_trajectory",
]

__version__: str
#: Git revision (40 hex digits) of the checkout the extension was built from; "" if unknown.
__git_revision__: str

_Dist = tuple[str, list[float]]
_Synapses = tuple[
    npt.NDArray[np.uint32], npt.NDArray[np.uint32], npt.NDArray[np.float32], npt.NDArray[np.uint16]
]

@final
class Engine:
    """The simulation engine: populations, projections, inputs, monitors.

    ``Engine(dt_ms, seed, threads=1)``; raises ``InvalidParameterError`` for
    ``dt_ms <= 0`` or ``threads < 1``.
    """

    def __new__(cls, dt_ms: float, seed: int, threads: int = 1) -> Engine: ...
    @property
    def dt_ms(self) -> float:
        """Time step (ms)."""
    @property
    def step(self) -> int:
        """Steps simulated so far."""
    @property
    def threads(self) -> int:
        """Worker threads."""
    def add_lif(
        self,
        name: str,
        n: int,
        c_m_pf: float,
        tau_m_ms: float,
        e_l_mv: float,
        v_th_mv: float,
        v_reset_mv: float,
        t_ref_ms: float,
        synapse: str,
        tau_syn_ex_ms: float = 0.0,
        tau_syn_in_ms: float = 0.0,
        e_ex_mv: float = 0.0,
        e_in_mv: float = 0.0,
    ) -> int:
        """Add a LIF population (``synapse``: current, conductance, delta); return its index."""
    def add_point(self, name: str, n: int, model: str, params: list[tuple[str, float]]) -> int:
        """Add NEST point neurons (``iaf_psc_alpha``, ``aeif_*_exp``, ``hh_cond_exp_traub``).

        ``params`` gives every parameter of the model once (NEST names with
        unit suffixes, e.g. ``c_m_pf``); return the population's index.
        """
    def add_izhikevich(
        self,
        name: str,
        a: npt.NDArray[np.float64],
        b: npt.NDArray[np.float64],
        c: npt.NDArray[np.float64],
        d: npt.NDArray[np.float64],
        tau_syn_ms: float,
    ) -> int:
        """Add an Izhikevich population with per-neuron parameters; return its index."""
    def add_spike_source(
        self, name: str, n: int, times_ms: npt.NDArray[np.float64], neurons: npt.NDArray[np.uint32]
    ) -> int:
        """Add a spike-source population; return its index."""
    def add_poisson_group(self, name: str, rate_hz: npt.NDArray[np.float64]) -> int:
        """Add a Poisson group of ``len(rate_hz)`` Poisson spike trains; return its index.

        Each step, neuron ``i`` spikes at most once, with probability
        ``p = 1 - exp(-rate_hz[i] * dt)`` (dt in s), drawn from its own stream
        keyed ``(seed, POISSON_GROUP, pop key, global neuron id)``.
        """
    def set_poisson_group_rates(self, pop: int, rate_hz: npt.NDArray[np.float64]) -> None:
        """Replace the per-neuron rates (Hz, finite, >= 0) of a Poisson group."""
    def add_input_port(self, name: str, n: int, latency_steps: int) -> int:
        """Add an input port of ``n`` neurons with latency ``latency_steps``; return its index."""
    def push_port_spikes(
        self,
        pop: int,
        neurons: npt.NDArray[np.uint32],
        steps: npt.NDArray[np.uint64] | None = None,
        t_ms: npt.NDArray[np.float64] | None = None,
    ) -> None:
        """Queue remote spikes (``steps`` or ``t_ms``, exactly one) into input port ``pop``.

        Raises ``InvalidParameterError`` naming ``neurons[k]``, ``steps[k]`` or
        ``t_ms[k]`` (out of range, non-finite, negative, into the past).
        """
    def set_identity(
        self, pop: int, rng_key: int | None = None, neuron_ids: npt.NDArray[np.uint64] | None = None
    ) -> None:
        """Set the rng key and global neuron ids (distinct, shape ``(n,)``) of a population."""
    def rng_key(self, pop: int) -> int:
        """The rng key of a population (uint64)."""
    def set_state(self, pop: int, variable: str, values: npt.NDArray[np.float64]) -> None:
        """Set a state variable (``v``, ``u``, ``syn_ex``, ``syn_in``) of every neuron."""
    def init_state(self, pop: int, variable: str, distribution: _Dist) -> None:
        """Draw a state variable from a distribution (seeded per population and variable)."""
    def set_bias(self, pop: int, i_e_pa: npt.NDArray[np.float64]) -> None:
        """Set the per-neuron bias current (pA)."""
    def connect(
        self,
        pre: int,
        post: int,
        receptor_name: str,
        rule: str,
        value: float,
        allow_autapses: bool,
        weight: _Dist,
        delay_ms: _Dist,
    ) -> int:
        """Build a projection with a connection rule; return its index."""
    def connect_window(
        self,
        pre: int,
        post: int,
        receptor_name: str,
        rule: str,
        value: float,
        allow_autapses: bool,
        weight: _Dist,
        delay_ms: _Dist,
        pre_ids: npt.NDArray[np.uint64],
        post_ids: npt.NDArray[np.uint64],
        post_from: int,
        same_population: bool,
        pieces: list[tuple[int, int, int, int]],
    ) -> list[int]:
        """Build this part's synapses of a projection between split populations; return indices."""
    def connect_arrays(
        self,
        pre: int,
        post: int,
        receptor_name: str,
        pre_idx: npt.NDArray[np.uint32],
        post_idx: npt.NDArray[np.uint32],
        weight: npt.NDArray[np.float64],
        delay_ms: npt.NDArray[np.float64],
    ) -> int:
        """Build a projection from explicit synapse arrays; return its index."""
    def add_gap_junctions(
        self,
        pre: int,
        post: int,
        pre_idx: npt.NDArray[np.uint32],
        post_idx: npt.NDArray[np.uint32],
        g_ns: npt.NDArray[np.float64],
    ) -> int:
        """Add gap junctions (nS) between two LIF populations; return the set's index."""
    def add_poisson(
        self, target: int, receptor_name: str, rate_hz: npt.NDArray[np.float64], weight: float
    ) -> int:
        """Add a Poisson input of total rate ``rate_hz[i]`` into neuron ``i``; return its index."""
    def set_poisson_rates(self, input: int, rate_hz: npt.NDArray[np.float64]) -> None:
        """Replace the per-neuron rates (Hz, finite, >= 0) of a Poisson input."""
    def set_poisson_schedule(
        self, input: int, steps: npt.NDArray[np.uint64], rates_hz: npt.NDArray[np.float64]
    ) -> None:
        """Schedule per-neuron rates: row ``k`` of ``rates_hz`` (flattened) from ``steps[k]``."""
    def add_current_input(self, target: int, amplitudes_pa: npt.NDArray[np.float64]) -> int:
        """Add a per-neuron constant current (pA); return its index."""
    def set_current_amplitudes(self, input: int, amplitudes_pa: npt.NDArray[np.float64]) -> None:
        """Replace the per-neuron amplitudes (pA) of a current input."""
    def reset(self) -> None:
        """Restore the state of the first step, drop everything in flight (weights kept)."""
    def add_noise(self, target: int, mean_pa: float, std_pa: float) -> int:
        """Add Gaussian current noise redrawn every step; return its index."""
    def add_step_current(
        self,
        target: int,
        neurons: npt.NDArray[np.uint32] | None,
        times_ms: npt.NDArray[np.float64],
        amplitudes_pa: npt.NDArray[np.float64],
    ) -> int:
        """Add a piecewise-constant current; return its index."""
    def add_spike_monitor(self, pop: int, neurons: npt.NDArray[np.uint32] | None) -> int:
        """Record spikes of a population; return the monitor index."""
    def add_state_monitor(
        self, pop: int, variable: str, neurons: npt.NDArray[np.uint32], every_steps: int
    ) -> int:
        """Sample a state variable every ``every_steps``; return the monitor index."""
    def run(
        self,
        n_steps: int,
        chunk_steps: int = 1000,
        callback: Callable[[int, int], object] | None = None,
    ) -> None:
        """Run ``n_steps`` (GIL released, Ctrl-C within ~50 ms); ``callback(done, total)``."""
    def run_chunk(
        self,
        n_steps: int,
        pops: list[int],
        chunk_steps: int = 1000,
        callback: Callable[[int, int], object] | None = None,
    ) -> list[tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]]:
        """Run like ``run``; return the ``(steps, neurons)`` of each of ``pops`` in the chunk."""
    def spikes(self, monitor: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """Recorded ``(steps, neurons)`` of a spike monitor."""
    def spikes_window(
        self, monitor: int, start_step: int, stop_step: int
    ) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """Recorded ``(steps, neurons)`` with ``start_step <= step < stop_step``."""
    def spike_monitor_len(self, monitor: int) -> int:
        """Number of spikes recorded by a spike monitor."""
    def samples(self, monitor: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float64]]:
        """Recorded ``(steps, values[n_samples, n_neurons])`` of a state monitor."""
    def state(self, pop: int, variable: str) -> npt.NDArray[np.float64]:
        """A copy of a state variable of every neuron."""
    def spike_count(self, pop: int) -> int:
        """Total spikes of a population so far."""
    def projection_size(self, proj: int) -> int:
        """Number of synapses of a projection."""
    def projection_arrays(self, proj: int) -> _Synapses:
        """Synapses ``(pre, post, weight, delay_steps)`` in CSR order."""
    # --- plasticity (evospikenet.plasticity) ---
    def add_stdp(
        self,
        proj: int,
        a_plus: float,
        a_minus: float,
        tau_plus_ms: float,
        tau_minus_ms: float,
        w_max: float,
        weight_dependence: str,
        traces: str,
        allow_inhibitory: bool = False,
    ) -> None:
        """Attach pair-based STDP to a projection."""
    def add_rstdp(
        self,
        proj: int,
        a_plus: float,
        a_minus: float,
        tau_plus_ms: float,
        tau_minus_ms: float,
        tau_c_ms: float,
        tau_d_ms: float,
        w_max: float,
        allow_inhibitory: bool = False,
    ) -> None:
        """Attach reward-modulated STDP to a projection."""
    def add_rate_rule(
        self,
        proj: int,
        rule: str,
        learning_rate: float,
        tau_rate_ms: float,
        tau_theta_ms: float,
        rate_ref_hz: float,
        interval_ms: float,
        w_max: float,
        allow_inhibitory: bool = False,
    ) -> None:
        """Attach a rate rule (``"bcm"`` or ``"oja"``) to a projection."""
    def add_derivative_stdp(
        self,
        proj: int,
        a_plus: float,
        a_minus: float,
        tau_plus_ms: float,
        tau_minus_ms: float,
        w_max: float,
        interval_ms: float,
        drift: float,
        sd_decay: float,
        allow_inhibitory: bool = False,
    ) -> None:
        """Attach Izhikevich (2006) STDP with a weight derivative to a projection."""
    def set_plasticity_scale(self, proj: int, scale: float) -> None:
        """Multiply later weight changes of a projection by ``scale``."""
    def add_dopamine(self, amount: float) -> None:
        """Add to the dopamine of every reward-modulated projection."""
    def projection_weights(self, proj: int) -> npt.NDArray[np.float64]:
        """Current weights of a projection in CSR order."""
    def set_projection_weights(self, proj: int, values: npt.NDArray[np.float64]) -> None:
        """Replace the weights of a projection (CSR order)."""
    def plasticity_theta(self, proj: int) -> npt.NDArray[np.float64]:
        """BCM thresholds per postsynaptic neuron (empty for other rules)."""

# --- audit ---
# Tamper-evident audit log (evospikenet_core::audit); the public API is
# evospikenet.audit. Hashes are "sha256:<64 lowercase hex>" strings.

__all__ += [
    "AUDIT_GENESIS_PREV_HASH",
    "AUDIT_MAX_LINE_BYTES",
    "AuditAppender",
    "audit_canonical_json",
    "audit_consistency_proof",
    "audit_entry_hash",
    "audit_inclusion_proof",
    "audit_set_parallel",
    "audit_tail",
    "audit_torn_tail",
    "audit_tree_head",
    "audit_truncate_torn_tail",
    "audit_verify",
    "audit_verify_consistency",
    "audit_verify_inclusion",
]

AUDIT_GENESIS_PREV_HASH: str
AUDIT_MAX_LINE_BYTES: int

@final
class AuditAppender:
    """Appends entries to one log under an exclusive ``flock`` of the log file.

    Raises ``InvalidParameterError`` for a negative or non-finite timeout.
    """

    def __new__(
        cls, path: str | os.PathLike[str], lock_timeout_s: float = 60.0
    ) -> AuditAppender: ...
    def append(
        self, entries: list[tuple[str, str, str, str, str]], sync: bool
    ) -> list[tuple[int, str, str]]:
        """Append ``(actor, action, resource, result, detail_json)`` tuples in one write.

        Returns ``(seq, entry_hash, timestamp)`` per entry. Raises
        ``InvalidParameterError`` (bad result, empty action, detail not JSON,
        line over 1 MiB, an integer beyond 2^53), ``ChainBrokenError`` (torn
        or damaged tail), ``FileIOError`` (also when the lock times out).
        """
    def append_dicts(self, entries: list[Any], sync: bool) -> list[dict[str, Any]] | None:
        """Append ``AuditLogManager.write_many``'s entry dicts in one write.

        Returns ``{"entry_id", "seq", "entry_hash"}`` per entry, or ``None``
        (nothing written) when an entry is not a plain dict of ``str`` fields
        with a ``detail`` of plain JSON values (exact dict/list/tuple/str/
        bool/int within 64 bits/finite float/None, nesting up to 64): the
        caller then serialises with ``json.dumps`` and calls :meth:`append`.
        Raises as :meth:`append`.
        """
    def sync(self) -> None:
        """Run fdatasync on the log file."""

def audit_verify(
    path: str | os.PathLike[str],
    head_size: int | None = None,
    head_root: str | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> dict[str, Any]:
    """Verify a log (streaming, parallel); the result dict of ``AuditLogManager.verify``."""

def audit_tail(path: str | os.PathLike[str]) -> tuple[int, str]:
    """Return ``(next_seq, last_hash)``; raises ``ChainBrokenError`` on a torn or damaged tail."""

def audit_tree_head(path: str | os.PathLike[str], size: int) -> str:
    """Return the RFC 9162 root over the stored hashes of the first ``size`` entries."""

def audit_inclusion_proof(
    path: str | os.PathLike[str], index: int, size: int
) -> tuple[str, list[str]]:
    """Return ``(entry_hash, path)``, the inclusion proof of entry ``index``."""

def audit_consistency_proof(
    path: str | os.PathLike[str], old_size: int, new_size: int
) -> list[str]:
    """Return the consistency proof between two tree sizes."""

def audit_verify_inclusion(
    entry_hash: str, index: int, size: int, path: list[str], root: str
) -> bool:
    """Check an inclusion proof (RFC 9162, 2.1.3.2)."""

def audit_verify_consistency(
    old_size: int, new_size: int, old_root: str, new_root: str, proof: list[str]
) -> bool:
    """Check a consistency proof (RFC 9162, 2.1.4.2)."""

def audit_torn_tail(path: str | os.PathLike[str]) -> int | None:
    """Return the offset where a torn final line starts, or None."""

def audit_truncate_torn_tail(path: str | os.PathLike[str], offset: int) -> int:
    """Cut the torn final line starting at ``offset`` (under the lock); return bytes removed."""

def audit_canonical_json(text: str) -> str:
    """Return the RFC 8785 canonical form of the JSON text."""

def audit_entry_hash(line: str) -> str:
    """Return the recomputed ``entry_hash`` of a stored line."""

def audit_set_parallel(on: bool) -> None:
    """Hash on all cores (True) or one (False, used in a forked child)."""

# --- connectome (issue 5): delta merge, diff, delta JSON, validation --------
# Edge sets are tuples (pre_id int64, post_id int64, weight float32,
# delay_ms float32, synapse_type uint8) of C-contiguous 1-d arrays; key sets
# (pre_id, post_id, synapse_type).

__all__ += [
    "connectome_apply_delta",
    "connectome_diff",
    "connectome_ei_counts",
    "connectome_parse_delta",
    "connectome_read_delta",
    "connectome_validate_edge_values",
    "connectome_validate_edges",
    "connectome_write_delta",
    "crc32",
    "write_npz",
]

_Edges = tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float32],
    npt.NDArray[np.float32],
    npt.NDArray[np.uint8],
]
_Keys = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.uint8]]

def connectome_apply_delta(
    base: _Edges, removed: _Keys, added: _Edges, strict: bool = False
) -> tuple[_Edges, dict[str, Any]]:
    """Remove then add edges; return the result sorted by key and a report.

    The report has ``n_base``, ``n_result``, ``n_removed``, ``n_added``,
    ``removed_absent`` and ``added_existing`` (lists of key tuples). Raises
    ``InvalidParameterError`` for repeated keys and, in strict mode, for
    conflicts; ``ShapeMismatchError`` for arrays of unequal length.
    """

def connectome_diff(old: _Edges, new: _Edges) -> tuple[_Edges, _Edges]:
    """Return ``(removed, added)`` turning ``old`` into ``new``, both sorted by key."""

def connectome_validate_edges(edges: _Edges, neuron_id: npt.NDArray[np.int64]) -> bool:
    """Check edges against the NPZ contract; return whether they are sorted by key."""

def connectome_validate_edge_values(edges: _Edges, neuron_id: npt.NDArray[np.int64]) -> None:
    """As ``connectome_validate_edges`` without the key checks (order, repeats)."""

def connectome_ei_counts(
    pre_id: npt.NDArray[np.int64],
    synapse_type: npt.NDArray[np.uint8],
    weight: npt.NDArray[np.float32],
    neuron_id: npt.NDArray[np.int64],
    neuron_sign: npt.NDArray[np.int8],
) -> tuple[int, int, float, float]:
    """Return chemical ``(exc_edges, inh_edges, exc_weight, inh_weight)`` by presynaptic sign."""

def connectome_parse_delta(text: str) -> tuple[str, int, int, _Edges, _Edges, str]:
    """Parse delta JSON: ``(schema_version, from, to, removed, added, extra_json)``."""

def connectome_read_delta(
    path: str | os.PathLike[str],
) -> tuple[str, int, int, _Edges, _Edges, str]:
    """Read and parse a delta JSON file; as ``connectome_parse_delta``."""

def connectome_write_delta(
    schema_version: str,
    materialization_version_from: int,
    materialization_version_to: int,
    extra_json: str,
    removed: _Edges,
    added: _Edges,
) -> str:
    """Write delta JSON text, one edge entry per line."""

def crc32(data: npt.NDArray[np.uint8]) -> int:
    """CRC-32 (the zip checksum) of a 1-d uint8 array."""

def write_npz(
    path: str | os.PathLike[str],
    members: list[tuple[str, bytes, npt.NDArray[np.uint8]]],
) -> None:
    """Write an ``.npz`` archive: ``(name, npy_header, data)`` members, stored, no fsync."""

# --- control ---
def cartpole_episode(
    engine: Engine,
    input_pop: int,
    gains_pa: list[float],
    bias_pa: float,
    neurons_per_feature: int,
    scale: list[float],
    outputs: list[int],
    window_steps: int,
    initial_state: tuple[float, float, float, float],
    max_steps: int,
) -> int:
    """Run one gymnasium CartPole-v1 episode in the core with the network as controller.

    Each step: input currents ``bias + max(+-gain * obs / scale, 0)`` (push-pull, or
    ``bias + gain * obs / scale`` with one neuron per feature) for ``window_steps``;
    action = the output population with more spikes (ties: higher summed ``v``).
    Returns the episode's return (steps survived, at most ``max_steps``). The
    episode starts with ``Engine.reset``; Ctrl-C stops it within ~50 ms.
    """

def cartpole_episode_guarded(
    engine: Engine,
    input_pop: int,
    gains_pa: list[float],
    bias_pa: float,
    neurons_per_feature: int,
    scale: list[float],
    outputs: list[int],
    window_steps: int,
    initial_state: tuple[float, float, float, float],
    max_steps: int,
    limits: list[float],
) -> tuple[int, list[tuple[int, int, float, float]], npt.NDArray[np.float64]]:
    """Run one CartPole-v1 episode as ``cartpole_episode`` under the safety monitor.

    ``limits``: the largest allowed ``|x|`` (m), ``|x_dot|`` (m/s), ``|theta|`` (rad),
    ``|theta_dot|`` (rad/s) (``inf``: none). After each step the observation is checked;
    a feature beyond its limit is recorded and stops the episode. Returns the return,
    the violations as ``(step, feature, value, limit)`` (step 0: the initial state) and
    the observed states, float64 of shape ``(steps + 1, 4)``. Raises
    ``InvalidParameterError`` for limits that are not 4 values > 0.
    """

def double_pole_episode(
    engine: Engine,
    input_pop: int,
    gains_pa: list[float],
    bias_pa: float,
    neurons_per_feature: int,
    scale: list[float],
    outputs: list[int],
    window_steps: int,
    initial_state: tuple[float, float, float, float, float, float],
    max_steps: int,
    velocities: bool,
    full_force_spikes: int,
    differences: bool = False,
) -> tuple[int, float]:
    """Run one double-pole episode (Wieland 1991) in the core with the network as controller.

    ``initial_state``: ``(x (m), x_dot (m/s), theta1, theta1_dot, theta2, theta2_dot)``
    (rad, rad/s). Each control step (0.02 s of physics, two Runge-Kutta steps of
    0.01 s): the observation ``(x, x_dot, theta1, theta1_dot, theta2, theta2_dot)``
    (``velocities``) or ``(x, theta1, theta2)`` is encoded as in ``cartpole_episode``
    for ``window_steps``; the force comes from the spike counts ``n0``, ``n1`` of the
    two output populations: ``clip(10 N (n1 - n0) / full_force_spikes, -10 N, 10 N)``,
    or with ``full_force_spikes = 0`` ``10 N (n1 - n0) / (n1 + n0)`` (0 N when both
    are silent). With ``differences`` (only sensible without velocities) the features
    are the observation followed by its change since the previous control step (0 at
    the first), so ``gains_pa`` and ``scale`` hold twice as many values; an odd count
    raises ``InvalidParameterError`` (field ``gains_pa``).
    Returns ``(steps balanced, jiggle)``: the steps after which the state had not
    failed (|x| <= 2.4 m, both poles within 36 degrees; at most ``max_steps``) and
    the sum of ``|x| + |x_dot| + |theta1| + |theta1_dot|`` over the last
    ``min(steps, 100)`` of them (Gruau et al. 1996). Raises ``ShapeMismatchError``
    or ``InvalidParameterError`` for an initial state that is not 6 finite values
    inside the limits. The episode starts with ``Engine.reset``; Ctrl-C stops it
    within ~50 ms.
    """

def double_pole_trajectory(
    state: tuple[float, float, float, float, float, float],
    forces_n: list[float],
) -> tuple[npt.NDArray[np.float64], list[bool]]:
    """The double pole's physics alone (the reference for ports of it).

    From ``state`` apply each force of ``forces_n`` (N) for one control step
    (two classical Runge-Kutta steps of 0.01 s); return the states after each
    step, float64 of shape ``(len(forces_n), 6)``, and whether each has failed.
    """

# --- attention (issue 18) ---
__all__ += ["chrono_mask", "chrono_mask_heads", "chrono_row_sums"]

def chrono_mask(time_steps: int, tau: float) -> npt.NDArray[np.float32]:
    """Causal temporal-proximity mask of ChronoSpikeAttention.

    ``M[t, t'] = exp(-(t - t') / tau)`` for ``t' <= t``, else 0; each entry is the
    float64 value correctly rounded to float32. Computed with the GIL released.

    Parameters
    ----------
    time_steps : int
        ``T`` >= 1.
    tau : float
        Decay time constant, in time steps (> 0).

    Returns
    -------
    numpy.ndarray of float32, shape (T, T)

    Raises
    ------
    InvalidParameterError
        ``time_steps`` is 0 or too large, or ``tau`` is not a finite number > 0.
    """

def chrono_mask_heads(time_steps: int, taus: list[float]) -> npt.NDArray[np.float32]:
    """One causal mask per head; head ``h`` decays with ``taus[h]`` (time steps).

    Returns
    -------
    numpy.ndarray of float32, shape (len(taus), T, T)

    Raises
    ------
    InvalidParameterError
        ``taus`` is empty, a ``tau`` is not a finite number > 0, or the masks are too large.
    """

def chrono_row_sums(time_steps: int, tau: float) -> npt.NDArray[np.float32]:
    r"""Row sums :math:`Z_t = \sum_{t' \le t} M[t, t'] = (1 - \gamma^{t+1}) / (1 - \gamma)`.

    ``gamma = exp(-1/tau)``; accumulated in float64. Shape (T,), float32.

    Raises
    ------
    InvalidParameterError
        As :func:`chrono_mask`.
    """

__all__ += ["lif_window_backward", "lif_window_forward"]

def lif_window_forward(
    x: npt.NDArray[np.float32],
    beta: float,
    threshold: float,
    levels: int = 1,
    integer: bool = False,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """A LIF layer over the time axis (dim 1) of ``x``, each window starting at rest.

    ``pre_t = beta v_{t-1} + x_t`` (``integer``: ``trunc(beta v_{t-1}) + x_t``), spikes
    ``s_t = [pre_t >= threshold]`` (``levels = 1``) or ``clip(floor(pre_t / threshold),
    0, levels)``, reset by subtraction ``v_t = pre_t - s_t threshold``; ``v_{-1} = 0``.
    The kernel of :func:`evospikenet.nn.attention.lif_sequence` (the same float32
    operations as its torch loop, in the same order). Runs with the GIL released.

    Parameters
    ----------
    x : numpy.ndarray of float32, shape (N, T, C), C-contiguous
        Input per window, time step and neuron (units of the threshold).
    beta : float
        Membrane decay per step, in [0, 1].
    threshold : float
        Firing threshold (finite, > 0).
    levels : int
        Largest spike value (>= 1; 1: binary spikes).
    integer : bool
        Integer state (EvoLIF): the decayed membrane is truncated toward 0.

    Returns
    -------
    spikes : numpy.ndarray of float32, shape (N, T, C)
    rel : numpy.ndarray of float32, shape (N, T, C)
        ``(pre_t - threshold) / threshold``, the input of :func:`lif_window_backward`.

    Raises
    ------
    InvalidParameterError
        ``beta``, ``threshold`` or ``levels`` out of range; ``x`` not C-contiguous.
    """

def lif_window_backward(
    rel: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    beta: float,
    threshold: float,
    gain: float,
    levels: int = 1,
    surrogate: str = "fast_sigmoid",
) -> npt.NDArray[np.float32]:
    """Surrogate-gradient backward pass (BPTT, reset detached) of :func:`lif_window_forward`.

    ``g_t = sg(rel_t) * gain * grad_t + beta g_{t+1}``, where ``sg`` is the surrogate
    derivative of the nearest threshold ('fast_sigmoid': Zenke & Ganguli 2018; 'atan':
    Fang et al. 2021). Runs with the GIL released.

    Parameters
    ----------
    rel : numpy.ndarray of float32, shape (N, T, C), C-contiguous
        The forward pass's ``rel``.
    grad : numpy.ndarray of float32, shape (N, T, C), C-contiguous
        Gradient of the loss with respect to the spikes.
    beta, threshold, levels
        As in the forward pass.
    gain : float
        ``scale / threshold`` (scale 1000 for the integer state, else 1).
    surrogate : {'fast_sigmoid', 'atan'}

    Returns
    -------
    numpy.ndarray of float32, shape (N, T, C)
        Gradient with respect to the forward input ``x``.

    Raises
    ------
    InvalidParameterError
        Bad parameters or surrogate name; an array not C-contiguous.
    ShapeMismatchError
        ``rel`` and ``grad`` differ in shape.
    """

__all__ += ["ShardSession"]

@final
class ShardSession:
    """One lockstep shard's Zenoh session (crate ``evospikenet-exchange``).

    ``ShardSession(mode, connect, listen, namespace, multicast_scouting, timestamping, me,
    peers, hello)`` subscribes to ``{namespace}/spikes/*/{me}`` and the peers' liveliness,
    answers ``{namespace}/hello/{me}`` with ``hello`` and declares ``{namespace}/alive/{me}``;
    raises ``TransportError`` when the session cannot open.
    """

    def __new__(
        cls,
        mode: str,
        connect: list[str],
        listen: list[str],
        namespace: str,
        multicast_scouting: bool,
        timestamping: bool,
        me: str,
        peers: list[str],
        hello: bytes,
    ) -> ShardSession: ...
    def request(self, key: str, timeout: float) -> list[bytes]:
        """Payloads of the ok replies to a query on ``{namespace}/{key}``."""
    def was_queried(self) -> bool:
        """Whether a peer has read this node's hello."""
    def queried_by(self) -> list[str]:
        """The peers that have been answered this node's hello, sorted."""
    def run(
        self,
        engine: Engine,
        me: str,
        peers: list[str],
        exports: list[tuple[str, int, int]],
        imports: list[tuple[str, int]],
        chunk: int,
        total: int,
        timeout_s: float,
        lost_grace_s: float,
        progress: Callable[[int, int], object] | None = None,
    ) -> dict[str, Any]:
        """Run the lockstep loop and return its report.

        Keys ``intervals``, ``wait_s``, ``dropped``, ``reasons``, ``failure`` (None or a
        dict); Ctrl-C and engine errors are raised.
        """
    def close(self) -> None:
        """Close the session (idempotent)."""
