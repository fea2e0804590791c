"""Server configuration and API keys (hashed at rest).

An API key file holds one key per line, ``KEY_ID SCOPE SHA256HEX`` (``#``
starts a comment): the id recorded as the actor in the audit log, the scope
(``read``: GET/HEAD only; ``write``: every method) and the SHA-256 of the key.
Keys are 32 random bytes (256 bits, :func:`new_api_key`), so a single SHA-256
is enough to store them: with that much entropy there is no dictionary to
attack, and a slow password hash would only slow every request down. The
server compares digests with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evospikenet.errors import FileIOError, InvalidParameterError

__all__ = [
    "SCOPES",
    "ApiKey",
    "ServerConfig",
    "add_api_key",
    "hash_api_key",
    "load_api_keys",
    "lookup_key",
    "new_api_key",
]

#: Scopes a key may have: ``read`` (GET, HEAD) or ``write`` (every method).
SCOPES = ("read", "write")
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ApiKey:
    """One entry of the key file: id, scope and the SHA-256 (hex) of the key."""

    key_id: str
    scope: str
    sha256: str


def hash_api_key(key: str) -> str:
    """Return the SHA-256 (64 lowercase hex digits) of ``key`` as UTF-8."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """Return a new random key: 32 bytes from :mod:`secrets`, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def load_api_keys(path: str | os.PathLike[str]) -> list[ApiKey]:
    """Read a key file (module docstring).

    Raises
    ------
    FileIOError
        The file cannot be read.
    InvalidParameterError
        A malformed line (naming the line number), an unknown scope or a
        key id given twice.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileIOError(
            f"cannot read api_key_file {p}: {exc.strerror}", str(p), exc.errno
        ) from exc
    keys: list[ApiKey] = []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        where = f"api_key_file line {number}"
        if len(parts) != 3:
            raise InvalidParameterError.of(where, line, "must be 'KEY_ID SCOPE SHA256HEX'")
        key_id, scope, digest = parts
        if not _KEY_ID.fullmatch(key_id):
            raise InvalidParameterError.of(
                where, key_id, "key id must be 1-64 letters, digits, '_', '.', '@', '-'"
            )
        if scope not in SCOPES:
            raise InvalidParameterError.of(where, scope, f"scope must be one of {SCOPES}")
        if not _HEX.fullmatch(digest):
            raise InvalidParameterError.of(where, digest, "must be 64 lowercase hex digits")
        if key_id in seen:
            raise InvalidParameterError.of(where, key_id, "key id given twice")
        seen.add(key_id)
        keys.append(ApiKey(key_id, scope, digest))
    return keys


def add_api_key(path: str | os.PathLike[str], key_id: str, scope: str = "write") -> str:
    """Make a new key, append its hashed entry to ``path`` (mode 0600) and return the key.

    The key itself is stored nowhere: show it to its owner once.

    Raises
    ------
    InvalidParameterError
        A bad key id or scope, or an id already in the file.
    FileIOError
        The file cannot be written.
    """
    p = Path(path)
    existing = load_api_keys(p) if p.exists() else []
    if not _KEY_ID.fullmatch(key_id):
        raise InvalidParameterError.of("key_id", key_id, "must be 1-64 letters, digits, '_.@-'")
    if scope not in SCOPES:
        raise InvalidParameterError.of("scope", scope, f"must be one of {SCOPES}")
    if any(k.key_id == key_id for k in existing):
        raise InvalidParameterError.of("key_id", key_id, f"already in {p}")
    key = new_api_key()
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(f"{key_id} {scope} {hash_api_key(key)}\n")
    except OSError as exc:
        raise FileIOError(
            f"cannot write api_key_file {p}: {exc.strerror}", str(p), exc.errno
        ) from exc
    return key


def lookup_key(keys: list[ApiKey], presented: str) -> ApiKey | None:
    """Return the entry whose hash matches ``presented`` (constant-time compare), or None."""
    digest = hash_api_key(presented)
    found = None
    for k in keys:
        if hmac.compare_digest(k.sha256, digest):
            found = k
    return found


@dataclass
class ServerConfig:
    """What ``evospikenet serve`` runs with (every limit is per request or per job).

    Attributes
    ----------
    data_dir : Path
        SQLite database ``state.db``, the audit log ``audit.jsonl`` and the
        files (``artifacts/``, ``jobs/``, ``genomes/``, ``connectomes/``).
    api_keys : list of ApiKey
        Accepted keys; empty means every request but ``/health`` gets 401.
    cors_origins : list of str
        Origins allowed by CORS; empty (default): no CORS headers at all.
    max_body_bytes : int
        Largest request body outside uploads (413 above).
    max_upload_bytes : int
        Largest artifact or connectome upload (413 above; checked while streaming).
    queue_size : int
        Jobs waiting at most; a submission beyond it gets 429 with ``Retry-After``.
    job_workers : int
        Jobs run at once (each in its own process).
    job_timeout_s : float
        A job running longer is stopped and marked failed.
    max_duration_ms, max_scale : float
        Largest simulated time and model scale a simulation job may ask for.
    max_generations, max_population : int
        Largest evolution job.
    max_bio_neurons, max_bio_duration_ms : int, float
        Largest ``/biomimetic/simulate`` run (it answers synchronously).
    max_generate_length : int
        Largest ``max_length`` of ``/generate`` (bytes).
    max_prompt_chars : int
        Longest ``/generate`` prompt (each byte is one model step).
    lm_checkpoint : Path or None
        Language-model checkpoint for ``/generate`` (default: the shipped one).
    sync_config : Path or None
        Connectome sync config (YAML, ``sync`` section) used by
        ``POST /api/connectomes/{name}/sync``; none: sync answers 409.
    audit_fsync : str
        ``batch`` (default) or ``always``; see :class:`evospikenet.audit.AuditLogManager`.
    retry_after_s : int
        ``Retry-After`` of a 429.
    brain_connect : list of str
        Zenoh endpoints of a running distributed brain (``brain up``'s router);
        empty (default): no brain routes.
    brain_namespace : str
        The brain's Zenoh key namespace.
    brain_prompt_timeout_s : float
        A prompt the brain has not answered after this long is failed.
    """

    data_dir: Path
    api_keys: list[ApiKey] = field(default_factory=list)
    cors_origins: list[str] = field(default_factory=list)
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 256 << 20
    queue_size: int = 16
    job_workers: int = 1
    job_timeout_s: float = 3600.0
    max_duration_ms: float = 60_000.0
    max_scale: float = 4.0
    max_generations: int = 1000
    max_population: int = 1000
    max_bio_neurons: int = 5000
    max_bio_duration_ms: float = 10_000.0
    max_generate_length: int = 5000
    max_prompt_chars: int = 10_000
    lm_checkpoint: Path | None = None
    sync_config: Path | None = None
    audit_fsync: str = "batch"
    retry_after_s: int = 5
    brain_connect: list[str] = field(default_factory=list)
    brain_namespace: str = "evospikenet"
    brain_prompt_timeout_s: float = 300.0

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        for name in ("max_body_bytes", "max_upload_bytes", "queue_size", "job_workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameterError.of(name, value, "must be an integer >= 1")
        if self.audit_fsync not in ("batch", "always"):
            raise InvalidParameterError.of(
                "audit_fsync", self.audit_fsync, "must be batch or always"
            )
        for name in ("job_timeout_s", "brain_prompt_timeout_s"):
            if not getattr(self, name) > 0:
                raise InvalidParameterError.of(name, getattr(self, name), "must be > 0")
        self.brain_connect = list(self.brain_connect)

    @property
    def db_path(self) -> Path:
        """The SQLite database."""
        return self.data_dir / "state.db"

    @property
    def audit_log(self) -> Path:
        """The server's audit log (JSON Lines, :mod:`evospikenet.audit`)."""
        return self.data_dir / "audit.jsonl"

    def to_json(self) -> dict[str, object]:
        """JSON-ready form (paths as strings, keys as entries) to hand to worker processes."""
        out: dict[str, object] = {}
        for name, value in vars(self).items():
            if name == "api_keys":
                out[name] = [[k.key_id, k.scope, k.sha256] for k in value]
            elif isinstance(value, Path):
                out[name] = str(value)
            else:
                out[name] = value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServerConfig:
        """Inverse of :meth:`to_json`."""
        values: dict[str, Any] = dict(data)
        values["api_keys"] = [ApiKey(*k) for k in values.get("api_keys", [])]
        for name in ("lm_checkpoint", "sync_config"):
            if values.get(name) is not None:
                values[name] = Path(str(values[name]))
        return cls(**values)
