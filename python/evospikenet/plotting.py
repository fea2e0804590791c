"""Raster plots with population rates (needs the ``plot`` extra: matplotlib)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from evospikenet._atomic import atomic_path
from evospikenet.analysis import population_rate_hz
from evospikenet.errors import InvalidParameterError, MissingExtraError

__all__ = ["plot_format", "raster_plot"]


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


def raster_plot(
    spikes: dict[str, tuple[Any, Any]],
    sizes: dict[str, int],
    duration_ms: float,
    path: str | os.PathLike[str],
    title: str = "",
    bin_ms: float = 5.0,
    format: str | None = None,
) -> None:
    """Write a spike raster with the population rates below it (PNG, PDF, SVG by suffix).

    Parameters
    ----------
    spikes : dict of str to (t_ms, neuron)
        Spikes per population.
    sizes : dict of str to int
        Neurons per population (rows are stacked in this order).
    duration_ms : float
        Time axis length (ms).
    path : path-like
        Output image, written atomically.
    title : str
        Figure title.
    bin_ms : float
        Bin of the rate histogram (ms).
    format : str, optional
        Image format (``png``, ``pdf``, ``svg``, ...); default
        :func:`plot_format` of ``path``.

    Raises
    ------
    MissingExtraError
        If matplotlib is not installed (``pip install 'evospikenet[plot]'``).
    InvalidParameterError
        If the format is unknown to matplotlib.
    """
    fmt = plot_format(path) if format is None else format
    plt = _pyplot()
    fig, (ax_r, ax_p) = plt.subplots(
        2, 1, sharex=True, figsize=(9, 6), gridspec_kw={"height_ratios": [3, 1]}
    )
    offset = 0
    for k, (name, (t, i)) in enumerate(spikes.items()):
        color = f"C{k}"
        ax_r.scatter(
            np.asarray(t), np.asarray(i) + offset, s=0.5, color=color, label=name, rasterized=True
        )
        centres, rate = population_rate_hz(t, sizes[name], duration_ms, bin_ms)
        ax_p.plot(centres, rate, color=color, lw=1, label=name)
        offset += sizes[name]
    ax_r.set_ylabel("neuron")
    ax_r.set_xlim(0, duration_ms)
    ax_r.legend(loc="upper right", markerscale=10, fontsize="small")
    ax_p.set_xlabel("time (ms)")
    ax_p.set_ylabel("rate (Hz)")
    if title:
        ax_r.set_title(title)
    fig.tight_layout()
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
    finally:
        plt.close(fig)
