"""Training, evaluation, checkpoints and generation of the byte-level language models.

Checkpoints are safetensors files: the model's tensors, plus (while training) the Adam
moments under ``optim.*``; the metadata holds ``format = evospikenet-lm``, the
architecture, the :class:`~evospikenet.nn.lm.LMConfig` as JSON, the step, the training
seconds so far, the corpus and its SHA-256, and the held-out BPC. Each write replaces
the file atomically (temporary file + rename), so a killed run resumes from the last one.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from evospikenet._atomic import atomic_path
from evospikenet.errors import FileIOError, InvalidParameterError
from evospikenet.nn.corpus import corpus_sha256, load_corpus, split
from evospikenet.nn.lm import (
    ARCHITECTURES,
    Kind,
    LMConfig,
    SpikingEvoSpikeNetLM,
    TransformerLM,
    bits_per_char,
    build_model,
    n_parameters,
)

__all__ = [
    "DEFAULT_CHECKPOINT",
    "FORMAT",
    "Progress",
    "TrainResult",
    "default_checkpoint",
    "evaluate_bpc",
    "generate",
    "load_checkpoint",
    "save_checkpoint",
    "train_lm",
]

FORMAT = "evospikenet-lm"
FORMAT_VERSION = "1"
#: File name of the shipped checkpoint inside ``evospikenet/nn/data``.
DEFAULT_CHECKPOINT = "lm_shakespeare.safetensors"
Model = SpikingEvoSpikeNetLM | TransformerLM


def default_checkpoint() -> Path:
    """Return the path of the trained checkpoint shipped in the package."""
    return Path(str(resources.files("evospikenet.nn") / "data" / DEFAULT_CHECKPOINT))


def save_checkpoint(
    path: str | Path,
    model: Model,
    meta: dict[str, str],
    optimizer: torch.optim.Optimizer | None = None,
) -> None:
    """Write ``model`` (and the Adam moments of ``optimizer``) to ``path`` atomically.

    Raises
    ------
    FileIOError
        The file cannot be written (an existing one is kept).
    """
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if optimizer is not None:
        for i, p in enumerate(model.parameters()):
            st = optimizer.state.get(p, {})
            for name in ("exp_avg", "exp_avg_sq", "step"):
                if name in st:
                    tensors[f"optim.{i}.{name}"] = st[name].detach().reshape(-1).contiguous()
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": type(model).__name__,
        "config": model.config.to_json(),
        **meta,
    }
    try:
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata=metadata)
    except OSError as exc:
        raise FileIOError(f"cannot write checkpoint {path}: {exc}", str(path), exc.errno) from exc


def load_checkpoint(
    path: str | Path, expect: str | None = None
) -> tuple[Model, dict[str, str], dict[str, torch.Tensor]]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or Path
    expect : str or None
        Required architecture name ('SpikingEvoSpikeNetLM' or 'TransformerLM').

    Returns
    -------
    model, metadata, optimizer tensors (``optim.*``, possibly empty)

    Raises
    ------
    FileIOError
        The file does not exist or cannot be read.
    InvalidParameterError
        It is not an EvoSpikeNet LM checkpoint, or one of another architecture, or its
        tensors do not fit its config.
    """
    path = Path(path)
    if not path.is_file():
        raise FileIOError(f"checkpoint {path} does not exist", str(path))
    try:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as fh:
            meta = dict(fh.metadata() or {})
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise InvalidParameterError.of(
            "checkpoint", str(path), f"not a safetensors file ({exc})"
        ) from exc
    if meta.get("format") != FORMAT:
        raise InvalidParameterError.of(
            "checkpoint", str(path), "not an EvoSpikeNet language-model checkpoint"
        )
    arch = meta.get("architecture", "")
    if arch not in ARCHITECTURES or (expect is not None and arch != expect):
        want = expect or " or ".join(ARCHITECTURES)
        raise InvalidParameterError.of(
            "checkpoint", str(path), f"holds a {arch or 'unknown'} model, expected {want}"
        )
    config = LMConfig.from_json(meta["config"])
    model = ARCHITECTURES[arch](config)
    optim = {k: v for k, v in tensors.items() if k.startswith("optim.")}
    weights = {k: v for k, v in tensors.items() if not k.startswith("optim.")}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        raise InvalidParameterError.of(
            "checkpoint", str(path), f"tensors do not fit the {arch} config: {first[-1].strip()}"
        ) from exc
    return model, meta, optim


@torch.no_grad()
def evaluate_bpc(model: Model, data: bytes, max_chars: int | None = None) -> float:
    """Held-out bits per character.

    ``data`` is cut into consecutive windows of ``config.context + 1`` bytes overlapping
    by one; every byte after the first of its window is predicted from the window so far.

    Parameters
    ----------
    model : SpikingEvoSpikeNetLM or TransformerLM
    data : bytes
    max_chars : int or None
        Evaluate only the first ``max_chars`` bytes.

    Returns
    -------
    float
        Mean cross-entropy in bits per character. Afterwards ``model.spike_density``
        (and, for the spiking model, ``model.layer_rates``) hold the averages over the
        evaluated bytes.
    """
    was_training = model.training
    model.eval()
    ctx = model.config.context
    buf = torch.frombuffer(bytearray(data[:max_chars] if max_chars else data), dtype=torch.uint8)
    n_win = (len(buf) - 1) // ctx
    if n_win < 1:
        raise InvalidParameterError.of(
            "data", f"{len(buf)} bytes", f"need more than {ctx} bytes to evaluate"
        )
    total, count, density = 0.0, 0, 0.0
    rates: list[float] = []
    batch = 64
    for start in range(0, n_win, batch):
        idx = torch.arange(start, min(start + batch, n_win)) * ctx
        win = torch.stack([buf[i : i + ctx + 1] for i in idx.tolist()]).long()
        logits = model(win[:, :-1])
        total += float(
            F.cross_entropy(logits.reshape(-1, 256), win[:, 1:].reshape(-1), reduction="sum")
        )
        count += win[:, 1:].numel()
        density += model.spike_density * win[:, 1:].numel()
        if isinstance(model, SpikingEvoSpikeNetLM):
            n = win[:, 1:].numel()
            layer = [r * n for r in model.layer_rates]
            rates = layer if not rates else [a + b for a, b in zip(rates, layer, strict=True)]
    model.spike_density = density / count
    if isinstance(model, SpikingEvoSpikeNetLM):
        # Per-layer firing rates over the whole evaluation (for ops_per_token).
        model.layer_rates = [r / count for r in rates]
    model.train(was_training)
    return bits_per_char(total / count)


@dataclass
class Progress:
    """One progress report of :func:`train_lm`."""

    step: int
    loss: float
    bpc: float
    tokens_per_s: float
    spike_density: float
    elapsed_s: float
    budget_s: float


@dataclass
class TrainResult:
    """Outcome of :func:`train_lm`."""

    path: Path
    steps: int
    elapsed_s: float
    val_bpc: float
    spike_density: float
    n_parameters: int
    resumed_from_step: int


def _lr(step: int, frac: float, base: float, warmup: int) -> float:
    w = min(1.0, (step + 1) / warmup)
    return base * w * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * min(frac, 1.0))))


def train_lm(
    out: str | Path,
    corpus: str = "shakespeare",
    minutes: float = 10.0,
    kind: Kind = "spiking",
    config: LMConfig | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    seed: int = 0,
    checkpoint_every_s: float = 60.0,
    eval_chars: int | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    command: str = "",
    max_steps: int | None = None,
) -> TrainResult:
    """Train a byte-level LM for a wall-clock budget, resuming from ``out`` if it exists.

    The budget ``minutes`` counts training time over all runs into ``out``: a run killed
    after 6 of 10 minutes resumes (weights, Adam moments, step) and trains 4 more.
    Windows of ``context + 1`` bytes are drawn uniformly from the training split with a
    generator seeded by ``(seed, step)``, so a resumed run draws what the first would
    have. Adam (Kingma & Ba 2015), gradient-norm clip 1, learning rate with a linear
    warm-up over 100 steps and a cosine decay to 10 % over the budget.

    Parameters
    ----------
    out : str or Path
        Checkpoint to write (and resume from).
    corpus : str
        'shakespeare' or a text-file path (:func:`~evospikenet.nn.corpus.load_corpus`).
    minutes : float
        Training budget in minutes (> 0).
    kind : {'spiking', 'transformer'}
    config : LMConfig or None
        Ignored when resuming (the checkpoint's config is used).
    batch_size, lr, seed
        Windows per step, peak learning rate, sampling seed.
    checkpoint_every_s : float
        Seconds between checkpoints.
    eval_chars : int or None
        Evaluate the held-out BPC on at most this many bytes (None: all of it).
    on_progress : callable or None
        Called with a :class:`Progress` every few steps.
    command : str
        The command line, recorded in the checkpoint.
    max_steps : int or None
        Also stop after this many steps in all (counted over runs like ``minutes``).

    Returns
    -------
    TrainResult

    Raises
    ------
    FileIOError
        Bad corpus path; the checkpoint cannot be written.
    InvalidParameterError
        Empty or too short corpus, bad budget, or ``out`` is a checkpoint of another
        architecture.
    MissingExtraError
        'shakespeare' without the ``shakespeare`` package.
    """
    if not (math.isfinite(minutes) and minutes > 0):
        raise InvalidParameterError.of("minutes", minutes, "must be > 0")
    data = load_corpus(corpus)
    train, val = split(data)
    cfg = config or LMConfig()
    arch = "SpikingEvoSpikeNetLM" if kind == "spiking" else "TransformerLM"
    out = Path(out)
    step, elapsed, resumed = 0, 0.0, 0
    if out.exists():
        model, meta, optim_tensors = load_checkpoint(out, expect=arch)
        step = resumed = int(meta.get("step", "0"))
        elapsed = float(meta.get("elapsed_s", "0"))
    else:
        torch.manual_seed(seed)
        model, optim_tensors = build_model(kind, cfg), {}
    cfg = model.config
    if len(train) <= cfg.context + 1 or len(val) <= cfg.context + 1:
        raise InvalidParameterError.of(
            "corpus", corpus, f"too short: need > {10 * (cfg.context + 2)} bytes"
        )
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.99))
    if optim_tensors:
        for i, p in enumerate(model.parameters()):
            if f"optim.{i}.exp_avg" in optim_tensors:
                opt.state[p] = {
                    "step": optim_tensors[f"optim.{i}.step"].reshape(()),
                    "exp_avg": optim_tensors[f"optim.{i}.exp_avg"].view_as(p).clone(),
                    "exp_avg_sq": optim_tensors[f"optim.{i}.exp_avg_sq"].view_as(p).clone(),
                }
    budget = minutes * 60.0
    buf = torch.frombuffer(bytearray(train), dtype=torch.uint8)
    gen = torch.Generator()
    meta_base = {
        "corpus": corpus if corpus == "shakespeare" else Path(corpus).name,
        "corpus_sha256": corpus_sha256(data),
        "split": "last 10% held out",
        "seed": str(seed),
        "batch_size": str(batch_size),
        "lr": str(lr),
        "minutes": str(minutes),
        "command": command,
    }

    def meta_now(extra: dict[str, str]) -> dict[str, str]:
        return {**meta_base, "step": str(step), "elapsed_s": f"{elapsed:.1f}", **extra}

    model.train()
    last_ckpt = time.monotonic()
    t_report, tok_report = time.monotonic(), 0
    while elapsed < budget and (max_steps is None or step < max_steps):
        t0 = time.monotonic()
        gen.manual_seed(seed * 1_000_003 + step)
        starts = torch.randint(0, len(buf) - cfg.context - 1, (batch_size,), generator=gen)
        win = torch.stack([buf[s : s + cfg.context + 1] for s in starts.tolist()]).long()
        for group in opt.param_groups:
            group["lr"] = _lr(step, elapsed / budget, lr, 100)
        logits = model(win[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, cfg.vocab_size), win[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        now = time.monotonic()
        elapsed += now - t0
        tok_report += win[:, 1:].numel()
        if on_progress is not None and (step % 10 == 0 or elapsed >= budget or step == max_steps):
            rate = tok_report / max(now - t_report, 1e-9)
            t_report, tok_report = now, 0
            on_progress(
                Progress(
                    step,
                    float(loss.detach()),
                    bits_per_char(float(loss.detach())),
                    rate,
                    model.spike_density,
                    elapsed,
                    budget,
                )
            )
        if now - last_ckpt >= checkpoint_every_s:
            save_checkpoint(out, model, meta_now({}), opt)
            last_ckpt = time.monotonic()
    val_bpc = evaluate_bpc(model, val, eval_chars)
    final = meta_now(
        {
            "val_bpc": f"{val_bpc:.4f}",
            "val_chars": str(min(len(val), eval_chars or len(val))),
            "spike_density": f"{model.spike_density:.4f}",
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "n_parameters": str(n_parameters(model)),
        }
    )
    save_checkpoint(out, model, final, opt)
    return TrainResult(
        out, step, elapsed, val_bpc, model.spike_density, n_parameters(model), resumed
    )


@torch.no_grad()
def generate(
    model: SpikingEvoSpikeNetLM,
    prompt: str,
    max_length: int = 200,
    temperature: float = 0.8,
    seed: int | None = None,
) -> str:
    """Generate ``max_length`` bytes after ``prompt`` with the token-by-token decode path.

    Each token costs one :meth:`SpikingEvoSpikeNetLM.step` (cached keys/values and
    membrane states), not a pass over the whole context; runs on one CPU thread.

    Parameters
    ----------
    model : SpikingEvoSpikeNetLM
    prompt : str
        Encoded as UTF-8; empty: start from a newline.
    max_length : int
        Bytes to generate (>= 0).
    temperature : float
        Softmax temperature (>= 0; 0 picks the most likely byte).
    seed : int or None
        Sampling seed.

    Returns
    -------
    str
        The generated continuation (without the prompt), decoded as UTF-8 with
        replacement characters for invalid bytes.

    Raises
    ------
    InvalidParameterError
        Negative ``max_length`` or ``temperature``.
    """
    if max_length < 0:
        raise InvalidParameterError.of("max_length", max_length, "must be >= 0")
    if not (math.isfinite(temperature) and temperature >= 0):
        raise InvalidParameterError.of("temperature", temperature, "must be >= 0")
    model.eval()
    gen = torch.Generator()
    if seed is not None:
        gen.manual_seed(seed)
    else:
        gen.seed()
    # One token's ops are tiny: a thread pool only adds synchronisation (on a busy
    # 2-core machine, 20x slower), so decode single-threaded.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _sample(model, prompt, max_length, temperature, gen)
    finally:
        torch.set_num_threads(threads)


def _sample(
    model: SpikingEvoSpikeNetLM,
    prompt: str,
    max_length: int,
    temperature: float,
    gen: torch.Generator,
) -> str:
    ids = list((prompt or "\n").encode("utf-8"))
    state = model.init_state()
    logits = torch.zeros(1, 256)
    for tok in ids:
        logits = model.step(torch.tensor([tok]), state)
    out: list[int] = []
    for _ in range(max_length):
        if temperature == 0:
            nxt = int(logits.argmax(-1))
        else:
            probs = torch.softmax(logits[0] / temperature, -1)
            if not bool(torch.isfinite(probs).all()):
                # logits / temperature overflowed float32 (a tiny temperature): take the
                # limit T -> 0 of the softmax, the most likely byte
                nxt = int(logits.argmax(-1))
            else:
                nxt = int(torch.multinomial(probs, 1, generator=gen))
        out.append(nxt)
        logits = model.step(torch.tensor([nxt]), state)
    return bytes(out).decode("utf-8", errors="replace")
