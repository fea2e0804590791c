"""Tamper-evident audit log: SHA-256 hash chain, RFC 9162 Merkle proofs, Ed25519 heads.

The log is JSON Lines (format: :mod:`evospikenet.audit.manager`). Start with
:class:`AuditLogManager`; commands record themselves with
:func:`record_command` when :func:`audit_log_path` resolves a log.
"""

from __future__ import annotations

from evospikenet.audit.heads import (
    HeadSignature,
    TreeHead,
    generate_signing_key,
    load_private_key,
    load_public_key,
)
from evospikenet.audit.manager import (
    COMMAND_ACTION_PREFIX,
    GENESIS_PREV_HASH,
    RESULTS,
    AuditLogManager,
    InclusionProof,
    RepairPlan,
    VerifyError,
    VerifyResult,
    WriteResult,
    verify_inclusion_proof,
)
from evospikenet.audit.record import (
    AUDIT_LOG_ENV,
    audit_log_path,
    check_audit_log,
    default_actor,
    file_sha256,
    record_command,
)

__all__ = [
    "AUDIT_LOG_ENV",
    "COMMAND_ACTION_PREFIX",
    "GENESIS_PREV_HASH",
    "RESULTS",
    "AuditLogManager",
    "HeadSignature",
    "InclusionProof",
    "RepairPlan",
    "TreeHead",
    "VerifyError",
    "VerifyResult",
    "WriteResult",
    "audit_log_path",
    "check_audit_log",
    "default_actor",
    "file_sha256",
    "generate_signing_key",
    "load_private_key",
    "load_public_key",
    "record_command",
    "verify_inclusion_proof",
]
