r"""The prefrontal cortex (PFC) of the distributed brain: task routing with Q-PFC modulation.

A task (text as UTF-8 bytes, or a spike train) goes through a
working memory of LIF neurons and :class:`~evospikenet.nn.ChronoSpikeAttention`; the
time-averaged spikes form a decision vector, a linear map gives one routing score per
module, and the softmax of the scores the routing probabilities. The Q-PFC quantities
(:class:`QuantumModulationSimulator`):

.. math::

    H = -\sum_{i=1}^{N} p_i \log p_i,\qquad
    \alpha = \cos^2\!\Big(\frac{\pi H}{2 \log N}\Big),\qquad
    \theta = \theta_{base}\,(0.5 + \alpha),\qquad
    T = \frac{1}{\alpha + 10^{-9}},\qquad p^{route} = \mathrm{softmax}(s / T)

(``log N`` is replaced by 1 when ``N < 2``: the seed's standalone mode, ``num_modules=0``).
``θ`` is the working memory's firing threshold on the next call.

Two feedback modes, both with the formulas above:

- ``"seed"``: the loop as the seed draws it, read as the issue does: ``α`` (hence ``T`` and
  ``θ`` of the next call) is computed from the entropy of the router's own output
  ``p^{route}``. Since ``T >= 1``, the output is at least as flat as the softmax, so ``H``
  rises, ``α`` falls and ``T`` grows: repeated application drives any router to the uniform
  distribution (a 0.78-of-5 router is uniform to 1e-6 after three rounds;
  :func:`seed_feedback_rounds`, ``tests/test_brain_pfc.py``).
- ``"open_loop"`` (shipped): ``α`` and ``T`` come from the entropy of the *untempered*
  softmax of the current input's scores, so ``T`` does not feed on its own output; the
  threshold feedback to the working memory (bounded: ``θ ∈ [0.5, 1.5] θ_base``) is kept.
  The router is trained with ``θ`` drawn from that whole range, so its decision does not
  depend on the fed-back threshold. Even open-loop, ``T = 1/α`` flattens an unsure router
  past any bound (an untempered normalised entropy above ~0.53 ends above 0.9 for
  ``N = 5``), so the temperature is capped by an *entropy budget*
  (``PFCConfig.max_route_entropy``, default 0.85): ``T = min(1/(α + ε), T_h)`` with
  ``T_h`` the temperature at which the normalised entropy of ``softmax(s / T)`` reaches the
  budget (:func:`budget_temperature`; found by bisection, as that entropy increases with
  ``T``). Tempering then explores as the seed intends but never past the budget, and a
  router already above it is left untempered (``T = 1``). Measured numbers:
  ``docs/brain-modules.md``.

References
----------
- C. Guo, G. Pleiss, Y. Sun, K. Q. Weinberger (2017), On calibration of modern neural
  networks. ICML 2017 (temperature and the confidence of a softmax).
"""

from __future__ import annotations

from evospikenet.nn import require_torch

require_torch("evospikenet.brain.pfc")

import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import threading  # noqa: E402
from collections.abc import Collection, Sequence  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib import resources  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Literal  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402, N812
from safetensors import SafetensorError  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from torch import Tensor, nn  # noqa: E402

from evospikenet._atomic import atomic_path  # noqa: E402
from evospikenet.errors import (  # noqa: E402
    DataLoadError,
    FileIOError,
    InvalidParameterError,
    ShapeMismatchError,
)
from evospikenet.nn.attention import ChronoSpikeAttention, lif_sequence  # noqa: E402

__all__ = [
    "DEFAULT_ROUTER",
    "EPSILON",
    "FALLBACK_MODULE",
    "MODULE_TYPES",
    "AdvancedPFCEngine",
    "ExecutiveControlEngine",
    "Goal",
    "PFCConfig",
    "PFCDecisionEngine",
    "PFCOutput",
    "QuantumModulationSimulator",
    "RoutingDecision",
    "RoutingTask",
    "budget_temperature",
    "default_router_path",
    "encode_text",
    "evaluate_routing",
    "load_router",
    "load_routing_tasks",
    "normalised_entropy",
    "save_router",
    "seed_feedback_rounds",
    "train_router",
]

#: ε of the routing temperature ``T = 1 / (α + ε)``.
EPSILON = 1e-9
#: Base module types the shipped router chooses between, in score order.
MODULE_TYPES = ("lang-main", "visual", "motor")
#: Where a task goes when its module has no active node.
FALLBACK_MODULE = "lang-main"
#: File name of the trained router inside ``evospikenet/brain/data``.
DEFAULT_ROUTER = "pfc_router.safetensors"
ROUTER_FORMAT = "evospikenet-pfc-router"
TASKS_FILE = "routing_tasks.json"
Feedback = Literal["seed", "open_loop"]


def _float(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError.of(name, value, "must be a number") from exc
    if not math.isfinite(out):
        raise InvalidParameterError.of(name, value, "must be finite")
    return out


def normalised_entropy(probs: Tensor) -> Tensor:
    r"""Shannon entropy of each row of ``probs`` divided by its maximum.

    Parameters
    ----------
    probs : Tensor, shape (..., N)
        Probability vectors (rows sum to 1).

    Returns
    -------
    Tensor, shape (...)
        ``H / log N`` in [0, 1] (``H / 1`` for ``N < 2``, where ``H = 0``); ``0 log 0 = 0``.
    """
    n = probs.shape[-1]
    h: Tensor = -torch.special.xlogy(probs, probs).sum(dim=-1)
    return h / (math.log(n) if n > 1 else 1.0)


@dataclass(frozen=True)
class QuantumModulationSimulator:
    r"""The Q-PFC modulation: ``α``, threshold and temperature from ``H``.

    Parameters
    ----------
    num_modules : int
        ``N``, the number of routing targets (0 allowed: standalone mode).
    base_threshold : float
        ``θ_base`` (> 0), in the working memory's threshold units.
    epsilon : float
        ``ε`` of the temperature (default ``1e-9``).

    Notes
    -----
    ``θ = π H / H_max``, ``α = cos²(θ / 2)``, ``threshold = θ_base (0.5 + α)``,
    ``T = 1 / (α + ε)``, with ``H_max = log N`` (1.0 when ``N < 2``, the seed's default for
    ``num_modules = 0``). ``α`` is 1 for a one-hot distribution, 0 for the uniform one.

    Raises
    ------
    InvalidParameterError
        ``num_modules < 0``, ``base_threshold <= 0`` or ``epsilon <= 0``.
    """

    num_modules: int
    base_threshold: float = 1.0
    epsilon: float = EPSILON

    def __post_init__(self) -> None:
        if int(self.num_modules) != self.num_modules or self.num_modules < 0:
            raise InvalidParameterError.of("num_modules", self.num_modules, "must be an int >= 0")
        if not _float("base_threshold", self.base_threshold) > 0:
            raise InvalidParameterError.of("base_threshold", self.base_threshold, "must be > 0")
        if not _float("epsilon", self.epsilon) > 0:
            raise InvalidParameterError.of("epsilon", self.epsilon, "must be > 0")

    @property
    def max_entropy(self) -> float:
        """``log N`` in nats, or 1.0 when ``N < 2``."""
        return math.log(self.num_modules) if self.num_modules > 1 else 1.0

    def alpha(self, entropy: Tensor) -> Tensor:
        """``α = cos²(π H / (2 H_max))`` of entropies ``H`` in nats (clamped to [0, H_max])."""
        h = entropy.clamp(0.0, self.max_entropy)
        return torch.cos(math.pi * h / (2.0 * self.max_entropy)) ** 2

    def threshold(self, alpha: Tensor) -> Tensor:
        """``θ_base (0.5 + α)``."""
        return self.base_threshold * (0.5 + alpha)

    def temperature(self, alpha: Tensor) -> Tensor:
        """``1 / (α + ε)``."""
        return 1.0 / (alpha + self.epsilon)

    def entropy(self, probs: Tensor) -> Tensor:
        """Entropy in nats of each row of ``probs`` (``0 log 0 = 0``)."""
        h: Tensor = -torch.special.xlogy(probs, probs).sum(dim=-1)
        return h


def seed_feedback_rounds(scores: Tensor, rounds: int) -> list[Tensor]:
    r"""Run the seed's loop on fixed scores: ``T`` recomputed from the entropy of its output.

    Round 0 routes with ``T = 1`` (plain softmax); round ``k`` with
    ``T_k = 1 / (α(H(p_{k-1})) + ε)``.

    Parameters
    ----------
    scores : Tensor, shape (N,) or (B, N)
        Routing scores.
    rounds : int
        Rounds after round 0 (>= 0).

    Returns
    -------
    list of Tensor
        ``rounds + 1`` probability tensors, each the shape of ``scores``.
    """
    qm = QuantumModulationSimulator(scores.shape[-1])
    temp = torch.ones(scores.shape[:-1], dtype=scores.dtype)
    out = []
    for _ in range(int(rounds) + 1):
        p = torch.softmax(scores / temp.unsqueeze(-1), dim=-1)
        out.append(p)
        temp = qm.temperature(qm.alpha(qm.entropy(p)))
    return out


def budget_temperature(scores: Tensor, max_entropy: float, *, iterations: int = 50) -> Tensor:
    r"""Return the largest temperature ``T >= 1`` keeping ``softmax(s / T)`` within a budget.

    The normalised entropy ``H(softmax(s / T)) / log N`` does not decrease with ``T``
    (its derivative is the variance of ``s`` under ``softmax(s / T)`` over ``T^3``), so
    ``T_h`` with ``H = max_entropy`` is found by bisection on ``log T``. Rows whose plain
    softmax is already at or above the budget (all scores equal, for one) get ``T = 1``;
    with ``N < 2`` or a budget of 1 every row gets ``inf`` (no cap). Scores so far apart that
    the budget is not reached by ``T = e^30`` get ``e^30``.

    Parameters
    ----------
    scores : Tensor, shape (B, N), float
        Routing scores (logits).
    max_entropy : float
        The budget, a normalised entropy in (0, 1].
    iterations : int
        Bisection steps on ``log T`` over ``[0, 30]`` (50 give ``T`` to a relative 1e-14).

    Returns
    -------
    Tensor, shape (B,)
        ``T_h`` per row, no gradient.

    Raises
    ------
    InvalidParameterError
        ``max_entropy`` outside (0, 1].
    """
    if not 0.0 < _float("max_entropy", max_entropy) <= 1.0:
        raise InvalidParameterError.of("max_entropy", max_entropy, "must be in (0, 1]")
    with torch.no_grad():
        s = scores.detach()
        b, n = s.shape

        def ent(t: Tensor) -> Tensor:
            return normalised_entropy(torch.softmax(s / t.unsqueeze(-1), dim=-1))

        lo = torch.zeros(b, dtype=s.dtype, device=s.device)
        hi = torch.full((b,), 30.0, dtype=s.dtype, device=s.device)
        if n < 2 or max_entropy >= 1.0:
            return torch.full((b,), math.inf, dtype=s.dtype, device=s.device)
        for _ in range(int(iterations)):
            mid = 0.5 * (lo + hi)
            over = ent(torch.exp(mid)) > max_entropy
            hi = torch.where(over, mid, hi)
            lo = torch.where(over, lo, mid)
        plain = ent(torch.ones_like(lo))
        return torch.where(plain >= max_entropy, torch.ones_like(lo), torch.exp(lo))


# -- the decision engine ------------------------------------------------------------


@dataclass(frozen=True)
class PFCConfig:
    """Hyper-parameters of :class:`PFCDecisionEngine`.

    Attributes
    ----------
    size : int
        Working-memory neurons = embedding width = decision-vector width ``D``.
    num_modules : int
        Routing targets ``N`` (0: standalone, no routing).
    n_heads : int
        Heads of the ChronoSpikeAttention (``size`` must be a multiple).
    vocab_size : int
        Byte vocabulary (256).
    max_bytes : int
        Longest input in bytes (time steps); longer text is cut.
    beta : float
        Working-memory LIF decay per time step (one byte).
    base_threshold : float
        ``θ_base`` of the working memory.
    taus : tuple of float
        Decay time constants of the attention mask, in time steps: one for all heads or one
        per head; empty: ``2, 4, 8, ...`` (``2^(h+1)`` for head ``h``).
    feedback : {'open_loop', 'seed'}
        Where ``α`` comes from (module docstring).
    max_route_entropy : float
        Entropy budget of the open-loop temperature, a normalised entropy in (0, 1]; 1
        turns the cap off (``T = 1/(α + ε)`` as written). Not used by ``"seed"``.
    modules : tuple of str
        Names of the routing targets (``num_modules`` of them, or empty).
    """

    size: int = 64
    num_modules: int = 3
    n_heads: int = 4
    vocab_size: int = 256
    max_bytes: int = 128
    beta: float = 0.8
    base_threshold: float = 1.0
    taus: tuple[float, ...] = ()
    feedback: Feedback = "open_loop"
    modules: tuple[str, ...] = ()
    max_route_entropy: float = 0.85

    def __post_init__(self) -> None:
        for name in ("size", "n_heads", "vocab_size", "max_bytes"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InvalidParameterError.of(name, v, "must be an int >= 1")
        if not isinstance(self.num_modules, int) or self.num_modules < 0:
            raise InvalidParameterError.of("num_modules", self.num_modules, "must be an int >= 0")
        if self.size % self.n_heads:
            raise InvalidParameterError.of(
                "size", self.size, f"must be a multiple of n_heads={self.n_heads}"
            )
        if len(self.taus) not in (0, 1, self.n_heads):
            raise InvalidParameterError.of(
                "taus", self.taus, f"give none, one, or one per head ({self.n_heads})"
            )
        if not 0.0 <= _float("beta", self.beta) <= 1.0:
            raise InvalidParameterError.of("beta", self.beta, "must be in [0, 1]")
        if not _float("base_threshold", self.base_threshold) > 0:
            raise InvalidParameterError.of("base_threshold", self.base_threshold, "must be > 0")
        if self.feedback not in ("open_loop", "seed"):
            raise InvalidParameterError.of(
                "feedback", self.feedback, "expected 'open_loop' or 'seed'"
            )
        if not 0.0 < _float("max_route_entropy", self.max_route_entropy) <= 1.0:
            raise InvalidParameterError.of(
                "max_route_entropy", self.max_route_entropy, "must be in (0, 1]"
            )
        if self.modules and len(self.modules) != self.num_modules:
            raise InvalidParameterError.of(
                "modules", self.modules, f"give num_modules={self.num_modules} names or none"
            )
        if len(set(self.modules)) != len(self.modules):
            raise InvalidParameterError.of("modules", self.modules, "names must be distinct")

    def to_json(self) -> str:
        """Return the config as canonical JSON text."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PFCConfig:
        """Parse :meth:`to_json` output.

        Raises
        ------
        InvalidParameterError
            Not a PFC config.
        """
        try:
            raw = json.loads(text)
            raw["taus"] = tuple(raw["taus"])
            raw["modules"] = tuple(raw["modules"])
            return cls(**raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidParameterError.of("config", text[:80], f"not a PFCConfig: {exc}") from exc


@dataclass
class PFCOutput:
    """What one pass of :class:`PFCDecisionEngine` returns (batch ``B``, time ``T``).

    Attributes
    ----------
    route_probs : Tensor, shape (B, N)
        ``softmax(scores / T)``.
    scores : Tensor, shape (B, N)
        Routing scores (logits).
    entropy : Tensor, shape (B,)
        Normalised entropy ``H / H_max`` of ``route_probs``, in [0, 1].
    alpha, threshold, temperature : Tensor, shape (B,)
        ``α`` (of this pass's feedback source), the working-memory threshold used in this
        pass, and the temperature applied.
    decision : Tensor, shape (B, D)
        Decision vector.
    spikes : Tensor, shape (B, T, D)
        Working-memory spikes (0/1).
    potential : Tensor or None, shape (B, T, D)
        Working-memory membrane potential after each step (threshold units, after reset);
        None in training mode.
    attention_spikes : Tensor, shape (B, T, D)
        ChronoSpikeAttention output spikes.
    """

    route_probs: Tensor
    scores: Tensor
    entropy: Tensor
    alpha: Tensor
    threshold: Tensor
    temperature: Tensor
    decision: Tensor
    spikes: Tensor
    potential: Tensor | None
    attention_spikes: Tensor


def encode_text(texts: Sequence[str | bytes], max_bytes: int) -> tuple[Tensor, Tensor]:
    """UTF-8 bytes of ``texts`` as a padded ``torch.long`` batch.

    Parameters
    ----------
    texts : sequence of str or bytes
        Non-empty texts (``str`` is encoded as UTF-8).
    max_bytes : int
        Cut each text to its first ``max_bytes`` bytes.

    Returns
    -------
    tokens : Tensor, int64, shape (B, L)
        Byte values 0-255, zero-padded to the longest text ``L``.
    lengths : Tensor, int64, shape (B,)

    Raises
    ------
    InvalidParameterError
        A text is empty or neither str nor bytes.
    """
    raw: list[bytes] = []
    for i, t in enumerate(texts):
        if isinstance(t, str):
            b = t.encode("utf-8")
        elif isinstance(t, (bytes, bytearray, memoryview)):
            b = bytes(t)
        else:
            raise InvalidParameterError.of(f"text[{i}]", type(t).__name__, "expected str or bytes")
        if not b:
            raise InvalidParameterError.of(f"text[{i}]", t, "must not be empty")
        raw.append(b[:max_bytes])
    if not raw:
        raise InvalidParameterError.of("texts", [], "give at least one text")
    width = max(len(b) for b in raw)
    tokens = torch.zeros((len(raw), width), dtype=torch.long)
    for i, b in enumerate(raw):
        tokens[i, : len(b)] = torch.frombuffer(bytearray(b), dtype=torch.uint8).long()
    return tokens, torch.tensor([len(b) for b in raw], dtype=torch.long)


class PFCDecisionEngine(nn.Module):
    r"""PFC decision engine: working memory, attention, routing, Q-PFC.

    Parameters
    ----------
    config : PFCConfig, optional
    **kwargs
        Fields of :class:`PFCConfig` (when ``config`` is not given).

    Notes
    -----
    One pass over input ``x`` (bytes ``(B, L)`` ``torch.long`` through an embedding
    ``256 × D``, or a float spike train ``(B, T, D)`` used directly):

    1. working memory, ``D`` LIF neurons with per-sample threshold ``θ``:
       ``v_t = β v_{t-1} + x_t``, spike ``s_t = [v_t ≥ θ]``, reset by subtraction;
    2. ``a = ChronoSpikeAttention(s)`` (causal, per-head decay ``taus``);
    3. decision vector ``d = tanh(W_d [r(s); r(a)] + b_d)`` with ``r`` the firing rate over
       the input's valid steps;
    4. scores ``z = W_r d + b_r``; ``p = softmax(z)``; Q-PFC (module docstring):
       ``α``, ``T``, ``p^{route} = softmax(z / T)``; the next pass uses
       ``θ = θ_base (0.5 + α)``.

    The feedback state (``α`` of the last pass) is a buffer; :meth:`reset_feedback` sets
    it to 1 (first pass: ``T = 1``, ``θ = 1.5 θ_base``). The engine starts in eval mode
    (membrane potentials are returned only there).
    """

    def __init__(self, config: PFCConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        if config is None:
            config = PFCConfig(**kwargs)
        elif kwargs:
            raise InvalidParameterError.of("kwargs", sorted(kwargs), "give config or fields")
        self.config = config
        d = config.size
        self.modulation = QuantumModulationSimulator(config.num_modules, config.base_threshold)
        self.embed = nn.Embedding(config.vocab_size, d)
        taus = config.taus or tuple(2.0 ** (h + 1) for h in range(config.n_heads))
        self.attention = ChronoSpikeAttention(d, config.n_heads, tau=taus)
        self.decision = nn.Linear(2 * d, d)
        # standalone (num_modules = 0): no router, empty scores
        self.router = nn.Linear(d, config.num_modules) if config.num_modules else None
        self.feedback_alpha: Tensor
        self.register_buffer("feedback_alpha", torch.ones(()), persistent=False)
        self.eval()  # an inference component; train_router switches to training mode

    @property
    def max_entropy(self) -> float:
        """``log N`` (1.0 in standalone mode, ``num_modules < 2``)."""
        return self.modulation.max_entropy

    def reset_feedback(self) -> None:
        """Forget the fed-back ``α`` (back to 1)."""
        self.feedback_alpha.fill_(1.0)

    def _check_input(self, x: Tensor) -> Tensor:
        cfg = self.config
        if x.dtype == torch.long:
            if x.ndim != 2:
                raise ShapeMismatchError(
                    f"shape mismatch for x: expected bytes (B, L), got {tuple(x.shape)}",
                    "x",
                    "(B, L)",
                    str(tuple(x.shape)),
                )
            if x.numel() and (int(x.min()) < 0 or int(x.max()) >= cfg.vocab_size):
                raise InvalidParameterError.of(
                    "x",
                    f"[{int(x.min())}, {int(x.max())}]",
                    f"bytes must be in [0, {cfg.vocab_size})",
                )
            out: Tensor = self.embed(x)
            return out
        if not x.is_floating_point() or x.ndim != 3 or x.shape[-1] != cfg.size:
            raise ShapeMismatchError(
                f"shape mismatch for x: expected spikes (B, T, {cfg.size}) float, "
                f"got {tuple(x.shape)} {x.dtype}",
                "x",
                f"(B, T, {cfg.size})",
                str(tuple(x.shape)),
            )
        return x

    def working_memory(
        self, drive: Tensor, threshold: Tensor, potentials: bool = True
    ) -> tuple[Tensor, Tensor | None]:
        """LIF working memory over the time axis.

        Parameters
        ----------
        drive : Tensor, shape (B, T, D)
            Input per step (threshold units).
        threshold : Tensor, shape (B,)
            Firing threshold per sample (> 0).
        potentials : bool
            Also return the membrane potentials (an extra pass without gradients).

        Returns
        -------
        spikes : Tensor, shape (B, T, D)
        potential : Tensor, shape (B, T, D), or None

        Notes
        -----
        With reset by subtraction the LIF is linear between spikes, so threshold ``θ`` on
        drive ``x`` fires exactly when threshold 1 fires on ``x / θ`` (and ``v = θ v'``):
        the spikes come from the fused :func:`~evospikenet.nn.attention.lif_sequence` on
        ``x / θ``.
        """
        beta = self.config.beta
        theta = threshold.view(-1, 1, 1)
        spikes = lif_sequence(drive / theta, beta, 1.0)
        if not potentials:
            return spikes, None
        with torch.no_grad():
            scaled = (drive / theta).detach()
            v = torch.zeros_like(scaled[:, 0])
            pots = torch.empty_like(scaled)
            for t in range(scaled.shape[1]):
                v = beta * v + scaled[:, t]
                v = v - spikes[:, t].detach()
                pots[:, t] = v
        return spikes, pots * theta

    def forward(
        self,
        x: Tensor,
        lengths: Tensor | None = None,
        threshold: Tensor | None = None,
        update_feedback: bool = True,
        alpha_prev: Tensor | None = None,
    ) -> PFCOutput:
        """One decision pass.

        Parameters
        ----------
        x : Tensor
            Bytes ``(B, L)`` int64 (vocabulary ``vocab_size``) or spikes ``(B, T, D)`` float.
        lengths : Tensor or None, int64, shape (B,)
            Valid steps of each row (default: all).
        threshold : Tensor or None, shape (B,)
            Working-memory threshold to use instead of the fed-back one (training).
        update_feedback : bool
            Store this pass's ``α`` as the feedback state (batch mean).
        alpha_prev : Tensor or None, shape (B,)
            Fed-back ``α`` per row, in place of the stored state (one feedback loop per
            row; :func:`evaluate_routing`).

        Returns
        -------
        PFCOutput

        Raises
        ------
        ShapeMismatchError
            ``x`` has the wrong rank or width.
        InvalidParameterError
            Byte values outside the vocabulary, lengths out of range, a threshold not > 0.
        """
        drive = self._check_input(x)
        b, t_len, _ = drive.shape
        if lengths is None:
            lengths = torch.full((b,), t_len, dtype=torch.long)
        if lengths.shape != (b,) or (
            t_len and (int(lengths.min()) < 1 or int(lengths.max()) > t_len)
        ):
            raise InvalidParameterError.of(
                "lengths", lengths.tolist(), f"need B={b} values in [1, {t_len}]"
            )
        qm = self.modulation
        if alpha_prev is None:
            prev = self.feedback_alpha.to(drive.dtype).expand(b)
        elif alpha_prev.shape != (b,) or not bool(torch.all((alpha_prev >= 0) & (alpha_prev <= 1))):
            raise InvalidParameterError.of(
                "alpha_prev", alpha_prev.tolist(), f"need B={b} values in [0, 1]"
            )
        else:
            prev = alpha_prev.to(drive.dtype)
        if threshold is None:
            theta = qm.threshold(prev)
        else:
            if threshold.shape != (b,) or not bool(torch.all(threshold > 0)):
                raise InvalidParameterError.of(
                    "threshold", threshold.tolist(), f"need B={b} values > 0"
                )
            theta = threshold.to(drive.dtype)
        lengths = lengths.to(drive.device)
        spikes, potential = self.working_memory(drive, theta, potentials=not self.training)
        attn = self.attention(spikes.unsqueeze(2)).squeeze(2)
        steps = torch.arange(t_len, device=drive.device)
        mask = (steps.view(1, -1) < lengths.view(-1, 1)).to(drive.dtype)
        denom = lengths.to(drive.dtype).view(-1, 1)
        rates = torch.cat(
            [
                (spikes * mask.unsqueeze(-1)).sum(1) / denom,
                (attn * mask.unsqueeze(-1)).sum(1) / denom,
            ],
            dim=-1,
        )
        decision = torch.tanh(self.decision(rates))
        scores = self.router(decision) if self.router is not None else decision.new_zeros(b, 0)
        if self.config.feedback == "seed":
            temp = qm.temperature(prev)
            probs = torch.softmax(scores / temp.unsqueeze(-1), dim=-1)
            alpha = qm.alpha(qm.entropy(probs))
        else:
            alpha = qm.alpha(qm.entropy(torch.softmax(scores, dim=-1)))
            temp = qm.temperature(alpha)
            if self.config.max_route_entropy < 1.0 and scores.shape[-1] > 1:
                cap = budget_temperature(scores, self.config.max_route_entropy)
                temp = torch.minimum(temp, cap.to(temp.dtype))
            probs = torch.softmax(scores / temp.unsqueeze(-1), dim=-1)
        if update_feedback:
            self.feedback_alpha.fill_(float(alpha.detach().mean()) if b else 1.0)
        return PFCOutput(
            route_probs=probs,
            scores=scores,
            entropy=normalised_entropy(probs),
            alpha=alpha,
            threshold=theta,
            temperature=temp,
            decision=decision,
            spikes=spikes,
            potential=potential,
            attention_spikes=attn,
        )


# -- executive control --------------------------------------------------------------


@dataclass(frozen=True)
class Goal:
    """A goal of the executive: its text, priority and encoding.

    Attributes
    ----------
    goal_id : int
    text : str
    priority : float
        > 0; higher first.
    encoding : numpy.ndarray, float32, shape (D,)
        The decision vector of the goal's text (same byte embedding and working memory as
        the tasks).
    """

    goal_id: int
    text: str
    priority: float
    encoding: np.ndarray = field(repr=False, compare=False)


@dataclass
class _Stats:
    decisions: int = 0
    outcomes: int = 0
    successes: int = 0
    fallbacks: int = 0
    entropy_sum: float = 0.0
    per_module: dict[str, int] = field(default_factory=dict)


class ExecutiveControlEngine:
    """Goals and performance bookkeeping of the PFC.

    Goals are encoded by the PFC's own encoder (:meth:`AdvancedPFCEngine.encode`); each
    routing decision is attributed to the goal whose encoding is most similar (cosine) to
    the task's decision vector, and outcomes are counted overall and per goal.
    """

    def __init__(self) -> None:
        self._goals: list[Goal] = []
        self._next_id = 0
        self._stats = _Stats()
        self._per_goal: dict[int, _Stats] = {}

    @property
    def goals(self) -> list[Goal]:
        """Goals, highest priority first (ties: oldest first)."""
        return sorted(self._goals, key=lambda g: (-g.priority, g.goal_id))

    def add_goal(self, text: str, priority: float, encoding: np.ndarray) -> Goal:
        """Add a goal; return it.

        Raises
        ------
        InvalidParameterError
            Empty text, or a priority that is not finite and > 0.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameterError.of("text", text, "a goal needs non-empty text")
        p = _float("priority", priority)
        if not p > 0:
            raise InvalidParameterError.of("priority", priority, "must be > 0")
        goal = Goal(self._next_id, text, p, np.asarray(encoding, dtype=np.float32))
        self._next_id += 1
        self._goals.append(goal)
        self._per_goal[goal.goal_id] = _Stats()
        return goal

    def remove_goal(self, goal_id: int) -> None:
        """Drop a goal (its statistics are kept).

        Raises
        ------
        InvalidParameterError
            No goal with that id.
        """
        for g in self._goals:
            if g.goal_id == goal_id:
                self._goals.remove(g)
                return
        raise InvalidParameterError.of("goal_id", goal_id, "no such goal")

    def relevant_goal(self, encoding: np.ndarray) -> tuple[Goal | None, float]:
        """Return the goal most similar to ``encoding`` (cosine) and the similarity."""
        best: Goal | None = None
        best_sim = -math.inf
        v = np.asarray(encoding, dtype=np.float64)
        nv = float(np.linalg.norm(v))
        for g in self.goals:
            ng = float(np.linalg.norm(g.encoding))
            sim = float(v @ g.encoding) / (nv * ng) if nv > 0 and ng > 0 else 0.0
            if sim > best_sim:
                best, best_sim = g, sim
        return best, (best_sim if best is not None else 0.0)

    def record_decision(
        self, module: str, entropy: float, fallback: bool, goal_id: int | None
    ) -> None:
        """Count one routing decision."""
        for st in (self._stats, self._per_goal.get(goal_id) if goal_id is not None else None):
            if st is None:
                continue
            st.decisions += 1
            st.entropy_sum += entropy
            st.fallbacks += int(fallback)
            st.per_module[module] = st.per_module.get(module, 0) + 1

    def record_outcome(self, success: bool, goal_id: int | None) -> None:
        """Count the outcome of a decision."""
        for st in (self._stats, self._per_goal.get(goal_id) if goal_id is not None else None):
            if st is None:
                continue
            st.outcomes += 1
            st.successes += int(bool(success))

    @staticmethod
    def _summary(st: _Stats) -> dict[str, Any]:
        return {
            "decisions": st.decisions,
            "outcomes": st.outcomes,
            "successes": st.successes,
            "success_rate": st.successes / st.outcomes if st.outcomes else None,
            "mean_entropy": st.entropy_sum / st.decisions if st.decisions else None,
            "fallbacks": st.fallbacks,
            "per_module": dict(sorted(st.per_module.items())),
        }

    def performance_stats(self) -> dict[str, Any]:
        """Totals and per-goal statistics (see :meth:`AdvancedPFCEngine.get_performance_stats`)."""
        out = self._summary(self._stats)
        out["goals"] = [
            {
                "goal_id": g.goal_id,
                "text": g.text,
                "priority": g.priority,
                **self._summary(self._per_goal[g.goal_id]),
            }
            for g in self.goals
        ]
        return out


@dataclass(frozen=True)
class RoutingDecision:
    """Where the PFC sends a task.

    Attributes
    ----------
    module : str
        Base module type that gets the task ("lang-main", "visual", "motor").
    probs : dict of str to float
        Routing probabilities ``softmax(z / T)`` per module.
    entropy : float
        Normalised entropy of ``probs``, in [0, 1].
    alpha, threshold, temperature : float
        Q-PFC ``α``, the working-memory threshold used, the temperature applied.
    fallback : bool
        True when the router's choice had no active node and the task went to lang-main.
    preferred : str
        The router's own choice (equals ``module`` unless ``fallback``).
    decision_id : int
        Serial number of the decision in its engine.
    goal_id : int or None
        The goal the decision is attributed to (most similar goal), if any.
    """

    module: str
    probs: dict[str, float]
    entropy: float
    alpha: float
    threshold: float
    temperature: float
    fallback: bool
    preferred: str
    decision_id: int
    goal_id: int | None = None


class AdvancedPFCEngine(PFCDecisionEngine):
    """PFC with executive control and the routing API of the brain nodes.

    Parameters
    ----------
    config : PFCConfig, optional
        ``config.modules`` names the routing targets (default :data:`MODULE_TYPES` when
        ``num_modules`` is 3).
    **kwargs
        Fields of :class:`PFCConfig`.

    Notes
    -----
    Thread-safe: :meth:`route`, :meth:`add_goal`, :meth:`record_outcome` and the getters
    hold one lock.
    """

    def __init__(self, config: PFCConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        cfg = self.config
        if not cfg.modules:
            if cfg.num_modules != len(MODULE_TYPES):
                raise InvalidParameterError.of(
                    "modules", (), f"name the {cfg.num_modules} modules (config.modules)"
                )
            self.config = dataclasses.replace(cfg, modules=MODULE_TYPES)
        self.module_types: tuple[str, ...] = self.config.modules
        self.executive = ExecutiveControlEngine()
        self._lock = threading.RLock()
        self._decisions = 0
        self._last: RoutingDecision | None = None
        self.metadata: dict[str, str] = {}
        self.eval()

    @torch.no_grad()
    def encode(self, text: str | bytes) -> np.ndarray:
        """Decision vector of ``text`` at the base threshold (no feedback update).

        Returns
        -------
        numpy.ndarray, float32, shape (D,)
        """
        tokens, lengths = encode_text([text], self.config.max_bytes)
        base = torch.full((1,), self.config.base_threshold)
        out = self.forward(tokens, lengths, threshold=base, update_feedback=False)
        return out.decision[0].numpy().astype(np.float32)

    def route(
        self, text: str | bytes, *, available: Collection[str] | None = None
    ) -> RoutingDecision:
        """Choose the module for a task.

        Parameters
        ----------
        text : str or bytes
            The task (UTF-8; cut to ``max_bytes``).
        available : collection of str or None
            Base module types with an active node; None: all. When the router's choice is
            not among them the task goes to :data:`FALLBACK_MODULE` (``fallback=True``).

        Returns
        -------
        RoutingDecision

        Raises
        ------
        InvalidParameterError
            Empty text.
        """
        tokens, lengths = encode_text([text], self.config.max_bytes)
        with self._lock, torch.no_grad():
            out = self.forward(tokens, lengths)
            probs = out.route_probs[0]
            preferred = self.module_types[int(torch.argmax(probs))]
            fallback = (
                available is not None
                and preferred not in available
                and preferred != FALLBACK_MODULE
            )
            module = FALLBACK_MODULE if fallback else preferred
            goal, _ = self.executive.relevant_goal(out.decision[0].numpy())
            decision = RoutingDecision(
                module=module,
                probs={m: float(p) for m, p in zip(self.module_types, probs.tolist(), strict=True)},
                entropy=float(out.entropy[0]),
                alpha=float(out.alpha[0]),
                threshold=float(out.threshold[0]),
                temperature=float(out.temperature[0]),
                fallback=fallback,
                preferred=preferred,
                decision_id=self._decisions,
                goal_id=goal.goal_id if goal is not None else None,
            )
            self._decisions += 1
            self._last = decision
            self.executive.record_decision(module, decision.entropy, fallback, decision.goal_id)
            return decision

    def record_outcome(self, decision: RoutingDecision, success: bool) -> None:
        """Count whether the module handled the task of ``decision`` successfully.

        Raises
        ------
        InvalidParameterError
            ``decision`` was not made by this engine.
        """
        if (
            not isinstance(decision, RoutingDecision)
            or not 0 <= decision.decision_id < self._decisions
        ):
            raise InvalidParameterError.of("decision", decision, "not a decision of this engine")
        with self._lock:
            self.executive.record_outcome(success, decision.goal_id)

    def add_goal(self, text: str, priority: float = 1.0) -> Goal:
        """Add a goal, encoded through the PFC's byte embedding and working memory.

        Raises
        ------
        InvalidParameterError
            Empty text or a priority not finite and > 0.
        """
        if not isinstance(text, str) or not text.strip():
            raise InvalidParameterError.of("text", text, "a goal needs non-empty text")
        with self._lock:
            return self.executive.add_goal(text, priority, self.encode(text))

    def get_performance_stats(self) -> dict[str, Any]:
        """Return the performance of the routing so far.

        Returns
        -------
        dict
            ``decisions``, ``outcomes``, ``successes``, ``success_rate`` (None before any
            outcome), ``mean_entropy`` (normalised; None before any decision),
            ``fallbacks``, ``per_module`` counts, and ``goals`` (the same per goal, with
            ``goal_id``, ``text``, ``priority``).
        """
        with self._lock:
            return self.executive.performance_stats()

    def control_state(self) -> dict[str, Any]:
        """Control state for a recorder: the last decision's Q-PFC quantities.

        Returns
        -------
        dict
            ``decision_id`` (-1 before any), ``alpha`` (the fed-back ``α``), ``entropy``,
            ``threshold`` (the working-memory threshold of the next pass),
            ``temperature``, ``probs`` (dict), ``module``.
        """
        with self._lock:
            alpha = float(self.feedback_alpha)
            nxt = float(self.modulation.threshold(torch.tensor(alpha)))
            last = self._last
            return {
                "decision_id": last.decision_id if last else -1,
                "alpha": alpha,
                "entropy": last.entropy if last else None,
                "threshold": nxt,
                "temperature": last.temperature if last else None,
                "probs": dict(last.probs) if last else {m: None for m in self.module_types},
                "module": last.module if last else None,
            }


# -- the labelled task set, training, files -----------------------------------------


@dataclass(frozen=True)
class RoutingTask:
    """A labelled prompt of the routing task set (``brain/data/routing_tasks.json``)."""

    text: str
    module: str
    split: str


def load_routing_tasks(path: str | Path | None = None) -> list[RoutingTask]:
    """Read the labelled routing prompts (default: the set shipped in the package).

    Returns
    -------
    list of RoutingTask
        ``split`` is ``"train"`` or ``"held_out"``.

    Raises
    ------
    FileIOError
        The file cannot be read.
    DataLoadError
        It is not a routing task file.
    """
    p = (
        Path(path)
        if path is not None
        else Path(str(resources.files("evospikenet.brain") / "data" / TASKS_FILE))
    )
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileIOError(f"cannot read routing tasks {p}: {exc}", str(p), exc.errno) from exc
    except ValueError as exc:
        raise DataLoadError(f"routing tasks {p} are not JSON: {exc}", str(p)) from exc
    if not isinstance(raw, dict) or raw.get("format") != "evospikenet-routing-tasks":
        raise DataLoadError(f"{p} is not an evospikenet routing task file", str(p))
    try:
        return [
            RoutingTask(str(r["text"]), str(r["module"]), str(r["split"])) for r in raw["tasks"]
        ]
    except (KeyError, TypeError) as exc:
        raise DataLoadError(f"routing tasks {p}: bad row ({exc})", str(p)) from exc


@torch.no_grad()
def evaluate_routing(
    engine: PFCDecisionEngine,
    tasks: Sequence[RoutingTask],
    modules: Sequence[str],
    *,
    rounds: int = 1,
    plain: bool = False,
) -> dict[str, float | int]:
    """Routing accuracy of ``engine`` on ``tasks``, after ``rounds`` repeated passes.

    Each task is routed ``rounds`` times in a row with its own feedback loop (its ``α``
    carried over from round to round, starting at 1; the tasks run as one batch, each
    with its own ``α``); the last round counts. ``plain=True``
    routes by ``softmax(z)`` at the base threshold, without any Q-PFC modulation (the
    baseline; ``rounds`` is then irrelevant).

    Returns
    -------
    dict
        ``accuracy`` (argmax; exact ties go to the first module, as ``torch.argmax``),
        ``p_correct`` (mean probability of the right module: the accuracy of sampling),
        ``mean_entropy``, ``max_entropy`` (normalised), ``n_above_0_9`` (tasks whose
        normalised entropy is above 0.9), ``n_uniform`` (above ``1 - 1e-6``: collapsed),
        ``n_tasks`` -- of the last round.
    """
    index = {m: i for i, m in enumerate(modules)}
    labels = torch.tensor([index[t.module] for t in tasks])
    tokens, lengths = encode_text([t.text for t in tasks], engine.config.max_bytes)
    if plain:
        base = torch.full((len(tasks),), engine.config.base_threshold)
        out = engine(tokens, lengths, threshold=base, update_feedback=False)
        probs = torch.softmax(out.scores, dim=-1)
    else:
        alpha = torch.ones(len(tasks))
        for _ in range(max(1, int(rounds))):
            out = engine(tokens, lengths, update_feedback=False, alpha_prev=alpha)
            alpha = out.alpha
        probs = out.route_probs
    ent = normalised_entropy(probs)
    return {
        "accuracy": float((probs.argmax(-1) == labels).float().mean()),
        "p_correct": float(probs.gather(1, labels.view(-1, 1)).mean()),
        "mean_entropy": float(ent.mean()),
        "max_entropy": float(ent.max()),
        "n_above_0_9": int((ent > 0.9).sum()),
        "n_uniform": int((ent > 1 - 1e-6).sum()),
        "n_tasks": len(tasks),
    }


def _augment(text: str, gen: torch.Generator, word_dropout: float) -> str:
    words = text.split()
    keep = (torch.rand(len(words), generator=gen) >= word_dropout).tolist()
    if not any(keep):
        keep[int(torch.randint(len(words), (1,), generator=gen))] = True
    out = " ".join(w for w, k in zip(words, keep, strict=True) if k)
    return out.lower() if float(torch.rand((), generator=gen)) < 1 / 3 else out


def train_router(
    tasks: Sequence[RoutingTask] | None = None,
    *,
    config: PFCConfig | None = None,
    seed: int = 0,
    epochs: int = 150,
    lr: float = 3e-3,
    word_dropout: float = 0.2,
) -> tuple[AdvancedPFCEngine, dict[str, Any]]:
    """Train the router on the ``train`` split (full batch, Adam, cross-entropy of ``z``).

    Each epoch draws, per prompt, ``α ~ U(0, 1)`` and runs the working memory at
    ``θ = θ_base (0.5 + α)``: the router learns to decide whatever threshold the
    feedback gives it. Each epoch also sees every prompt with words dropped (each with
    probability ``word_dropout``, at least one kept) and, with probability 1/3, lower-cased:
    a prompt's module should not hinge on one word or on case. Deterministic for a given
    ``seed`` (CPU).

    Returns
    -------
    engine : AdvancedPFCEngine
        In eval mode, feedback reset.
    report : dict
        ``seed``, ``epochs``, ``lr``, ``final_loss``, ``train_accuracy``.

    Raises
    ------
    InvalidParameterError
        No training tasks, or a task of a module the config does not name.
    """
    tasks = list(tasks) if tasks is not None else load_routing_tasks()
    cfg = config or PFCConfig(num_modules=len(MODULE_TYPES), modules=MODULE_TYPES)
    train = [t for t in tasks if t.split == "train"]
    if not train:
        raise InvalidParameterError.of("tasks", len(tasks), "no task has split 'train'")
    index = {m: i for i, m in enumerate(cfg.modules)}
    for t in train:
        if t.module not in index:
            raise InvalidParameterError.of("module", t.module, f"not one of {cfg.modules}")
    gen = torch.Generator().manual_seed(int(seed))
    torch.manual_seed(int(seed))
    engine = AdvancedPFCEngine(cfg)
    labels = torch.tensor([index[t.module] for t in train])
    opt = torch.optim.Adam(engine.parameters(), lr=lr)
    engine.train()
    loss = torch.zeros(())
    for _ in range(int(epochs)):
        texts = [_augment(t.text, gen, word_dropout) for t in train]
        tokens, lengths = encode_text(texts, cfg.max_bytes)
        alpha = torch.rand(len(train), generator=gen)
        theta = engine.modulation.threshold(alpha)
        out = engine(tokens, lengths, threshold=theta, update_feedback=False)
        loss = F.cross_entropy(out.scores, labels)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    engine.eval()
    engine.reset_feedback()
    acc = evaluate_routing(engine, train, cfg.modules, plain=True)["accuracy"]
    return engine, {
        "seed": int(seed),
        "epochs": int(epochs),
        "lr": float(lr),
        "word_dropout": float(word_dropout),
        "final_loss": float(loss.detach()),
        "train_accuracy": acc,
    }


def default_router_path() -> Path:
    """Path of the trained router shipped in the package."""
    return Path(str(resources.files("evospikenet.brain") / "data" / DEFAULT_ROUTER))


def save_router(
    path: str | Path, engine: PFCDecisionEngine, meta: dict[str, str] | None = None
) -> None:
    """Write the engine's weights and config to a safetensors file, atomically.

    Raises
    ------
    FileIOError
        The file cannot be written.
    """
    tensors = {k: v.detach().contiguous() for k, v in engine.state_dict().items()}
    metadata = {"format": ROUTER_FORMAT, "config": engine.config.to_json(), **(meta or {})}
    try:
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
            tmp.chmod(0o644)
    except OSError as exc:
        raise FileIOError(f"cannot write router {path}: {exc}", str(path), exc.errno) from exc


def load_router(path: str | Path | None = None) -> AdvancedPFCEngine:
    """Load a trained router (default: the one shipped in the package).

    Returns
    -------
    AdvancedPFCEngine
        In eval mode; ``engine.metadata`` holds the file's metadata (training report).

    Raises
    ------
    FileIOError
        The file does not exist or cannot be read.
    InvalidParameterError
        Not a PFC router file, or its tensors do not fit its config.
    """
    p = Path(path) if path is not None else default_router_path()
    if not p.is_file():
        raise FileIOError(f"router {p} does not exist", str(p))
    try:
        from safetensors import safe_open

        with safe_open(str(p), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
        tensors = load_file(str(p))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidParameterError.of("router", str(p), f"not a safetensors file ({exc})") from exc
    if meta.get("format") != ROUTER_FORMAT:
        raise InvalidParameterError.of("router", str(p), "not an EvoSpikeNet PFC router")
    engine = AdvancedPFCEngine(PFCConfig.from_json(meta["config"]))
    try:
        engine.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        last = str(exc).strip().splitlines()[-1].strip()
        raise InvalidParameterError.of(
            "router", str(p), f"tensors do not fit its config: {last}"
        ) from exc
    engine.eval()
    engine.metadata = meta
    return engine
