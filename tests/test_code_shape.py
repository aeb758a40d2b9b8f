"""The shape the architecture asks for: the CLI and the bench harness under 300 lines per module, and
no function over about 50 lines in the modules listed here (the list grows as modules are brought
under the limit; ``long_functions`` names the ones still over it elsewhere)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "edgesr"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
# modules held to the function limit (paths under src/edgesr; a folder: every module in it)
CHECKED = ("__init__.py", "api", "cli", "benchmark/harness.py", "benchmark/report.py", "benchmark/cache.py", "benchmark/rows.py",
           "benchmark/plan.py", "benchmark/desktop.py",
           "evaluation")


def _modules(parts) -> list[Path]:
    found = []
    for part in parts:
        where = PACKAGE / part
        found += [where] if where.is_file() else sorted(where.rglob("*.py"))
    return found


def long_functions(paths, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``module:function (N lines)`` for every function or method of ``paths`` longer than ``limit``."""
    long = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    long.append(f"{path.relative_to(PACKAGE)}:{node.name} ({length} lines)")
    return long


@pytest.mark.parametrize("path", _modules(("cli", "benchmark/harness.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_cli_and_harness_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines < MAX_MODULE_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines"


def test_no_long_functions_in_the_checked_modules():
    assert _modules(CHECKED)
    assert long_functions(_modules(CHECKED)) == []


def test_the_cli_is_a_package_of_thin_modules():
    assert not (PACKAGE / "cli.py").exists()  # one module per group of commands, under cli/
    assert (PACKAGE / "cli" / "__main__.py").is_file()  # python -m edgesr.cli
