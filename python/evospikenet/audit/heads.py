"""Signed Merkle tree heads of an audit log.

A tree head (``tree_size``, ``root_hash``) commits to the first ``tree_size``
entries of a log (RFC 9162, section 2.1). Kept somewhere the log's holder
cannot write, it exposes any later rewrite of those entries, which a hash
chain alone cannot. Heads can be signed with Ed25519 (RFC 8032) so that they
can be handed to someone else and checked later.

The signed message is the RFC 8785 canonical JSON of
``{"root_hash", "timestamp", "tree_size"}``.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from evospikenet import _core
from evospikenet._atomic import atomic_path, stage_output, staged_outputs
from evospikenet._formats import read_json
from evospikenet.errors import InvalidParameterError

__all__ = [
    "HeadSignature",
    "TreeHead",
    "generate_signing_key",
    "load_private_key",
    "load_public_key",
]


def _utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_hash(name: str, value: object) -> str:
    if not isinstance(value, str) or len(value) != 71 or not value.startswith("sha256:"):
        raise InvalidParameterError.of(name, value, "must be sha256:<64 lowercase hex>")
    if any(c not in "0123456789abcdef" for c in value[7:]):
        raise InvalidParameterError.of(name, value, "must be sha256:<64 lowercase hex>")
    return value


@dataclass(frozen=True)
class HeadSignature:
    """An Ed25519 signature of a tree head.

    Parameters
    ----------
    public_key : str
        Raw 32-byte Ed25519 public key, base64.
    signature : str
        Raw 64-byte signature, base64.
    algorithm : str
        Always ``"ed25519"``.
    """

    public_key: str
    signature: str
    algorithm: str = "ed25519"


@dataclass(frozen=True)
class TreeHead:
    """Size and Merkle root of the first ``tree_size`` entries of a log.

    Parameters
    ----------
    tree_size : int
        Number of entries covered.
    root_hash : str
        RFC 9162 Merkle tree hash over their entry hashes, ``sha256:<hex>``.
    timestamp : str
        RFC 3339 UTC time the head was taken.
    signature : HeadSignature or None
        Ed25519 signature over the canonical JSON of the three fields above.

    References
    ----------
    .. [1] B. Laurie, E. Messeri, R. Stradling, "Certificate Transparency
       Version 2.0", RFC 9162, 2021, sections 2.1.1 and 4.10.
    .. [2] S. Josefsson, I. Liusvaara, "Edwards-Curve Digital Signature
       Algorithm (EdDSA)", RFC 8032, 2017.
    """

    tree_size: int
    root_hash: str
    timestamp: str = field(default_factory=_utc_now)
    signature: HeadSignature | None = None

    def signed_message(self) -> bytes:
        """Return the bytes that are signed: RFC 8785 JSON of size, root and timestamp."""
        body = {
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "tree_size": self.tree_size,
        }
        return _core.audit_canonical_json(json.dumps(body)).encode()

    def sign(self, private_key: Ed25519PrivateKey) -> TreeHead:
        """Return this head signed with ``private_key`` (Ed25519).

        Parameters
        ----------
        private_key : Ed25519PrivateKey
            The signing key (see :func:`load_private_key`).

        Returns
        -------
        TreeHead
            A copy carrying the signature and the raw public key.
        """
        raw_public = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        sig = private_key.sign(self.signed_message())
        signature = HeadSignature(
            public_key=base64.b64encode(raw_public).decode(),
            signature=base64.b64encode(sig).decode(),
        )
        return TreeHead(self.tree_size, self.root_hash, self.timestamp, signature)

    def signature_valid(self, public_key: Ed25519PublicKey | None = None) -> bool:
        """Check the signature.

        Parameters
        ----------
        public_key : Ed25519PublicKey, optional
            The key the head must be signed with. Without it the key embedded
            in the head is used, which shows the head is intact but not who
            signed it.

        Returns
        -------
        bool
            False when unsigned, signed by another key, or altered.
        """
        if self.signature is None or self.signature.algorithm != "ed25519":
            return False
        try:
            embedded = base64.b64decode(self.signature.public_key, validate=True)
            sig = base64.b64decode(self.signature.signature, validate=True)
            key = Ed25519PublicKey.from_public_bytes(embedded)
        except ValueError:
            return False
        if public_key is not None:
            wanted = public_key.public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            if wanted != embedded:
                return False
        try:
            key.verify(sig, self.signed_message())
        except InvalidSignature:
            return False
        return True

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form of the head."""
        out: dict[str, Any] = {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
        }
        if self.signature is not None:
            out["signature"] = {
                "algorithm": self.signature.algorithm,
                "public_key": self.signature.public_key,
                "signature": self.signature.signature,
            }
        return out

    @classmethod
    def from_dict(cls, data: Any) -> TreeHead:
        """Build a head from its JSON form.

        Raises
        ------
        InvalidParameterError
            If a field is missing or of the wrong type.
        """
        if not isinstance(data, dict):
            raise InvalidParameterError.of("head", data, "must be a JSON object")
        size = data.get("tree_size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise InvalidParameterError.of("tree_size", size, "must be an integer >= 0")
        root = _check_hash("root_hash", data.get("root_hash"))
        timestamp = data.get("timestamp", "")
        if not isinstance(timestamp, str):
            raise InvalidParameterError.of("timestamp", timestamp, "must be a string")
        signature = None
        raw_sig = data.get("signature")
        if raw_sig is not None:
            if not isinstance(raw_sig, dict) or not all(
                isinstance(raw_sig.get(k), str) for k in ("algorithm", "public_key", "signature")
            ):
                raise InvalidParameterError.of(
                    "signature", raw_sig, "must have algorithm, public_key, signature strings"
                )
            signature = HeadSignature(
                public_key=raw_sig["public_key"],
                signature=raw_sig["signature"],
                algorithm=raw_sig["algorithm"],
            )
        return cls(size, root, timestamp, signature)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the head as JSON, atomically."""
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TreeHead:
        """Read a head written by :meth:`save`.

        Raises
        ------
        InvalidParameterError
            If the file is not a head.
        OSError
            If it cannot be read.
        """
        return cls.from_dict(read_json(path, "head", max_bytes=2**20))


def generate_signing_key(path: str | os.PathLike[str]) -> Path:
    """Create an Ed25519 key pair: private key at ``path``, public at ``path.pub``.

    Both are PEM (PKCS #8 and SubjectPublicKeyInfo); the private key file is
    created with mode 0600 and never overwritten.

    Returns
    -------
    pathlib.Path
        The public key's path.

    Raises
    ------
    FileExistsError
        If ``path`` exists.
    FileIOError
        If ``path.pub`` cannot be written (a directory, a missing or
        read-only directory); then no file is created.
    """
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_path = Path(f"{os.fspath(path)}.pub")
    created = False
    try:
        with staged_outputs() as staged:  # the public key is checked and staged first
            stage_output(staged, "public key", public_path).write_bytes(public_pem)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
            with os.fdopen(fd, "wb") as fh:
                fh.write(private_pem)
                fh.flush()
                os.fsync(fh.fileno())
    except BaseException:
        if created:  # no private key without its public key
            Path(path).unlink(missing_ok=True)
        raise
    return public_path


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Load an unencrypted PEM Ed25519 private key.

    Raises
    ------
    InvalidParameterError
        If the file holds no Ed25519 private key.
    """
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as e:
        raise InvalidParameterError.of("key", str(path), f"not a PEM private key: {e}") from e
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidParameterError.of("key", str(path), "not an Ed25519 key")
    return key


def load_public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """Load a PEM Ed25519 public key.

    Raises
    ------
    InvalidParameterError
        If the file holds no Ed25519 public key.
    """
    try:
        key = serialization.load_pem_public_key(Path(path).read_bytes())
    except ValueError as e:
        raise InvalidParameterError.of("key", str(path), f"not a PEM public key: {e}") from e
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidParameterError.of("key", str(path), "not an Ed25519 key")
    return key
