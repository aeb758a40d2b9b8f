"""The import graph: no cycles between modules or between the package's parts, and a runtime side
that never imports PyTorch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted((SRC / "edgesr").rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The edgesr module that ``name`` (a module, or a name defined in one) lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str) -> set[str]:
    """The edgesr modules ``module`` imports anywhere in it: at module level and inside functions."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # a submodule by its name (from edgesr.models import registry), else the module itself
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found |= {_resolve(n) for n in names if n.split(".")[0] == "edgesr"} - {None, module}
    return found


GRAPH = {m: _imported(m) for m in MODULES}


def _part(module: str) -> str:
    """The part of the package a module belongs to: its subpackage (edgesr.conversion), or itself when it
    sits at the top (edgesr.inference, edgesr.formats)."""
    return ".".join(module.split(".")[:2])


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _edges_between(component: list[str], graph: dict[str, set[str]], key=lambda m: m) -> list[str]:
    return sorted(f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
                  if key(m) in component and key(t) in component and key(m) != key(t))


def test_the_graph_is_read():
    assert "edgesr.runtimes.base" in GRAPH["edgesr.formats.registry"]
    assert "edgesr.manifest" in GRAPH["edgesr.formats.registry"]
    assert "edgesr.runtimes.torch" in GRAPH["edgesr.inference"]  # a function-level import counts too


def test_no_cycle_between_modules():
    cycles = _cycles(GRAPH)
    assert not cycles, "\n".join(", ".join(c) + ": " + "; ".join(_edges_between(c, GRAPH)) for c in cycles)


# cycles between parts that are being taken apart (issue 17), each named with the edges that close
# it; an entry that is no longer a cycle fails the test below until it is removed from here
PENDING: set[frozenset[str]] = set()  # package pairs whose cycle is known and being removed


def test_no_cycle_between_the_parts_of_the_package():
    parts: dict[str, set[str]] = {}
    for module, targets in GRAPH.items():
        parts.setdefault(_part(module), set()).update(_part(t) for t in targets if _part(t) != _part(module))
    cycles = _cycles(parts)
    new = [c for c in cycles if frozenset(c) not in PENDING]
    assert not new, "\n".join(", ".join(c) + ": " + "; ".join(_edges_between(c, GRAPH, _part)) for c in new)
    gone = PENDING - {frozenset(c) for c in cycles}
    assert not gone, f"no longer cycles, remove them from PENDING: {[sorted(c) for c in gone]}"


def test_the_runtime_side_sits_below_export_and_the_image_pipeline():
    for module, targets in GRAPH.items():
        if module.startswith(("edgesr.runtimes", "edgesr.formats", "edgesr.manifest", "edgesr.metadata")):
            assert not {t for t in targets if t.startswith(("edgesr.conversion", "edgesr.inference", "edgesr.benchmark",
                                                            "edgesr.devices", "edgesr.evaluation"))}, module


def test_a_format_package_is_reached_only_through_the_table():
    """Issue 37: no module outside ``edgesr/formats/<name>/`` imports that package's modules, nor names
    one in a string (an import by string); the table (``edgesr.formats``) imports each package."""
    from edgesr.formats import FORMATS

    packages = {f.package_name for f in FORMATS.values()}
    bad = []
    for module, targets in GRAPH.items():
        own = next((p for p in packages if module == p or module.startswith(p + ".")), None)
        for target in targets:
            reached = next((p for p in packages if target == p or target.startswith(p + ".")), None)
            if reached and reached != own and module != "edgesr.formats":
                bad.append(f"{module} imports {target}")
        if own is None:  # strings naming a package's module, outside docstrings
            tree = ast.parse(MODULES[module].read_text())
            docs = {id(n.body[0].value) for n in ast.walk(tree)
                    if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                    and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
            bad += [f"{module} names {n.value!r}" for n in ast.walk(tree) if isinstance(n, ast.Constant)
                    and isinstance(n.value, str) and id(n) not in docs
                    and any(p + "." in n.value or n.value == p for p in packages)]
    assert not bad, "\n".join(bad)


# a process where PyTorch cannot be imported: it opens and runs artifacts, reads their manifests and
# upscales an image through them
_NO_TORCH = """
import importlib.abc, json, sys
class NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
import numpy as np
import edgesr, edgesr.runtimes
from edgesr.formats.registry import read_contract
from edgesr.formats.registry import open_runner
from edgesr.inference import upscale
from edgesr.manifest import read_manifest
out = {}
for path in sys.argv[1:]:
    manifest = read_manifest(path)
    assert read_contract(path) == manifest.contract(), path
    with open_runner(path) as runner:
        x = np.zeros((1, runner.channels, 20, 20), np.float32)
        sr = upscale(runner, np.full((20, 22, 3), 99, np.uint8))
        out[manifest.format] = [list(runner.run(x).shape), list(sr.image.shape)]
out["torch"] = "torch" in sys.modules
print(json.dumps(out))
"""


def test_running_artifacts_imports_no_torch(artifacts, tflite_artifacts):
    paths = [str(artifacts["espcn-fp32"]), str(tflite_artifacts["espcn-fp32"])]
    proc = subprocess.run([sys.executable, "-c", _NO_TORCH, *paths], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out == {"onnx": [[1, 1, 40, 40], [40, 44, 3]], "tflite": [[1, 1, 40, 40], [40, 44, 3]], "torch": False}


@pytest.mark.parametrize("module", ["edgesr", "edgesr.runtimes", "edgesr.manifest", "edgesr.formats",
                                    "edgesr.formats", "edgesr.manifest", "edgesr.inference",
                                    "edgesr.devices.ondevice", "edgesr.metadata", "edgesr.formats.onnx.metadata",
                                    "edgesr.formats.tflite.metadata", "edgesr.formats.coreml.metadata"])
def test_importing_imports_no_torch(module):
    code = f"import sys, {module}; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
