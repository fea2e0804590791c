"""The digits task: scikit-learn's bundled 8x8 digits, rate-coded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evospikenet.evolution.genome import BuiltNetwork, EvoGenome
from evospikenet.evolution.tasks.base import require

__all__ = ["DigitsTask"]


@dataclass
class DigitsTask:
    r"""scikit-learn's digits (1797 8x8 images, 10 classes), rate-coded.

    Encoding: pixel intensities (0-16) divided by 16 drive the 64 input
    neurons with :math:`I = b + g_i x_i` for ``readout.window_ms``, followed
    by ``gap_ms`` without input; all images run back to back in one call
    into the core (piecewise-constant currents). Decoding: the spike counts
    of the last hidden layer in each image's window plus gap feed a ridge
    classifier (:class:`sklearn.linear_model.RidgeClassifier`, penalty
    ``readout.ridge_alpha``) fitted on the training split.

    Fitness: accuracy on the validation split. :meth:`test_accuracy` refits
    on training + validation and scores the held-out test split. Splits
    (60/20/20, stratified) are fixed by ``split_seed``.
    """

    split_seed: int = 0
    gap_ms: float = 10.0
    name: str = "digits"
    n_inputs: int = 64
    n_outputs: int = 10
    readout: str = "ridge"
    _data: Any = field(default=None, repr=False, compare=False)

    def _splits(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self._data is None:
            datasets = require("sklearn.datasets")
            model_selection = require("sklearn.model_selection")
            x, y = datasets.load_digits(return_X_y=True)
            x = x / 16.0
            x_rest, x_test, y_rest, y_test = model_selection.train_test_split(
                x, y, test_size=0.2, random_state=self.split_seed, stratify=y
            )
            x_train, x_val, y_train, y_val = model_selection.train_test_split(
                x_rest, y_rest, test_size=0.25, random_state=self.split_seed, stratify=y_rest
            )
            self._data = {
                "train": (x_train, y_train),
                "val": (x_val, y_val),
                "test": (x_test, y_test),
            }
        return dict(self._data)

    def features(self, built: BuiltNetwork, x: np.ndarray) -> np.ndarray:
        """Spike counts of the last hidden layer per image.

        Returns
        -------
        numpy.ndarray
            float64, shape ``(n_images, layer size)``.
        """
        g = built.genome
        net = built.network
        window, dt = g.readout.window_ms, g.dt_ms
        period = window + self.gap_ms
        n = x.shape[0]
        starts = np.arange(n) * period + net.t_ms
        times = np.empty(2 * n)
        times[0::2], times[1::2] = starts, starts + window
        gains = np.asarray(g.input.gains_pa)
        built.input.set_bias(0.0)
        for i in range(g.input.size):
            amps = np.zeros(2 * n)
            amps[0::2] = g.input.bias_pa + gains[i] * x[:, i]
            net.current(built.input, times, amps, neurons=[i])
        layer = built.populations[g.layers()[-1].name]
        mon = net.spike_monitor(layer)
        t0 = net.t_ms
        net.run(n * period)
        steps_per = round(period / dt)
        which = (np.round((mon.t_ms - t0) / dt).astype(np.int64)) // steps_per
        counts = np.zeros((n, layer.n))
        np.add.at(counts, (which, mon.neuron.astype(np.int64)), 1.0)
        return counts

    def _score(
        self, genome: EvoGenome, fit: str, score: str, built: BuiltNetwork | None = None
    ) -> float:
        linear_model = require("sklearn.linear_model")
        data = self._splits()
        parts = fit.split("+")
        x_fit = np.concatenate([data[p][0] for p in parts])
        y_fit = np.concatenate([data[p][1] for p in parts])
        x_all = np.concatenate([x_fit, data[score][0]])
        feats = self.features(built if built is not None else genome.build(), x_all)
        clf = linear_model.RidgeClassifier(alpha=genome.readout.ridge_alpha)
        clf.fit(feats[: len(x_fit)], y_fit)
        return float(clf.score(feats[len(x_fit) :], data[score][1]))

    def evaluate(self, built: BuiltNetwork) -> float:
        """Return the validation accuracy of the ridge readout fitted on the training split."""
        return self._score(built.genome, "train", "val", built)

    def test_accuracy(self, genome: EvoGenome) -> float:
        """Held-out test accuracy, readout fitted on training + validation."""
        return self._score(genome, "train+val", "test")

    def template(self) -> EvoGenome:
        """Return the starting genome: 64 inputs, 200 LIF neurons (p = 0.1), ridge readout."""
        g = EvoGenome.minimal(64, 10, readout="ridge", hidden=(200,))
        g.readout.window_ms = 40.0
        g.connections[0].p = 0.1
        g.validate()
        return g


# -- user callable ---------------------------------------------------------------
