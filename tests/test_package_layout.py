"""The package layout shows the architecture (docs/layout.md).

Static checks over ``python/evospikenet`` (ast, no import):

- no import cycle between the package's modules, counting every runtime
  import (module level and inside functions, not ``if TYPE_CHECKING:``
  blocks); importing ``a.b.c`` also runs the package ``a.b``, so that edge
  counts too (the root package ``evospikenet``, the public facade, excepted,
  and a package's own modules, which run inside its import);
- no private cross-module import (``from evospikenet.x import _name`` in
  another module than ``x``);
- the package raises none of the bare builtins below: every exception it
  raises is rooted at ``EvoSpikeNetError`` (``evospikenet.errors``);
- every exception class is defined in ``evospikenet/errors.py``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

EXTENSION_MODULES = {"evospikenet._core"}  # the binding, imported as a module
PKG = Path(__file__).resolve().parents[1] / "python" / "evospikenet"
ROOT_NAME = "evospikenet"
BARE = {
    "ValueError",
    "RuntimeError",
    "TypeError",
    "KeyError",
    "IndexError",
    "LookupError",
    "OSError",
    "IOError",
    "FileNotFoundError",
    "PermissionError",
    "ImportError",
    "ModuleNotFoundError",
    "Exception",
}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` outside ``if TYPE_CHECKING:`` bodies."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    is_pkg = MODULES[module].name == "__init__.py"
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> Iterator[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) of each runtime import."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES:
                    yield sub, None, node.lineno
                else:
                    yield target, alias.name, node.lineno


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for target, _, _ in _imports(module):
            if not target.startswith(ROOT_NAME):
                continue
            parts = target.split(".")
            # the module itself and the packages above it, except the root facade
            for k in range(2, len(parts) + 1):
                name = ".".join(parts[:k])
                # a package's own modules run inside its import: not an edge back to it
                inside = module.startswith(name + ".") and k < len(parts)
                if name in MODULES and name != module and not inside:
                    graph[module].add(name)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_walk_sees_the_package() -> None:
    assert "evospikenet.network" in MODULES
    assert "evospikenet.connectome" in MODULES
    graph = _graph()
    assert "evospikenet.validation" in graph["evospikenet.plasticity"]
    assert "evospikenet.errors" in graph["evospikenet.validation"]
    # a cycle is found when there is one
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles() -> None:
    assert _cycles(_graph()) == []


def test_no_private_cross_module_imports() -> None:
    bad = []
    for module in MODULES:
        for target, name, line in _imports(module):
            if (
                target.startswith(ROOT_NAME)
                and name is not None
                and name.startswith("_")
                and not name.startswith("__")
                and target != module
                and f"{target}.{name}" not in EXTENSION_MODULES
            ):
                bad.append(f"{MODULES[module].relative_to(PKG.parent)}:{line}: {target}.{name}")
    assert bad == []


def _raised_builtins(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in BARE:
                yield f"{path.relative_to(PKG.parent)}:{node.lineno}: raise {exc.id}"


def test_no_bare_builtin_raised() -> None:
    bad = [hit for path in MODULES.values() for hit in _raised_builtins(path)]
    assert bad == []


def test_the_check_sees_a_bare_raise(tmp_path: Path) -> None:
    probe = PKG / "_probe_never_written.py"
    assert not probe.exists()
    src = tmp_path / "x.py"
    src.write_text("def f():\n    raise ValueError('x')\n", encoding="utf-8")
    tree = ast.parse(src.read_text())
    raises = [n for n in ast.walk(tree) if isinstance(n, ast.Raise)]
    assert len(raises) == 1


def test_exception_classes_live_in_errors() -> None:
    bad = []
    for module, path in MODULES.items():
        if module == "evospikenet.errors":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception")))
                for b in node.bases
            ):
                bad.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: {node.name}")
    assert bad == []


def test_brain_module_libraries() -> None:
    """The PFC needs torch (through nn); the visual and motor libraries do not."""
    for m in ("pfc", "modules.visual", "modules.motor"):
        assert f"evospikenet.brain.{m}" in MODULES
    assert "evospikenet.nn" in _graph()["evospikenet.brain.pfc"]
    for m in ("evospikenet.brain.modules.visual", "evospikenet.brain.modules.motor"):
        targets = {t for t, _, _ in _imports(m)}
        assert not {
            t for t in targets if t.split(".")[0] == "torch" or t.startswith("evospikenet.nn")
        }
