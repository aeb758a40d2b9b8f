"""docs/cli.md, the command-line reference, generated from click itself (each command's --help).

    python scripts/cli_reference.py          # rewrite docs/cli.md
    python scripts/cli_reference.py --check  # exit 1 if docs/cli.md is not what the code says

tests/test_docs.py runs the check, so the reference cannot drift from the options.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

PAGE = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
WIDTH = 100

INTRO = """# Command-line reference

Generated from the commands' own help by `python scripts/cli_reference.py` (a test fails when this
page and the code disagree). Every command takes `-h`/`--help`; `edgesr --version` prints the
version. What the commands promise about errors and files is in [Reliability and trust](trust.md),
how `MODEL` may be named in [Models](models.md#naming-a-model).
"""


def render() -> str:
    from edgesr.cli import main

    parts = [INTRO]
    for name in sorted(main.commands):
        command = main.commands[name]
        with click.Context(main, info_name="edgesr", terminal_width=WIDTH, max_content_width=WIDTH) as parent:
            ctx = click.Context(command, info_name=name, parent=parent, terminal_width=WIDTH,
                                max_content_width=WIDTH)
            text = command.get_help(ctx)
        summary = command.get_short_help_str(limit=WIDTH)
        parts.append(f"## edgesr {name}\n\n{summary}\n\n```text\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not PAGE.is_file() or PAGE.read_text() != text:
            print(f"{PAGE} is not what the code says: run python scripts/cli_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
