"""The static import graph of nhv_pipeline has no cycle, and the shared libraries never look a condition up.

Every `import` / `from ... import` counts, at module level or inside a function; one under
`if TYPE_CHECKING:` does not (it never runs). `from package import name` is an edge to `package.name` when that is a
module, else to `package`. Importing a submodule also runs its package's `__init__`, so an edge
to `a.b.c` counts as an edge to `a.b` and `a` too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "nhv_pipeline"
PACKAGE_DIR = Path(__file__).resolve().parents[2] / PACKAGE

REGISTRY = "nhv_pipeline.conditions"
"""The condition registry; only the edges (command line, runner, Dagster layer) import it."""

SHARED_LIBRARIES = (
    "nhv_pipeline.contract",
    "nhv_pipeline.indicators",
    "nhv_pipeline.publication",
    "nhv_pipeline.submission",
    "nhv_pipeline.core.labels",
    "nhv_pipeline.core.periods",
    "nhv_pipeline.core.condition",
    "nhv_pipeline.core.sample_data",
)


def module_names(root: Path = PACKAGE_DIR) -> dict[str, Path]:
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _runtime_nodes(tree: ast.AST):
    """Every node of the tree except the bodies of `if TYPE_CHECKING:`."""
    pending = [tree]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        pending.extend(ast.iter_child_nodes(node))


def _imported(module: str, path: Path, known: set[str]) -> set[str]:
    """The package's own modules `module` imports, anywhere in its text."""
    is_package = path.name == "__init__.py"
    targets: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                targets.add(submodule if submodule in known else source)
    edges = set()
    for target in targets:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):
            prefix = ".".join(parts[:end])
            if prefix in known and prefix != module and not module.startswith(f"{prefix}."):
                edges.add(prefix)
    return edges


def import_graph(root: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    modules = module_names(root)
    known = set(modules)
    return {module: _imported(module, path, known) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


KNOWN_CYCLES = (
    # The package `__init__`s re-export their modules, and a submission module imports one of them:
    # importing nhv_pipeline.indicators.model runs indicators/__init__, which imports the engine,
    # which imports submission.combine, which imports indicators.model.
    {"nhv_pipeline.indicators", "nhv_pipeline.indicators.engine", "nhv_pipeline.submission.combine"},
    # contract.delivery reads submissions; the submission modules import contract's rules and reader.
    {"nhv_pipeline.contract", "nhv_pipeline.contract.delivery", "nhv_pipeline.submission.contract",
     "nhv_pipeline.submission.intake", "nhv_pipeline.submission.workbook"},
    # Inside the Dagster asset layer: raw's check specs name the indicator assets (a function-level import).
    {"nhv_pipeline.orchestration.assets.indicators", "nhv_pipeline.orchestration.assets.raw", "nhv_pipeline.orchestration.assets.staged"},
)
"""Cycles left, none through the condition model or the registry; a new one (or a larger one) fails."""


def test_no_cycle_runs_through_the_condition_model_or_the_registry():
    through = [cycle for cycle in cycles(import_graph())
               if any(module == "nhv_pipeline.core.condition" or module == REGISTRY or module.startswith(f"{REGISTRY}.")
                      for module in cycle)]
    assert through == []


def test_no_import_cycle_but_the_known_ones():
    assert [cycle for cycle in cycles(import_graph()) if not any(set(cycle) <= known for known in KNOWN_CYCLES)] == []


@pytest.mark.parametrize("module", sorted(set().union(*KNOWN_CYCLES)))
def test_a_module_of_a_known_cycle_imports_when_it_is_imported_first(module):
    """A cycle left must not fail at run time, whichever of its modules a process imports first
    (`pytest tests/pipeline/test_manifest.py` alone began with publication.manifest -> submission.contract)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_shared_libraries_and_the_condition_packages_never_import_the_registry():
    graph = import_graph()
    pure = tuple(f"{library}." for library in SHARED_LIBRARIES)
    offenders = sorted(
        module
        for module, imported in graph.items()
        if REGISTRY in imported
        and (module in SHARED_LIBRARIES or module.startswith(pure) or module.startswith(f"{REGISTRY}."))
    )
    assert offenders == []
    assert {module for module, imported in graph.items() if REGISTRY in imported} >= {"nhv_pipeline.operations.cli", "nhv_pipeline.operations.runner"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a/__init__.py": "from a import b\n", "a/b.py": "def f():\n    from a import c\n", "a/c.py": "import a.b\n"},
         [["a.b", "a.c"]]),
        # a.y.n imports a.x.k, which runs a/x/__init__, which imports a.x.m, which imports a.y.n
        ({"a/__init__.py": "", "a/x/__init__.py": "from . import m\n", "a/x/m.py": "from a.y import n\n",
          "a/y/__init__.py": "", "a/y/n.py": "from a.x.k import v\n", "a/x/k.py": "v = 1\n"},
         [["a.x", "a.x.m", "a.y.n"]]),
        ({"a/__init__.py": "", "a/b.py": "from . import c\n", "a/c.py": "from .d import x\n", "a/d.py": "x = 1\n"}, []),
        ({"a/__init__.py": "", "a/b.py": "from .c import x\n", "a/c.py": "from typing import TYPE_CHECKING\n"
          "if TYPE_CHECKING:\n    from a.b import y\n"}, []),
        ({"a/__init__.py": "", "a/b.py": "from .c import x\n", "a/c.py": "if True:\n    from a.b import y\n"},
         [["a.b", "a.c"]]),
    ],
)
def test_the_graph_sees_function_level_relative_and_typing_imports(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert cycles(import_graph(tmp_path / "a")) == expected
