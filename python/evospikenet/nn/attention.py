r"""ChronoSpikeAttention: causal spiking attention with a temporal-proximity mask.

.. math::

    \mathrm{Attention}(Q, K, V) = \mathrm{SpikingNeuron}\Big(
        \mathrm{LN}\big((\sigma(QK^\top/\sqrt{d_k}) \odot M \oslash Z)\, V\, W_{out}\big)\Big),
    \qquad M[t, t'] = e^{-(t - t')/\tau}\ (t' \le t),\ 0\ \text{otherwise}

The mask ``M`` comes from the Rust core (:func:`evospikenet._core.chrono_mask_heads`)
and is cached per (T, taus). ``Z[t] = \sum_{t'} M[t, t']`` is the mask's row sum.

Normalisation
-------------
Un-normalised, the gated weights of row ``t`` sum to about ``\bar\sigma \tau`` (``\tau = T/4``
by default), so the neurons' input would grow with ``T``. Two fixed steps undo that:

1. each row is divided by ``Z[t]`` (data-independent, so the recurrent form keeps it:
   ``Z_t = \gamma Z_{t-1} + 1``): the output becomes a decay-weighted *mean* of
   ``\sigma(\cdot) V``, bounded by ``max |V|`` whatever ``T``;
2. a LayerNorm over the feature axis (per token) then fixes the scale: a mean over
   ~``\tau`` terms shrinks its spread like ``1/\sqrt{\tau}``, LayerNorm restores unit
   variance, so the neuron sees inputs of the same scale at ``T = 16`` and ``T = 1024``.

With the defaults (LIF, ``beta = 0.5``, ``threshold = 1.25``; Izhikevich input gain 80)
firing rates stay in 5-30 % from ``T = 16`` to ``T = 1024`` (``tests/test_attention.py``).

Spikes and surrogate gradients
------------------------------
The spike is a Heaviside step of the membrane potential; its backward pass uses a
surrogate derivative: the fast sigmoid of SuperSpike (Zenke & Ganguli 2018),
``1 / (1 + k |x|)^2`` with ``k = 10``, or the arctangent surrogate (Fang et al. 2021),
``(\alpha/2) / (1 + (\pi \alpha x / 2)^2)`` with ``\alpha = 2``. The reset is detached from
the graph (Zenke & Vogels 2021), which makes BPTT through the LIF recurrence a reverse
decayed cumulative sum, computed in one fused backward pass. LIF layers can also emit
graded spikes (``levels = K``: integer values ``0..K``, ``floor(v / threshold)`` clipped,
reset by as many thresholds; Luo et al. 2024), whose surrogate is the bump of the
nearest threshold.

References
----------
- F. Zenke, S. Ganguli (2018), SuperSpike: supervised learning in multilayer spiking
  neural networks. Neural Computation 30(6):1514-1541. doi:10.1162/neco_a_01086
- W. Fang et al. (2021), Incorporating learnable membrane time constant to enhance
  learning of spiking neural networks. ICCV 2021. doi:10.1109/ICCV48922.2021.00266
- F. Zenke, T. P. Vogels (2021), The remarkable robustness of surrogate gradient learning
  for instilling complex function in spiking neural networks. Neural Computation 33(4).
  doi:10.1162/neco_a_01367
- X. Luo et al. (2024), Integer-valued training and spike-driven inference spiking neural
  network for high-performance and energy-efficient object detection. ECCV 2024.
  arXiv:2407.20708
- E. M. Izhikevich (2003), Simple model of spiking neurons. IEEE Trans. Neural Netw.
  14(6):1569-1572. doi:10.1109/TNN.2003.820440
- Y. Sun et al. (2023), Retentive network: a successor to Transformer for large language
  models. arXiv:2307.08621 (the recurrent form with decay ``gamma``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from evospikenet import _core
from evospikenet.errors import InvalidParameterError, ShapeMismatchError

__all__ = [
    "EVOLIF_SCALE",
    "ChronoSpikeAttention",
    "ChronoState",
    "NeuronLayer",
    "NeuronState",
    "chrono_mask",
    "lif_sequence",
    "spike_fn",
]

NeuronType = Literal["LIF", "EvoLIF", "Izhikevich"]
Surrogate = Literal["fast_sigmoid", "atan"]
Score = Literal["sigmoid", "identity"]

#: Input scale of the integer-state LIF ('EvoLIF'): float currents times 1000 become
#: integer membrane increments.
EVOLIF_SCALE = 1000.0
_FAST_SIGMOID_K = 10.0
_ATAN_ALPHA = 2.0


@functools.lru_cache(maxsize=32)
def _mask_cpu(time_steps: int, taus: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    m = _core.chrono_mask_heads(time_steps, list(taus))
    z = np.stack([_core.chrono_row_sums(time_steps, tau) for tau in taus])
    return torch.from_numpy(m), torch.from_numpy(z)


def chrono_mask(
    time_steps: int,
    taus: tuple[float, ...],
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> tuple[Tensor, Tensor]:
    """Return the cached causal masks and their row sums as tensors.

    Parameters
    ----------
    time_steps : int
        ``T``.
    taus : tuple of float
        One decay time constant per head, in time steps.
    device, dtype
        Where and in which dtype to return them (the values are float32-rounded).

    Returns
    -------
    mask : Tensor, shape (H, T, T)
    row_sums : Tensor, shape (H, T)

    Raises
    ------
    InvalidParameterError
        ``time_steps < 1`` or a ``tau`` not finite and > 0.
    """
    m, z = _mask_cpu(int(time_steps), tuple(float(t) for t in taus))
    return m.to(device=device, dtype=dtype), z.to(device=device, dtype=dtype)


def _surrogate_grad(x: Tensor, kind: str) -> Tensor:
    if kind == "fast_sigmoid":
        r = (x.abs() * _FAST_SIGMOID_K).add_(1.0).reciprocal_()
        return r.mul_(r)
    r = (x * (math.pi / 2.0 * _ATAN_ALPHA)).square_().add_(1.0).reciprocal_()
    return r.mul_(_ATAN_ALPHA / 2.0)


class _Spike(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, kind: str) -> Tensor:
        ctx.save_for_backward(x)
        ctx.kind = kind
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor, None]:
        (x,) = ctx.saved_tensors
        return grads[0] * _surrogate_grad(x, ctx.kind), None


def spike_fn(x: Tensor, surrogate: Surrogate = "fast_sigmoid") -> Tensor:
    """Heaviside step ``x >= 0`` with a surrogate gradient.

    Parameters
    ----------
    x : Tensor
        Membrane potential minus threshold, in units of the threshold.
    surrogate : {'fast_sigmoid', 'atan'}
        Backward pass: fast sigmoid (Zenke & Ganguli 2018) or arctangent (Fang et al. 2021).

    Returns
    -------
    Tensor
        Spikes (0 or 1), same shape and dtype as ``x``.
    """
    out: Tensor = _Spike.apply(x, surrogate)
    return out


def _fusable(x: Tensor) -> bool:
    """Whether the Rust kernel can run ``x``: float32 on the CPU."""
    return x.device.type == "cpu" and x.dtype == torch.float32


class _LIFSequence(torch.autograd.Function):
    """LIF over the time axis (dim 1) with reset by subtraction, fused BPTT.

    ``fused``: run forward and backward in the Rust kernel
    (``_core.lif_window_forward`` / ``lif_window_backward``, one call each over the
    whole window) instead of the torch loop over time steps; both perform the same
    float32 operations in the same order.
    """

    @staticmethod
    def forward(
        ctx: Any,
        x: Tensor,
        beta_in: float | Tensor,
        threshold: float,
        surrogate: str,
        integer: bool,
        levels: int,
        fused: bool,
    ) -> Tensor:
        beta = float(beta_in.detach()) if isinstance(beta_in, Tensor) else float(beta_in)
        ctx.beta_is_tensor = isinstance(beta_in, Tensor)
        scale = EVOLIF_SCALE if integer else 1.0
        theta = float(round(threshold * scale)) if integer else threshold
        ctx.beta = beta
        ctx.surrogate = surrogate
        ctx.theta = theta
        ctx.scale = scale
        ctx.levels = levels
        ctx.fused = fused
        if fused:
            # The kernel takes the (N, T, C) layout as it is: no transposed copies.
            drive_nt = (torch.round(x * scale) if integer else x).detach().contiguous()
            s_np, rel_np = _core.lif_window_forward(drive_nt.numpy(), beta, theta, levels, integer)
            spikes_nt = torch.from_numpy(s_np)
            ctx.save_for_backward(torch.from_numpy(rel_np), spikes_nt)
            return spikes_nt
        # Time-major and contiguous: each step works on one contiguous (N, C) slab.
        drive = (torch.round(x * scale) if integer else x).transpose(0, 1).contiguous()
        spikes = torch.empty_like(drive)
        pre = torch.empty_like(drive)
        v = torch.zeros_like(drive[0])  # membrane after the reset of the previous step
        for t in range(drive.shape[0]):
            # Three ops per step (pre-reset potential, spike, reset), written in place.
            if integer:
                torch.add(drive[t], torch.trunc(v * beta), out=pre[t])
            else:
                torch.add(drive[t], v, alpha=beta, out=pre[t])
            if levels == 1:
                torch.ge(pre[t], theta, out=spikes[t])
            else:
                torch.div(pre[t], theta, rounding_mode="floor", out=spikes[t])
                spikes[t].clamp_(0.0, float(levels))
            torch.sub(pre[t], spikes[t], alpha=theta, out=v)
        ctx.save_for_backward(pre.sub_(theta).div_(theta), spikes)
        return spikes.transpose(0, 1)

    @staticmethod
    def backward(
        ctx: Any, *grads: Tensor
    ) -> tuple[Tensor | None, Tensor | None, None, None, None, None, None]:
        rel, spikes = ctx.saved_tensors
        # dL/dv_t = dL/ds_t * surrogate'(rel_t) / theta; the detached reset makes
        # dv_t/dx_k = scale * beta^(t-k): a reverse decayed cumulative sum.
        if ctx.fused:  # (N, T, C)
            time_dim = 1
            g_np = _core.lif_window_backward(
                rel.numpy(),
                grads[0].detach().to(torch.float32).contiguous().numpy(),
                ctx.beta,
                ctx.theta,
                ctx.scale / ctx.theta,
                ctx.levels,
                ctx.surrogate,
            )
            g = torch.from_numpy(g_np)
        else:  # (T, N, C)
            time_dim = 0
            grad = grads[0].transpose(0, 1)
            r = rel
            if ctx.levels > 1:
                # Graded spikes: the bump of the nearest of the thresholds k theta.
                r = rel - torch.round(rel).clamp_(0.0, ctx.levels - 1.0)
            g = _surrogate_grad(r, ctx.surrogate)
            g.mul_(ctx.scale / ctx.theta)
            g.mul_(grad)  # contiguous slabs
            for t in range(g.shape[0] - 2, -1, -1):
                g[t].add_(g[t + 1], alpha=ctx.beta)
        g_beta = None
        if ctx.beta_is_tensor and ctx.needs_input_grad[1]:
            # pre_t = beta v_{t-1} + x_t with v_{t-1} = theta (rel_{t-1} + 1 - s_{t-1}) the
            # membrane after the reset: dL/dbeta = sum_t dL/dpre_t v_{t-1}, and
            # dL/dpre_t = g_t / scale (g = dL/dx). The truncation of the integer state
            # passes the gradient straight through.
            n_t = rel.shape[time_dim]
            v_prev = rel.narrow(time_dim, 0, n_t - 1) + 1.0 - spikes.narrow(time_dim, 0, n_t - 1)
            g_beta = (g.narrow(time_dim, 1, n_t - 1) * v_prev).sum() * (ctx.theta / ctx.scale)
        return g.transpose(0, 1) if time_dim == 0 else g, g_beta, None, None, None, None, None


def lif_sequence(
    x: Tensor,
    beta: float | Tensor,
    threshold: float,
    surrogate: Surrogate = "fast_sigmoid",
    integer: bool = False,
    levels: int = 1,
    fused: bool | None = None,
) -> Tensor:
    r"""Run a LIF layer over the time axis of ``x``.

    ``v_t = beta v_{t-1} + x_t``; spike ``s_t = [v_t >= threshold]``; reset by subtraction
    ``v_t -= s_t threshold`` (detached in the backward pass). With ``integer=True``
    (EvoLIF) the state is an integer: ``v_t = trunc(beta v_{t-1}) + round(1000 x_t)``
    against the threshold ``round(1000 threshold)`` (rounding passes gradients straight
    through). With ``levels = K > 1`` the spikes are graded (integer-valued, as in the
    I-LIF neuron of Luo et al. 2024): ``s_t = clip(floor(v_t / threshold), 0, K)``, reset
    by ``s_t threshold``; the surrogate derivative is the bump of the nearest threshold
    ``k threshold``, ``k = 1..K``.

    Parameters
    ----------
    x : Tensor, shape (N, T, C)
        Input currents (dimensionless, in units of the threshold scale).
    beta : float or Tensor
        Membrane decay per step, ``exp(-dt/tau_m)``, in [0, 1]. A 0-d tensor (a learned
        decay) receives the gradient ``sum_t dL/dv_t v_{t-1}`` (reset detached).
    threshold : float
        Firing threshold (> 0).
    surrogate : {'fast_sigmoid', 'atan'}
    integer : bool
        EvoLIF (integer state, input scaled by 1000).
    levels : int
        Largest spike value ``K`` (1: binary spikes).
    fused : bool or None
        Run forward and backward each as one call of the compiled kernel (float32 CPU
        tensors only) instead of a torch loop over the ``T`` steps; both do the same
        float32 operations in the same order. ``None`` (default): the kernel wherever
        it applies (float32 on the CPU), the loop otherwise (float64, CUDA).

    Returns
    -------
    Tensor, shape (N, T, C)
        Spikes (0/1, or 0..K with ``levels = K``), dtype of ``x``.

    Raises
    ------
    InvalidParameterError
        ``levels < 1``; ``fused=True`` with a tensor that is not float32 on the CPU.
    """
    if levels < 1:
        raise InvalidParameterError.of("levels", levels, "must be >= 1")
    if fused is None:
        fused = _fusable(x)
    elif fused and not _fusable(x):
        raise InvalidParameterError.of(
            "fused", True, f"the kernel needs float32 on the CPU, got {x.dtype} on {x.device}"
        )
    out: Tensor = _LIFSequence.apply(
        x, beta, threshold, surrogate, integer, int(levels), bool(fused)
    )
    return out


@dataclass
class NeuronState:
    """Membrane state of a neuron layer between decode steps.

    Attributes
    ----------
    v : Tensor or None
        Membrane potential (mV for Izhikevich, threshold units for LIF, integer for EvoLIF).
    u : Tensor or None
        Izhikevich recovery variable.
    """

    v: Tensor | None = None
    u: Tensor | None = None


class NeuronLayer(nn.Module):
    r"""Spiking neurons driven over the time axis: LIF, EvoLIF or Izhikevich.

    Parameters
    ----------
    neuron_type : {'LIF', 'EvoLIF', 'Izhikevich'}
        'LIF': leaky integrate-and-fire, ``v_t = beta v_{t-1} + I_t``, reset by subtraction.
        'EvoLIF': the same with an integer state, input scaled by 1000.
        'Izhikevich': regular-spiking cell (a=0.02, b=0.2, c=-65 mV, d=8) of Izhikevich
        (2003), one 1 ms step per time step (two 0.5 ms half-steps for ``v``), input
        current ``izh_gain_pa * I_t`` in the paper's units.
    beta : float
        LIF decay per step.
    threshold : float
        LIF threshold.
    surrogate : {'fast_sigmoid', 'atan'}
    izh_gain_pa : float
        Izhikevich input gain (current per unit input, paper units).
    levels : int
        LIF and EvoLIF: largest spike value (1: binary spikes; ``K > 1``: graded spikes
        ``0..K``, see :func:`lif_sequence`).
    learn_beta : bool
        LIF and EvoLIF: learn the decay (one per layer, ``beta = sigmoid(beta_logit)``,
        so it stays in (0, 1); ``beta`` is then its initial value, in (0, 1)).
    substeps : int
        Neuron steps per time step (>= 1): the input is held for ``substeps`` steps and
        the output is the sum of their spikes (0..``substeps * levels``).

    Attributes
    ----------
    fused : bool or None
        LIF and EvoLIF over a window: passed to :func:`lif_sequence` (None: the compiled
        kernel for float32 CPU tensors, the torch loop otherwise; False: always the loop).

    Raises
    ------
    InvalidParameterError
        Unknown neuron type or surrogate, ``beta`` outside [0, 1], ``threshold <= 0``,
        ``levels < 1`` (or ``> 1`` with Izhikevich), ``substeps < 1``, ``learn_beta``
        with Izhikevich or with ``beta`` not in (0, 1).
    """

    def __init__(
        self,
        neuron_type: NeuronType = "LIF",
        beta: float = 0.5,
        threshold: float = 1.0,
        surrogate: Surrogate = "fast_sigmoid",
        izh_gain_pa: float = 80.0,
        levels: int = 1,
        learn_beta: bool = False,
        substeps: int = 1,
    ) -> None:
        super().__init__()
        if neuron_type not in ("LIF", "EvoLIF", "Izhikevich"):
            raise InvalidParameterError.of(
                "neuron_type", neuron_type, "expected 'LIF', 'EvoLIF' or 'Izhikevich'"
            )
        if surrogate not in ("fast_sigmoid", "atan"):
            raise InvalidParameterError.of(
                "surrogate", surrogate, "expected 'fast_sigmoid' or 'atan'"
            )
        if not 0.0 <= beta <= 1.0:
            raise InvalidParameterError.of("beta", beta, "must be in [0, 1]")
        if not threshold > 0.0:
            raise InvalidParameterError.of("threshold", threshold, "must be > 0")
        if levels < 1 or (levels > 1 and neuron_type == "Izhikevich"):
            raise InvalidParameterError.of(
                "levels", levels, "must be >= 1 (and 1 for Izhikevich neurons)"
            )
        if substeps < 1:
            raise InvalidParameterError.of("substeps", substeps, "must be >= 1")
        if learn_beta and (neuron_type == "Izhikevich" or not 0.0 < beta < 1.0):
            raise InvalidParameterError.of(
                "learn_beta",
                learn_beta,
                f"needs a LIF or EvoLIF layer and 0 < beta < 1, got {beta}",
            )
        self.substeps = int(substeps)
        self.beta_logit: nn.Parameter | None = None
        if learn_beta:
            self.beta_logit = nn.Parameter(torch.tensor(math.log(beta / (1.0 - beta))))
        self.levels = int(levels)
        self.neuron_type: NeuronType = neuron_type
        self.beta = float(beta)
        self.threshold = float(threshold)
        self.surrogate: Surrogate = surrogate
        self.izh_gain_pa = float(izh_gain_pa)
        self.fused: bool | None = None

    def decay(self) -> float | Tensor:
        """Return the LIF decay per neuron step: ``beta``, or the learned 0-d tensor."""
        if self.beta_logit is None:
            return self.beta
        return torch.sigmoid(self.beta_logit)

    def forward(self, x: Tensor) -> Tensor:
        """Spikes of ``x`` (N, T, C) over its time axis (dim 1); same shape and dtype."""
        if self.neuron_type == "Izhikevich":
            state = NeuronState()
            return torch.stack([self.step(x[:, t], state) for t in range(x.shape[1])], dim=1)
        n, t_len, c = x.shape
        if self.substeps > 1:
            x = x.repeat_interleave(self.substeps, dim=1)
        s = lif_sequence(
            x,
            self.decay(),
            self.threshold,
            self.surrogate,
            self.neuron_type == "EvoLIF",
            self.levels,
            self.fused,
        )
        if self.substeps > 1:
            s = s.view(n, t_len, self.substeps, c).sum(dim=2)
        return s

    def step(self, x: Tensor, state: NeuronState) -> Tensor:
        """Advance one time step: input ``x`` (N, C), update ``state`` in place, return spikes."""
        if self.neuron_type == "Izhikevich":
            out = self._izhikevich_step(x, state)
            for _ in range(self.substeps - 1):
                out = out + self._izhikevich_step(x, state)
            return out
        integer = self.neuron_type == "EvoLIF"
        decay = self.decay()
        beta = float(decay.detach()) if isinstance(decay, Tensor) else decay
        total: Tensor | None = None
        for _ in range(self.substeps):
            v = state.v if state.v is not None else torch.zeros_like(x)
            if integer:
                theta = float(round(self.threshold * EVOLIF_SCALE))
                v = torch.trunc(v * beta) + torch.round(x * EVOLIF_SCALE)
            else:
                theta = self.threshold
                v = v * beta + x
            if self.levels == 1:
                s = (v >= theta).to(v.dtype)
            else:
                s = torch.div(v, theta, rounding_mode="floor").clamp_(0.0, float(self.levels))
            state.v = v - s * theta
            total = s if total is None else total + s
        assert total is not None
        return total

    def _izhikevich_step(self, x: Tensor, state: NeuronState) -> Tensor:
        a, b, c, d, v_peak = 0.02, 0.2, -65.0, 8.0, 30.0
        v = state.v if state.v is not None else torch.full_like(x, c)
        u = state.u if state.u is not None else b * v
        i_pa = self.izh_gain_pa * x
        for _ in range(2):
            v = v + 0.5 * (0.04 * v * v + 5.0 * v + 140.0 - u + i_pa)
        u = u + a * (b * v - u)
        # Width of the surrogate: 10 mV around the peak.
        s = spike_fn((v - v_peak) / 10.0, self.surrogate)
        fired = s.detach()
        state.v = torch.where(fired > 0, torch.full_like(v, c), v)
        state.u = u + d * fired
        return s


@dataclass
class ChronoState:
    """Decode state of :class:`ChronoSpikeAttention` (one token at a time).

    Attributes
    ----------
    t : int
        Number of time steps consumed.
    keys, values : Tensor or None
        Cached keys and values, shape (B, S, H, t, d_head) (sigmoid score).
    memory : Tensor or None
        Retention state ``sum_t' gamma^(t-t') k_t' v_t'^T``, shape (B, S, H, d_head, d_head)
        (identity score).
    neuron : NeuronState
    """

    t: int = 0
    keys: Tensor | None = None
    values: Tensor | None = None
    memory: Tensor | None = None
    neuron: NeuronState = field(default_factory=NeuronState)


class ChronoSpikeAttention(nn.Module):
    r"""Causal spiking attention with a temporal-proximity mask (ChronoSpikeAttention).

    Attention runs over the time axis, separately for each sequence position:
    for input ``x[b, :, s, :]``, ``Q = x W_q``, ``K = x W_k``, ``V = x W_v`` (per head),

    .. math::

        A_h[t, t'] = \sigma(q_t \cdot k_{t'} / \sqrt{d_k})\, M_h[t, t'] / Z_h[t],\quad
        I = \mathrm{LN}\big(\mathrm{concat}_h(A_h V_h)\, W_{out}\big),\quad
        \text{out} = \mathrm{SpikingNeuron}(I)

    with ``M_h[t, t'] = exp(-(t - t')/tau_h)`` for ``t' <= t`` (0 otherwise) from the Rust
    core and ``Z_h[t]`` its row sum (see the module docstring for why). ``score='identity'``
    replaces the sigmoid by the identity; then the attention equals the retention
    recurrence ``S_t = gamma S_{t-1} + k_t v_t^T``, ``o_t = q_t S_t / (sqrt(d_k) Z_t)``,
    ``gamma = exp(-1/tau)``, which :meth:`step` uses for O(1) work per token; with the
    sigmoid, :meth:`step` keeps a key/value cache (O(t) per token, no recomputation).

    Parameters
    ----------
    input_dim : int
        Feature size ``D`` of the input and of the spiking output.
    num_heads : int
        Heads ``H``; ``input_dim`` must be a multiple of it (``d_k = D / H``).
    time_steps : int or None
        ``T`` used for the default ``tau = T/4``; None: use the input's ``T``.
    tau : float, sequence of float, or None
        Decay time constant(s) in time steps, one for all heads or one per head;
        None: ``T / 4``.
    neuron_type : {'LIF', 'EvoLIF', 'Izhikevich'}
    score : {'sigmoid', 'identity'}
    beta, threshold, surrogate
        Neuron parameters (:class:`NeuronLayer`).
    bias : bool
        Biases in the projections.
    levels : int
        Largest spike value of the output neurons (1: binary; see :class:`NeuronLayer`).
    learn_beta, substeps
        Learned decay, neuron steps per time step (:class:`NeuronLayer`).

    Raises
    ------
    InvalidParameterError
        Bad sizes, taus, score or neuron parameters.

    Examples
    --------
    >>> attn = ChronoSpikeAttention(32, num_heads=4)
    >>> spikes = attn(torch.randn(2, 64, 3, 32))  # (batch, time_steps, seq_len, input_dim)
    """

    def __init__(
        self,
        input_dim: int,
        num_heads: int = 4,
        time_steps: int | None = None,
        tau: float | tuple[float, ...] | list[float] | None = None,
        neuron_type: NeuronType = "LIF",
        score: Score = "sigmoid",
        beta: float = 0.5,
        threshold: float = 1.25,
        surrogate: Surrogate = "fast_sigmoid",
        bias: bool = False,
        levels: int = 1,
        learn_beta: bool = False,
        substeps: int = 1,
    ) -> None:
        super().__init__()
        if input_dim < 1 or num_heads < 1 or input_dim % num_heads:
            raise InvalidParameterError.of(
                "input_dim", input_dim, f"must be a positive multiple of num_heads={num_heads}"
            )
        if score not in ("sigmoid", "identity"):
            raise InvalidParameterError.of("score", score, "expected 'sigmoid' or 'identity'")
        if tau is not None:
            taus = (float(tau),) if isinstance(tau, (int, float)) else tuple(map(float, tau))
            if len(taus) not in (1, num_heads):
                raise InvalidParameterError.of(
                    "tau", tau, f"give one value or one per head ({num_heads})"
                )
            if not all(math.isfinite(t) and t > 0 for t in taus):
                raise InvalidParameterError.of("tau", tau, "must be finite and > 0 (time steps)")
        if time_steps is not None and time_steps < 1:
            raise InvalidParameterError.of("time_steps", time_steps, "must be >= 1")
        self.input_dim = input_dim
        self.num_heads = num_heads
        self.d_head = input_dim // num_heads
        self.time_steps = time_steps
        self.tau = tau
        self.score: Score = score
        self.w_q = nn.Linear(input_dim, input_dim, bias=bias)
        self.w_k = nn.Linear(input_dim, input_dim, bias=bias)
        self.w_v = nn.Linear(input_dim, input_dim, bias=bias)
        self.w_out = nn.Linear(input_dim, input_dim, bias=bias)
        self.norm = nn.LayerNorm(input_dim)
        self.neuron = NeuronLayer(
            neuron_type,
            beta,
            threshold,
            surrogate,
            levels=levels,
            learn_beta=learn_beta,
            substeps=substeps,
        )

    def taus(self, time_steps: int) -> tuple[float, ...]:
        """Per-head decay time constants (time steps) for inputs of ``time_steps`` steps."""
        if self.tau is None:
            base = (self.time_steps or time_steps) / 4.0
            return (base,) * self.num_heads
        if isinstance(self.tau, (int, float)):
            return (float(self.tau),) * self.num_heads
        taus = tuple(float(t) for t in self.tau)
        return taus * self.num_heads if len(taus) == 1 else taus

    def _check(self, x: Tensor, ndim: int) -> None:
        if x.ndim != ndim or x.shape[-1] != self.input_dim:
            layout = "(batch, time_steps, seq_len, input_dim)" if ndim == 4 else "(B, S, D)"
            raise ShapeMismatchError(
                f"shape mismatch for x: expected {layout} with input_dim={self.input_dim}, "
                f"got {tuple(x.shape)}",
                "x",
                layout,
                str(tuple(x.shape)),
            )

    def _heads(self, lin: nn.Linear, x: Tensor) -> Tensor:
        # (B, S, T, D) -> (B, S, H, T, d_head)
        b, s, t, _ = x.shape
        out: Tensor = lin(x).view(b, s, t, self.num_heads, self.d_head).transpose(2, 3)
        return out

    def currents(self, x: Tensor) -> Tensor:
        """Neuron input currents (the differentiable path before the spikes).

        Parameters
        ----------
        x : Tensor, shape (B, T, S, D)

        Returns
        -------
        Tensor, shape (B, S, T, D)
            LayerNorm-ed attention output, time on axis 2.

        Raises
        ------
        ShapeMismatchError
            ``x`` is not 4-D with ``input_dim`` features.
        """
        self._check(x, 4)
        b, t_len, s_len, _ = x.shape
        xs = x.permute(0, 2, 1, 3)
        q, k, v = (self._heads(lin, xs) for lin in (self.w_q, self.w_k, self.w_v))
        norm_mask = _normalised_mask(t_len, self.taus(t_len), x.device, x.dtype)
        scores = (q * (1.0 / math.sqrt(self.d_head))) @ k.transpose(-1, -2)
        gates = torch.sigmoid(scores) if self.score == "sigmoid" else scores
        weights = gates * norm_mask
        o = (weights @ v).transpose(2, 3).reshape(b, s_len, t_len, self.input_dim)
        out: Tensor = self.norm(self.w_out(o))
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Spiking output of ``x``.

        Parameters
        ----------
        x : Tensor, shape (B, T, S, D), floating

        Returns
        -------
        Tensor, shape (B, T, S, D)
            Spikes (0/1; 0..levels when graded) in the dtype of ``x``; causal: output at
            ``t`` depends on inputs at times ``<= t`` only.

        Raises
        ------
        ShapeMismatchError
            ``x`` is not 4-D with ``input_dim`` features.
        """
        i = self.currents(x)
        b, s_len, t_len, d = i.shape
        spikes: Tensor = self.neuron(i.reshape(b * s_len, t_len, d))
        return spikes.view(b, s_len, t_len, d).transpose(1, 2)

    def step(self, x: Tensor, state: ChronoState) -> Tensor:
        """Consume one time step ``x`` (B, S, D); update ``state``; return spikes (B, S, D).

        Equals :meth:`forward` run on the whole sequence so far (same spikes up to
        floating-point rounding of the summation order).
        """
        self._check(x, 3)
        b, s_len, _ = x.shape
        t = state.t
        x4 = x.unsqueeze(2)  # (B, S, 1, D)
        q, k, v = (self._heads(lin, x4) for lin in (self.w_q, self.w_k, self.w_v))
        q = q * (1.0 / math.sqrt(self.d_head))
        if self.tau is None and self.time_steps is None:
            raise InvalidParameterError.of(
                "time_steps", None, "step() needs time_steps or tau to fix tau = T/4"
            )
        taus = self.taus(self.time_steps or 1)
        if self.score == "identity":
            gamma = torch.tensor(
                [math.exp(-1.0 / tau) for tau in taus], dtype=x.dtype, device=x.device
            ).view(1, 1, -1, 1, 1)
            kv = k.transpose(-1, -2) @ v  # (B, S, H, d, d)
            state.memory = kv if state.memory is None else gamma * state.memory + kv
            z = self._row_sum(t, taus, x)
            o = q @ state.memory / z
        else:
            state.keys = k if state.keys is None else torch.cat([state.keys, k], dim=3)
            state.values = v if state.values is None else torch.cat([state.values, v], dim=3)
            # Row t of M / Z, oldest key first: the weights the parallel form uses.
            row = self._norm_row(t, taus, x).view(1, 1, -1, 1, t + 1)
            g = torch.sigmoid(q @ state.keys.transpose(-1, -2))
            o = (g * row) @ state.values
        o = o.transpose(2, 3).reshape(b, s_len, self.input_dim)
        state.t = t + 1
        i = self.norm(self.w_out(o))
        spikes = self.neuron.step(i.reshape(b * s_len, -1), state.neuron)
        return spikes.view(b, s_len, -1)

    @staticmethod
    def _row_sum(t: int, taus: tuple[float, ...], x: Tensor) -> Tensor:
        _, z = chrono_mask(_bucket(t + 1), taus, x.device, x.dtype)
        return z[:, t].view(1, 1, -1, 1, 1)

    @staticmethod
    def _norm_row(t: int, taus: tuple[float, ...], x: Tensor) -> Tensor:
        # M[t, t'] / Z[t] for t' = 0..t; rows depend on t only, not on the mask's size.
        return _normalised_mask(_bucket(t + 1), taus, x.device, x.dtype)[:, t, : t + 1]


@functools.lru_cache(maxsize=32)
def _normalised_mask(
    time_steps: int, taus: tuple[float, ...], device: torch.device, dtype: torch.dtype
) -> Tensor:
    """``M / Z[:, :, None]``, shape (H, T, T), cached per (T, taus, device, dtype)."""
    mask, z = chrono_mask(time_steps, taus, device, dtype)
    return mask / z.unsqueeze(-1)


def _bucket(n: int) -> int:
    """Round up to a power of two (>= 64) so that decode reuses a few cached masks."""
    return max(64, 1 << (n - 1).bit_length())
