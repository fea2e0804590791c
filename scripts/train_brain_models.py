"""Regenerate the trained models shipped in ``python/evospikenet/brain/data``.

    python scripts/train_brain_models.py router   # PFC router (pfc_router.safetensors)
    python scripts/train_brain_models.py visual   # digits classifier (visual_digits.npz)

Deterministic (fixed seeds, CPU). The numbers it prints are the ones in docs/brain.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "python" / "evospikenet" / "brain" / "data"


def router() -> None:
    """Train the PFC router, measure it on the held-out prompts, write it."""
    import torch

    from evospikenet.brain import pfc

    torch.set_num_threads(1)
    tasks = pfc.load_routing_tasks()
    held_out = [t for t in tasks if t.split == "held_out"]
    t0 = time.perf_counter()
    engine, report = pfc.train_router(tasks, seed=0)
    report["train_seconds"] = round(time.perf_counter() - t0, 1)
    plain = pfc.evaluate_routing(engine, held_out, engine.module_types, plain=True)
    shipped = pfc.evaluate_routing(engine, held_out, engine.module_types, rounds=20)
    report["held_out_plain"] = plain
    report["held_out_open_loop_20_rounds"] = shipped
    meta = {k: json.dumps(v) for k, v in report.items()}
    pfc.save_router(DATA / pfc.DEFAULT_ROUTER, engine, meta)
    print(json.dumps(report, indent=1))


def visual() -> None:
    """Train the visual module's digits classifier, write it."""
    from evospikenet.brain.modules import visual as vis

    t0 = time.perf_counter()
    report = vis.train_visual(DATA / vis.DEFAULT_MODEL)
    report["train_seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    which = sys.argv[1:] or ["router", "visual"]
    for name in which:
        {"router": router, "visual": visual}[name]()
