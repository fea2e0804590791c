"""Raster plots with population rates (needs the ``plot`` extra: matplotlib)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from evospikenet._atomic import atomic_path
from evospikenet.analysis import rate_binning, smoothed_rate_hz
from evospikenet.errors import InvalidParameterError, MissingExtraError

__all__ = [
    "RASTER_NEURONS",
    "plot_format",
    "raster_figure",
    "raster_plot",
    "raster_rows",
]


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingExtraError("--plot", "matplotlib", "plot") from exc
    return plt


def plot_format(path: str | os.PathLike[str], name: str = "plot") -> str:
    """Return the image format of ``path`` (its suffix; ``png`` without one), checked.

    Call it before the work that produces the plot: it fails early on what
    would make :func:`raster_plot` fail late.

    Parameters
    ----------
    path : path-like
        The output image.
    name : str
        Parameter name for the error message.

    Raises
    ------
    MissingExtraError
        If matplotlib is not installed.
    InvalidParameterError
        If matplotlib cannot write the suffix's format.
    """
    plt = _pyplot()
    suffix = Path(path).suffix
    fmt = suffix[1:].lower() if suffix else "png"
    del plt
    from matplotlib.backend_bases import FigureCanvasBase

    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise InvalidParameterError.of(
            name, os.fspath(path), f"unknown image format {fmt!r} (known: {', '.join(supported)})"
        )
    return fmt


#: Neurons drawn per population in a raster (a stated subsample; 12,500 rows are a block).
RASTER_NEURONS = 100


def raster_rows(
    spikes: dict[str, tuple[Any, Any]], sizes: dict[str, int], max_neurons: int = RASTER_NEURONS
) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]]:
    """Choose the neurons a raster draws and the row each gets.

    Each population shows at most ``max_neurons`` neurons, evenly spaced over
    its indices (``numpy.linspace``, so the first and the last are shown);
    populations are stacked top-down in the order of ``sizes`` (the model's
    order: L2/3 above L4 above L5 above L6 for potjans2014), each in a band
    of its own, row 0 at the top.

    Returns
    -------
    dict of str to (t_ms, row, n_shown)
        Per population, the spike times (ms) and rows (float64) of the drawn
        neurons, and how many neurons it shows.
    """
    rows: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], int]] = {}
    offset = 0
    for name, n in sizes.items():
        t, i = spikes.get(name, (np.empty(0), np.empty(0)))
        t = np.asarray(t, dtype=np.float64)
        i = np.asarray(i, dtype=np.int64)
        shown = np.unique(
            np.linspace(0, max(n - 1, 0), min(n, max_neurons)).round().astype(np.int64)
        )
        position = np.full(max(n, 1), -1, dtype=np.int64)
        position[shown] = np.arange(shown.size)
        keep = position[np.clip(i, 0, max(n - 1, 0))] >= 0 if i.size else np.zeros(0, bool)
        rows[name] = (t[keep], (offset + position[i[keep]]).astype(np.float64), int(shown.size))
        offset += int(shown.size) + 1  # a blank row between populations
    return rows


def raster_figure(
    spikes: dict[str, tuple[Any, Any]],
    sizes: dict[str, int],
    duration_ms: float,
    title: str = "",
    max_neurons: int = RASTER_NEURONS,
) -> Any:
    """Draw the raster and the population rates; return the matplotlib Figure.

    See :func:`raster_plot`, which saves it.

    Raises
    ------
    MissingExtraError
        If matplotlib is not installed.
    """
    plt = _pyplot()
    fig, (ax_r, ax_p) = plt.subplots(
        2,
        1,
        sharex=True,
        figsize=(10, 6.5),
        gridspec_kw={"height_ratios": [3, 1]},
        layout="constrained",
    )
    rows = raster_rows(spikes, sizes, max_neurons)
    bin_ms, sigma_ms = rate_binning(duration_ms)
    labels = []
    for k, (name, (t, row, shown)) in enumerate(rows.items()):
        color = f"C{k % 10}"
        label = f"{name} ({shown} of {sizes[name]:,})" if shown < sizes[name] else name
        ax_r.scatter(t, row, s=1.5, marker="|", color=color, label=label, rasterized=True)
        labels.append(name)
        centres, rate = smoothed_rate_hz(
            spikes.get(name, ([], []))[0], sizes[name], duration_ms, bin_ms, sigma_ms
        )
        ax_p.plot(centres, rate, color=color, lw=0.8, label=name)
    # a tick at the middle of each population's band, the first population on top
    offset = 0
    centres_y = []
    for _, (_, _, shown) in rows.items():
        centres_y.append(offset + (shown - 1) / 2)
        offset += shown + 1
    ax_r.set_yticks(centres_y, labels)
    ax_r.set_ylim(offset - 0.5, -1.0)  # inverted: row 0 (the first population) at the top
    ax_r.set_ylabel(f"neuron (at most {max_neurons} per population, evenly spaced)")
    ax_r.set_xlim(0, duration_ms)
    ax_r.legend(
        loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=6, fontsize="small",
        title="population (shown of n)", title_fontsize="small", frameon=False,
    )  # fmt: skip
    ax_p.set_xlabel("time (ms)")
    ax_p.set_ylabel("rate (Hz)")
    ax_p.set_title(
        f"population rate: {bin_ms:g} ms bins, Gaussian smoothing sigma = {sigma_ms:g} ms",
        fontsize="small",
        loc="left",
    )
    ax_p.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def raster_plot(
    spikes: dict[str, tuple[Any, Any]],
    sizes: dict[str, int],
    duration_ms: float,
    path: str | os.PathLike[str],
    title: str = "",
    format: str | None = None,
    max_neurons: int = RASTER_NEURONS,
) -> None:
    """Write a spike raster with the population rates below it (PNG, PDF, SVG by suffix).

    The raster draws at most ``max_neurons`` neurons per population, evenly
    spaced (:func:`raster_rows`; the legend says how many of how many),
    populations top-down in the order of ``sizes``; the rate trace is
    :func:`evospikenet.analysis.smoothed_rate_hz` with the bin and kernel of
    :func:`evospikenet.analysis.rate_binning` (stated on the panel), so no oscillation aliases.
    Legends sit outside the data, right of the axes.

    Parameters
    ----------
    spikes : dict of str to (t_ms, neuron)
        Spikes per population (``neuron``: index within the population).
    sizes : dict of str to int
        Neurons per population (bands are stacked top-down in this order).
    duration_ms : float
        Time axis length (ms).
    path : path-like
        Output image, written atomically.
    title : str
        Figure title (:func:`evospikenet.simulate.simulate` gives the model,
        its regime or options, seed, scale and duration).
    format : str, optional
        Image format (``png``, ``pdf``, ``svg``, ...); default
        :func:`plot_format` of ``path``.
    max_neurons : int
        Neurons drawn per population (>= 1).

    Raises
    ------
    MissingExtraError
        If matplotlib is not installed (``pip install 'evospikenet[plot]'``).
    InvalidParameterError
        If the format is unknown to matplotlib, or ``max_neurons < 1``.
    """
    if isinstance(max_neurons, bool) or not isinstance(max_neurons, int) or max_neurons < 1:
        raise InvalidParameterError.of("max_neurons", max_neurons, "must be an integer >= 1")
    fmt = plot_format(path) if format is None else format
    plt = _pyplot()
    fig = raster_figure(spikes, sizes, duration_ms, title, max_neurons)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
    finally:
        plt.close(fig)
