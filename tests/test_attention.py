"""ChronoSpikeAttention: the Rust mask, causality, gradients, parallel = recurrent form."""

from __future__ import annotations

import math

import numpy as np
import pytest

from evospikenet import _core
from evospikenet.errors import InvalidParameterError, ShapeMismatchError

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

from evospikenet.nn.attention import (  # noqa: E402
    ChronoSpikeAttention,
    ChronoState,
    NeuronLayer,
    NeuronState,
    chrono_mask,
    lif_sequence,
    spike_fn,
)

DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
    ),
]


@pytest.mark.parametrize("t_len", [1, 2, 16, 333, 1024, 4096])
def test_mask_matches_formula(t_len: int) -> None:
    tau = t_len / 4.0
    m = _core.chrono_mask(t_len, tau)
    assert m.dtype == np.float32
    assert m.shape == (t_len, t_len)
    t = np.arange(t_len)
    lag = (t[:, None] - t[None, :]).astype(np.float64)
    want = np.where(lag >= 0, np.exp(-np.maximum(lag, 0) / tau), 0.0)
    # float32 rounding of values in [0, 1]: at most 2^-25 ~ 3e-8 < 1e-7.
    assert np.abs(m.astype(np.float64) - want).max() <= 1e-7


def test_mask_per_head_and_row_sums() -> None:
    taus = [0.5, 3.0, 100.0]
    m = _core.chrono_mask_heads(64, taus)
    assert m.shape == (3, 64, 64)
    for h, tau in enumerate(taus):
        np.testing.assert_array_equal(m[h], _core.chrono_mask(64, tau))
        z = _core.chrono_row_sums(64, tau)
        gamma = math.exp(-1.0 / tau)
        closed = (1 - gamma ** np.arange(1, 65)) / (1 - gamma)
        # float32 storage of sums up to ~100: relative 1e-6.
        np.testing.assert_allclose(z, closed, rtol=1e-6)
        np.testing.assert_allclose(z, m[h].astype(np.float64).sum(1), rtol=1e-5)


@pytest.mark.parametrize(
    ("t_len", "tau"), [(0, 1.0), (4, 0.0), (4, -2.0), (4, math.nan), (4, math.inf)]
)
def test_mask_bad_parameters(t_len: int, tau: float) -> None:
    with pytest.raises(InvalidParameterError):
        _core.chrono_mask(t_len, tau)


def test_mask_heads_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError):
        _core.chrono_mask_heads(4, [])
    with pytest.raises(InvalidParameterError, match="tau"):
        _core.chrono_mask_heads(4, [1.0, -1.0])


def test_module_mask_is_cached() -> None:
    a, _ = chrono_mask(32, (8.0,))
    b, _ = chrono_mask(32, (8.0,))
    assert a.data_ptr() == b.data_ptr()


@pytest.mark.parametrize("neuron_type", ["LIF", "EvoLIF", "Izhikevich"])
@pytest.mark.parametrize("device", DEVICES)
def test_causality(neuron_type: str, device: str) -> None:
    torch.manual_seed(0)
    attn = ChronoSpikeAttention(16, 4, neuron_type=neuron_type).to(device)  # type: ignore[arg-type]
    x = torch.randn(2, 48, 3, 16, device=device)
    t0 = 20
    y = x.clone()
    y[:, t0:] = torch.randn_like(y[:, t0:]) * 5
    with torch.no_grad():
        out_x, out_y = attn(x), attn(y)
    assert out_x.shape == x.shape
    assert set(out_x.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out_x[:, :t0], out_y[:, :t0])
    # The change is seen from t0 on (else the check above could not fail).
    assert not torch.equal(out_x[:, t0:], out_y[:, t0:])


def test_gradcheck_differentiable_path() -> None:
    torch.manual_seed(0)
    attn = ChronoSpikeAttention(8, 2, tau=(1.5, 4.0)).double()
    x = torch.randn(1, 6, 2, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(attn.currents, (x,), eps=1e-6, atol=1e-5)


def test_gradcheck_identity_score() -> None:
    torch.manual_seed(1)
    attn = ChronoSpikeAttention(8, 2, score="identity").double()
    x = torch.randn(2, 5, 1, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(attn.currents, (x,), eps=1e-6, atol=1e-5)


def _unrolled_lif(x: torch.Tensor, beta: float, theta: float) -> torch.Tensor:
    v = torch.zeros_like(x[:, 0])
    out = []
    for t in range(x.shape[1]):
        v = beta * v + x[:, t]
        s = spike_fn((v - theta) / theta)
        out.append(s)
        v = v - s.detach() * theta
    return torch.stack(out, 1)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.95])
def test_fused_lif_bptt_equals_autograd_of_the_unrolled_recurrence(beta: float) -> None:
    torch.manual_seed(2)
    x = torch.randn(3, 30, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 30, 5, dtype=torch.float64)
    fused = lif_sequence(x, beta, 1.0)
    (g_fused,) = torch.autograd.grad((fused * w).sum(), x)
    ref = _unrolled_lif(x, beta, 1.0)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    assert torch.equal(fused, ref)
    # Same sums in another order: float64 rounding only.
    torch.testing.assert_close(g_fused, g_ref, rtol=1e-12, atol=1e-12)


def _unrolled_graded_lif(x: torch.Tensor, beta: float, levels: int) -> torch.Tensor:
    # Graded spike clip(floor(v), 0, K) (threshold 1) with the surrogate bump of the
    # nearest threshold k = 1..K; the reset subtracts the whole spike value.
    v = torch.zeros_like(x[:, 0])
    out = []
    for t in range(x.shape[1]):
        v = beta * v + x[:, t]
        nearest = torch.round(v - 1.0).clamp(0, levels - 1).detach() + 1.0
        bump = spike_fn(v - nearest)
        s = torch.floor(v).clamp(0, levels).detach() + (bump - bump.detach())
        out.append(s)
        v = v - s.detach()
    return torch.stack(out, 1)


@pytest.mark.parametrize("levels", [2, 4])
def test_graded_lif_bptt_equals_autograd_of_the_unrolled_recurrence(levels: int) -> None:
    torch.manual_seed(5)
    x = 2.0 * torch.randn(3, 30, 5, dtype=torch.float64)
    x.requires_grad_(True)
    w = torch.randn(3, 30, 5, dtype=torch.float64)
    fused = lif_sequence(x, 0.5, 1.0, levels=levels)
    (g_fused,) = torch.autograd.grad((fused * w).sum(), x)
    ref = _unrolled_graded_lif(x, 0.5, levels)
    (g_ref,) = torch.autograd.grad((ref * w).sum(), x)
    assert torch.equal(fused, ref)
    assert fused.max() == levels and fused.min() == 0  # the clip is reached
    torch.testing.assert_close(g_fused, g_ref, rtol=1e-12, atol=1e-12)
    with pytest.raises(InvalidParameterError, match="levels"):
        lif_sequence(x, 0.5, 1.0, levels=0)
    with pytest.raises(InvalidParameterError, match="levels"):
        NeuronLayer("Izhikevich", levels=2)


@pytest.mark.parametrize("levels", [1, 4])
@pytest.mark.parametrize("integer", [False, True])
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "atan"])
@pytest.mark.parametrize(
    ("shape", "beta", "threshold"), [((4, 64, 24), 0.5, 1.0), ((3, 37, 7), 0.9, 0.7)]
)
def test_rust_kernel_equals_the_torch_loop(
    levels: int,
    integer: bool,
    surrogate: str,
    shape: tuple[int, int, int],
    beta: float,
    threshold: float,
) -> None:
    # The compiled kernel (fused=True) against the torch loop over time steps
    # (fused=False), forward and backward, in float32. Both perform the same float32
    # operations in the same order (a + alpha*b as one fused multiply-add, Python floor
    # division, round half to even), so spikes must be identical; on x86-64 with FMA the
    # gradients are bit-identical too (max difference 0.0 on the development machine).
    # The gradient tolerance only allows for a torch build whose scalar tail rounds the
    # multiply-add twice: ~1 float32 ulp per step, compounding over <= 64 steps with
    # decay <= 0.9, far below 1e-5 relative.
    torch.manual_seed(11)
    x = (1.5 * torch.randn(*shape)).requires_grad_(True)
    w = torch.randn(*shape)
    out = {}
    for fused in (False, True):
        s = lif_sequence(x, beta, threshold, surrogate, integer, levels, fused=fused)  # type: ignore[arg-type]
        (g,) = torch.autograd.grad((s * w).sum(), x)
        out[fused] = (s.detach(), g)
    assert torch.equal(out[True][0], out[False][0])
    assert 0.02 < float((out[True][0] > 0).float().mean()) < 0.9  # neurons do fire
    if levels > 1:
        assert float(out[True][0].max()) == levels  # the clip is reached
    torch.testing.assert_close(out[True][1], out[False][1], rtol=1e-5, atol=1e-7)
    assert float(out[True][1].abs().max()) > 0.1


@pytest.mark.parametrize("levels", [1, 4])
def test_learned_decay_gradient_equals_autograd_of_the_unrolled_recurrence(levels: int) -> None:
    # dL/dbeta of the fused BPTT against autograd through the unrolled recurrence
    # (reset detached) in float64: the same sum in another order, so 1e-12 relative.
    # Then the Rust kernel against the torch loop in float32: bit-identical dL/dx, and
    # dL/dbeta (a sum over all 64 x 5 x 3 terms, in torch both times) to 1e-6.
    torch.manual_seed(4)
    x = (1.5 * torch.randn(3, 30, 5, dtype=torch.float64)).requires_grad_(True)
    w = torch.randn(3, 30, 5, dtype=torch.float64)
    beta = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    out = lif_sequence(x, beta, 1.0, levels=levels)
    g_x, g_beta = torch.autograd.grad((out * w).sum(), (x, beta))
    ref = _unrolled_lif(x, beta, 1.0) if levels == 1 else _unrolled_graded_lif(x, beta, levels)
    r_x, r_beta = torch.autograd.grad((ref * w).sum(), (x, beta))
    assert torch.equal(out, ref)
    torch.testing.assert_close(g_x, r_x, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g_beta, r_beta, rtol=1e-12, atol=1e-12)
    assert abs(float(g_beta)) > 0.1
    xf = x.detach().float().requires_grad_(True)
    b32 = torch.tensor(0.7, requires_grad=True)
    grads = [
        torch.autograd.grad(
            (lif_sequence(xf, b32, 1.0, levels=levels, fused=f) * w.float()).sum(), (xf, b32)
        )
        for f in (True, False)
    ]
    assert torch.equal(grads[0][0], grads[1][0])
    torch.testing.assert_close(grads[0][1], grads[1][1], rtol=1e-6, atol=0.0)


@pytest.mark.parametrize("neuron_type", ["LIF", "EvoLIF"])
def test_substeps_and_learned_decay_in_a_layer(neuron_type: str) -> None:
    # Two neuron steps per time step with the input held equal one step per time step
    # on the input repeated twice, spikes summed in pairs; decode equals the window.
    torch.manual_seed(6)
    layer = NeuronLayer(neuron_type, 0.6, levels=2, learn_beta=True, substeps=2)  # type: ignore[arg-type]
    plain = NeuronLayer(neuron_type, 0.6, levels=2)  # type: ignore[arg-type]
    x = torch.randn(2, 12, 4, dtype=torch.float64)
    out = layer(x)
    want = plain(x.repeat_interleave(2, dim=1)).view(2, 12, 2, 4).sum(2)
    assert torch.equal(out, want)
    assert float(out.detach().max()) > 2  # sums of two steps exceed one step's clip
    state = NeuronState()
    with torch.no_grad():
        steps = torch.stack([layer.step(x[:, t], state) for t in range(12)], dim=1)
    assert torch.equal(steps, out.detach())
    out.sum().backward()  # type: ignore[no-untyped-call]
    assert layer.beta_logit is not None and layer.beta_logit.grad is not None
    assert abs(float(torch.sigmoid(layer.beta_logit.detach())) - 0.6) < 1e-6
    with pytest.raises(InvalidParameterError, match="substeps"):
        NeuronLayer(substeps=0)
    with pytest.raises(InvalidParameterError, match="learn_beta"):
        NeuronLayer(beta=1.0, learn_beta=True)


def test_rust_kernel_defaults_and_bad_input() -> None:
    x = torch.randn(2, 8, 3)
    assert torch.equal(lif_sequence(x, 0.5, 1.0), lif_sequence(x, 0.5, 1.0, fused=False))
    with pytest.raises(InvalidParameterError, match="fused"):
        lif_sequence(x.double(), 0.5, 1.0, fused=True)
    flat = np.zeros((2, 4, 6), dtype=np.float32)
    with pytest.raises(InvalidParameterError, match="beta"):
        _core.lif_window_forward(flat, 1.5, 1.0)
    with pytest.raises(InvalidParameterError, match="threshold"):
        _core.lif_window_forward(flat, 0.5, 0.0)
    with pytest.raises(InvalidParameterError, match="levels"):
        _core.lif_window_forward(flat, 0.5, 1.0, 0)
    with pytest.raises(InvalidParameterError, match="x"):
        _core.lif_window_forward(np.zeros((6, 4, 2), dtype=np.float32).T, 0.5, 1.0)
    with pytest.raises(InvalidParameterError, match="surrogate"):
        _core.lif_window_backward(flat, flat, 0.5, 1.0, 1.0, 1, "relu")
    with pytest.raises(ShapeMismatchError, match="grad"):
        _core.lif_window_backward(flat, np.zeros((2, 4, 5), dtype=np.float32), 0.5, 1.0, 1.0)


def test_surrogates_have_the_published_shape() -> None:
    x = torch.tensor([-0.5, 0.0, 0.2], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(spike_fn(x, "fast_sigmoid").sum(), x)
    torch.testing.assert_close(g, 1 / (1 + 10 * x.detach().abs()) ** 2)
    (g,) = torch.autograd.grad(spike_fn(x, "atan").sum(), x)
    torch.testing.assert_close(g, 1 / (1 + (math.pi * x.detach()) ** 2))


@pytest.mark.parametrize("device", DEVICES)
def test_identity_score_parallel_equals_retention_recurrence(device: str) -> None:
    """Parallel masked form == S_t = gamma S_{t-1} + k_t v_t^T, o_t = q_t S_t / Z_t."""
    torch.manual_seed(3)
    d, heads, t_len = 12, 3, 64
    taus = (2.0, 9.0, 40.0)
    attn = ChronoSpikeAttention(d, heads, tau=taus, score="identity").double().to(device)
    x = torch.randn(2, t_len, 2, d, dtype=torch.float64, device=device)
    with torch.no_grad():
        parallel = attn.currents(x)  # (B, S, T, D)
        xs = x.permute(0, 2, 1, 3)
        q, k, v = (attn._heads(lin, xs) for lin in (attn.w_q, attn.w_k, attn.w_v))
        dh = d // heads
        mem = torch.zeros(2, 2, heads, dh, dh, dtype=torch.float64, device=device)
        z = torch.zeros(heads, dtype=torch.float64, device=device)
        gamma = torch.tensor([math.exp(-1 / tau) for tau in taus], dtype=torch.float64)
        gamma = gamma.to(device)
        outs = []
        for t in range(t_len):
            kv = k[:, :, :, t, :, None] * v[:, :, :, t, None, :]
            mem = gamma.view(1, 1, -1, 1, 1) * mem + kv
            z = gamma * z + 1
            o = (q[:, :, :, t, None, :] @ mem).squeeze(-2)  # (B, S, H, d_head)
            o = o / (math.sqrt(dh) * z.view(1, 1, -1, 1))
            outs.append(o.reshape(2, 2, d))  # heads concatenated, as in the module
        o = torch.stack(outs, dim=2)
        recurrent = attn.norm(attn.w_out(o))
    # The mask is float32-rounded (relative 6e-8), the recurrence exact: 1e-6 covers it.
    torch.testing.assert_close(parallel, recurrent, rtol=0, atol=1e-6)


@pytest.mark.parametrize("score", ["sigmoid", "identity"])
@pytest.mark.parametrize(
    ("neuron_type", "levels"), [("LIF", 1), ("EvoLIF", 1), ("Izhikevich", 1), ("LIF", 3)]
)
def test_step_decode_equals_parallel(score: str, neuron_type: str, levels: int) -> None:
    torch.manual_seed(4)
    attn = ChronoSpikeAttention(
        16,
        4,
        tau=(1.0, 3.0, 10.0, 40.0),
        score=score,  # type: ignore[arg-type]
        neuron_type=neuron_type,  # type: ignore[arg-type]
        levels=levels,
    ).double()
    x = torch.randn(2, 50, 3, 16, dtype=torch.float64)
    with torch.no_grad():
        parallel = attn(x)
        state = ChronoState()
        steps = torch.stack([attn.step(x[:, t], state) for t in range(50)], dim=1)
    assert parallel.sum() > 0
    assert torch.equal(parallel, steps)


@pytest.mark.parametrize("neuron_type", ["LIF", "EvoLIF", "Izhikevich"])
@pytest.mark.parametrize("t_len", [16, 64, 256, 1024])
def test_firing_rates_stay_in_range(neuron_type: str, t_len: int) -> None:
    """Default parameters, no retuning: 5-30 % of neuron-steps spike for T = 16..1024."""
    torch.manual_seed(5)
    attn = ChronoSpikeAttention(32, 4, neuron_type=neuron_type)  # type: ignore[arg-type]
    gaussian = torch.randn(2, t_len, 2, 32)
    spikes = (torch.rand(2, t_len, 2, 32) < 0.2).float()
    with torch.no_grad():
        for x in (gaussian, spikes):
            rate = float(attn(x).mean())
            assert 0.05 <= rate <= 0.30, rate


def test_bad_arguments() -> None:
    with pytest.raises(InvalidParameterError, match="input_dim"):
        ChronoSpikeAttention(10, 4)
    with pytest.raises(InvalidParameterError, match="tau"):
        ChronoSpikeAttention(8, 2, tau=(1.0, 2.0, 3.0))
    with pytest.raises(InvalidParameterError, match="tau"):
        ChronoSpikeAttention(8, 2, tau=-1.0)
    with pytest.raises(InvalidParameterError, match="neuron_type"):
        NeuronLayer("HH")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="score"):
        ChronoSpikeAttention(8, 2, score="softmax")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="time_steps"):
        ChronoSpikeAttention(8, 2).step(torch.zeros(1, 1, 8), ChronoState())
    from evospikenet.errors import ShapeMismatchError

    with pytest.raises(ShapeMismatchError, match="input_dim=8"):
        ChronoSpikeAttention(8, 2)(torch.zeros(1, 4, 8))


def test_trains_with_surrogate_gradients() -> None:
    """A few Adam steps lower a loss on the spike output (the surrogate path carries signal)."""
    torch.manual_seed(6)
    attn = ChronoSpikeAttention(8, 2)
    x = torch.randn(4, 20, 1, 8)
    target = torch.zeros(4, 20, 1, 8)
    target[..., :4] = 1.0
    opt = torch.optim.Adam(attn.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        loss = ((attn(x) - target) ** 2).mean()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first
