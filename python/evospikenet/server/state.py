"""What the routes share.

configuration, the SQLite store, the audit log, the job runner, the biomimetic framework and the
language model (loaded on first use).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from evospikenet.audit import AuditLogManager
from evospikenet.server.config import ServerConfig
from evospikenet.server.jobs import JobRunner
from evospikenet.server.store import Store

__all__ = ["ServerState"]

#: Paths of the job kinds in the API (for the audit entries of finished jobs).
JOB_PATHS = {"simulation": "/api/simulations", "evolution": "/api/evolution"}


@dataclass
class ServerState:
    """Everything one server process holds.

    Attributes
    ----------
    config : ServerConfig
    store : Store
    audit : AuditLogManager
        The server's audit log (``data_dir/audit.jsonl``).
    runner : JobRunner
    brain : object or None
        A :class:`evospikenet.server.brain.BrainBackend` when a brain is attached.
    """

    config: ServerConfig
    store: Store
    audit: AuditLogManager
    runner: JobRunner | None = None
    brain: Any = None
    framework: Any = None
    framework_lock: threading.Lock = field(default_factory=threading.Lock)
    lm: Any = None
    lm_meta: dict[str, str] = field(default_factory=dict)
    lm_lock: threading.Lock = field(default_factory=threading.Lock)
    file_lock: threading.Lock = field(default_factory=threading.Lock)

    def audit_entry(
        self, action: str, actor: str, resource: str, result: str, detail: dict[str, Any]
    ) -> dict[str, Any]:
        """Append one entry to the server's audit log and return what the log returned."""
        return dict(self.audit.write(action, actor, resource, result, detail))

    def audit_job(self, job: dict[str, Any], status: str, detail: dict[str, Any]) -> None:
        """Record a job reaching a final state (actor: the key that submitted it)."""
        result = {"succeeded": "success", "cancelled": "failure"}.get(status, "error")
        base = JOB_PATHS.get(job["kind"], f"/api/jobs/{job['kind']}")
        self.audit_entry(
            f"job.{job['kind']}.{status}",
            job["key_id"],
            f"{base}/{job['job_id']}",
            result,
            detail,
        )
