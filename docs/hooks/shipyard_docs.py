"""MkDocs hooks: generated reference pages and sections included from the repository.

* ``reference/cli.md``: every command's ``--help`` (``cli_reference``);
* ``reference/rest.md`` and ``reference/openapi.json``: from ``build_server_app``'s OpenAPI
  document (``rest_reference``);
* a line ``<!-- include: README.md "## Heading" -->`` in a page becomes that section of the
  file (without its heading, up to the next heading of the same or a higher level), so prose
  lives in one place. A missing file or heading fails the build, naming both.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from cli_reference import cli_reference
from rest_reference import openapi_document, openapi_json, rest_reference

INCLUDE = re.compile(
    r'^<!-- include: (?P<file>\S+) "(?P<heading>#+ [^"]+)"(?P<opts>[^>]*)-->$', re.M
)
# Links in included files point into the repository: docs/X.md is the page X.md.
REPO_DOC_LINK = re.compile(r"\]\(docs/([^)]+\.md)\)")


def on_files(files: Any, config: Any) -> Any:
    """Add the generated reference pages (built fresh on every build)."""
    from mkdocs.structure.files import File

    doc = openapi_document()
    generated = {
        "reference/cli.md": cli_reference(),
        "reference/rest.md": rest_reference(doc),
        "reference/openapi.json": openapi_json(doc),
    }
    for path, content in generated.items():
        files.append(File.generated(config, path, content=content))
    return files


def section(text: str, heading: str, source: str) -> str:
    """The body of ``heading`` in ``text``: up to the next heading of its level or higher."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == heading)
    except StopIteration:
        raise ValueError(f"{source} has no heading {heading!r} (was it renamed?)") from None
    body: list[str] = []
    fenced = False
    for line in lines[start + 1 :]:
        if line.startswith("```"):
            fenced = not fenced
        marks = len(line) - len(line.lstrip("#"))
        if not fenced and 0 < marks <= level and line[marks : marks + 1] == " ":
            break
        body.append(line)
    return "\n".join(body).strip("\n")


def _shift(text: str, by: int) -> str:
    """Demote the headings of an included section by ``by`` levels (outside code fences)."""
    out, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#+ ", line):
            line = "#" * by + line
        out.append(line)
    return "\n".join(out)


def expand_includes(markdown: str, root: Path) -> str:
    """Replace every include line of ``markdown`` with the section it names."""
    from mkdocs.exceptions import PluginError

    def replace(match: re.Match[str]) -> str:
        path = root / match["file"]
        if not path.is_file():
            raise PluginError(f"include: {match['file']} does not exist under the repository")
        try:
            body = section(path.read_text(encoding="utf-8"), match["heading"], match["file"])
        except ValueError as e:
            raise PluginError(f"include: {e}") from e
        shift = re.search(r"shift=(\d)", match["opts"])
        body = _shift(body, int(shift[1])) if shift else body
        return REPO_DOC_LINK.sub(r"](\1)", body)

    return INCLUDE.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    root = Path(config["config_file_path"]).parent
    return expand_includes(markdown, root)
