"""The ``biomimetic`` built-in model: the BrainSimulationFramework end to end.

Builds a :class:`~evospikenet.biomimetic.framework.BrainSimulationFramework`
(1000 neurons at scale 1) and runs its six phases; see that module for the
circuit, the phases and their sources.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from evospikenet.biomimetic.config import BrainSimulationConfig
from evospikenet.biomimetic.framework import BrainSimulationFramework
from evospikenet.errors import InvalidParameterError
from evospikenet.models._base import BuiltModel

__all__ = ["OPTIONS", "BiomimeticModel", "build"]

#: Config fields settable as model options (``--param``, ``--sleep-every`` ...): every
#: field but ``seed`` and ``dt_ms``, which are the run's (``--seed``, ``--dt-ms``).
OPTIONS: tuple[str, ...] = tuple(
    f.name for f in fields(BrainSimulationConfig) if f.name not in ("seed", "dt_ms")
)


class BiomimeticModel(BuiltModel):
    """A :class:`BuiltModel` whose run is :meth:`BrainSimulationFramework.run_simulation`.

    Attributes
    ----------
    framework : BrainSimulationFramework
    result : dict or None
        What the last run returned.
    """

    framework: BrainSimulationFramework
    result: dict[str, Any] | None = None

    def run(self, duration_ms: float | None = None, **kwargs: Any) -> None:
        """Run the six phases for ``duration_ms`` of wake (default: the config's)."""
        progress = kwargs.get("progress")
        self.result = self.framework.run_simulation(
            self.duration_ms if duration_ms is None else duration_ms, progress=progress
        )

    def summary(self) -> dict[str, Any]:
        """Spikes, mean weight change, energy, sleep cycles and replayed episodes of the last run.

        Returns an empty dict before any run.
        """
        if self.result is None:
            return {}
        pr = self.result["phase_results"]
        energy = self.framework.energy
        return {
            "spikes_total": self.result["spikes_total"],
            "wake_ms": self.result["duration_ms"],
            "simulated_ms": self.result["simulated_ms"],
            "plasticity_rule": pr["plasticity_gate"]["rule"],
            "weight_change_mean": pr["plasticity_gate"]["weight_change_mean"],
            "dopamine": pr["plasticity_gate"]["dopamine"],
            "energy_j": energy.energy_j,
            "power_w": energy.power_w,
            "energy_budget_w": energy.budget_w,
            "energy_fitness_term": energy.energy_fitness_term(),
            "episodes_stored": pr["hippocampal_store"].get("stored", 0),
            "sleep_cycles": pr["sleep_consolidation"]["cycles"],
            "replayed_episodes": pr["sleep_consolidation"]["replayed_episodes"],
            "replay_weight_change_mean": pr["sleep_consolidation"]["weight_updates_mean"],
        }


def build(
    scale: float, *, seed: int = 0, dt_ms: float = 1.0, threads: int = 1, **options: Any
) -> BiomimeticModel:
    """Build the framework with ``round(1000 * scale)`` neurons (at least 10).

    Parameters
    ----------
    scale : float
        Size factor (> 0).
    seed : int
        Master seed.
    dt_ms : float
        Time step (ms).
    threads : int
        Accepted for the common model signature; the framework's network
        runs on one thread (results do not depend on it).
    **options
        Fields of :class:`BrainSimulationConfig` (see :data:`OPTIONS`);
        ``num_neurons`` replaces ``round(1000 * scale)`` (with ``scale`` 1).

    Raises
    ------
    InvalidParameterError
        A bad option value, naming the field; ``num_neurons`` with a
        ``scale`` other than 1.
    """
    del threads
    if "num_neurons" in options and scale != 1.0:
        raise InvalidParameterError.of(
            "num_neurons", options["num_neurons"], f"give it or scale = {scale:g}, not both"
        )
    config = BrainSimulationConfig.from_mapping(
        {"num_neurons": max(10, round(1000 * scale)), "seed": seed, "dt_ms": dt_ms, **options}
    )
    fw = BrainSimulationFramework(config.enable_biomimetic, config)
    model = BiomimeticModel(
        "biomimetic",
        fw.network,
        dict(fw._pops()),
        dict(fw.monitors),
        config.duration_ms,
        config.to_dict(),
    )
    model.framework = fw
    return model
