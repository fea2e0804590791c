"""What a built-in model builder returns."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from evospikenet.network import Network, Population, SpikeMonitor

__all__ = ["BuiltModel"]


@dataclass
class BuiltModel:
    """A network built by a model builder, with a spike monitor per population.

    Attributes
    ----------
    name : str
        Model name (key of :data:`evospikenet.models.MODELS`).
    network : Network
        The network, ready to run.
    populations : dict of str to Population
        Recorded populations by name, in the order of the published tables.
    monitors : dict of str to SpikeMonitor
        One spike monitor per recorded population (per local one in a part).
    duration_ms : float
        Default simulated duration (ms).
    parameters : dict
        The parameters the model was built with (for metadata and summaries).
    neuron_ids : dict of str to ndarray of int64
        Per population, the external id of each neuron (index ``k`` has id
        ``ids[k]``): a connectome's ``neuron_id``; empty for built-in models.
        Written as the spike file's ``neuron_id`` column.
    """

    name: str
    network: Network
    populations: dict[str, Population]
    monitors: dict[str, SpikeMonitor]
    duration_ms: float
    parameters: dict[str, Any] = field(default_factory=dict)
    neuron_ids: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def record(
        cls,
        name: str,
        network: Network,
        populations: dict[str, Population],
        parameters: dict[str, Any],
        duration_ms: float = 1000.0,
    ) -> BuiltModel:
        """Wrap a built network, adding a spike monitor to each population.

        In a part (:mod:`evospikenet.partition`) only the local populations
        get one: a remote proxy's spikes are recorded by its own part.
        """
        monitors = {k: network.spike_monitor(v) for k, v in populations.items() if not v.remote}
        return cls(name, network, dict(populations), monitors, duration_ms, parameters)

    def run(self, duration_ms: float | None = None, **kwargs: Any) -> None:
        """Run for ``duration_ms`` (default: the model's); see :meth:`Network.run`."""
        self.network.run(self.duration_ms if duration_ms is None else duration_ms, **kwargs)

    def to_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the recorded spikes to Parquet (see :meth:`Network.to_parquet`)."""
        self.network.to_parquet(path, model=self.name)

    def spikes(self) -> dict[str, tuple[Any, Any]]:
        """Return the recorded spikes ``{population: (t_ms, neuron)}``."""
        return {name: (m.t_ms, m.neuron) for name, m in self.monitors.items()}
