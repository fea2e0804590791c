"""``evospikenet audit``: append to, query, export, verify, prove and repair an audit log.

Exit codes: 0 valid / done, 1 tampered or broken (first bad seq and reason on
stderr), 2 bad usage or unreadable input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn
from rich.table import Table

from evospikenet._atomic import check_output
from evospikenet._formats import parse_json
from evospikenet.audit import (
    RESULTS,
    AuditLogManager,
    RepairPlan,
    TreeHead,
    VerifyResult,
    audit_log_path,
    generate_signing_key,
    load_private_key,
    load_public_key,
    verify_inclusion_proof,
)
from evospikenet.cli._common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    fail,
    print_results,
    progress_bar,
    user_errors,
)
from evospikenet.errors import IndexOutOfRangeError, InvalidParameterError

__all__ = ["audit"]

_LOG_HELP = "The audit log (JSON Lines); default $EVOSPIKENET_AUDIT_LOG."


@contextmanager
def _errors() -> Iterator[None]:
    """Map errors to exit codes: bad input (or index) 2, broken log 1."""
    try:
        with user_errors():
            try:
                yield
            except IndexOutOfRangeError as exc:
                fail(str(exc), EXIT_BAD_INPUT)
    except OSError as exc:
        fail(str(exc), EXIT_BAD_INPUT)


def _log(value: str | None) -> Path:
    path = audit_log_path(value)
    if path is None:
        raise click.UsageError("give --log PATH or set EVOSPIKENET_AUDIT_LOG")
    return path


def _existing_log(value: str | None) -> Path:
    path = _log(value)
    if not path.is_file():
        fail(f"no audit log at {path}", EXIT_BAD_INPUT)
    return path


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False))


log_option = click.option("--log", "log", type=click.Path(dir_okay=False), help=_LOG_HELP)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")


@click.group()
def audit() -> None:
    """Tamper-evident audit log: SHA-256 hash chain with RFC 9162 Merkle proofs."""


def _run_verify(
    manager: AuditLogManager, head: TreeHead | None, show_progress: bool
) -> VerifyResult:
    columns = (TextColumn("verify"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with progress_bar(show_progress, *columns) as update:
        return manager.verify(head, progress=update)


@audit.command("verify")
@log_option
@click.option(
    "--head",
    "head_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A saved tree head (from `audit head`) the log must still match.",
)
@click.option(
    "--public-key",
    type=click.Path(exists=True, dir_okay=False),
    help="Require the head to be signed with this Ed25519 public key (PEM).",
)
@json_option
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def verify_command(
    log: str | None, head_file: str | None, public_key: str | None, as_json: bool, no_progress: bool
) -> None:
    """Verify the chain (and a saved head); exit 0 valid, 1 tampered, 2 unreadable."""
    with _errors():
        path = _existing_log(log)
        head = TreeHead.load(head_file) if head_file else None
        if public_key is not None:
            if head is None:
                raise click.UsageError("--public-key needs --head")
            if not head.signature_valid(load_public_key(public_key)):
                fail(f"the head in {head_file} is not signed by {public_key}", EXIT_FAILURE)
        elif head is not None and head.signature is not None and not head.signature_valid():
            fail(f"the signature of the head in {head_file} does not verify", EXIT_FAILURE)
        show = not (no_progress or as_json) and sys.stderr.isatty()
        report = _run_verify(AuditLogManager(path), head, show)
    if as_json:
        _echo_json(report)
    error = report["error"]
    if error is None:
        if not as_json:
            against = f", matches the head of {head.tree_size}" if head else ""
            click.echo(f"valid: {report['checked']} entries{against}; root {report['root_hash']}")
        return
    where = "" if report["first_bad_seq"] is None else f" at seq {report['first_bad_seq']}"
    click.echo(
        f"TAMPERED{where}: {error['kind']}: {error['reason']} "
        f"({report['checked']} entries verified before it)",
        err=True,
    )
    sys.exit(EXIT_FAILURE)


@audit.command("append")
@log_option
@click.option("--action", required=True, help="What was done (dotted name).")
@click.option("--actor", required=True, help="Who did it.")
@click.option("--resource", required=True, help="What it was done to.")
@click.option("--result", required=True, type=click.Choice(RESULTS), help="How it ended.")
@click.option("--detail", default=None, help="Detail as a JSON object.")
@click.option(
    "--fsync", type=click.Choice(["always", "batch"]), default="always", show_default=True
)
@json_option
def append_command(
    log: str | None,
    action: str,
    actor: str,
    resource: str,
    result: str,
    detail: str | None,
    fsync: str,
    as_json: bool,
) -> None:
    """Append one entry."""
    parsed: dict[str, Any] | None = None
    if detail is not None:
        try:
            value = parse_json(detail, "--detail", detail[:40])
        except InvalidParameterError as exc:
            raise click.BadParameter(exc.reason, param_hint="--detail") from None
        if not isinstance(value, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--detail")
        parsed = value
    with _errors():
        manager = AuditLogManager(_log(log), fsync="always" if fsync == "always" else "batch")
        with manager:
            written = manager.write(action, actor, resource, result, parsed)
    if as_json:
        _echo_json(written)
    else:
        click.echo(f"seq {written['seq']} {written['entry_hash']}")


@audit.command("query")
@log_option
@click.option("--actor", default=None, help="Exact actor.")
@click.option(
    "--action",
    default=None,
    help="Action prefix; commands record cli.COMMAND (cli.simulate), which "
    "--action simulate also finds.",
)
@click.option("--resource", default=None, help="Exact resource.")
@click.option("--result", type=click.Choice(RESULTS), default=None, help="Exact result.")
@click.option("--since", default=None, help="Earliest time, ISO 8601 (UTC if naive).")
@click.option("--until", default=None, help="Latest time, ISO 8601 (UTC if naive).")
@click.option("--limit", type=click.IntRange(min=0), default=100, show_default=True)
@json_option
def query_command(
    log: str | None,
    actor: str | None,
    action: str | None,
    resource: str | None,
    result: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List entries matching the filters, oldest first."""
    with _errors():
        manager = AuditLogManager(_existing_log(log))
        rows = manager.query(actor, action, resource, result, since, until, limit)
    if as_json:
        _echo_json(rows)
        return
    table = Table()
    for col in ("seq", "timestamp", "actor", "action", "resource", "result", "detail"):
        table.add_column(col, overflow="fold")
    for e in rows:
        table.add_row(
            str(e.get("seq")),
            str(e.get("timestamp")),
            str(e.get("actor")),
            str(e.get("action")),
            str(e.get("resource")),
            str(e.get("result")),
            json.dumps(e.get("detail"), ensure_ascii=False),
        )
    print_results(table)


@audit.command("export")
@log_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), required=True)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="File to write (atomically)."
)
def export_command(log: str | None, fmt: str, out: str) -> None:
    """Export all entries as a JSON array or CSV."""
    with _errors():
        check_output("--out", out)
        manager = AuditLogManager(_existing_log(log))
        n = manager.export("json" if fmt == "json" else "csv", out)
    click.echo(f"exported {n} entries to {out}", err=True)


@audit.command("stats")
@log_option
def stats_command(log: str | None) -> None:
    """Print counts per action, actor and result as JSON."""
    with _errors():
        stats = AuditLogManager(_existing_log(log)).stats()
    _echo_json(stats)


@audit.command("head")
@log_option
@click.option(
    "--sign",
    "key",
    type=click.Path(exists=True, dir_okay=False),
    help="Sign the head with this Ed25519 private key (PEM).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="Also save the head to this file.")
def head_command(log: str | None, key: str | None, out: str | None) -> None:
    """Verify the log and print its tree head (size, Merkle root) as JSON."""
    with _errors():
        if out is not None:
            check_output("--out", out)
        head = AuditLogManager(_existing_log(log)).head()
        if key is not None:
            head = head.sign(load_private_key(key))
        if out is not None:
            head.save(out)
    _echo_json(head.to_dict())


@audit.command("prove")
@click.argument("seq", type=click.IntRange(0, 2**64 - 1))
@log_option
@click.option(
    "--tree-size",
    type=click.IntRange(1, 2**64 - 1),
    default=None,
    help="Prove against the first N entries (default all).",
)
@click.option(
    "--head",
    "head_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Check the proof against this saved head; exit 1 if it fails.",
)
def prove_command(seq: int, log: str | None, tree_size: int | None, head_file: str | None) -> None:
    """Print an RFC 9162 inclusion proof of entry SEQ as JSON."""
    with _errors():
        manager = AuditLogManager(_existing_log(log))
        head = TreeHead.load(head_file) if head_file else None
        size = head.tree_size if head is not None and tree_size is None else tree_size
        proof = manager.prove(seq, size)
    _echo_json(proof)
    if head is not None and not verify_inclusion_proof(proof, head):
        click.echo(f"entry {seq} is NOT in the tree of the head in {head_file}", err=True)
        sys.exit(EXIT_FAILURE)


@audit.command("repair")
@log_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def repair_command(log: str | None, yes: bool) -> None:
    """Cut a torn final line (an interrupted write), and nothing else."""
    declined: list[RepairPlan] = []

    def confirm(plan: RepairPlan) -> bool:
        click.echo(
            f"The log ends in a torn entry (seq {plan.seq}): {plan.torn_bytes} bytes from "
            f"offset {plan.offset}, starting {plan.preview[:80]!r}",
            err=True,
        )
        if yes or click.confirm("Truncate it?", default=False, err=True):
            return True
        declined.append(plan)
        return False

    with _errors():
        removed = AuditLogManager(_existing_log(log)).repair(confirm)
    if removed:
        click.echo(f"removed {removed} torn bytes", err=True)
    elif declined:
        click.echo("declined: the log still ends in a torn line", err=True)
        sys.exit(EXIT_FAILURE)
    else:
        click.echo("the log is valid; nothing changed", err=True)


@audit.command("keygen")
@click.argument("key_file", type=click.Path(dir_okay=False))
def keygen_command(key_file: str) -> None:
    """Create an Ed25519 key pair for signing heads: KEY_FILE and KEY_FILE.pub."""
    with _errors():
        public = generate_signing_key(key_file)
    click.echo(f"private key {key_file} (mode 0600), public key {public}", err=True)
