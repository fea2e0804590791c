"""The server's state in SQLite (stdlib :mod:`sqlite3`, WAL mode).

jobs, artifacts, sessions, connectomes, the genome index and the prompts sent to the
distributed brain. Files live beside it under the data
directory.

Every process opens its own connections (:class:`Store` keeps a pool and lends a
connection to one thread at a time); SQLite serialises writers (``busy_timeout``
30 s), so several uvicorn workers can share one data directory. The job queue is the ``jobs`` table:
a worker claims the oldest queued job with one ``UPDATE ... RETURNING``.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["JOB_STATES", "Store", "new_id", "now"]

#: The bytes SQLite may hold in this process before it frees cached pages (a soft limit).
SQLITE_HEAP_LIMIT_BYTES = 4 << 20
#: Job states; ``succeeded``, ``failed`` and ``cancelled`` are final.
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    params TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    key_id TEXT NOT NULL,
    session_id TEXT,
    owner_pid INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, created);
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS artifacts (
    id TEXT PRIMARY KEY,
    session_id TEXT,
    artifact_type TEXT NOT NULL,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    path TEXT NOT NULL,
    metadata TEXT NOT NULL,
    job_id TEXT,
    key_id TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS artifacts_type ON artifacts(artifact_type, created);
CREATE TABLE IF NOT EXISTS connectomes (
    name TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    info TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS prompts (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    result TEXT,
    error TEXT,
    created REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS prompts_status ON prompts(status, created);
CREATE TABLE IF NOT EXISTS genomes (
    name TEXT PRIMARY KEY,
    genome_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    fitness REAL,
    updated REAL NOT NULL
);
"""


def new_id() -> str:
    """Return a new random id (32 hex digits)."""
    return uuid.uuid4().hex


def now() -> float:
    """Seconds since the epoch."""
    return time.time()


def _iso(t: float | None) -> str | None:
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1e6):06d}Z"


class Store:
    """SQLite state of one data directory.

    Parameters
    ----------
    path : path-like
        The database file (created with its tables if missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._idle: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        with self._borrow() as db:
            db.executescript(_SCHEMA)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=30.0, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=30000")
        # one bound on the page caches of all of the process's connections together
        # (process-wide; each connection's cache would otherwise fill towards 2 MiB as
        # the database grows: the pool keeps a connection per concurrent thread)
        conn.execute(f"PRAGMA soft_heap_limit={SQLITE_HEAP_LIMIT_BYTES}")
        return conn

    @contextmanager
    def _borrow(self) -> Iterator[sqlite3.Connection]:
        """Lend an idle connection (a new one when none is idle) to one thread at a time.

        The pool grows to the most threads that used the store at once and keeps its
        connections: threads of a server's pool come and go, and a connection per
        thread was opened again (schema parsed, page cache refilled) for each new one.
        """
        if self._pid != os.getpid():  # a forked child opens its own
            self._idle, self._pid = [], os.getpid()
        try:
            conn = self._idle.pop()  # list.pop/append are atomic
        except IndexError:
            conn = self._open()
        try:
            yield conn
        finally:
            self._idle.append(conn)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Return a write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error)."""
        with self._borrow() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """Run a read query."""
        with self._borrow() as db:
            return db.execute(sql, args).fetchall()

    # -- prompts to the distributed brain ---------------------------------------------------

    def add_prompt(self, prompt_id: str, key_id: str, params: dict[str, Any]) -> None:
        """Record a prompt sent to the brain (status ``pending``)."""
        with self.tx() as db:
            db.execute(
                "INSERT INTO prompts (id, key_id, params, status, created) "
                "VALUES (?, ?, ?, 'pending', ?)",
                (prompt_id, key_id, json.dumps(params, sort_keys=True), now()),
            )

    def finish_prompt(
        self, prompt_id: str, status: str, result: dict[str, Any] | None, error: str | None
    ) -> bool:
        """Set a pending prompt's final ``status`` (``completed`` or ``failed``).

        Returns False when the prompt is unknown or already final (the first answer wins).
        """
        with self.tx() as db:
            cur = db.execute(
                "UPDATE prompts SET status=?, result=?, error=?, finished=? "
                "WHERE id=? AND status='pending'",
                (status, None if result is None else json.dumps(result, sort_keys=True),
                 error, now(), prompt_id),
            )  # fmt: skip
            return cur.rowcount == 1

    def get_prompt(self, prompt_id: str) -> dict[str, Any] | None:
        """Return a prompt as a dict, or None."""
        rows = self.query("SELECT * FROM prompts WHERE id=?", (prompt_id,))
        return self._prompt(rows[0]) if rows else None

    def latest_prompt(self, status: str) -> dict[str, Any] | None:
        """Return the prompt that reached ``status`` last, or None."""
        rows = self.query(
            "SELECT * FROM prompts WHERE status=? ORDER BY finished DESC, created DESC LIMIT 1",
            (status,),
        )
        return self._prompt(rows[0]) if rows else None

    def fail_pending_prompts(self, reason: str, older_than: float | None = None) -> list[str]:
        """Fail every pending prompt (created before ``older_than``, if given); return their ids."""
        cutoff = now() if older_than is None else older_than
        if not self.query(
            "SELECT 1 FROM prompts WHERE status='pending' AND created <= ? LIMIT 1", (cutoff,)
        ):
            return []  # no write lock taken for nothing (result() calls this on every read)
        with self.tx() as db:
            rows = db.execute(
                "UPDATE prompts SET status='failed', error=?, finished=? "
                "WHERE status='pending' AND created <= ? RETURNING id",
                (reason, now(), cutoff),
            ).fetchall()
        return sorted(r[0] for r in rows)

    @staticmethod
    def _prompt(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "prompt_id": row["id"],
            "key_id": row["key_id"],
            "params": json.loads(row["params"]),
            "status": row["status"],
            "result": None if row["result"] is None else json.loads(row["result"]),
            "error": row["error"],
            "created": _iso(row["created"]),
            "finished": _iso(row["finished"]),
        }

    # -- jobs ----------------------------------------------------------------------------

    def add_job(
        self, kind: str, params: dict[str, Any], key_id: str, session_id: str | None, limit: int
    ) -> dict[str, Any] | None:
        """Queue a job; return it, or None when ``limit`` jobs are already queued."""
        job_id = new_id()
        with self.tx() as db:
            (waiting,) = db.execute("SELECT COUNT(*) FROM jobs WHERE status='queued'").fetchone()
            if waiting >= limit:
                return None
            db.execute(
                "INSERT INTO jobs (id, kind, status, params, key_id, session_id, created) "
                "VALUES (?, ?, 'queued', ?, ?, ?, ?)",
                (job_id, kind, json.dumps(params), key_id, session_id, now()),
            )
        job = self.get_job(job_id)
        assert job is not None
        return job

    def claim_job(self, kinds: tuple[str, ...]) -> dict[str, Any] | None:
        """Mark the oldest queued job of ``kinds`` running (owned by this process) and return it."""
        marks = ",".join("?" * len(kinds))
        with self.tx() as db:
            row = db.execute(
                f"UPDATE jobs SET status='running', started=?, owner_pid=? WHERE id = ("
                f"SELECT id FROM jobs WHERE status='queued' AND kind IN ({marks}) "
                "ORDER BY created LIMIT 1) RETURNING id",
                (now(), os.getpid(), *kinds),
            ).fetchone()
        return None if row is None else self.get_job(row["id"])

    def get_job(self, job_id: str) -> dict[str, Any] | None:
        """Return a job as a dict, or None."""
        rows = self.query("SELECT * FROM jobs WHERE id=?", (job_id,))
        return self._job(rows[0]) if rows else None

    def list_jobs(self, kind: str, limit: int, status: str | None = None) -> list[dict[str, Any]]:
        """Newest first."""
        if status is None:
            rows = self.query(
                "SELECT * FROM jobs WHERE kind=? ORDER BY created DESC LIMIT ?", (kind, limit)
            )
        else:
            rows = self.query(
                "SELECT * FROM jobs WHERE kind=? AND status=? ORDER BY created DESC LIMIT ?",
                (kind, status, limit),
            )
        return [self._job(r) for r in rows]

    @staticmethod
    def _job(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "job_id": row["id"],
            "kind": row["kind"],
            "status": row["status"],
            "params": json.loads(row["params"]),
            "progress": row["progress"],
            "message": row["message"],
            "result": None if row["result"] is None else json.loads(row["result"]),
            "error": row["error"],
            "session_id": row["session_id"],
            "key_id": row["key_id"],
            "cancel_requested": bool(row["cancel_requested"]),
            "created_at": _iso(row["created"]),
            "started_at": _iso(row["started"]),
            "finished_at": _iso(row["finished"]),
        }

    def set_progress(self, job_id: str, progress: float, message: str = "") -> bool:
        """Update a running job's progress; return whether a cancel was requested."""
        with self.tx() as db:
            db.execute(
                "UPDATE jobs SET progress=?, message=? WHERE id=? AND status='running'",
                (progress, message, job_id),
            )
            row = db.execute("SELECT cancel_requested FROM jobs WHERE id=?", (job_id,)).fetchone()
        return bool(row and row[0])

    def cancel_requested(self, job_id: str) -> bool:
        """Whether ``DELETE`` asked to cancel the job."""
        rows = self.query("SELECT cancel_requested FROM jobs WHERE id=?", (job_id,))
        return bool(rows and rows[0][0])

    def finish_job(
        self,
        job_id: str,
        status: str,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        artifacts: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Move a running job to a final state, registering its artifacts in the same transaction.

        Returns False (and changes nothing) if the job was not running.
        """
        with self.tx() as db:
            cur = db.execute(
                "UPDATE jobs SET status=?, result=?, error=?, finished=?, "
                "progress=CASE WHEN ?='succeeded' THEN 1 ELSE progress END "
                "WHERE id=? AND status='running'",
                (
                    status,
                    None if result is None else json.dumps(result),
                    error,
                    now(),
                    status,
                    job_id,
                ),
            )
            if cur.rowcount != 1:
                return False
            for a in artifacts or []:
                self._insert_artifact(db, a)
        return True

    def cancel_job(self, job_id: str) -> str | None:
        """Cancel: a queued job becomes ``cancelled`` at once, a running one is flagged.

        Returns the status after the call (None for an unknown job).
        """
        with self.tx() as db:
            row = db.execute("SELECT status FROM jobs WHERE id=?", (job_id,)).fetchone()
            if row is None:
                return None
            if row["status"] == "queued":
                db.execute(
                    "UPDATE jobs SET status='cancelled', finished=?, error=? WHERE id=?",
                    (now(), "cancelled before it started", job_id),
                )
                return "cancelled"
            if row["status"] == "running":
                db.execute("UPDATE jobs SET cancel_requested=1 WHERE id=?", (job_id,))
            return str(row["status"])

    def fail_interrupted(self, reason: str) -> list[str]:
        """Mark every running job failed with ``reason`` (at start-up: its process died)."""
        with self.tx() as db:
            rows = db.execute(
                "UPDATE jobs SET status='failed', error=?, finished=? WHERE status='running' "
                "RETURNING id",
                (reason, now()),
            ).fetchall()
        return [r["id"] for r in rows]

    def running_jobs_of(self, pid: int) -> list[str]:
        """Ids of the jobs running in process ``pid``."""
        return [
            r["id"]
            for r in self.query(
                "SELECT id FROM jobs WHERE status='running' AND owner_pid=?", (pid,)
            )
        ]

    # -- sessions and artifacts -------------------------------------------------------------

    def add_session(self, description: str, key_id: str) -> dict[str, Any]:
        """Create a log session."""
        sid = new_id()
        with self.tx() as db:
            db.execute(
                "INSERT INTO sessions (id, description, key_id, created) VALUES (?, ?, ?, ?)",
                (sid, description, key_id, now()),
            )
        session = self.get_session(sid)
        assert session is not None
        return session

    def get_session(self, session_id: str) -> dict[str, Any] | None:
        """Return a session with its artifact count, or None."""
        rows = self.query(
            "SELECT s.*, (SELECT COUNT(*) FROM artifacts a WHERE a.session_id=s.id) AS n "
            "FROM sessions s WHERE s.id=?",
            (session_id,),
        )
        return self._session(rows[0]) if rows else None

    def list_sessions(self, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        rows = self.query(
            "SELECT s.*, (SELECT COUNT(*) FROM artifacts a WHERE a.session_id=s.id) AS n "
            "FROM sessions s ORDER BY created DESC LIMIT ?",
            (limit,),
        )
        return [self._session(r) for r in rows]

    @staticmethod
    def _session(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "session_id": row["id"],
            "description": row["description"],
            "key_id": row["key_id"],
            "created_at": _iso(row["created"]),
            "artifact_count": row["n"],
        }

    @staticmethod
    def _insert_artifact(db: sqlite3.Connection, a: dict[str, Any]) -> None:
        db.execute(
            "INSERT INTO artifacts (id, session_id, artifact_type, name, sha256, size, path, "
            "metadata, job_id, key_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                a["artifact_id"],
                a.get("session_id"),
                a["artifact_type"],
                a["name"],
                a["sha256"],
                a["size"],
                a["path"],
                json.dumps(a.get("metadata") or {}),
                a.get("job_id"),
                a["key_id"],
                now(),
            ),
        )

    def add_artifact(self, artifact: dict[str, Any]) -> dict[str, Any]:
        """Register a stored file."""
        with self.tx() as db:
            self._insert_artifact(db, artifact)
        out = self.get_artifact(artifact["artifact_id"])
        assert out is not None
        return out

    def get_artifact(self, artifact_id: str) -> dict[str, Any] | None:
        """Return an artifact's record, or None."""
        rows = self.query("SELECT * FROM artifacts WHERE id=?", (artifact_id,))
        return self._artifact(rows[0]) if rows else None

    def list_artifacts(
        self,
        artifact_type: str | None,
        session_id: str | None,
        job_id: str | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Newest first, filtered."""
        where, args = [], []
        for col, value in (
            ("artifact_type", artifact_type),
            ("session_id", session_id),
            ("job_id", job_id),
        ):
            if value is not None:
                where.append(f"{col}=?")
                args.append(value)
        sql = "SELECT * FROM artifacts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created DESC LIMIT ?"
        return [self._artifact(r) for r in self.query(sql, (*args, limit))]

    @staticmethod
    def _artifact(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "artifact_id": row["id"],
            "session_id": row["session_id"],
            "artifact_type": row["artifact_type"],
            "name": row["name"],
            "sha256": row["sha256"],
            "size": row["size"],
            "metadata": json.loads(row["metadata"]),
            "job_id": row["job_id"],
            "key_id": row["key_id"],
            "created_at": _iso(row["created"]),
            "path": row["path"],
        }

    # -- connectomes and genomes -------------------------------------------------------------

    def put_connectome(self, name: str, path: str, sha256: str, info: dict[str, Any]) -> None:
        """Insert or replace a connectome's record."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO connectomes (name, path, sha256, info, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, path, sha256, json.dumps(info), now()),
            )

    def get_connectome(self, name: str) -> dict[str, Any] | None:
        """Return a connectome's record, or None."""
        rows = self.query("SELECT * FROM connectomes WHERE name=?", (name,))
        return self._connectome(rows[0]) if rows else None

    def list_connectomes(self) -> list[dict[str, Any]]:
        """By name."""
        return [self._connectome(r) for r in self.query("SELECT * FROM connectomes ORDER BY name")]

    @staticmethod
    def _connectome(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "name": row["name"],
            "sha256": row["sha256"],
            "updated_at": _iso(row["updated"]),
            "path": row["path"],
            **json.loads(row["info"]),
        }

    def index_genome(
        self, name: str, genome_id: str, generation: int, fitness: float | None
    ) -> None:
        """Insert or replace a genome's index row."""
        with self.tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO genomes (name, genome_id, generation, fitness, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (name, genome_id, generation, fitness, now()),
            )

    def list_genomes(self) -> list[dict[str, Any]]:
        """Return the genome index, by name."""
        return [
            {
                "name": r["name"],
                "genome_id": r["genome_id"],
                "generation": r["generation"],
                "fitness": r["fitness"],
            }
            for r in self.query("SELECT * FROM genomes ORDER BY name")
        ]
