"""The documentation site's generators (docs/hooks): what they include and generate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs" / "hooks"))

from cli_reference import cli_reference  # noqa: E402
from rest_reference import openapi_document, rest_reference  # noqa: E402
from shipyard_docs import INCLUDE, REPO_DOC_LINK, section  # noqa: E402

TEXT = """# Title
intro
## One
first
### Sub
nested
```bash
# a comment, not a heading
```
## Two
second
"""


def test_section_runs_to_the_next_heading_of_its_level_and_keeps_subsections() -> None:
    body = section(TEXT, "## One", "T.md")
    assert body.splitlines()[0] == "first"
    assert "### Sub" in body and "# a comment, not a heading" in body
    assert "second" not in body and "## Two" not in body


def test_a_subsection_ends_at_a_heading_of_a_higher_level() -> None:
    assert section(TEXT, "### Sub", "T.md").splitlines()[-1] == "```"


def test_a_missing_heading_names_the_file_and_heading() -> None:
    with pytest.raises(ValueError, match=r"T\.md has no heading '## Three'"):
        section(TEXT, "## Three", "T.md")


def test_every_include_in_the_pages_names_an_existing_readme_section() -> None:
    includes = [
        m
        for page in (ROOT / "docs").rglob("*.md")
        for m in INCLUDE.finditer(page.read_text(encoding="utf-8"))
    ]
    assert len(includes) >= 10
    for m in includes:
        text = (ROOT / m["file"]).read_text(encoding="utf-8")
        assert section(text, m["heading"], m["file"]).strip()


def test_repository_links_become_page_links() -> None:
    assert REPO_DOC_LINK.sub(r"](\1)", "[a](docs/architecture.md)") == "[a](architecture.md)"


def test_cli_reference_has_every_command_with_its_help() -> None:
    import typer.main

    from shipyard.interfaces.cli.main import app

    page = cli_reference()
    root = typer.main.get_command(app)
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        assert f"`shipyard {name}`" in page
        for sub, child in getattr(command, "commands", {}).items():
            shown = f"`shipyard {name} {sub}`" in page
            assert shown != child.hidden  # hidden commands stay out of the reference
    assert "Usage: shipyard runs ls [OPTIONS]" in page
    assert "--filter" in page


def test_rest_reference_lists_every_operation_and_schema() -> None:
    doc = openapi_document()
    page = rest_reference(doc)
    for path, item in doc["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                assert f"### `{method.upper()} {path}`" in page
    for name in doc["components"]["schemas"]:
        assert f"### {name}\n" in page
    assert "### `GET /api/v1/audit`" in page and "## Schemas" in page
