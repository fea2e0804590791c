"""Spiking LM training steps: the compiled LIF kernel against the torch loop, and
equal-step ablations (issue 18).

    .venv/bin/python benches/bench_lm_steps.py speed --rounds 8 --steps 5
    .venv/bin/python benches/bench_lm_steps.py ablate --steps 600 [--config '{"learn_beta": true}']

``speed`` interleaves, in one process and one torch thread, rounds of ``--steps`` training
steps (forward, backward, Adam; the shipped config: 64-byte windows, batch 32) of two
identical models, one whose LIF layers run the compiled kernel and one the torch loop
over time steps, and the forward + backward of one LIF layer alone (32 x 64 x 512 and
32 x 64 x 128); it prints the median seconds of each and the 1-minute load average
before and after. ``ablate`` trains one config for ``--steps`` Adam steps (peak learning
rate ``--lr``, 100-step warm-up, cosine to 10 % over the steps, ``--seed``) and prints the
held-out BPC over the first 100,000 held-out bytes, s/step and the load. Prints JSON.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F  # noqa: N812

from evospikenet.nn.attention import NeuronLayer, lif_sequence
from evospikenet.nn.corpus import load_corpus, split
from evospikenet.nn.lm import LMConfig, SpikingEvoSpikeNetLM, n_parameters
from evospikenet.nn.train import evaluate_bpc


def _set_fused(model: torch.nn.Module, fused: bool | None) -> None:
    for m in model.modules():
        if isinstance(m, NeuronLayer):
            m.fused = fused


def _batch(buf: torch.Tensor, context: int, step: int, batch: int = 32) -> torch.Tensor:
    gen = torch.Generator().manual_seed(step)
    starts = torch.randint(0, len(buf) - context - 1, (batch,), generator=gen)
    return torch.stack([buf[s : s + context + 1] for s in starts.tolist()]).long()


def _step(model: SpikingEvoSpikeNetLM, opt: torch.optim.Optimizer, win: torch.Tensor) -> float:
    logits = model(win[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, 256), win[:, 1:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()  # type: ignore[no-untyped-call]
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    return float(loss.detach())


def speed(args: argparse.Namespace, buf: torch.Tensor) -> dict[str, object]:
    cfg = LMConfig(context=64)
    torch.manual_seed(0)
    models = {"kernel": SpikingEvoSpikeNetLM(cfg)}
    models["loop"] = copy.deepcopy(models["kernel"])
    _set_fused(models["kernel"], None)
    _set_fused(models["loop"], False)
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-2) for k, m in models.items()}
    times: dict[str, list[float]] = {
        k: [] for k in [*models, "lif512_kernel", "lif512_loop", "lif128_kernel", "lif128_loop"]
    }
    losses: dict[str, float] = {}
    load0 = os.getloadavg()[0]
    step = 0
    for r in range(args.rounds + 1):  # round 0 warms up and is dropped
        for name in ("kernel", "loop") if r % 2 == 0 else ("loop", "kernel"):
            t0 = time.perf_counter()
            for i in range(args.steps):
                losses[name] = _step(models[name], opts[name], _batch(buf, 64, step + i))
            if r:
                times[name].append((time.perf_counter() - t0) / args.steps)
        step += args.steps
        for width in (512, 128):
            x = torch.randn(32, 64, width, requires_grad=True)
            for fused in (True, False):
                t0 = time.perf_counter()
                s = lif_sequence(x, 0.5, 1.0, levels=4, fused=fused)
                s.sum().backward()  # type: ignore[no-untyped-call]
                if r:
                    key = f"lif{width}_{'kernel' if fused else 'loop'}"
                    times[key].append(time.perf_counter() - t0)
    med = {k: round(statistics.median(v), 5) for k, v in times.items()}
    return {
        "median_s": med,
        "step_speedup": round(med["loop"] / med["kernel"], 3),
        # Equal at the first step; later apart by float summation order only: the
        # kernel's spikes are contiguous, the loop's a transposed view, so the matmuls
        # after them sum in another order, and spiking amplifies ulps over steps.
        "final_loss": losses,
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "load_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def ablate(args: argparse.Namespace, buf: torch.Tensor, val: bytes) -> dict[str, object]:
    cfg = dataclasses.replace(LMConfig(context=64), **json.loads(args.config))
    torch.manual_seed(args.seed)
    model = SpikingEvoSpikeNetLM(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    loads = [os.getloadavg()[0]]
    t0 = time.perf_counter()
    for step in range(args.steps):
        w = min(1.0, (step + 1) / 100)
        cos = 0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * step / args.steps))
        for g in opt.param_groups:
            g["lr"] = args.lr * w * cos
        gen = torch.Generator().manual_seed(args.seed * 1_000_003 + step)  # train_lm's draw
        starts = torch.randint(0, len(buf) - 65, (32,), generator=gen)
        win = torch.stack([buf[s : s + 65] for s in starts.tolist()]).long()
        _step(model, opt, win)
        if step % 100 == 0:
            loads.append(os.getloadavg()[0])
    elapsed = time.perf_counter() - t0
    bpc = evaluate_bpc(model, val, 100_000)
    return {
        "config": json.loads(args.config),
        "lr": args.lr,
        "seed": args.seed,
        "steps": args.steps,
        "val_bpc_100k": round(bpc, 4),
        "spike_density": round(model.spike_density, 4),
        "s_per_step": round(elapsed / args.steps, 4),
        "n_parameters": n_parameters(model),
        "load_1min": [round(min(loads), 2), round(max(loads), 2)],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["speed", "ablate"])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--config", default="{}", help="LMConfig fields as JSON")
    ap.add_argument("--seed", type=int, default=0, help="ablate: initialisation and batches")
    args = ap.parse_args()
    torch.set_num_threads(1)
    train, val = split(load_corpus("shakespeare"))
    buf = torch.frombuffer(bytearray(train), dtype=torch.uint8)
    out = speed(args, buf) if args.mode == "speed" else ablate(args, buf, val)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
