"""A real ``evospikenet serve`` on a loopback port, as a subprocess (not a test module)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evospikenet.server.config import add_api_key

START_TIMEOUT_S = 120.0  # a loaded 2-core machine imports numpy/pyarrow/fastapi slowly


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m evospikenet serve`` with a data directory and a key file of its own.

    ``keys`` maps key ids to plaintext keys: ``alice`` (write) and ``reader`` (read).
    """

    def __init__(self, root: Path, *args: str, port: int | None = None) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.key_file = root / "keys.txt"
        if not self.key_file.exists():
            self.keys = {
                "alice": add_api_key(self.key_file, "alice", "write"),
                "reader": add_api_key(self.key_file, "reader", "read"),
            }
            (root / "keys.plain").write_text(
                "\n".join(f"{k} {v}" for k, v in self.keys.items()), encoding="utf-8"
            )
        else:
            self.keys = dict(
                line.split() for line in (root / "keys.plain").read_text().splitlines()
            )
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = root / "server.log"

    @property
    def key(self) -> str:
        return self.keys["alice"]

    def headers(self, who: str = "alice") -> dict[str, str]:
        return {"X-API-Key": self.keys[who]}

    def start(self, wait: bool = True) -> ServerProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        cmd = [
            sys.executable, "-m", "evospikenet", "serve", "--port", str(self.port),
            "--data-dir", str(self.data_dir), "--api-key-file", str(self.key_file),
            "--log-level", "warning", *self.args,
        ]  # fmt: skip
        fh = self.log.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
        fh.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server not up after {timeout} s: {self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
