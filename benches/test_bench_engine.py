"""pytest-benchmark scenarios (disabled in the normal test run).

Run with::

    .venv/bin/python -m pytest benches/test_bench_engine.py --benchmark-enable -p no:cacheprovider
"""

from __future__ import annotations

from typing import Any

import pytest

from evospikenet.models import build_model


@pytest.mark.parametrize("threads", [1, 2])
def test_cuba_one_second(benchmark: Any, threads: int) -> None:
    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (build_model("cuba", seed=1, threads=threads),), {}

    benchmark.pedantic(lambda built: built.run(1000.0), setup=setup, rounds=5)


def test_potjans_tenth_scale_build(benchmark: Any) -> None:
    benchmark.pedantic(lambda: build_model("potjans2014", scale=0.1, seed=1), rounds=3)


@pytest.mark.parametrize("threads", [1, 2])
def test_potjans_tenth_scale_100ms(benchmark: Any, threads: int) -> None:
    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (build_model("potjans2014", scale=0.1, seed=1, threads=threads),), {}

    benchmark.pedantic(lambda built: built.run(100.0), setup=setup, rounds=3)
