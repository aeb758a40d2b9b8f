"""The README is a front page and docs/ the reference: the README stays small with the setup first,
the docs build as a site with no broken link, the CLI reference is what the code says, and the
numbers the README quotes are the shipped ones."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"


def test_the_readme_is_a_front_page():
    text = README.read_text()
    assert len(text.encode()) <= 12 * 1024, f"README.md is {len(text.encode())} bytes; move reference to docs/"
    assert text.splitlines()[3].startswith("pip install torch==2.13.0 && pip install -e")
    for page in re.findall(r"\]\((docs/[^)#]+)", text):
        assert (REPO / page).is_file(), page


def test_the_cli_reference_is_what_the_code_says():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "cli_reference.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from edgesr.cli import main

    text = (REPO / "docs" / "cli.md").read_text()
    assert sorted(re.findall(r"^## edgesr (\S+)$", text, re.M)) == sorted(main.commands)


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None,
                    reason="MkDocs is not installed: pip install -e '.[dev]'")
def test_the_docs_build_strictly(tmp_path):
    """Every page in the nav, every link and anchor between pages resolves (strict: a warning fails)."""
    nav = set(re.findall(r": (\S+\.md)$", (REPO / "mkdocs.yml").read_text(), re.M))
    assert nav == {p.name for p in (REPO / "docs").glob("*.md")}, "a page is missing from mkdocs.yml's nav, or extra"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True, env={"NO_MKDOCS_2_WARNING": "1",
                                                                          "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "cli" / "index.html").is_file()


def test_the_readme_quotes_the_shipped_scores():
    """The Set5 table: each shipped model's scores as stored beside its weights (which
    tests/models/test_shipped.py reproduces), each published row as published.json has it."""
    pretrained = REPO / "src" / "edgesr" / "pretrained"
    published = json.loads((REPO / "src" / "edgesr" / "evaluation" / "published.json").read_text())
    rows = re.findall(r"^\| (.+?) \| ([0-9.K]+) \| (.+?) \| (.+?) \| (.+?) \|$", README.read_text(), re.M)
    found = 0
    for label, _, *cells in rows:
        name = re.match(r"`(\w+)`", label)
        if name:
            stored = json.loads((pretrained / f"{'fsrcnn_x4' if name[1] == 'fsrcnn' else name[1]}.json").read_text())
            scores = stored["scores"]["Set5"]
            expected = [f"{scores[f'x{s}'][0]:.2f} / {scores[f'x{s}'][1]:.4f}" if f"x{s}" in scores else "-"
                        for s in (2, 3, 4)]
        elif label.endswith(", published"):
            table = published[label.split(",")[0].lower()]["Set5"]
            expected = [f"{table[str(s)][0]:.2f}" + (f" / {table[str(s)][1]:.4f}" if table[str(s)][1] else "")
                        for s in (2, 3, 4)]
        else:
            continue
        assert cells == expected, (label, cells, expected)
        found += 1
    assert found == 7
