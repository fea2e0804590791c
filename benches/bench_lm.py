"""Spiking LM against its transformer baseline (issue 18): held-out BPC, ops, decode time.

Train both for the same wall time first (see benches/README.md), then:

    .venv/bin/python benches/bench_lm.py SPIKING.safetensors TRANSFORMER.safetensors

Prints one JSON object: held-out bits per character of each (whole held-out split),
their ratio, parameter counts, the spiking model's spike density (spikes per
neuron-step; a graded spike of value k counts k) and how often each spike value
occurs, its synaptic
operations per token against the transformer's multiply-accumulates, and the time to
generate 200 bytes with the spiking model's token-by-token decode path.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from evospikenet.nn.attention import NeuronLayer
from evospikenet.nn.corpus import load_corpus, split
from evospikenet.nn.lm import SpikingEvoSpikeNetLM, n_parameters, ops_per_token
from evospikenet.nn.train import evaluate_bpc, generate, load_checkpoint


def spike_values(model: SpikingEvoSpikeNetLM, data: bytes, n_bytes: int = 65 * 1000) -> list[float]:
    """Fraction of neuron-steps with spike value 0, 1, ..., K over the first ``n_bytes``."""
    counts: list[torch.Tensor] = []

    def hook(_m: object, _i: object, out: torch.Tensor) -> None:
        counts.append(torch.bincount(out.reshape(-1).round().long(), minlength=8)[:8])

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, NeuronLayer)]
    try:
        evaluate_bpc(model, data, max_chars=n_bytes)
    finally:
        for h in hooks:
            h.remove()
    total = torch.stack(counts).sum(0).double()
    k = model.config.spike_levels
    return [round(float(c), 4) for c in (total / total.sum())[: k + 1]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("spiking")
    ap.add_argument("transformer")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, val = split(load_corpus("shakespeare"))
    spk, spk_meta, _ = load_checkpoint(args.spiking, "SpikingEvoSpikeNetLM")
    trf, trf_meta, _ = load_checkpoint(args.transformer, "TransformerLM")
    assert isinstance(spk, SpikingEvoSpikeNetLM)
    hist = spike_values(spk, val)
    bpc_s = evaluate_bpc(spk, val)
    ops_s = ops_per_token(spk)
    bpc_t = evaluate_bpc(trf, val)
    ops_t = ops_per_token(trf)
    generate(spk, "ROMEO.", 5, seed=0)
    t0 = time.perf_counter()
    generate(spk, "ROMEO.", 200, seed=0)
    decode_s = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "held_out_chars": len(val),
                "spiking": {
                    "bpc": round(bpc_s, 4),
                    "parameters": n_parameters(spk),
                    "train_steps": int(spk_meta["step"]),
                    "train_minutes": round(float(spk_meta["elapsed_s"]) / 60, 2),
                    "spike_density": round(spk.spike_density, 4),
                    "spike_levels": spk.config.spike_levels,
                    "token_shift": spk.config.token_shift,
                    "spike_value_fractions_first_65k_bytes": hist,
                    "synaptic_ops_per_token": round(ops_s["sops"]),
                    "macs_per_token": round(ops_s["macs"]),
                    "decode_200_bytes_s": round(decode_s, 3),
                },
                "transformer": {
                    "bpc": round(bpc_t, 4),
                    "parameters": n_parameters(trf),
                    "train_steps": int(trf_meta["step"]),
                    "train_minutes": round(float(trf_meta["elapsed_s"]) / 60, 2),
                    "macs_per_token": round(ops_t["macs"]),
                },
                "bpc_ratio_spiking_over_transformer": round(bpc_s / bpc_t, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
