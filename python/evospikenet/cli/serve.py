"""``evospikenet serve`` (the REST API) and ``evospikenet api-key`` (make a key)."""

from __future__ import annotations

from pathlib import Path

import click

from evospikenet.cli._common import EXIT_BAD_INPUT, fail, user_errors
from evospikenet.errors import TransportError

__all__ = ["LIMITS", "api_key_command", "serve_command"]

#: ServerConfig fields ``--limit`` may set.
LIMITS = (
    "max_duration_ms", "max_scale", "max_population", "max_generations", "max_bio_neurons",
    "max_bio_duration_ms", "max_generate_length", "max_prompt_chars", "job_timeout_s",
    "retry_after_s",
)  # fmt: skip


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option(
    "--data-dir", type=click.Path(file_okay=False, path_type=Path),
    default=Path("evospikenet-data"),
    show_default=True, help="SQLite state, audit log and stored files.",
)  # fmt: skip
@click.option(
    "--api-key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Hashed API keys, 'KEY_ID SCOPE SHA256' per line (evospikenet api-key makes them). "
    "Without it every route but /health answers 401.",
)  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="uvicorn worker processes.")  # fmt: skip
@click.option("--job-workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Jobs run at once per worker.")  # fmt: skip
@click.option("--queue-size", type=click.IntRange(1, 100_000), default=16, show_default=True,
              help="Queued jobs at most (more: 429 + Retry-After).")  # fmt: skip
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow this origin (repeatable). Default: no CORS.")  # fmt: skip
@click.option("--max-body-bytes", type=click.IntRange(1), default=1 << 20, show_default=True)
@click.option("--max-upload-bytes", type=click.IntRange(1), default=256 << 20, show_default=True)
@click.option(
    "--sync-config", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Connectome sync config (YAML 'sync' section) for POST /api/connectomes/NAME/sync.",
)  # fmt: skip
@click.option(
    "--lm-checkpoint", type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Language-model checkpoint for /generate (default: the shipped one).",
)  # fmt: skip
@click.option("--audit-fsync", type=click.Choice(["batch", "always"]), default="batch",
              show_default=True)  # fmt: skip
@click.option(
    "--limit", "limits", multiple=True, metavar="NAME=VALUE",
    help="Set a limit of ServerConfig (max_duration_ms, max_scale, max_population, "
    "max_generations, max_bio_neurons, max_bio_duration_ms, max_generate_length, "
    "job_timeout_s, retry_after_s, brain_prompt_timeout_s); repeatable.",
)  # fmt: skip
@click.option(
    "--brain", "brain_connect", multiple=True, metavar="ENDPOINT",
    help="Attach a running distributed brain: its Zenoh router (brain up's endpoint, e.g. "
    "tcp/127.0.0.1:7447; repeatable). Mounts /api/prompt, /api/brain/* and "
    "/api/node-discovery/*; an endpoint no router answers on exits 2.",
)  # fmt: skip
@click.option("--brain-namespace", default="evospikenet", show_default=True,
              help="The brain's Zenoh key namespace (brain.yaml's namespace).")  # fmt: skip
@click.option("--log-level", default="info", show_default=True)
def serve_command(
    host: str,
    port: int,
    data_dir: Path,
    api_key_file: Path | None,
    workers: int,
    job_workers: int,
    queue_size: int,
    cors_origins: tuple[str, ...],
    max_body_bytes: int,
    max_upload_bytes: int,
    sync_config: Path | None,
    lm_checkpoint: Path | None,
    audit_fsync: str,
    limits: tuple[str, ...],
    brain_connect: tuple[str, ...],
    brain_namespace: str,
    log_level: str,
) -> None:
    """Serve the REST API (FastAPI on uvicorn; OpenAPI at /openapi.json, docs at /docs).

    Needs the serve extra: pip install 'evospikenet[serve]'.
    """
    with user_errors():
        from evospikenet.errors import MissingExtraError

        try:
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("evospikenet serve", "fastapi, uvicorn", "serve") from exc
        from evospikenet.cli._common import parse_params
        from evospikenet.server import ServerConfig, load_api_keys, serve

        extra = parse_params(limits)
        for name, value in extra.items():
            if name not in LIMITS:
                raise click.BadParameter(
                    f"{name!r} is not a limit (known: {', '.join(LIMITS)})", param_hint="--limit"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise click.BadParameter(f"{name} = {value!r} must be a number > 0",
                                         param_hint="--limit")  # fmt: skip
        config = ServerConfig(
            data_dir=data_dir,
            api_keys=load_api_keys(api_key_file) if api_key_file else [],
            cors_origins=list(cors_origins),
            max_body_bytes=max_body_bytes,
            max_upload_bytes=max_upload_bytes,
            queue_size=queue_size,
            job_workers=job_workers,
            sync_config=sync_config,
            lm_checkpoint=lm_checkpoint,
            audit_fsync=audit_fsync,
            brain_connect=list(brain_connect),
            brain_namespace=brain_namespace,
            **extra,
        )
        if brain_connect:
            from evospikenet.brain.zenoh_comm import ZenohConfig

            ZenohConfig("client", brain_connect, (), brain_namespace)  # a bad endpoint: exit 2
        try:
            serve(config, host=host, port=port, workers=workers, log_level=log_level)
        except TransportError as exc:
            fail(f"--brain {' '.join(brain_connect)}: {exc}", EXIT_BAD_INPUT)


@click.command("api-key")
@click.argument("key_id")
@click.option("--file", "key_file", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Key file to append the hashed key to (created 0600).")  # fmt: skip
@click.option("--scope", type=click.Choice(["read", "write"]), default="write", show_default=True)
def api_key_command(key_id: str, key_file: Path, scope: str) -> None:
    """Make an API key KEY_ID: its SHA-256 goes to --file, the key is printed once."""
    from evospikenet.server.config import add_api_key

    with user_errors():
        click.echo(add_api_key(key_file, key_id, scope))
