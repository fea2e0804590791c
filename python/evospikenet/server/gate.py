r"""The ASGI middleware every request passes: request id, API key, body size, audit entry.

One place decides, before any route runs:

- ``X-Request-ID``: a fresh id per request, returned in the response and
  recorded in the audit entry;
- authentication: every path but ``/health`` needs the ``X-API-Key`` header;
  no key or an unknown key is 401 (``WWW-Authenticate: ApiKey``), a ``read``
  key on a mutating method (POST, PUT, PATCH, DELETE) is 403;
- body size: a declared ``Content-Length`` over the limit is 413 at once, a
  streamed body is counted as it arrives and stopped with 413 at the limit
  (uploads have their own, larger limit);
- audit: every mutating request appends exactly one entry to the server's
  audit log, written when the response starts (so it is in the log before
  the client sees the answer): actor = the key id (``anonymous`` without a
  valid key), action ``api.<operation id>``, resource = the path, result
  ``success`` (2xx/3xx), ``failure`` (4xx) or ``error`` (5xx), detail
  ``{method, status, request_id, request_sha256}`` where ``request_sha256``
  is SHA-256 of ``METHOD PATH?QUERY\n`` followed by the body bytes the route
  read. A route that writes its own entry (``POST /api/audit/log``) sets
  ``request.state.audited``. If the audit log cannot be written the
  response becomes 500 (not 503: the change was made, a retry must not repeat it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
from starlette.exceptions import HTTPException

from evospikenet.server.config import lookup_key
from evospikenet.server.store import new_id

__all__ = ["MUTATING", "Gate"]

log = logging.getLogger("evospikenet.server")

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _error_body(status: int, message: str, error: str) -> bytes:
    return json.dumps({"detail": message, "error": error, "field": None}).encode()


class Gate:
    """Request id, authentication, size limits and the audit entry (module docstring).

    Parameters
    ----------
    app : ASGI app
    server : ServerState
        Gives ``config`` (keys, limits) and ``audit_entry(...)``.
    upload_paths : callable
        ``upload_paths(method, path) -> bool``: whether the upload limit applies.
    """

    def __init__(self, app: Any, server: Any, upload_paths: Callable[[str, str], bool]) -> None:
        self.app = app
        self.server = server
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one request through the checks (module docstring), then the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cfg = self.server.config
        method: str = scope["method"]
        path: str = scope["path"]
        request_id = new_id()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        mutating = method in MUTATING
        hasher = hashlib.sha256(
            f"{method} {path}?{scope.get('query_string', b'').decode('latin-1')}\n".encode()
        )
        actor = "anonymous"
        status_box: dict[str, Any] = {"status": None, "audited": False, "replaced": False}

        async def audit(status: int) -> bool:
            if not mutating or status_box["audited"] or state.get("audited"):
                return True
            status_box["audited"] = True
            route = scope.get("route")
            op = getattr(route, "operation_id", None) or getattr(route, "name", None) or "unrouted"
            result = "success" if status < 400 else "failure" if status < 500 else "error"
            detail = {
                "method": method,
                "status": status,
                "request_id": request_id,
                "request_sha256": hasher.hexdigest(),
            }
            try:
                await anyio.to_thread.run_sync(
                    self.server.audit_entry, f"api.{op}", actor, path, result, detail
                )
            except Exception:
                log.exception("cannot write the audit entry of %s %s", method, path)
                return False
            return True

        async def send_wrapper(message: Message) -> None:
            if status_box["replaced"]:
                return
            if message["type"] == "http.response.start":
                status = int(message["status"])
                status_box["status"] = status
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
                if not await audit(status):
                    status_box["replaced"] = True
                    await self._reply(
                        send, 500, "the audit log cannot be written", "AuditUnavailable", request_id
                    )
                    return
            await send(message)

        if path != "/health":
            presented = headers.get(b"x-api-key")
            key = None
            if presented:
                key = lookup_key(cfg.api_keys, presented.decode("latin-1"))
            if key is None:
                reason = "missing X-API-Key header" if not presented else "unknown API key"
                await self._deny(send_wrapper, 401, reason, "Unauthorized", request_id)
                return
            actor = key.key_id
            state["key_id"] = key.key_id
            state["scope"] = key.scope
            if mutating and key.scope != "write":
                await self._deny(
                    send_wrapper, 403, f"key {key.key_id!r} is read-only", "Forbidden", request_id
                )
                return
        limit = cfg.max_upload_bytes if self.upload_paths(method, path) else cfg.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await self._deny(send_wrapper, 400, "bad Content-Length", "BadRequest", request_id)
                return
            if too_big:
                await self._deny(
                    send_wrapper,
                    413,
                    f"request body of {int(declared)} bytes is over the limit of {limit}",
                    "PayloadTooLarge",
                    request_id,
                )
                return
        received = 0

        async def receive_wrapper() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if received > limit:
                    raise HTTPException(413, f"request body is over the limit of {limit} bytes")
                hasher.update(body)
            return message

        try:
            await self.app(scope, receive_wrapper, send_wrapper)
        except Exception:
            if status_box["status"] is None:
                await audit(500)
            raise

    async def _deny(self, send: Send, status: int, message: str, error: str, rid: str) -> None:
        headers = [(b"content-type", b"application/json")]
        if status == 401:
            headers.append((b"www-authenticate", b'ApiKey header="X-API-Key"'))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": _error_body(status, message, error)})

    @staticmethod
    async def _reply(send: Send, status: int, message: str, error: str, rid: str) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", rid.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _error_body(status, message, error)})
