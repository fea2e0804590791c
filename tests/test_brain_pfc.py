"""The PFC (issue 13, seed 002 §4-5): Q-PFC formulas, the seed's collapse, the shipped router."""

from __future__ import annotations

import dataclasses
import itertools
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evospikenet.errors import (
    FileIOError,
    InvalidParameterError,
    ShapeMismatchError,
)

torch = pytest.importorskip("torch", reason="the torch extra is not installed")

from evospikenet.brain import pfc  # noqa: E402
from evospikenet.brain.pfc import (  # noqa: E402
    MODULE_TYPES,
    AdvancedPFCEngine,
    PFCConfig,
    PFCDecisionEngine,
    QuantumModulationSimulator,
    RoutingDecision,
    budget_temperature,
    encode_text,
    evaluate_routing,
    load_router,
    load_routing_tasks,
    normalised_entropy,
    seed_feedback_rounds,
)

# The confident router of the issue: top module 0.78 of 5, the rest equal.
CONFIDENT = torch.log(torch.tensor([0.78, 0.055, 0.055, 0.055, 0.055], dtype=torch.float64))


@pytest.fixture(scope="module")
def router() -> AdvancedPFCEngine:
    return load_router()


@pytest.fixture(scope="module")
def held_out() -> list[pfc.RoutingTask]:
    return [t for t in load_routing_tasks() if t.split == "held_out"]


# -- the formulas, against closed forms --------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, 5, 8])
def test_alpha_threshold_temperature_closed_forms(n: int) -> None:
    qm = QuantumModulationSimulator(n, base_threshold=2.0)
    h_max = math.log(n)
    assert qm.max_entropy == pytest.approx(h_max)
    h = torch.tensor([0.0, h_max / 2, h_max / 3, h_max], dtype=torch.float64)
    alpha = qm.alpha(h)
    # cos²(0) = 1, cos²(π/4) = 1/2, cos²(π/6) = 3/4, cos²(π/2) = 0 (float64 rounding: 1e-15)
    np.testing.assert_allclose(alpha.numpy(), [1.0, 0.5, 0.75, 0.0], atol=1e-15)
    np.testing.assert_allclose(qm.threshold(alpha).numpy(), 2.0 * (0.5 + alpha.numpy()))
    np.testing.assert_allclose(qm.temperature(alpha).numpy(), 1.0 / (alpha.numpy() + 1e-9))
    # entropy of the uniform distribution is log N; of a one-hot one 0
    assert float(qm.entropy(torch.full((n,), 1.0 / n, dtype=torch.float64))) == pytest.approx(h_max)
    assert float(qm.entropy(torch.eye(n, dtype=torch.float64)[0])) == 0.0


def test_modulation_rejects_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="num_modules"):
        QuantumModulationSimulator(-1)
    with pytest.raises(InvalidParameterError, match="base_threshold"):
        QuantumModulationSimulator(3, base_threshold=0.0)
    with pytest.raises(InvalidParameterError, match="epsilon"):
        QuantumModulationSimulator(3, epsilon=float("nan"))


@torch.no_grad()
def test_standalone_engine_has_max_entropy_one() -> None:
    eng = PFCDecisionEngine(num_modules=0, size=16, n_heads=2)
    assert eng.max_entropy == 1.0
    tokens, lengths = encode_text(["hello"], 64)
    out = eng(tokens, lengths)
    assert out.route_probs.shape == (1, 0)
    assert float(out.entropy[0]) == 0.0 and float(out.alpha[0]) == 1.0
    assert out.spikes.shape == out.potential.shape == (1, 5, 16)
    assert set(out.spikes.unique().tolist()) <= {0.0, 1.0}


@torch.no_grad()
def test_bytes_and_spike_trains_are_both_inputs() -> None:
    eng = PFCDecisionEngine(num_modules=3, size=16, n_heads=2)
    tokens, lengths = encode_text(["abc", "longer text"], 64)
    assert tokens.dtype == torch.long and tokens.shape == (2, 11)
    assert lengths.tolist() == [3, 11]
    out = eng(tokens, lengths)
    assert out.route_probs.shape == (2, 3)
    torch.testing.assert_close(out.route_probs.sum(-1), torch.ones(2))
    spikes = (torch.rand(2, 7, 16, generator=torch.Generator().manual_seed(0)) < 0.3).float()
    out = eng(spikes)
    assert out.spikes.shape == (2, 7, 16)
    with pytest.raises(ShapeMismatchError, match="x"):
        eng(torch.zeros(2, 7, 15))
    with pytest.raises(ShapeMismatchError, match="x"):
        eng(torch.zeros(2, 3, 4, dtype=torch.long))
    with pytest.raises(InvalidParameterError, match="x"):
        eng(torch.tensor([[0, 256]]))
    with pytest.raises(InvalidParameterError, match="text"):
        encode_text([""], 64)
    with pytest.raises(InvalidParameterError, match="threshold"):
        eng(tokens, lengths, threshold=torch.tensor([1.0, 0.0]))
    with pytest.raises(InvalidParameterError, match="lengths"):
        eng(tokens, torch.tensor([0, 11]))


def test_threshold_is_a_scale_of_the_drive() -> None:
    # The working memory with threshold θ fires like threshold 1 on x / θ (reset by
    # subtraction is linear): compare with a direct step loop at threshold θ.
    eng = PFCDecisionEngine(num_modules=2, size=8, n_heads=2)
    drive = torch.randn(3, 20, 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    theta = torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)
    spikes, pots = eng.working_memory(drive, theta)
    v = torch.zeros(3, 8, dtype=torch.float64)
    for t in range(20):
        v = eng.config.beta * v + drive[:, t]
        s = (v >= theta.view(-1, 1)).double()
        v = v - s * theta.view(-1, 1)
        torch.testing.assert_close(spikes[:, t], s)
        assert pots is not None
        torch.testing.assert_close(pots[:, t], v)


# -- the seed's loop collapses; the shipped one does not ----------------------------------


def test_seed_loop_drives_a_confident_router_to_uniform_in_three_rounds() -> None:
    rounds = seed_feedback_rounds(CONFIDENT, 3)
    assert float(rounds[0][0]) == pytest.approx(0.78)
    # T >= 1 always, so each round is flatter than the one before
    tops = [float(p[0]) for p in rounds]
    assert tops == sorted(tops, reverse=True)
    # round 1: H/H_max = 0.517, α = 0.474, T = 2.11; round 2: T = 32; round 3: T ≈ 1.6e6,
    # uniform to 1e-6 (the residual is the logit gap 2.65 / T)
    assert torch.max(torch.abs(rounds[3] - 0.2)) < 1e-6
    assert float(normalised_entropy(rounds[3])) > 1 - 1e-10


def _fixed_router(feedback: str, max_route_entropy: float = 0.85) -> PFCDecisionEngine:
    """An engine whose scores are CONFIDENT whatever the input (router weights 0)."""
    eng = PFCDecisionEngine(
        num_modules=5, size=16, n_heads=2, feedback=feedback, max_route_entropy=max_route_entropy
    )
    with torch.no_grad():
        eng.router.weight.zero_()
        eng.router.bias.copy_(CONFIDENT.float())
    return eng


@torch.no_grad()
def test_engine_in_seed_mode_collapses_and_open_loop_does_not() -> None:
    tokens, lengths = encode_text(["Balance the pole."], 64)
    seed = _fixed_router("seed")
    ent = [float(seed(tokens, lengths).entropy[0]) for _ in range(4)]
    assert ent[0] == pytest.approx(0.5167, abs=1e-3)  # plain softmax, T = 1
    assert ent[-1] > 1 - 1e-6  # three rounds later: uniform
    as_written = _fixed_router("open_loop", max_route_entropy=1.0)
    ent = [float(as_written(tokens, lengths).entropy[0]) for _ in range(20)]
    # α from the untempered softmax: the same T = 2.112 every round, H/H_max = 0.88812 for ever
    assert max(ent) - min(ent) < 1e-5
    assert max(ent) == pytest.approx(0.8881173, abs=1e-6)  # float32 engine
    shipped = _fixed_router("open_loop")
    ent = [float(shipped(tokens, lengths).entropy[0]) for _ in range(20)]
    # the entropy budget (0.85) binds: T is cut to the temperature reaching it
    assert max(ent) - min(ent) < 1e-5
    assert max(ent) == pytest.approx(0.85, abs=1e-5)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(2, 8).flatmap(
        lambda n: st.lists(
            st.lists(st.floats(-8.0, 8.0, allow_nan=False), min_size=n, max_size=n),
            min_size=1,
            max_size=6,
        )
    ),
    st.floats(0.05, 0.99),
)
def test_budget_temperature_reaches_the_budget_and_no_further(
    rows: list[list[float]], budget: float
) -> None:
    scores = torch.tensor(rows, dtype=torch.float64)
    temp = budget_temperature(scores, budget)
    assert temp.shape == (len(rows),) and bool(torch.all(temp >= 1.0))
    plain = normalised_entropy(torch.softmax(scores, dim=-1))
    for i in range(len(rows)):
        t = float(temp[i])
        if float(plain[i]) >= budget:  # already unsure: left untempered
            assert t == 1.0
            continue
        h = float(normalised_entropy(torch.softmax(scores[i] / t, dim=-1)))
        # bisection to 50 halvings of log T in [0, 30]: H within 1e-9 of the budget, or T at
        # the bracket's top (scores so far apart that H stays below the budget up to e^30)
        assert h <= budget + 1e-9
        assert h == pytest.approx(budget, abs=1e-7) or t > math.exp(29.0)
        # and tempering keeps the order of the modules
        order = torch.argsort(scores[i], stable=True)
        tempered = torch.softmax(scores[i] / t, -1)[order]
        assert bool(torch.all(tempered[1:] >= tempered[:-1]))


def test_budget_temperature_rejects_bad_budgets() -> None:
    for bad in (0.0, -0.1, 1.5, float("nan")):
        with pytest.raises(InvalidParameterError, match="max_entropy"):
            budget_temperature(torch.zeros(1, 3), bad)
    with pytest.raises(InvalidParameterError, match="max_route_entropy"):
        PFCConfig(max_route_entropy=0.0)
    assert budget_temperature(torch.zeros(2, 3), 0.5).tolist() == [1.0, 1.0]  # uniform already
    assert bool(torch.isinf(budget_temperature(torch.zeros(2, 3), 1.0)).all())  # no cap


def test_shipped_router_keeps_entropy_and_accuracy(
    router: AdvancedPFCEngine, held_out: list[pfc.RoutingTask]
) -> None:
    plain = evaluate_routing(router, held_out, router.module_types, plain=True)
    shipped = evaluate_routing(router, held_out, router.module_types, rounds=20)
    # the claims of docs/brain.md: at least plain softmax's accuracy, entropy far below 0.9
    assert shipped["accuracy"] >= plain["accuracy"] >= 0.9
    assert shipped["mean_entropy"] < 0.5
    assert shipped["n_uniform"] == 0
    # no held-out prompt above 0.9 after 20 rounds: the budget (0.85) caps the tempering of
    # the one prompt the router is unsure of (untempered 0.63; 0.905 with T = 1/α uncapped)
    assert shipped["n_above_0_9"] == 0 and shipped["max_entropy"] <= 0.85 + 1e-6
    # the seed's loop on the same router: every task the router is less than ~0.99 sure
    # of flattens to uniform (7 of 36 held-out tasks), whatever the module was
    seed = dataclasses.replace(router.config, feedback="seed")
    collapsing = AdvancedPFCEngine(seed)
    collapsing.load_state_dict(router.state_dict())
    flat = evaluate_routing(collapsing, held_out, router.module_types, rounds=20)
    assert flat["n_uniform"] >= 5
    assert flat["mean_entropy"] > shipped["mean_entropy"]


def test_training_is_deterministic_and_learns() -> None:
    tasks = load_routing_tasks()
    cfg = PFCConfig(size=16, n_heads=2, num_modules=3, modules=MODULE_TYPES)
    a, rep_a = pfc.train_router(tasks, config=cfg, seed=5, epochs=3)
    b, _ = pfc.train_router(tasks, config=cfg, seed=5, epochs=3)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(v, b.state_dict()[k], rtol=0, atol=0)
    assert rep_a["epochs"] == 3 and 0.0 <= rep_a["train_accuracy"] <= 1.0
    with pytest.raises(InvalidParameterError, match="tasks"):
        pfc.train_router([t for t in tasks if t.split == "held_out"], config=cfg, epochs=1)


# -- the API of the brain nodes -----------------------------------------------------------


def test_route_picks_modules_and_falls_back(router: AdvancedPFCEngine) -> None:
    d = router.route("What digit is shown in this picture?")
    assert isinstance(d, RoutingDecision)
    assert d.module == d.preferred == "visual" and not d.fallback
    assert sum(d.probs.values()) == pytest.approx(1.0, abs=1e-6)
    assert set(d.probs) == set(MODULE_TYPES)
    assert 0.0 <= d.entropy <= 1.0 and 0.0 <= d.alpha <= 1.0
    assert d.temperature == pytest.approx(1.0 / (d.alpha + 1e-9), rel=1e-6)  # within budget
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.module = "motor"  # type: ignore[misc]
    d = router.route(b"Balance the pole on the cart.", available={"lang-main", "visual"})
    assert d.preferred == "motor" and d.module == "lang-main" and d.fallback
    d = router.route("Write a poem about rain.", available=set())
    assert d.module == "lang-main" and not d.fallback
    with pytest.raises(InvalidParameterError, match="text"):
        router.route("")


def test_goals_are_encoded_through_the_byte_embedding() -> None:
    eng = load_router()
    g1 = eng.add_goal("Recognise handwritten digits in images", priority=2.0)
    g2 = eng.add_goal("Balance the pole on the cart", priority=1.0)
    np.testing.assert_array_equal(g1.encoding, eng.encode("Recognise handwritten digits in images"))
    assert not np.allclose(g1.encoding, g2.encoding)
    assert [g.goal_id for g in eng.executive.goals] == [g1.goal_id, g2.goal_id]
    # the same bytes through a fresh engine of the same weights: the same encoding
    np.testing.assert_array_equal(load_router().encode("Balance the pole on the cart"), g2.encoding)
    with pytest.raises(InvalidParameterError, match="priority"):
        eng.add_goal("x", priority=0.0)
    with pytest.raises(InvalidParameterError, match="text"):
        eng.add_goal("  ")
    d1 = eng.route("Which digit is in this image?")
    d2 = eng.route("Keep the pendulum upright.")
    assert d1.goal_id == g1.goal_id and d2.goal_id == g2.goal_id
    eng.record_outcome(d1, True)
    eng.record_outcome(d2, False)
    stats = eng.get_performance_stats()
    assert stats["decisions"] == 2 and stats["outcomes"] == 2
    assert stats["success_rate"] == 0.5
    assert stats["mean_entropy"] == pytest.approx((d1.entropy + d2.entropy) / 2)
    assert stats["per_module"] == {"motor": 1, "visual": 1}
    assert [g["decisions"] for g in stats["goals"]] == [1, 1]
    with pytest.raises(InvalidParameterError, match="decision"):
        load_router().record_outcome(d1, True)


def test_control_state_for_the_recorder(router: AdvancedPFCEngine) -> None:
    eng = load_router()
    empty = eng.control_state()
    assert empty["decision_id"] == -1 and empty["alpha"] == 1.0
    d = eng.route("Move the cart to the left.")
    state = eng.control_state()
    assert state["decision_id"] == d.decision_id and state["probs"] == d.probs
    assert state["alpha"] == pytest.approx(d.alpha, abs=1e-6)
    assert state["threshold"] == pytest.approx(
        eng.config.base_threshold * (0.5 + d.alpha), abs=1e-6
    )


def test_router_file_roundtrip_and_errors(router: AdvancedPFCEngine, tmp_path: Path) -> None:
    path = tmp_path / "r.safetensors"
    pfc.save_router(path, router, {"note": "x"})
    back = load_router(path)
    assert back.metadata["note"] == "x" and back.config == router.config
    text = "Describe the picture."
    assert back.route(text).probs == pytest.approx(load_router().route(text).probs)
    with pytest.raises(FileIOError, match="does not exist"):
        load_router(tmp_path / "missing.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file")
    with pytest.raises(InvalidParameterError, match="router"):
        load_router(bad)
    assert "held_out_plain" in router.metadata


def test_pfc_without_torch_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from evospikenet.errors import MissingExtraError\n"
        "try:\n    import evospikenet.brain.pfc\n"
        "except MissingExtraError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "pip install 'evospikenet[torch]'" in out


@given(
    scores=st.lists(
        st.floats(-8.0, 8.0, allow_nan=False, allow_infinity=False), min_size=2, max_size=6
    )
)
@settings(max_examples=60, deadline=None)
def test_temperature_never_sharpens_and_the_seed_loop_only_flattens(scores: list[float]) -> None:
    z = torch.tensor(scores, dtype=torch.float64)
    qm = QuantumModulationSimulator(len(scores))
    p0 = torch.softmax(z, -1)
    alpha = qm.alpha(qm.entropy(p0))
    assert 0.0 <= float(alpha) <= 1.0
    temp = qm.temperature(alpha)
    assert float(temp) >= 1.0
    # T >= 1 cannot lower the entropy (docs/brain-modules.md): the open-loop output is at
    # least as uncertain as the plain softmax (1e-12: float64 rounding)
    h_open = float(normalised_entropy(torch.softmax(z / temp, -1)))
    assert h_open >= float(normalised_entropy(p0)) - 1e-12
    # the seed's loop: entropy never decreases from round to round
    ents = [float(normalised_entropy(p)) for p in seed_feedback_rounds(z, 6)]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(ents))
