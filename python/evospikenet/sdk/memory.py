r"""``LocalMemoryClient``: the SDK's offline long-term memory helper, on the hippocampal buffer.

No server: spike episodes go into a :class:`evospikenet.biomimetic.HippocampalBuffer`
(bounded, reward-priority eviction; Singer & Frank 2009) as
:class:`evospikenet.biomimetic.Episode` objects whose context carries the action,
outcome, semantic tags and the episode's compressed code.

The "spike compression layer" is deterministic rate coding: the spike raster
(``time_steps`` x ``state_dim``; a value >= ``threshold`` is a spike) becomes
each neuron's spike count, and ``embedding_dim`` contiguous groups of neurons
(``numpy.array_split``) are averaged into the code, which is then L2-normalised.
Retrieval scores a stored episode against a query by

.. math:: s = J(\text{tags}_q, \text{tags}_e) + \frac{|\{k: c_q[k] = c_e[k]\}|}{|c_q|}
          + \cos(z_q, z_e)

(Jaccard overlap of the semantic tags, the fraction of the query's context
keys with equal values, and the cosine of the codes when the query gives a
spike sequence); ties go to the more salient (``|reward|``), then the newer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet import validation
from evospikenet.biomimetic import Episode, HippocampalBuffer
from evospikenet.errors import ShapeMismatchError

__all__ = ["LocalMemoryClient"]


class LocalMemoryClient:
    """Store and retrieve spike episodes locally .

    Parameters
    ----------
    state_dim : int
        Neurons per time step of a spike sequence.
    time_steps : int
        Time steps of a spike sequence.
    embedding_dim : int
        Length of the compressed code (<= ``state_dim``).
    max_traces : int
        Episodes kept (the buffer's capacity).
    dt_ms : float
        Duration of one time step (ms).
    threshold : float
        A sequence value at or above it is a spike (spike sequences of 0/1 and
        of probabilities both work).

    Raises
    ------
    InvalidParameterError
        A size below 1, ``embedding_dim`` above ``state_dim``, a non-positive ``dt_ms``.
    """

    def __init__(
        self,
        state_dim: int = 16,
        time_steps: int = 6,
        embedding_dim: int = 16,
        max_traces: int = 32,
        dt_ms: float = 1.0,
        threshold: float = 0.5,
    ) -> None:
        self.state_dim = validation.positive_int("state_dim", state_dim)
        self.time_steps = validation.positive_int("time_steps", time_steps)
        self.embedding_dim = validation.positive_int("embedding_dim", embedding_dim)
        if self.embedding_dim > self.state_dim:
            raise validation.invalid(
                "embedding_dim", embedding_dim, f"must be <= state_dim = {state_dim}"
            )
        self.dt_ms = validation.positive("dt_ms", dt_ms)
        self.threshold = validation.finite("threshold", threshold)
        self.buffer = HippocampalBuffer(validation.positive_int("max_traces", max_traces))

    def _raster(self, spike_sequence: Any) -> npt.NDArray[np.bool_]:
        arr = (
            spike_sequence.detach().cpu().numpy()
            if hasattr(spike_sequence, "detach")
            else spike_sequence
        )
        a = np.asarray(arr, dtype=np.float64)
        if a.shape != (self.time_steps, self.state_dim):
            raise ShapeMismatchError(
                f"spike_sequence has shape {a.shape}, "
                f"expected ({self.time_steps}, {self.state_dim})",
                "spike_sequence",
                f"({self.time_steps}, {self.state_dim})",
                str(a.shape),
            )
        if not np.all(np.isfinite(a)):
            raise validation.invalid("spike_sequence", "non-finite", "must be finite")
        return a >= self.threshold

    def encode(self, spike_sequence: Any) -> npt.NDArray[np.float64]:
        """Return the compressed code of a spike sequence.

        Float64 of shape ``(embedding_dim,)`` with unit L2 norm (all zeros without spikes).
        """
        counts = self._raster(spike_sequence).sum(axis=0).astype(np.float64)
        code = np.array([g.mean() for g in np.array_split(counts, self.embedding_dim)])
        norm = float(np.linalg.norm(code))
        return code / norm if norm > 0 else code

    def store_spike_episode(
        self,
        spike_sequence: Any,
        context: Mapping[str, Any] | None = None,
        action: str | None = None,
        outcome: str | None = None,
        reward: float = 0.0,
        semantic_tags: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Store one episode.

        return ``stored`` (False: rejected as least salient), its spike count, the code and the
        buffer size.
        """
        raster = self._raster(spike_sequence)
        steps, neurons = np.nonzero(raster)
        code = self.encode(spike_sequence)
        ctx = {
            "context": dict(context or {}),
            "action": action,
            "outcome": outcome,
            "semantic_tags": sorted({str(t) for t in semantic_tags}),
            "code": code.tolist(),
        }
        episode = Episode.from_spikes(
            {"state": (steps * self.dt_ms, neurons.astype(np.uint32))},
            self.time_steps * self.dt_ms,
            reward=reward,
            context=ctx,
        )
        stored = self.buffer.store(episode)
        return {
            "stored": stored,
            "n_spikes": episode.n_spikes,
            "embedding": code.tolist(),
            "buffer_size": len(self.buffer),
        }

    def reservoir_stats(self) -> dict[str, Any]:
        """Episodes held, capacity, stored and evicted in total, mean reward held."""
        held = self.buffer.replay(order="stored")
        return {
            "size": len(held),
            "capacity": self.buffer.capacity,
            "stored_total": self.buffer.stored_total,
            "evicted_total": self.buffer.evicted_total,
            "mean_reward": float(np.mean([e.reward for e in held])) if held else 0.0,
            "mean_spikes": float(np.mean([e.n_spikes for e in held])) if held else 0.0,
        }

    def retrieve(self, query: Mapping[str, Any], top_k: int = 5) -> list[dict[str, Any]]:
        """Return the ``top_k`` best-matching episodes (module docstring for the score).

        ``query`` may hold ``semantic_tags``, ``spike_sequence`` and any context keys.
        Each result has ``score``, ``context``, ``action``, ``outcome``, ``reward``,
        ``semantic_tags``.
        """
        k = validation.positive_int("top_k", top_k)
        q = dict(query)
        tags = {str(t) for t in q.pop("semantic_tags", ())}
        z = self.encode(q.pop("spike_sequence")) if "spike_sequence" in q else None
        scored = []
        for order, ep in enumerate(self.buffer.replay(order="stored")):
            info = ep.context
            etags = set(info["semantic_tags"])
            s = len(tags & etags) / len(tags | etags) if tags or etags else 0.0
            if q:
                s += sum(1 for key, v in q.items() if info["context"].get(key) == v) / len(q)
            if z is not None:
                s += float(np.dot(z, np.asarray(info["code"])))
            scored.append((s, abs(ep.reward), order, ep))
        scored.sort(key=lambda t: (t[0], t[1], t[2]), reverse=True)
        return [
            {
                "score": s,
                "context": ep.context["context"],
                "action": ep.context["action"],
                "outcome": ep.context["outcome"],
                "reward": ep.reward,
                "semantic_tags": ep.context["semantic_tags"],
            }
            for s, _, _, ep in scored[:k]
        ]
