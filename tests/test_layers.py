"""The architecture holds: layers import downwards only, and no module import cycle exists.

The graph is read from the source with ``ast`` (module-level and function-level imports alike,
since a lazy import is still a dependency), over the three packages. An import of
``package.module`` counts as an edge to that module, not to the package's ``__init__`` (Python
runs the ``__init__`` first, but that is the package's own business, as in import-linter).
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("logdrum", "evaluation", "musicgen_ft")
LAYER = {"logdrum": 0, "evaluation": 1, "musicgen_ft": 2}


def _module_name(path):
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}


def _imports(name, path, known):
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # "from pkg import module" imports the module; "from module import name" the module
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        out.update(t for t in targets if t in known and t != name)
    return out


def import_graph():
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def find_cycle(graph):
    """One import cycle as a list of modules, or ``None``."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_is_read():
    graph = import_graph()
    # a few edges everybody relies on: if these vanish the parser is broken, not the code
    assert "logdrum.core.detector" in graph["logdrum"]
    assert "logdrum.io.atomic" in graph["musicgen_ft.checkpoint"]
    assert "evaluation.run_folder" in graph["evaluation.run_reader"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_import_downwards_only(package):
    graph = import_graph()
    upward = sorted((a, b) for a, targets in graph.items() if a.split(".")[0] == package
                    for b in targets if LAYER[b.split(".")[0]] > LAYER[package])
    assert not upward, f"{package} imports a higher layer: {upward}"


def test_library_modules_parse_no_arguments():
    """Command-line code lives in the command modules only."""
    commands = {"logdrum.cli", "evaluation.cli", "musicgen_ft.train", "musicgen_ft.preflight",
                "musicgen_ft.watchdog", "musicgen_ft.demo.cli"}
    offenders = sorted(name for name, path in _modules().items()
                       if name not in commands and "argparse" in path.read_text(encoding="utf-8"))
    assert not offenders, f"argparse outside the command modules: {offenders}"
