"""``sync_connectome``: bring a cached connectome up to the newest materialization.

Config (YAML; the ``sync`` section of the connectome config, so it can share
a file with ``map-connectome`` and the HCP routing)::

    sync:
      source:                    # where deltas come from: one of
        directory: deltas/       #   a directory of delta JSON files (any names), or
        url: https://host/api/v1/connectome/visual   #   a REST endpoint (below)
        timeout_s: 10            # per request (connect and read); default 10
        retries: 3               # retries with exponential backoff; default 3
        backoff_factor: 0.5      # seconds; sleep = backoff_factor * 2**(retry-1)
      ei_ratio_range: [1.0, 10.0]   # optional: reject a result outside [lo, hi]
      ei_weighted: false            # optional: E/I by synapse weight instead of edge count
      rollback_dir: rollback/       # where the cache is copied on rejection
      strict: false                 # make delta conflicts errors

Relative paths are resolved against the config file's directory.

REST shape (modelled on CAVE's materialization service, which lists
versions at ``.../versions``; kept minimal):

- ``GET {url}/versions`` → a JSON list of integer materialization versions
  (or ``{"versions": [...]}``);
- ``GET {url}/delta/{from}/{to}`` → the delta JSON from version ``from`` to
  ``to`` for two consecutive listed versions.

The chain from the cache's version to the newest is fetched and applied in
memory, in order, each step validated (schema, and the E/I range when given);
only then is the output written, atomically. Any failure leaves the output
as it was (all-or-nothing). Transient HTTP failures (connection errors, 429,
500, 502, 503, 504) are retried by ``urllib3.util.Retry`` with backoff.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evospikenet import validation
from evospikenet._atomic import check_output_dir
from evospikenet._formats import decode_utf8, parse_json, read_yaml
from evospikenet.connectome.delta import (
    Delta,
    DeltaReport,
    apply_delta_to,
    check_ei_ratio,
    check_ei_ratio_range,
    parse_delta_text,
    read_delta,
    write_rollback,
)
from evospikenet.connectome.schema import ei_ratio, load_connectome_npz, save_connectome_npz
from evospikenet.errors import (
    ConnectomeSyncValidationError,
    DeltaSourceError,
    FileIOError,
    InvalidParameterError,
)

__all__ = ["sync_connectome"]

Progress = Callable[[int, int], None]


class _DirectorySource:
    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise InvalidParameterError.of(
                "sync.source.directory", str(directory), "not a directory"
            )
        self._deltas: dict[int, list[Delta]] = {}
        for path in sorted(directory.glob("*.json")):
            d = read_delta(path)
            self._deltas.setdefault(d.materialization_version_from, []).append(d)

    def latest(self) -> int | None:
        tos = [d.materialization_version_to for ds in self._deltas.values() for d in ds]
        return max(tos) if tos else None

    def chain(self, start: int, newest: int) -> list[tuple[int, int]]:
        steps: list[tuple[int, int]] = []
        v = start
        while v < newest:
            options = self._deltas.get(v, [])
            if len(options) != 1:
                reason = "no delta" if not options else f"{len(options)} deltas"
                raise DeltaSourceError(
                    f"{reason} from materialization_version {v} in the delta directory "
                    f"(newest is {newest})"
                )
            steps.append((v, options[0].materialization_version_to))
            v = options[0].materialization_version_to
        return steps

    def fetch(self, v_from: int, v_to: int) -> Delta:
        return self._deltas[v_from][0]


class _HttpSource:
    def __init__(self, url: str, timeout_s: float, retries: int, backoff_factor: float) -> None:
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util import Retry

        self._url = url.rstrip("/")
        self._timeout = timeout_s
        self._session = requests.Session()
        retry = Retry(
            total=retries,
            backoff_factor=backoff_factor,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._versions = sorted(set(self._versions_from_server()))

    def _get(self, path: str) -> Any:
        import requests

        url = f"{self._url}/{path}"
        try:
            response = self._session.get(url, timeout=self._timeout)
            response.raise_for_status()
            return response
        except requests.RequestException as exc:
            raise DeltaSourceError(f"GET {url} failed: {exc}") from exc

    def _versions_from_server(self) -> list[int]:
        where = f"GET {self._url}/versions"
        try:
            body = parse_json(decode_utf8(self._get("versions").content, where, ""), where, "")
        except InvalidParameterError as exc:  # the source's fault, not the user's: exit 1
            raise DeltaSourceError(f"{where}: the answer {exc.reason}") from None
        versions = body.get("versions") if isinstance(body, dict) else body
        if not isinstance(versions, list) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in versions
        ):
            raise DeltaSourceError(
                f"GET {self._url}/versions: expected a list of integers, got {body!r}"
            )
        return versions

    def latest(self) -> int | None:
        return self._versions[-1] if self._versions else None

    def chain(self, start: int, newest: int) -> list[tuple[int, int]]:
        if start not in self._versions:
            raise DeltaSourceError(
                f"materialization_version {start} of the cache is not served by {self._url} "
                f"(versions {self._versions})"
            )
        later = [v for v in self._versions if v > start]
        return list(zip([start, *later[:-1]], later, strict=True))

    def fetch(self, v_from: int, v_to: int) -> Delta:
        raw = self._get(f"delta/{v_from}/{v_to}").content
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DeltaSourceError(f"delta {v_from}->{v_to} is not UTF-8: {exc}") from exc
        return parse_delta_text(text, source=f"{self._url}/delta/{v_from}/{v_to}")


def _load_config(config_path: str | os.PathLike[str]) -> tuple[dict[str, Any], Path]:
    path = Path(config_path)
    try:
        raw = read_yaml(path, "config_path")
    except FileIOError as exc:
        raise InvalidParameterError.of("config_path", str(path), f"cannot read: {exc}") from exc
    section = raw.get("sync") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        raise InvalidParameterError.of("sync", section, f"{path} needs a 'sync' mapping")
    return section, path.parent


def _make_source(section: dict[str, Any], root: Path) -> _DirectorySource | _HttpSource:
    source = section.get("source")
    if not isinstance(source, dict) or ("directory" in source) == ("url" in source):
        raise InvalidParameterError.of(
            "sync.source", source, "needs exactly one of 'directory' or 'url'"
        )
    if "directory" in source:
        return _DirectorySource(root / str(source["directory"]))
    url = str(source["url"])
    if not url.startswith(("http://", "https://")):
        raise InvalidParameterError.of("sync.source.url", url, "must be http:// or https://")
    timeout_s = validation.positive("sync.source.timeout_s", source.get("timeout_s", 10.0))
    retries = validation.count("sync.source.retries", source.get("retries", 3))
    backoff = validation.non_negative(
        "sync.source.backoff_factor", source.get("backoff_factor", 0.5)
    )
    return _HttpSource(url, timeout_s, retries, backoff)


def sync_connectome(
    config_path: str | os.PathLike[str],
    cache_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fetch and apply every delta from the cache's version to the newest.

    Parameters
    ----------
    config_path : path-like
        YAML config with a ``sync`` section (module docstring).
    cache_path : path-like
        The cached connectome NPZ (its ``materialization_version`` is the start).
    output_path : path-like
        Where the updated connectome goes (may equal ``cache_path``); written
        atomically, only if every step succeeds and not in a dry run.
    dry_run : bool
        Fetch, apply and validate everything, but write nothing.
    progress : callable, optional
        ``progress(done, total)`` after each delta is applied.

    Returns
    -------
    dict
        ``status`` ("success" | "dry_run" | "no_update"), ``version_from``,
        ``version_to``, ``n_deltas``, ``edges_added``, ``edges_removed``,
        ``neurons_added``, ``neurons_removed``, ``n_edges_before``,
        ``n_edges_after``, ``ei_ratio_before``, ``ei_ratio_after`` (None when
        not finite), ``steps`` (one :meth:`DeltaReport.to_dict` per delta),
        ``output_path``.

    Raises
    ------
    ConnectomeSyncValidationError
        A step's E/I ratio is outside ``ei_ratio_range``: the cache is copied
        to ``rollback_dir`` and the output is untouched.
    DeltaSourceError
        The source cannot be read or has no chain to the newest version.
    InvalidParameterError, DeltaConflictError, ConnectomeSchemaError, FileIOError
        Bad config, delta or connectome.

    References
    ----------
    CAVE materialization versions (Dorkenwald et al. 2023, "CAVE: Connectome
    Annotation Versioning Engine").
    """
    section, root = _load_config(config_path)
    raw_range = section.get("ei_ratio_range")
    weighted = bool(section.get("ei_weighted", False))
    strict = bool(section.get("strict", False))
    if raw_range is not None and (not isinstance(raw_range, list) or len(raw_range) != 2):
        raise InvalidParameterError.of("sync.ei_ratio_range", raw_range, "must be [lo, hi]")
    ei_range = None if raw_range is None else check_ei_ratio_range(raw_range, "sync.ei_ratio_range")
    rollback_dir = root / str(section.get("rollback_dir", "rollback"))
    if ei_range is not None:  # where a rejection copies the cache, checked before the work
        check_output_dir("sync.rollback_dir", rollback_dir)
    cache = load_connectome_npz(cache_path)
    start = cache.materialization_version
    if start is None:
        raise InvalidParameterError.of(
            "cache_path", str(cache_path), "cache has no meta.materialization_version"
        )
    source = _make_source(section, root)
    newest = source.latest()
    ratio = ei_ratio(cache, weighted=weighted)
    summary: dict[str, Any] = {
        "version_from": start,
        "version_to": start,
        "n_deltas": 0,
        "edges_added": 0,
        "edges_removed": 0,
        "neurons_added": 0,
        "neurons_removed": 0,
        "n_edges_before": cache.n_edges,
        "n_edges_after": cache.n_edges,
        "ei_ratio_before": ratio,
        "ei_ratio_after": ratio,
        "steps": [],
        "output_path": os.fspath(output_path),
    }
    if newest is None or newest <= start:
        summary["status"] = "no_update"
        return _finite(summary)
    steps = source.chain(start, newest)
    current = cache
    reports: list[DeltaReport] = []
    for done, (v_from, v_to) in enumerate(steps, start=1):
        delta = source.fetch(v_from, v_to)
        if delta.materialization_version_to != v_to:
            raise DeltaSourceError(
                f"delta {v_from}->{v_to} says materialization_version_to "
                f"{delta.materialization_version_to}"
            )
        current, report = apply_delta_to(current, delta, strict=strict)
        if ei_range is not None:
            try:
                check_ei_ratio(current, ei_range, weighted=weighted)
            except ConnectomeSyncValidationError as exc:
                exc.rollback_path = write_rollback(cache_path, rollback_dir)
                exc.args = (
                    f"{exc.args[0]} (delta {v_from}->{v_to}); cache copied to "
                    f"{exc.rollback_path}, output not written",
                )
                raise
        reports.append(report)
        if progress is not None:
            progress(done, len(steps))
    summary.update(
        version_to=current.materialization_version,
        n_deltas=len(reports),
        edges_added=sum(r.n_added for r in reports),
        edges_removed=sum(r.n_removed for r in reports),
        neurons_added=sum(r.n_neurons_added for r in reports),
        neurons_removed=sum(r.n_neurons_removed for r in reports),
        n_edges_after=current.n_edges,
        ei_ratio_after=ei_ratio(current, weighted=weighted),
        steps=[r.to_dict() for r in reports],
    )
    if dry_run:
        summary["status"] = "dry_run"
        return _finite(summary)
    save_connectome_npz(output_path, current, validate=False)
    summary["status"] = "success"
    return _finite(summary)


def _finite(summary: dict[str, Any]) -> dict[str, Any]:
    import math

    for k in ("ei_ratio_before", "ei_ratio_after"):
        v = summary[k]
        summary[k] = v if v is not None and math.isfinite(v) else None
    return summary
