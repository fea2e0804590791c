"""``/biomimetic/*`` over the biomimetic framework, ``/generate`` over the language model.

Both hold state in this process (the :class:`BrainSimulationFramework` and the
model); their calls are serialised by a lock and run in worker threads.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import Depends, HTTPException
from pydantic import Field

from evospikenet.server.deps import capped, make_router, server
from evospikenet.server.schemas import GenerateIn, GenerateOut, StrictBody
from evospikenet.server.state import ServerState

__all__ = ["router"]

router = make_router("biomimetic")
_Level = Field(None, ge=0.0, le=1.0)


_Strict = StrictBody


class BioSimulateIn(_Strict):
    """The ``/biomimetic/simulate`` payload (the circuit, the framework, the run)."""

    num_neurons: int = Field(1000, ge=2)
    connection_probability: float = Field(0.1, ge=0, le=1)
    excitatory_ratio: float = Field(0.8, gt=0, le=1)
    inhibitory_ratio: float = Field(0.2, ge=0, le=1)
    refractory_period: float = Field(5.0, ge=0, le=1000, description="ms")
    membrane_time_constant: float = Field(20.0, gt=0, le=10_000, description="ms")
    enable_biomimetic: bool = True
    development_epoch: int = Field(0, ge=0, le=2**31)
    total_epochs: int = Field(1000, ge=1, le=2**31)
    energy_budget_w: float = Field(10.0, gt=0, le=1e9)
    duration: float = Field(1000.0, ge=0, description="Wake time (ms)")
    plasticity_rule: str = Field("stdp", pattern="^(stdp|rstdp|bcm|oja)$")
    plasticity_interval: int = Field(10, ge=1, le=1_000_000)
    sleep_every: int = Field(500, ge=0, le=1_000_000_000)
    sleep_cycles: int = Field(3, ge=0, le=1000)
    neuron_type: str = Field("lif", pattern="^(lif|izhikevich)$")
    seed: int = Field(0, ge=0, le=2**53 - 1)


class NeuromodIn(_Strict):
    """Levels in [0, 1]; only those given change."""

    dopamine: float | None = _Level
    noradrenaline: float | None = _Level
    acetylcholine: float | None = _Level
    serotonin: float | None = _Level
    oxytocin: float | None = _Level
    emotion_factor: float | None = _Level
    motivation_factor: float | None = _Level


class RewardIn(_Strict):
    """A TD reward signal."""

    reward: float = Field(..., ge=-1, le=1)
    td_error: float | None = Field(None, ge=-1e6, le=1e6)
    update_neuromod: bool = True


class ConsolidateIn(_Strict):
    """Replay the hippocampal buffer now."""

    sleep_cycles: int = Field(3, ge=1, le=100)


class WakeConfigIn(_Strict):
    """The sleep/wake schedule (steps)."""

    awake_phase_steps: int | None = Field(None, ge=1, le=1_000_000_000)
    sleep_phase_steps: int | None = Field(None, ge=1, le=1_000_000_000)
    sleep_cycles_per_epoch: int | None = Field(None, ge=1, le=1000)


class ResetIn(_Strict):
    """Rebuild the framework."""

    enable_biomimetic: bool = True


def _framework(state: ServerState) -> Any:
    """Return the process's framework, built on first use (seed defaults at 200 neurons)."""
    if state.framework is None:
        from evospikenet.biomimetic.framework import BrainSimulationFramework

        state.framework = BrainSimulationFramework(True, {"num_neurons": 200})
    return state.framework


@router.get("/biomimetic/status", operation_id="biomimetic_status", response_model=dict[str, Any])
def biomimetic_status(state: ServerState = Depends(server)) -> dict[str, Any]:
    """Snapshot of every module's state."""
    with state.framework_lock:
        status: dict[str, Any] = _framework(state).biomimetic_status()
    return status


@router.post(
    "/biomimetic/simulate", operation_id="biomimetic_simulate", response_model=dict[str, Any]
)
def biomimetic_simulate(
    body: BioSimulateIn, state: ServerState = Depends(server)
) -> dict[str, Any]:
    """Build a framework with these parameters and run it through the six phases.

    Synchronous, bounded by the server's limits; the framework becomes the one the
    other routes act on.
    """
    from evospikenet.biomimetic.framework import BrainSimulationFramework

    cfg = state.config
    values = body.model_dump(exclude={"enable_biomimetic"})
    values["num_neurons"] = capped(body, "num_neurons", cfg.max_bio_neurons, "max_bio_neurons")
    values["duration"] = capped(body, "duration", cfg.max_bio_duration_ms, "max_bio_duration_ms")
    values["enable_biomimetic"] = body.enable_biomimetic
    t0 = time.perf_counter()
    fw = BrainSimulationFramework(body.enable_biomimetic, values)
    out = fw.run_simulation(values["duration"])
    with state.framework_lock:
        state.framework = fw
    return {"status": "ok", "wall_s": time.perf_counter() - t0, **out}


@router.post(
    "/biomimetic/neuromod/update", operation_id="biomimetic_neuromod_update",
    response_model=dict[str, Any],
)  # fmt: skip
def neuromod_update(body: NeuromodIn, state: ServerState = Depends(server)) -> dict[str, Any]:
    """Set neuromodulator levels at once."""
    levels = {k: v for k, v in body.model_dump().items() if v is not None}
    with state.framework_lock:
        updated = _framework(state).update_neuromod(**levels)
    return {"message": "Neuromodulator levels updated", "updated_levels": updated}


@router.post("/biomimetic/reward", operation_id="biomimetic_reward", response_model=dict[str, Any])
def reward(body: RewardIn, state: ServerState = Depends(server)) -> dict[str, Any]:
    """Deliver a TD reward signal to the dopamine system."""
    with state.framework_lock:
        out = _framework(state).deliver_reward(body.reward, body.td_error, body.update_neuromod)
    return {"status": "ok", **out}


@router.post(
    "/biomimetic/sleep/consolidate", operation_id="biomimetic_consolidate",
    response_model=dict[str, Any],
)  # fmt: skip
def consolidate(body: ConsolidateIn, state: ServerState = Depends(server)) -> dict[str, Any]:
    """Replay the hippocampal buffer offline with plasticity on."""
    with state.framework_lock:
        out = _framework(state).consolidate(body.sleep_cycles)
    return {"status": "ok", **out}


@router.post(
    "/biomimetic/sleep/wake-config", operation_id="biomimetic_wake_config",
    response_model=dict[str, Any],
)  # fmt: skip
def wake_config(body: WakeConfigIn, state: ServerState = Depends(server)) -> dict[str, Any]:
    """Set the sleep/wake schedule."""
    params = {k: v for k, v in body.model_dump().items() if v is not None}
    with state.framework_lock:
        applied = _framework(state).configure_sleep(**params)
    return {"status": "ok", "config_applied": applied}


@router.post(
    "/biomimetic/framework/reset", operation_id="biomimetic_reset", response_model=dict[str, Any]
)
def reset(body: ResetIn, state: ServerState = Depends(server)) -> dict[str, Any]:
    """Rebuild the framework and every module from its config."""
    with state.framework_lock:
        _framework(state).reset(body.enable_biomimetic)
    return {"status": "ok", "message": "BrainSimulationFramework reinitialized"}


@router.post(
    "/generate",
    operation_id="generate",
    response_model=GenerateOut,
    tags=["language model"],
)
def generate(body: GenerateIn, state: ServerState = Depends(server)) -> dict[str, Any]:
    """Continue ``prompt`` with the byte-level spiking language model.

    SpikingEvoSpikeNetLM from the shipped checkpoint (or ``serve --lm-checkpoint``);
    needs the ``torch`` extra.
    """
    from evospikenet.nn import require_torch

    limit = state.config.max_generate_length
    max_length = capped(body, "max_length", limit, "max_generate_length")
    if len(body.prompt) > state.config.max_prompt_chars:
        raise HTTPException(
            422,
            f"invalid parameter prompt = <{len(body.prompt)} characters>: above the "
            f"server's limit max_prompt_chars = {state.config.max_prompt_chars}",
        )
    require_torch("/generate")
    from evospikenet.nn.train import default_checkpoint, load_checkpoint
    from evospikenet.nn.train import generate as lm_generate

    with state.lm_lock:
        if state.lm is None:
            path = state.config.lm_checkpoint or default_checkpoint()
            state.lm, state.lm_meta = load_checkpoint(path, expect="SpikingEvoSpikeNetLM")[:2]
            state.lm_meta = {**state.lm_meta, "path": str(path)}
        t0 = time.perf_counter()
        text = lm_generate(state.lm, body.prompt, max_length, body.temperature, body.seed)
    return {
        "generated_text": text,
        "prompt": body.prompt,
        "max_length": max_length,
        "model": state.lm_meta.get("architecture", "SpikingEvoSpikeNetLM"),
        "wall_s": time.perf_counter() - t0,
    }
