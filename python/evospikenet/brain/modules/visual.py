r"""The visual module: handwritten digits classified by a spiking network of the core.

Encoding (rate code): an 8×8 image of intensities ``x ∈ [0, 1]`` (scikit-learn's digits
divide their 0-16 counts by 16; an 8-bit image is divided by 255) drives 64 LIF input
neurons, one per pixel, with the constant current ``I = b + g x`` (``b = 300 pA``,
``g = 600 pA``; rheobase 375 pA) for ``window_ms = 40`` ms: a neuron's sustained firing rate
grows with its pixel's intensity above rheobase (``x > 0.125``). The input layer projects (p = 0.1)
onto 256 LIF neurons (the digits template of :class:`~evospikenet.evolution.tasks.DigitsTask`,
network seed fixed), all simulated by the Rust core with the network reset before each image.

Decoding: the 256 hidden neurons' spike counts in the window, standardised, go through a
multinomial logistic regression (scikit-learn, fitted here on the training and validation
splits; its ``C`` chosen on the validation split). The recurrent-free spiking layer is fixed
and only the read-out is trained: a liquid-state machine (Maass, Natschläger & Markram 2002).
The hidden spikes are what the node sends to the PFC (``spikes/visual/pfc``).

Held-out accuracy on the digits test split (20 %, stratified, ``split_seed = 0``): stored
in the model file's metadata and in ``docs/brain.md``; ``tests/test_brain_modules.py``
fails below 0.95.

References
----------
- W. Maass, T. Natschläger, H. Markram (2002), Real-time computing without stable states:
  a new framework for neural computation based on perturbations. Neural Computation
  14(11):2531-2560. doi:10.1162/089976602760407955
- E. Alpaydin, C. Kaynak (1998), Optical recognition of handwritten digits (UCI; the
  scikit-learn ``load_digits`` data).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet._atomic import atomic_path
from evospikenet.errors import (
    DataLoadError,
    FileIOError,
    InvalidParameterError,
    MissingExtraError,
    ShapeMismatchError,
)
from evospikenet.evolution.genome import BuiltNetwork, EvoGenome

__all__ = [
    "DEFAULT_MODEL",
    "IMAGE_SHAPE",
    "VisualModule",
    "VisualResult",
    "digits_splits",
    "read_image",
    "train_visual",
    "write_digit_png",
]

#: File name of the trained classifier inside ``evospikenet/brain/data``.
DEFAULT_MODEL = "visual_digits.npz"
#: Shape of the images the classifier takes.
IMAGE_SHAPE = (8, 8)
MODEL_FORMAT = "evospikenet-visual-digits"
HIDDEN_SIZE = 256
WINDOW_MS = 40.0
C_GRID = (0.01, 0.1, 1.0)


@dataclass(frozen=True)
class VisualResult:
    """What :meth:`VisualModule.classify` returns.

    Attributes
    ----------
    label : int
        The digit, 0-9.
    probs : numpy.ndarray, float64, shape (10,)
        Read-out class probabilities (softmax of the logistic regression).
    spikes : tuple of numpy.ndarray
        ``(steps uint64, neurons uint32)``: the hidden layer's spikes in the window, steps
        counted from the image onset (``t_ms = steps * dt_ms``), neurons 0-255.
    n_neurons : int
        Size of the hidden layer (256).
    n_steps : int
        Steps of the window.
    dt_ms : float
    """

    label: int
    probs: npt.NDArray[np.float64] = field(repr=False)
    spikes: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]] = field(repr=False)
    n_neurons: int
    n_steps: int
    dt_ms: float


def read_image(path: str | os.PathLike[str], *, dark_ink: bool = False) -> npt.NDArray[np.float64]:
    """Read an image file (PNG, ...) as 8×8 intensities in [0, 1] (Pillow).

    The image is converted to 8-bit grey levels, reduced to 8×8 by box averaging if it is
    larger, and divided by 255; ``dark_ink=True`` inverts it (dark digit on light paper,
    the digits data being light on dark).

    Returns
    -------
    numpy.ndarray, float64, shape (8, 8)

    Raises
    ------
    MissingExtraError
        Pillow is not installed (the ``brain`` extra).
    FileIOError
        The file cannot be read.
    DataLoadError
        It is not an image Pillow can decode.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:
        raise MissingExtraError("reading image files", "Pillow", "brain") from exc
    p = Path(path)
    try:
        with Image.open(p) as im:
            grey = im.convert("L")
            if grey.size != IMAGE_SHAPE:
                grey = grey.resize(IMAGE_SHAPE, Image.Resampling.BOX)
            arr = np.asarray(grey, dtype=np.float64) / 255.0
    except UnidentifiedImageError as exc:
        raise DataLoadError(f"{p} is not an image file Pillow can read", str(p)) from exc
    except OSError as exc:
        raise FileIOError(f"cannot read image {p}: {exc}", str(p), exc.errno) from exc
    return 1.0 - arr if dark_ink else arr


def write_digit_png(path: str | os.PathLike[str], image: npt.ArrayLike) -> None:
    """Write 8×8 intensities in [0, 1] as an 8-bit greyscale PNG, atomically (Pillow).

    Raises
    ------
    MissingExtraError
        Pillow is not installed.
    InvalidParameterError, ShapeMismatchError
        See :meth:`VisualModule.classify`.
    FileIOError
        The file cannot be written.
    """
    try:
        from PIL import Image
    except ImportError as exc:
        raise MissingExtraError("writing image files", "Pillow", "brain") from exc
    x = _as_image(image)
    im = Image.fromarray(np.round(x * 255.0).astype(np.uint8), mode="L")
    try:
        with atomic_path(path) as tmp:
            im.save(tmp, format="PNG")
            tmp.chmod(0o644)
    except OSError as exc:
        raise FileIOError(f"cannot write image {path}: {exc}", str(path), exc.errno) from exc


def _as_image(image: npt.ArrayLike) -> npt.NDArray[np.float64]:
    arr = np.asarray(image)
    if arr.shape not in (IMAGE_SHAPE, (64,)):
        raise ShapeMismatchError(
            f"shape mismatch for image: expected (8, 8) or (64,), got {arr.shape}",
            "image",
            "(8, 8)",
            str(arr.shape),
        )
    if arr.dtype == np.uint8:
        return arr.reshape(IMAGE_SHAPE).astype(np.float64) / 255.0
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidParameterError.of("image", str(arr.dtype), "expected real intensities")
    x = arr.astype(np.float64).reshape(IMAGE_SHAPE)
    if not np.all(np.isfinite(x)) or x.min() < 0.0 or x.max() > 1.0:
        raise InvalidParameterError.of(
            "image",
            f"[{x.min():g}, {x.max():g}]",
            "intensities must be finite and in [0, 1] (uint8 images: 0-255)",
        )
    return x


def digits_splits(split_seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """scikit-learn's digits as 8×8 intensities in [0, 1], split 60/20/20 (stratified).

    The same splits as :class:`~evospikenet.evolution.tasks.DigitsTask` (same calls of
    ``train_test_split``).

    Returns
    -------
    dict
        ``train``, ``val``, ``test`` -> (images float64 (n, 8, 8), labels int64 (n,)).

    Raises
    ------
    MissingExtraError
        scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise MissingExtraError("the digits data", "scikit-learn", "brain") from exc
    x, y = load_digits(return_X_y=True)
    x = x.reshape(-1, *IMAGE_SHAPE) / 16.0
    y = y.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=0.2, random_state=split_seed, stratify=y
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=0.25, random_state=split_seed, stratify=y_rest
    )
    return {"train": (x_train, y_train), "val": (x_val, y_val), "test": (x_test, y_test)}


def _template() -> EvoGenome:
    from evospikenet.evolution.tasks import DigitsTask

    g = DigitsTask().template()
    g.modules[0].layers[0].size = HIDDEN_SIZE
    g.readout.window_ms = WINDOW_MS
    g.validate()
    return g


class VisualModule:
    """The digits classifier of the visual node (module docstring).

    Parameters
    ----------
    genome : EvoGenome
        The spiking network (input layer of 64 neurons, one hidden layer).
    mean, scale : numpy.ndarray, shape (H,)
        Standardisation of the hidden spike counts.
    coef : numpy.ndarray, shape (10, H)
    intercept : numpy.ndarray, shape (10,)
    metadata : dict, optional
        Training report (accuracies, ``C``).

    Notes
    -----
    :meth:`classify` is thread-safe (one lock around the network).
    """

    def __init__(
        self,
        genome: EvoGenome,
        mean: npt.NDArray[np.float64],
        scale: npt.NDArray[np.float64],
        coef: npt.NDArray[np.float64],
        intercept: npt.NDArray[np.float64],
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self.genome = genome
        self.built: BuiltNetwork = genome.build()
        self.hidden = self.built.populations[genome.layers()[-1].name]
        n = self.hidden.n
        if mean.shape != (n,) or scale.shape != (n,) or coef.shape != (10, n):
            raise ShapeMismatchError(
                f"shape mismatch for coef: expected (10, {n}), got {coef.shape}",
                "coef",
                f"(10, {n})",
                str(coef.shape),
            )
        self.mean, self.scale, self.coef, self.intercept = mean, scale, coef, intercept
        self.metadata = dict(metadata or {})
        self.dt_ms = float(genome.dt_ms)
        self.n_steps = round(genome.readout.window_ms / genome.dt_ms)
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> VisualModule:
        """Load a trained classifier (default: the one shipped in the package).

        Raises
        ------
        FileIOError
            The file does not exist or cannot be read.
        DataLoadError
            It is not a visual-module file.
        """
        p = (
            Path(path)
            if path is not None
            else Path(str(resources.files("evospikenet.brain") / "data" / DEFAULT_MODEL))
        )
        if not p.is_file():
            raise FileIOError(f"visual model {p} does not exist", str(p))
        try:
            with np.load(p, allow_pickle=False) as z:
                meta = json.loads(str(z["metadata"]))
                if meta.get("format") != MODEL_FORMAT:
                    raise DataLoadError(f"{p} is not an evospikenet visual model", str(p))
                genome = EvoGenome.from_json(str(z["genome"]))
                arrays = {
                    k: np.asarray(z[k], dtype=np.float64)
                    for k in ("mean", "scale", "coef", "intercept")
                }
        except (ValueError, KeyError) as exc:
            raise DataLoadError(f"{p} is not an evospikenet visual model ({exc})", str(p)) from exc
        except OSError as exc:
            raise FileIOError(f"cannot read visual model {p}: {exc}", str(p), exc.errno) from exc
        return cls(genome, metadata=meta, **arrays)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the classifier to ``path`` (``.npz``) atomically.

        Raises
        ------
        FileIOError
            The file cannot be written.
        """
        meta = {**self.metadata, "format": MODEL_FORMAT}
        try:
            with atomic_path(path) as tmp:
                with tmp.open("wb") as fh:
                    np.savez(
                        fh,
                        metadata=np.array(json.dumps(meta, sort_keys=True)),
                        genome=np.array(self.genome.to_json()),
                        mean=self.mean,
                        scale=self.scale,
                        coef=self.coef,
                        intercept=self.intercept,
                    )
                tmp.chmod(0o644)
        except OSError as exc:
            raise FileIOError(
                f"cannot write visual model {path}: {exc}", str(path), exc.errno
            ) from exc

    def spikes(self, image: npt.ArrayLike) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]:
        """Hidden-layer spikes of one image, steps from its onset.

        Raises
        ------
        ShapeMismatchError, InvalidParameterError
            As :meth:`classify`.
        """
        x = _as_image(image).reshape(-1)
        with self._lock:
            built = self.built
            net = built.network
            built.reset()
            start = round(net.t_ms / self.dt_ms)
            built.input.set_bias(built.input_currents(x))
            steps, neurons = net.run_chunk(self.n_steps, [self.hidden])[self.hidden.name]
        return (steps - np.uint64(start)).astype(np.uint64), neurons.astype(np.uint32)

    def features(self, images: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Hidden spike counts of a batch of images.

        Parameters
        ----------
        images : array_like, shape (n, 8, 8)

        Returns
        -------
        numpy.ndarray, float64, shape (n, 256)
        """
        arr = np.asarray(images)
        out = np.zeros((len(arr), self.hidden.n))
        for i, img in enumerate(arr):
            _, neurons = self.spikes(img)
            np.add.at(out[i], neurons.astype(np.int64), 1.0)
        return out

    def _probs(self, counts: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        z = ((counts - self.mean) / self.scale) @ self.coef.T + self.intercept
        z -= z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        out: npt.NDArray[np.float64] = e / e.sum(axis=-1, keepdims=True)
        return out

    def classify(
        self, image: npt.ArrayLike | str | os.PathLike[str], *, dark_ink: bool = False
    ) -> VisualResult:
        """Classify one image.

        Parameters
        ----------
        image : array_like or path
            8×8 (or 64) intensities in [0, 1] (uint8: 0-255), or an image file
            (:func:`read_image`, needs Pillow).
        dark_ink : bool
            For files: the digit is dark on a light background.

        Returns
        -------
        VisualResult

        Raises
        ------
        ShapeMismatchError
            Not 8×8 (arrays; files are reduced to 8×8).
        InvalidParameterError
            Intensities outside [0, 1] or not finite.
        FileIOError, DataLoadError, MissingExtraError
            From :func:`read_image`.
        """
        x = read_image(image, dark_ink=dark_ink) if isinstance(image, (str, os.PathLike)) else image
        steps, neurons = self.spikes(x)
        counts = np.bincount(neurons.astype(np.int64), minlength=self.hidden.n).astype(np.float64)
        probs = self._probs(counts)
        return VisualResult(
            label=int(np.argmax(probs)),
            probs=probs,
            spikes=(steps, neurons),
            n_neurons=self.hidden.n,
            n_steps=self.n_steps,
            dt_ms=self.dt_ms,
        )

    def accuracy(self, images: npt.ArrayLike, labels: npt.ArrayLike) -> float:
        """Fraction of ``images`` classified as ``labels``."""
        probs = self._probs(self.features(images))
        return float(np.mean(np.argmax(probs, axis=1) == np.asarray(labels)))


def train_visual(path: str | os.PathLike[str] | None = None, split_seed: int = 0) -> dict[str, Any]:
    """Fit the read-out on the digits splits; optionally write the model.

    ``C`` of the logistic regression is chosen on the validation split (fitted on
    training); the final read-out is refitted on training + validation and scored once on
    the test split.

    Returns
    -------
    dict
        ``val_accuracy`` per ``C``, ``C``, ``test_accuracy``, sizes.

    Raises
    ------
    MissingExtraError
        scikit-learn is not installed.
    """
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError as exc:
        raise MissingExtraError("training the visual module", "scikit-learn", "brain") from exc
    data = digits_splits(split_seed)
    n = HIDDEN_SIZE
    probe = VisualModule(_template(), np.zeros(n), np.ones(n), np.zeros((10, n)), np.zeros(10))
    feats = {k: probe.features(x) for k, (x, _) in data.items()}
    ys = {k: y for k, (_, y) in data.items()}
    val = {}
    for c in C_GRID:
        sc = StandardScaler().fit(feats["train"])
        clf = LogisticRegression(C=c, max_iter=5000).fit(sc.transform(feats["train"]), ys["train"])
        val[str(c)] = float(clf.score(sc.transform(feats["val"]), ys["val"]))
    best = max(C_GRID, key=lambda c: (val[str(c)], -c))
    x_fit = np.concatenate([feats["train"], feats["val"]])
    y_fit = np.concatenate([ys["train"], ys["val"]])
    sc = StandardScaler().fit(x_fit)
    clf = LogisticRegression(C=best, max_iter=5000).fit(sc.transform(x_fit), y_fit)
    scale = np.where(sc.scale_ > 0, sc.scale_, 1.0)
    report: dict[str, Any] = {
        "split_seed": split_seed,
        "hidden_neurons": n,
        "window_ms": WINDOW_MS,
        "val_accuracy_by_C": val,
        "C": best,
        "n_fit": len(y_fit),
        "n_test": len(ys["test"]),
    }
    model = VisualModule(
        probe.genome,
        sc.mean_.astype(np.float64),
        scale,
        clf.coef_.astype(np.float64),
        clf.intercept_.astype(np.float64),
        report,
    )
    report["test_accuracy"] = model.accuracy(data["test"][0], ys["test"])
    model.metadata = dict(report)
    if path is not None:
        model.save(path)
    return report
