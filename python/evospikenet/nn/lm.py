r"""SpikingEvoSpikeNetLM: the byte-level spiking language model.

Each token position is one time step of the spiking network. A block keeps a real-valued
residual stream (the membrane shortcut of spike-driven transformers) and talks to it
only through spikes:

.. math::

    s &= \mathrm{LIF}(\mathrm{LN}(x)),\qquad
    x \leftarrow x + g \odot \mathrm{ChronoSpikeAttention}(s)\\
    h &= \mathrm{LIF}(\mathrm{LN}(W_1\, \mathrm{LIF}(\mathrm{LN}(x)))),\qquad
    x \leftarrow x + W_2 h

With ``token_shift`` (the default) the spikes ``s`` into the attention and ``W_1`` pass
through delayed synapses, ``mu s_t + (1 - mu) s_{t-1}`` per channel (``mu`` learned);
with ``spike_levels = K > 1`` (the default is 4) the LIF neurons emit graded spikes
``0..K`` (integer-valued, Luo et al. 2024) instead of binary ones.

The projections ``W_q, W_k, W_v, W_1, W_2`` see spikes, so each is a sum of the weights
of the neurons that fired, a graded spike ``k`` adding its weight ``k`` times
(accumulates, no multiplies); the attention scores,
``W_out`` and the read-out are multiply-accumulates (see :func:`ops_per_token`).
Training uses surrogate gradients (:mod:`evospikenet.nn.attention`). Decoding runs
token by token with cached keys/values and membrane states (:meth:`SpikingEvoSpikeNetLM.step`).

:class:`TransformerLM` is the non-spiking baseline of (nearly) equal parameter count:
a pre-LayerNorm GPT (Radford et al. 2019) with learned positions and causal softmax
attention.

References
----------
- M. Yao et al. (2023), Spike-driven Transformer. NeurIPS 2023. arXiv:2307.01694
- R.-J. Zhu et al. (2023), SpikeGPT: generative pre-trained language model with spiking
  neural networks. arXiv:2302.13939
- A. Radford et al. (2019), Language models are unsupervised multitask learners.
- X. Luo et al. (2024), Integer-valued training and spike-driven inference spiking neural
  network for high-performance and energy-efficient object detection. ECCV 2024.
  arXiv:2407.20708 (graded, integer-valued spikes)
- B. Peng et al. (2023), RWKV: reinventing RNNs for the transformer era. arXiv:2305.13048
  (token shift)
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from evospikenet.errors import InvalidParameterError
from evospikenet.nn.attention import ChronoSpikeAttention, ChronoState, NeuronLayer, NeuronState

__all__ = [
    "ARCHITECTURES",
    "LMConfig",
    "SpikingEvoSpikeNetLM",
    "TransformerLM",
    "build_model",
    "ops_per_token",
]

Kind = Literal["spiking", "transformer"]


@dataclass(frozen=True)
class LMConfig:
    """Hyper-parameters of the language models (both kinds).

    Attributes
    ----------
    vocab_size : int
        256 (bytes).
    d_model, n_layers, n_heads, d_ff : int
        Width, depth, heads, hidden width of the feed-forward part.
    context : int
        Training window in tokens (= time steps).
    taus : tuple of float
        Per-head decay time constants of the ChronoSpikeAttention mask, in tokens.
    beta, threshold : float
        LIF decay per token and threshold.
    neuron_type, score, surrogate : str
        See :class:`~evospikenet.nn.attention.ChronoSpikeAttention`.
    spike_levels : int
        Largest spike value of every neuron layer: 1 gives binary spikes, ``K > 1``
        graded (integer-valued) spikes ``0..K`` (see
        :func:`~evospikenet.nn.attention.lif_sequence`).
    token_shift : bool
        Delayed synapses: the spikes entering ChronoSpikeAttention and ``W_1`` reach them
        through two synapse sets, one now and one a byte later, mixed per channel
        (``mu s_t + (1 - mu) s_{t-1}``, ``mu`` learned; the token shift of RWKV and
        SpikeGPT).
    learn_beta : bool
        Learn each neuron layer's decay ``beta`` (one per layer, from ``beta``).
    substeps : int
        Neuron steps per byte (the input held, the spikes summed; see
        :class:`~evospikenet.nn.attention.NeuronLayer`).

    Configs without ``spike_levels`` and ``token_shift`` (older checkpoints) read as
    ``spike_levels=1``, ``token_shift=False``; without the last two, as no learned decay
    and one step per byte.
    """

    vocab_size: int = 256
    d_model: int = 128
    n_layers: int = 3
    n_heads: int = 4
    d_ff: int = 512
    context: int = 64
    taus: tuple[float, ...] = (2.0, 8.0, 32.0, 128.0)
    beta: float = 0.5
    threshold: float = 1.0
    neuron_type: str = "LIF"
    score: str = "sigmoid"
    surrogate: str = "fast_sigmoid"
    spike_levels: int = 4
    token_shift: bool = True
    learn_beta: bool = False
    substeps: int = 1

    def to_json(self) -> str:
        """Return the config as canonical JSON text."""
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> LMConfig:
        """Parse :meth:`to_json` output.

        Raises
        ------
        InvalidParameterError
            Unknown or missing fields.
        """
        try:
            raw = json.loads(text)
            raw["taus"] = tuple(raw["taus"])
            # Checkpoints written before these fields existed hold binary spikes and
            # no delayed synapses.
            for name, legacy in _LEGACY.items():
                raw.setdefault(name, legacy)
            return cls(**raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise InvalidParameterError.of("config", text[:80], f"not an LMConfig: {exc}") from exc


#: Values of fields added after the first checkpoints, for configs that lack them.
_LEGACY: dict[str, Any] = {
    "spike_levels": 1,
    "token_shift": False,
    "learn_beta": False,
    "substeps": 1,
}


class _SpikingBlock(nn.Module):
    def __init__(self, cfg: LMConfig) -> None:
        super().__init__()
        d = cfg.d_model
        neuron: dict[str, Any] = {
            "neuron_type": cfg.neuron_type,
            "beta": cfg.beta,
            "threshold": cfg.threshold,
            "surrogate": cfg.surrogate,
            "levels": cfg.spike_levels,
            "learn_beta": cfg.learn_beta,
            "substeps": cfg.substeps,
        }
        self.ln_in = nn.LayerNorm(d)
        self.lif_in = NeuronLayer(**neuron)
        self.attn = ChronoSpikeAttention(
            d,
            cfg.n_heads,
            tau=cfg.taus,
            score=cfg.score,  # type: ignore[arg-type]
            **neuron,
        )
        self.gain = nn.Parameter(torch.full((d,), 0.1))
        self.ln_ff = nn.LayerNorm(d)
        self.lif_ff = NeuronLayer(**neuron)
        self.fc1 = nn.Linear(d, cfg.d_ff)
        self.ln_h = nn.LayerNorm(cfg.d_ff)
        self.lif_h = NeuronLayer(**neuron)
        self.fc2 = nn.Linear(cfg.d_ff, d)
        self.mix: nn.Parameter | None = None
        self.mix_ff: nn.Parameter | None = None
        if cfg.token_shift:
            # Delayed synapses: per channel, mu of the spike goes in now, 1 - mu one
            # step (byte) later.
            self.mix = nn.Parameter(torch.linspace(1.0, 0.0, d))
            self.mix_ff = nn.Parameter(torch.linspace(1.0, 0.0, d))

    @staticmethod
    def _shift(s: Tensor, mix: Tensor | None) -> Tensor:
        if mix is None:
            return s
        prev = F.pad(s, (0, 0, 1, 0))[:, :-1]
        return torch.lerp(prev, s, mix)

    @staticmethod
    def _shift_step(s: Tensor, mix: Tensor | None, state: NeuronState) -> Tensor:
        if mix is None:
            return s
        prev = state.v if state.v is not None else torch.zeros_like(s)
        state.v = s
        return torch.lerp(prev, s, mix)

    def forward(self, x: Tensor, counts: list[Tensor]) -> Tensor:
        s = self.lif_in(self.ln_in(x))
        a = self.attn(self._shift(s, self.mix).unsqueeze(2)).squeeze(2)
        x = x + a * self.gain
        s2 = self.lif_ff(self.ln_ff(x))
        h = self.lif_h(self.ln_h(self.fc1(self._shift(s2, self.mix_ff))))
        counts.extend(t.detach().mean(dim=(0, 1)).sum() for t in (s, a, s2, h))
        out: Tensor = x + self.fc2(h)
        return out

    def step(self, x: Tensor, state: list[Any]) -> Tensor:
        n_in, attn, n_ff, n_h, prev, prev_ff = state
        s = self.lif_in.step(self.ln_in(x), n_in)
        a = self.attn.step(self._shift_step(s, self.mix, prev).unsqueeze(1), attn).squeeze(1)
        x = x + a * self.gain
        s2 = self.lif_ff.step(self.ln_ff(x), n_ff)
        h = self.lif_h.step(self.ln_h(self.fc1(self._shift_step(s2, self.mix_ff, prev_ff))), n_h)
        out: Tensor = x + self.fc2(h)
        return out


class SpikingEvoSpikeNetLM(nn.Module):
    """Byte-level spiking language model built from ChronoSpikeAttention blocks.

    Parameters
    ----------
    config : LMConfig

    Notes
    -----
    :meth:`forward` maps tokens (B, T) int64 to logits (B, T, 256) float32, causally;
    :attr:`spike_density` is the number of spikes per neuron-step in the last call (the
    fraction of neuron-steps with a spike for binary spikes; a graded spike of value
    ``k`` counts ``k``).
    """

    kind: Kind = "spiking"

    def __init__(self, config: LMConfig | None = None) -> None:
        super().__init__()
        self.config = config or LMConfig()
        cfg = self.config
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(_SpikingBlock(cfg) for _ in range(cfg.n_layers))
        self.ln_out = nn.LayerNorm(cfg.d_model)
        self.spike_density = 0.0
        self.layer_rates: list[float] = []
        self.logit_scale = 1.0 / math.sqrt(cfg.d_model)
        nn.init.normal_(self.embed.weight, std=1.0)

    def forward(self, tokens: Tensor) -> Tensor:
        """Return logits (B, T, 256) of the next byte at each position."""
        x = self.embed(tokens)
        counts: list[Tensor] = []
        for block in self.blocks:
            x = block(x, counts)
        cfg = self.config
        sizes = [cfg.d_model, cfg.d_model, cfg.d_model, cfg.d_ff] * cfg.n_layers
        self.layer_rates = [float(c) / n for c, n in zip(counts, sizes, strict=True)]
        self.spike_density = float(sum(float(c) for c in counts)) / sum(sizes)
        logits: Tensor = (self.ln_out(x) * self.logit_scale) @ self.embed.weight.T
        return logits

    def init_state(self) -> list[list[Any]]:
        """Return a fresh decode state (membranes at rest, empty key/value caches).

        Per block: the four neuron layers' states (the attention's in its
        :class:`ChronoState`) and the previous spikes of the two delayed synapse sets.
        """
        states: list[list[Any]] = []
        for _ in self.blocks:
            neurons = [NeuronState(), ChronoState(), NeuronState(), NeuronState()]
            states.append([*neurons, NeuronState(), NeuronState()])
        return states

    def step(self, tokens: Tensor, state: list[list[Any]]) -> Tensor:
        """Consume one token per sequence, ``tokens`` (B,) int64; return logits (B, 256)."""
        x = self.embed(tokens)
        for block, st in zip(self.blocks, state, strict=True):
            assert isinstance(block, _SpikingBlock)
            x = block.step(x, st)
        logits: Tensor = (self.ln_out(x) * self.logit_scale) @ self.embed.weight.T
        return logits


class _Block(nn.Module):
    def __init__(self, cfg: LMConfig, d_ff: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.fc1 = nn.Linear(cfg.d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, cfg.d_model)
        self.n_heads = cfg.n_heads

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, t, d))
        out: Tensor = x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        return out


class TransformerLM(nn.Module):
    """Non-spiking baseline: a pre-LN GPT with (nearly) the parameter count of the spiking LM.

    Its feed-forward width is reduced so that the learned position table does not make it
    larger than :class:`SpikingEvoSpikeNetLM` of the same config.
    """

    kind: Kind = "transformer"

    def __init__(self, config: LMConfig | None = None) -> None:
        super().__init__()
        self.config = config or LMConfig()
        cfg = self.config
        extra = cfg.context * cfg.d_model
        d_ff = cfg.d_ff - round(extra / (cfg.n_layers * (2 * cfg.d_model + 1)))
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.pos = nn.Parameter(torch.zeros(cfg.context, cfg.d_model))
        self.blocks = nn.ModuleList(_Block(cfg, d_ff) for _ in range(cfg.n_layers))
        self.ln_out = nn.LayerNorm(cfg.d_model)
        self.spike_density = 0.0
        self.d_ff = d_ff
        nn.init.normal_(self.embed.weight, std=0.02)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, tokens: Tensor) -> Tensor:
        """Return logits (B, T, 256), T <= context."""
        x = self.embed(tokens) + self.pos[: tokens.shape[1]]
        for block in self.blocks:
            x = block(x)
        logits: Tensor = self.ln_out(x) @ self.embed.weight.T
        return logits


ARCHITECTURES: dict[str, type[SpikingEvoSpikeNetLM] | type[TransformerLM]] = {
    "SpikingEvoSpikeNetLM": SpikingEvoSpikeNetLM,
    "TransformerLM": TransformerLM,
}


def build_model(kind: Kind, config: LMConfig) -> SpikingEvoSpikeNetLM | TransformerLM:
    """Return a fresh model of ``kind`` ('spiking' or 'transformer').

    Raises
    ------
    InvalidParameterError
        Unknown kind.
    """
    if kind == "spiking":
        return SpikingEvoSpikeNetLM(config)
    if kind == "transformer":
        return TransformerLM(config)
    raise InvalidParameterError.of("kind", kind, "expected 'spiking' or 'transformer'")


def ops_per_token(model: SpikingEvoSpikeNetLM | TransformerLM) -> dict[str, float]:
    """Synaptic operations (spiking) and multiply-accumulates per token.

    For the spiking model, uses the per-layer firing rates of its last forward pass:
    a spike into a projection of fan-out ``n`` costs ``n`` accumulates (SOPs; a graded
    spike of value ``k`` counts as ``k`` spikes, and with ``token_shift`` each spike
    reaches ``W_q, W_k, W_v, W_1`` twice); the
    attention scores and mixing (``2 d_model * t_avg`` with ``t_avg = (context+1)/2``),
    ``W_out`` and the tied read-out are counted as MACs. For the transformer everything
    is MACs. LayerNorm, softmax/sigmoid and neuron updates are left out of both.

    Returns
    -------
    dict
        ``{'sops': ..., 'macs': ...}`` per token.
    """
    cfg = model.config
    d, v = cfg.d_model, cfg.vocab_size
    t_avg = (cfg.context + 1) / 2
    attn_macs = 2 * d * t_avg
    if isinstance(model, SpikingEvoSpikeNetLM):
        rates = model.layer_rates
        sops = 0.0
        # Delayed synapses: each spike reaches W_q, W_k, W_v and W_1 twice (now and
        # one byte later).
        shift = 2.0 if cfg.token_shift else 1.0
        for layer in range(cfg.n_layers):
            r_in, r_attn, r_ff, r_h = rates[4 * layer : 4 * layer + 4]
            # W_q, W_k, W_v (3d fan-out), gain into the residual (1),
            # W_1 (d_ff), W_2 (d).
            sops += shift * (r_in * d * 3 * d + r_ff * d * cfg.d_ff)
            sops += r_attn * d + r_h * cfg.d_ff * d
        macs = cfg.n_layers * (attn_macs + d * d) + d * v
        return {"sops": sops, "macs": macs}
    macs = cfg.n_layers * (4 * d * d + 2 * d * model.d_ff + attn_macs) + d * v
    return {"sops": 0.0, "macs": float(macs)}


def n_parameters(model: nn.Module) -> int:
    """Return the number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bits_per_char(loss_nats: float) -> float:
    """Convert a mean cross-entropy in nats per byte to bits per character."""
    return loss_nats / math.log(2.0)
