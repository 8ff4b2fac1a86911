"""Render ``shipyard … --help`` of every command into Markdown, at documentation build time.

The text is what a user's terminal shows (Typer's Rich help at 100 columns, no colour), so
the CLI reference can never drift from the code.
"""

from __future__ import annotations

from typing import Any

__all__ = ["cli_reference"]

WIDTH = 100


def _walk(command: Any, path: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    """Every command under ``command``, depth first, groups before their subcommands."""
    found = [(path, command)]
    for name in sorted(getattr(command, "commands", {})):
        sub = command.commands[name]
        if not getattr(sub, "hidden", False):
            found.extend(_walk(sub, (*path, name)))
    return found


def _help_text(app: Any, path: tuple[str, ...]) -> str:
    from typer.testing import CliRunner

    env = {"COLUMNS": str(WIDTH), "NO_COLOR": "1", "TERM": "dumb"}
    result = CliRunner().invoke(
        app, [*path, "--help"], prog_name="shipyard", env=env, terminal_width=WIDTH
    )
    if result.exit_code != 0:
        raise RuntimeError(
            f"`shipyard {' '.join(path)} --help` exited {result.exit_code}: {result.output}"
        )
    lines = [line.rstrip() for line in result.output.splitlines()]
    return "\n".join(lines).strip("\n")


def cli_reference() -> str:
    """The CLI reference page: one section per command with its ``--help``."""
    import typer.main

    from shipyard.interfaces.cli.main import app

    root = typer.main.get_command(app)
    parts = [
        "# CLI reference",
        "",
        "Generated at build time from the Typer application (`shipyard.interfaces.cli.main`):",
        "each section is the command's `--help`. Every command prints one line",
        "(`error: …`) and exits 2 on bad input; most take `--json` for scripts.",
        "",
    ]
    for path, _command in _walk(root, ()):
        title = " ".join(("shipyard", *path))
        level = "#" * min(2 + max(len(path) - 1, 0), 4)
        parts += [f"{level} `{title}`", "", "```text", _help_text(app, path), "```", ""]
    return "\n".join(parts)
