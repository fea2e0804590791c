"""Spike recordings as a Neo ``Block`` (the ``neo`` extra), for Elephant and other Neo tools.

Neo (Garcia et al. 2014) is the data model of Elephant, SpikeInterface,
NEST's and PyNN's recorders. :func:`to_neo_block` turns a spike recording
(a :class:`~evospikenet.io.spikes.SpikeTable` or a spike Parquet file) into
one ``Block`` with one ``Segment`` holding a ``SpikeTrain`` per neuron, in
ms, and one ``Group`` per population.

References
----------
Garcia S, Guarino D, Jaillet F, et al. (2014) Neo: an object model for
handling electrophysiology data in multiple formats. Front Neuroinform 8:10.
doi:10.3389/fninf.2014.00010
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from evospikenet.errors import InvalidParameterError, MissingExtraError
from evospikenet.io.spikes import SpikeTable, read_spikes

__all__ = ["to_neo_block"]


def _neo() -> tuple[Any, Any]:
    try:
        import neo
        import quantities as pq
    except ImportError:
        raise MissingExtraError("the Neo export", "neo", "neo") from None
    return neo, pq


def to_neo_block(
    spikes: SpikeTable | str | os.PathLike[str],
    *,
    t_stop_ms: float | None = None,
    sizes: Mapping[str, int] | None = None,
    name: str | None = None,
) -> Any:
    """Return a ``neo.Block`` with one ``SpikeTrain`` per neuron.

    Parameters
    ----------
    spikes : SpikeTable or path-like
        A recording, or a spike Parquet file (:func:`~evospikenet.io.read_spikes`).
    t_stop_ms : float, optional
        End of the recording (ms); default the file's ``duration_ms``.
    sizes : mapping of str to int, optional
        Neurons per population, so silent neurons get empty trains; default
        the file's ``population_sizes``, else one more than the largest
        neuron index seen per population.
    name : str, optional
        Name of the block; default the file's ``model``.

    Returns
    -------
    neo.Block
        ``block.segments[0].spiketrains``: one train per neuron, populations
        in order, times in ms from ``t_start = 0`` to ``t_stop``; each train
        annotated ``population`` (str), ``neuron`` (index within it),
        ``global_id`` (index over all populations) and, for a connectome
        run, ``neuron_id``. ``block.groups``: one ``Group`` per population
        with its trains. Block annotations: ``model``, ``seed``, ``dt_ms``
        where the file has them.

    Raises
    ------
    MissingExtraError
        Without the ``neo`` extra.
    InvalidParameterError
        No ``t_stop_ms`` and no ``duration_ms`` in the metadata, a spike at or
        after ``t_stop_ms``, or a neuron index outside ``sizes``.
    FileIOError
        An unreadable file.
    """
    neo, pq = _neo()
    table = spikes if isinstance(spikes, SpikeTable) else read_spikes(spikes)
    meta = table.metadata
    if t_stop_ms is None:
        if "duration_ms" not in meta:
            raise InvalidParameterError.of(
                "t_stop_ms", None, "give it: the recording has no duration_ms"
            )
        t_stop_ms = float(meta["duration_ms"])
    t_stop = float(t_stop_ms)
    if not np.isfinite(t_stop) or t_stop <= 0:
        raise InvalidParameterError.of("t_stop_ms", t_stop_ms, "must be a positive number")
    if len(table) and float(table.t_ms.max()) >= t_stop:
        raise InvalidParameterError.of(
            "t_stop_ms", t_stop, f"a spike is at {float(table.t_ms.max())} ms, not before it"
        )
    if sizes is None and "population_sizes" in meta:
        sizes = {str(k): int(v) for k, v in json.loads(meta["population_sizes"]).items()}
    if sizes is None:
        sizes = {}
        for pop in dict.fromkeys(table.population.tolist()):
            _, neuron = table.of(pop)
            sizes[pop] = int(neuron.max()) + 1
    unknown = sorted(set(table.population.tolist()) - set(sizes))
    if unknown:
        raise InvalidParameterError.of("sizes", sorted(sizes), f"misses populations {unknown}")
    block = neo.Block(name=name or meta.get("model", "evospikenet"))
    for key, cast in (("model", str), ("seed", int), ("dt_ms", float)):
        if key in meta:
            block.annotate(**{key: cast(meta[key])})
    segment = neo.Segment(name="run")
    block.segments.append(segment)
    neuron_ids = table.neuron_id
    offset = 0
    for pop, n in sizes.items():
        mask = table.population == pop
        t, neuron = table.t_ms[mask], table.neuron[mask].astype(np.int64)
        if neuron.size and int(neuron.max()) >= n:
            raise InvalidParameterError.of(
                f"sizes.{pop}", n, f"neuron {int(neuron.max())} spikes in that population"
            )
        ids = neuron_ids[mask] if neuron_ids is not None else None
        order = np.lexsort((t, neuron))
        t, neuron = t[order], neuron[order]
        starts = np.searchsorted(neuron, np.arange(n + 1))
        group = neo.Group(name=pop)
        for k in range(n):
            train = neo.SpikeTrain(
                t[starts[k] : starts[k + 1]] * pq.ms,
                t_start=0.0 * pq.ms,
                t_stop=t_stop * pq.ms,
                name=f"{pop}[{k}]",
            )
            train.annotate(population=pop, neuron=k, global_id=offset + k)
            if ids is not None and starts[k + 1] > starts[k]:
                train.annotate(neuron_id=int(ids[order][starts[k]]))
            segment.spiketrains.append(train)
            group.add(train)
        block.groups.append(group)
        offset += n
    return block
