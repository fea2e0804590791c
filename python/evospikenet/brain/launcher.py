"""Start a whole brain from ``brain.yaml`` as local node processes (``evospikenet brain up``).

The file (an example: ``examples/brain.yaml``)::

    namespace: evospikenet              # Zenoh key prefix (default evospikenet)
    endpoint: tcp/127.0.0.1:7447        # where `brain up` listens (a Zenoh router)
    prompt_dir: /tmp/evospikenet-prompts  # the PFC's watched directory (optional)
    record: null                        # SimulationRecorder directory (optional)
    ready_timeout_s: 60                 # longest wait for every node to be active
    nodes:                              # one process per entry, the PFC first
      - id: pfc-0
      - id: lang-main-0
        checkpoint: null                # lang-main option (default: the shipped LM)
      - id: vis-object-9                # role resolved from the id (vis -> visual)
      - id: motor-0
        role: motor                     # optional; must match the id

:class:`BrainLauncher` opens a Zenoh session in router mode listening on
``endpoint``; every node is a Zenoh client of it (as are ``brain status``,
``brain prompt`` and nodes on other hosts: all traffic goes through the
router, which also withdraws a node's liveliness token when its link
breaks), follows the nodes with a
:class:`~.discovery.ZenohNodeDiscovery`, starts the PFC process first and
the others right after it without waiting (they start in parallel), and
counts the brain ready when every node is active. Each node process runs
``evospikenet brain node`` in its own process group with a parent-death
signal (SIGTERM), so no node outlives the launcher even if it is killed;
:meth:`BrainLauncher.stop` sends SIGTERM, waits, and kills what is left.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from evospikenet._formats import read_yaml_mapping
from evospikenet.brain.discovery import ZenohNodeDiscovery
from evospikenet.brain.messages import ROLES, base_module_type
from evospikenet.brain.zenoh_comm import ZenohCommunicator, ZenohConfig
from evospikenet.errors import InvalidParameterError, StateError

__all__ = [
    "DEFAULT_ENDPOINT",
    "BrainConfig",
    "BrainLauncher",
    "NodeSpec",
    "node_command",
]

DEFAULT_ENDPOINT = "tcp/127.0.0.1:7447"
_NODE_KEYS = {"id", "role", "checkpoint"}
_TOP_KEYS = {"namespace", "endpoint", "prompt_dir", "record", "ready_timeout_s", "nodes"}


@dataclass(frozen=True)
class NodeSpec:
    """One node of ``brain.yaml``: id, role, and the role's options."""

    node_id: str
    role: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BrainConfig:
    """A parsed ``brain.yaml`` (module docs).

    Raises
    ------
    InvalidParameterError
        An unknown key, a bad value, no PFC, two PFCs or a repeated node id (named).
    """

    nodes: tuple[NodeSpec, ...]
    namespace: str = "evospikenet"
    endpoint: str = DEFAULT_ENDPOINT
    prompt_dir: str | None = None
    record: str | None = None
    ready_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        ids = [n.node_id for n in self.nodes]
        if not ids:
            raise InvalidParameterError.of("nodes", [], "a brain needs at least a pfc node")
        for nid in ids:
            if ids.count(nid) > 1:
                raise InvalidParameterError.of("nodes.id", nid, "is repeated")
        pfcs = [n.node_id for n in self.nodes if n.role == "pfc"]
        if len(pfcs) != 1:
            raise InvalidParameterError.of("nodes", pfcs, "need exactly one pfc node")
        if not self.ready_timeout_s > 0:
            raise InvalidParameterError.of("ready_timeout_s", self.ready_timeout_s, "must be > 0")
        ZenohConfig(namespace=self.namespace)  # checks the namespace

    @classmethod
    def from_dict(cls, data: Any, where: str = "brain.yaml") -> BrainConfig:
        """Build from the YAML's mapping (see the class for the errors)."""
        if not isinstance(data, dict):
            raise InvalidParameterError.of(where, type(data).__name__, "must be a mapping")
        for key in data:
            if key not in _TOP_KEYS:
                raise InvalidParameterError.of(key, data[key], f"is not a key of {where}")
        raw_nodes = data.get("nodes")
        if not isinstance(raw_nodes, list):
            raise InvalidParameterError.of("nodes", raw_nodes, "must be a list of nodes")
        nodes = []
        for i, raw in enumerate(raw_nodes):
            if not isinstance(raw, dict) or "id" not in raw:
                raise InvalidParameterError.of(f"nodes[{i}]", raw, "must be a mapping with an id")
            for key in raw:
                if key not in _NODE_KEYS:
                    raise InvalidParameterError.of(f"nodes[{i}].{key}", raw[key], "unknown key")
            node_id = str(raw["id"])
            role = base_module_type(node_id)
            if role not in ROLES:
                raise InvalidParameterError.of("nodes.id", node_id, f"{role} has no node runtime")
            if raw.get("role", role) != role:
                raise InvalidParameterError.of(
                    f"nodes[{i}].role", raw["role"], f"but the id {node_id} resolves to {role}"
                )
            options = {}
            if raw.get("checkpoint") is not None:
                if role != "lang-main":
                    raise InvalidParameterError.of(
                        f"nodes[{i}].checkpoint", raw["checkpoint"], "is a lang-main option"
                    )
                options["checkpoint"] = str(raw["checkpoint"])
            nodes.append(NodeSpec(node_id, role, options))
        kwargs: dict[str, Any] = {}
        for key, kind in (("namespace", str), ("endpoint", str), ("prompt_dir", str),
                          ("record", str), ("ready_timeout_s", (int, float))):  # fmt: skip
            value = data.get(key)
            if value is None:
                continue
            if not isinstance(value, kind) or isinstance(value, bool):
                raise InvalidParameterError.of(key, value, "has the wrong type")
            kwargs[key] = value
        # The PFC first (priority 0).
        nodes.sort(key=lambda n: n.role != "pfc")
        return cls(tuple(nodes), **kwargs)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BrainConfig:
        """Read ``brain.yaml`` (relative ``prompt_dir`` / ``record`` / checkpoints from its folder).

        Raises
        ------
        FileIOError
            The file cannot be read.
        InvalidParameterError
            Not YAML, or a bad entry.
        """
        data = read_yaml_mapping(path, "brain config")
        cfg = cls.from_dict(data, str(path))
        base = Path(path).parent

        def rel(p: str | None) -> str | None:
            return None if p is None else p if Path(p).is_absolute() else str(base / p)

        nodes = tuple(
            NodeSpec(n.node_id, n.role, {k: rel(v) for k, v in n.options.items()})
            for n in cfg.nodes
        )
        return BrainConfig(
            nodes, cfg.namespace, cfg.endpoint, rel(cfg.prompt_dir), rel(cfg.record),
            cfg.ready_timeout_s,
        )  # fmt: skip


def node_command(
    spec: NodeSpec,
    *,
    connect: str,
    namespace: str,
    prompt_dir: str | None = None,
    record: str | None = None,
) -> list[str]:
    """Return the ``evospikenet brain node`` command line of ``spec``."""
    cmd = [
        sys.executable, "-m", "evospikenet", "brain", "node", "--role", spec.role,
        "--node-id", spec.node_id, "--mode", "client", "--connect", connect,
        "--namespace", namespace,
    ]  # fmt: skip
    if record is not None:
        cmd += ["--record", record]
    if spec.role == "pfc" and prompt_dir is not None:
        cmd += ["--prompt-dir", prompt_dir]
    if "checkpoint" in spec.options:
        cmd += ["--checkpoint", str(spec.options["checkpoint"])]
    return cmd


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """In the child, before exec: SIGTERM when the parent dies (Linux prctl)."""
    os.setpgrp()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class BrainLauncher:
    """Run the nodes of a :class:`BrainConfig` as local processes (module docs).

    Parameters
    ----------
    config : BrainConfig
    log_dir : str, Path or None
        Each node's stdout/stderr go to ``log_dir/{node_id}.log`` (default: a
        temporary directory, kept; :attr:`log_dir`).
    """

    def __init__(self, config: BrainConfig, log_dir: str | os.PathLike[str] | None = None) -> None:
        self.config = config
        self.log_dir = Path(log_dir or tempfile.mkdtemp(prefix="evospikenet-brain-"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.comm: ZenohCommunicator | None = None
        self.discovery: ZenohNodeDiscovery | None = None
        self.started_at = 0.0
        self.ready_s: float | None = None
        self._logs: list[IO[bytes]] = []

    def __enter__(self) -> BrainLauncher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def open(self) -> None:
        """Open the router session and start discovery."""
        cfg = self.config
        self.comm = ZenohCommunicator(
            ZenohConfig("router", listen=[cfg.endpoint], namespace=cfg.namespace)
        )
        self.discovery = ZenohNodeDiscovery(self.comm).start()

    def start_node(self, spec: NodeSpec) -> subprocess.Popen[bytes]:
        """Start (or restart) one node process."""
        cfg = self.config
        cmd = node_command(
            spec, connect=cfg.endpoint, namespace=cfg.namespace,
            prompt_dir=cfg.prompt_dir, record=cfg.record,
        )  # fmt: skip
        log = (self.log_dir / f"{spec.node_id}.log").open("ab")
        self._logs.append(log)
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
        self.procs[spec.node_id] = proc
        return proc

    def start(self) -> None:
        """Open, then start every node: the PFC first, the rest right after it."""
        if self.comm is None:
            self.open()
        self.started_at = time.monotonic()
        for spec in self.config.nodes:
            self.start_node(spec)

    def exited(self) -> dict[str, int]:
        """Node id -> exit code of the node processes that have ended."""
        return {nid: rc for nid, p in self.procs.items() if (rc := p.poll()) is not None}

    def wait_ready(self, timeout_s: float | None = None) -> float:
        """Wait until every node is active; return the seconds since :meth:`start`.

        Raises
        ------
        StateError
            A node process ended, or the nodes were not all active within the timeout
            (names them and the log directory).
        """
        assert self.discovery is not None
        timeout = self.config.ready_timeout_s if timeout_s is None else timeout_s
        deadline = self.started_at + timeout
        want = {n.node_id for n in self.config.nodes}
        while True:
            active = set(self.discovery.active_nodes())
            if want <= active:
                self.ready_s = time.monotonic() - self.started_at
                return self.ready_s
            dead = self.exited()
            if dead:
                nid, rc = next(iter(dead.items()))
                raise StateError(
                    f"node {nid} exited with code {rc} during start-up "
                    f"(log: {self.log_dir / (nid + '.log')})"
                )
            if time.monotonic() > deadline:
                missing = ", ".join(sorted(want - active))
                raise StateError(
                    f"nodes not active after {timeout:g} s: {missing} (logs in {self.log_dir})"
                )
            time.sleep(0.05)

    def status_rows(self) -> list[dict[str, Any]]:
        """Discovery's rows (:meth:`ZenohNodeDiscovery.export_for_ui`) plus each process's state."""
        assert self.discovery is not None
        rows = {r["node_id"]: r for r in self.discovery.export_for_ui()}
        out = []
        for spec in self.config.nodes:
            row = rows.get(spec.node_id) or {
                "node_id": spec.node_id, "module": spec.role, "status": "starting",
                "icon": "\u26aa", "last_seen_s": None, "step": 0, "pid": 0, "host": "",
                "pending": 0,
            }  # fmt: skip
            proc = self.procs.get(spec.node_id)
            rc = proc.poll() if proc is not None else None
            row["process"] = "running" if proc is not None and rc is None else f"exit {rc}"
            out.append(row)
        return out

    def stop(self, grace_s: float = 10.0) -> dict[str, int]:
        """SIGTERM every node, wait up to ``grace_s``, SIGKILL the rest; close. Idempotent.

        Returns
        -------
        dict of str to int
            Node id -> exit code.
        """
        for proc in self.procs.values():
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        codes = {}
        for nid, proc in self.procs.items():
            try:
                codes[nid] = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                codes[nid] = proc.wait()
        for log in self._logs:
            log.close()
        self._logs.clear()
        if self.discovery is not None:
            self.discovery.stop()
            self.discovery = None
        if self.comm is not None:
            self.comm.close()
            self.comm = None
        return codes
