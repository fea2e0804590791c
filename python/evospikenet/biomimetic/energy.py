r"""Metabolic energy of a node from its spikes and synaptic events (ATP budget).

What is taken from where
------------------------
Per-event ATP costs are those of Attwell & Laughlin's (2001) bottom-up budget
for rodent grey matter:

===============================  ===================  ==========================
quantity                         value                symbol / name here
===============================  ===================  ==========================
ATP per action potential         3.84e8               ``atp_per_spike``
ATP per vesicle released         1.64e5               ``atp_per_vesicle``
  (postsynaptic currents,
  presynaptic Ca2+, recycling)
release probability per spike    0.25                 ``release_probability``
ATP per neuron per s at rest     3.42e8               ``atp_rest_per_neuron_s``
===============================  ===================  ==========================

A synaptic event (a presynaptic spike arriving at one synapse) releases a
vesicle with probability ``release_probability``, so its expected cost is
``release_probability * atp_per_vesicle``. Howarth, Gleeson & Attwell (2012)
later revised the action-potential cost down (mammalian spikes waste less
Na+); pass ``atp_per_spike=1.2e8`` for their figure.

ATP is converted to joules with the free energy of ATP hydrolysis under
cellular conditions, about 50 kJ/mol (Nicholls & Ferguson, Bioenergetics),
i.e. :math:`50\,000 / N_A \approx 8.3\times10^{-20}` J per ATP.

Check: one neuron at 4 Hz with 8000 synapses costs 3.19e9 ATP/s here, against
Attwell & Laughlin's total of 3.29e9 ATP/s per neuron at 4 Hz, the difference
being the glial resting potential, which this model leaves out
(``tests/test_biomimetic.py``).

Modelling choices
-----------------
The energy fitness term :math:`f = 1 - P / P_{budget}` (1 for a free network,
0 at the budget, negative above it), and counting every synapse of a
spiking neuron as one synaptic event (no failures beyond the release
probability).

References
----------
Attwell D, Laughlin SB (2001) An energy budget for signaling in the grey
matter of the brain. J Cereb Blood Flow Metab 21:1133-1145.
doi:10.1097/00004647-200110000-00001

Howarth C, Gleeson P, Attwell D (2012) Updated energy budgets for neural
computation in the neocortex and cerebellum. J Cereb Blood Flow Metab
32:1222-1232. doi:10.1038/jcbfm.2012.35
"""

from __future__ import annotations

from dataclasses import dataclass, field

from evospikenet import validation
from evospikenet.errors import InvalidParameterError

__all__ = ["AVOGADRO", "JOULES_PER_ATP", "NodeEnergyBudget"]

AVOGADRO = 6.02214076e23
#: Free energy of ATP hydrolysis in cells, ~50 kJ/mol, per molecule (J).
JOULES_PER_ATP = 50_000.0 / AVOGADRO


@dataclass
class NodeEnergyBudget:
    """Energy used by a node's neurons, against a power budget.

    Parameters
    ----------
    budget_w : float
        Power budget of the node (W, > 0).
    n_neurons : int
        Neurons of the node, for the resting cost (>= 0).
    atp_per_spike, atp_per_vesicle, release_probability, atp_rest_per_neuron_s : float
        Costs of the energy model (module docstring; Attwell & Laughlin 2001).
    joules_per_atp : float
        Energy per ATP molecule (J).

    Attributes
    ----------
    spikes, synaptic_events : int
        Counted so far.
    elapsed_ms : float
        Simulated time accounted for (ms).

    Raises
    ------
    InvalidParameterError
        A non-positive budget or a negative cost.
    """

    budget_w: float = 10.0
    n_neurons: int = 0
    atp_per_spike: float = 3.84e8
    atp_per_vesicle: float = 1.64e5
    release_probability: float = 0.25
    atp_rest_per_neuron_s: float = 3.42e8
    joules_per_atp: float = JOULES_PER_ATP
    spikes: int = field(default=0, init=False)
    synaptic_events: int = field(default=0, init=False)
    elapsed_ms: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if validation.non_negative("budget_w", self.budget_w) <= 0:
            raise InvalidParameterError.of("budget_w", self.budget_w, "must be > 0")
        for name in ("atp_per_spike", "atp_per_vesicle", "atp_rest_per_neuron_s", "joules_per_atp"):
            validation.non_negative(name, getattr(self, name))
        if validation.non_negative("release_probability", self.release_probability) > 1:
            raise InvalidParameterError.of(
                "release_probability", self.release_probability, "must be in [0, 1]"
            )
        if (
            isinstance(self.n_neurons, bool)
            or not isinstance(self.n_neurons, int)
            or self.n_neurons < 0
        ):
            raise InvalidParameterError.of("n_neurons", self.n_neurons, "must be an integer >= 0")

    def record(self, spikes: int, synaptic_events: int, duration_ms: float) -> float:
        """Account for ``spikes`` and ``synaptic_events`` over ``duration_ms``; return its J.

        Raises
        ------
        InvalidParameterError
            Counts that are not integers >= 0, a negative duration.
        """
        s = validation.positive_int("spikes", spikes, minimum=0)
        e = validation.positive_int("synaptic_events", synaptic_events, minimum=0)
        d = validation.non_negative("duration_ms", duration_ms)
        self.spikes += s
        self.synaptic_events += e
        self.elapsed_ms += d
        return self._joules(s, e, d)

    def _joules(self, spikes: float, events: float, duration_ms: float) -> float:
        atp = (
            spikes * self.atp_per_spike
            + events * self.release_probability * self.atp_per_vesicle
            + self.n_neurons * self.atp_rest_per_neuron_s * duration_ms * 1e-3
        )
        return atp * self.joules_per_atp

    @property
    def energy_j(self) -> float:
        """Energy used so far (J)."""
        return self._joules(self.spikes, self.synaptic_events, self.elapsed_ms)

    @property
    def power_w(self) -> float:
        """Mean power so far (W); 0 before any time is accounted for."""
        return self.energy_j / (self.elapsed_ms * 1e-3) if self.elapsed_ms > 0 else 0.0

    def energy_fitness_term(self) -> float:
        r"""Return :math:`1 - P / P_{budget}` (1 free, 0 at the budget, < 0 above it)."""
        return 1.0 - self.power_w / self.budget_w

    def over_budget(self) -> bool:
        """Whether the mean power exceeds the budget."""
        return self.power_w > self.budget_w

    def status(self) -> dict[str, float]:
        """Return ``current_w``, ``budget_w``, ``energy_j``, ``spikes``, ``synaptic_events``."""
        return {
            "current_w": self.power_w,
            "budget_w": self.budget_w,
            "energy_j": self.energy_j,
            "spikes": float(self.spikes),
            "synaptic_events": float(self.synaptic_events),
        }

    def reset(self) -> None:
        """Zero the counters."""
        self.spikes = 0
        self.synaptic_events = 0
        self.elapsed_ms = 0.0
