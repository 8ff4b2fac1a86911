"""How the CLI's shared table helper (``interfaces/cli/tables.py``) fits a table to the
terminal: boxed and uncut when it fits, compact at 80 columns with identifiers cut (never
broken over lines), times shortened and the free text wrapped or under its row."""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from shipyard.interfaces.cli.tables import print_table, short_times

TIME = "2026-12-06 23:54:39"
MODEL = "diabetes-progression"
ACTOR = "shipyard-watcher"
REASON = (
    "automatic promotion to 100% after 40 requests at 50% while error_rate > 0.05 or "
    "p99_ms > 250 held"
)
HEADS = ["time", "env", "model", "action", "by", "reason"]


def _render(width: int, rows: list[list[object]], **kw: object) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=False, color_system=None)
    print_table(console, "History", kw.pop("heads", HEADS), rows, **kw)  # type: ignore[arg-type]
    return out.getvalue().splitlines()


def _rows(n: int) -> list[list[object]]:
    return [[TIME, "production", MODEL, "auto_promote", ACTOR, REASON] for _ in range(n)]


def _broken(lines: list[str], words: list[str]) -> list[str]:
    """Tokens that are the start or the end of one of ``words`` (a word broken over two
    lines); a word cut short ends in ``…`` and is not one of them."""
    tokens = " ".join(lines).split()
    return [
        t
        for t in tokens
        for w in words
        if t != w and len(t) > 2 and (w.startswith(t) or w.endswith(t))
    ]


def test_short_times_drop_the_year_and_seconds() -> None:
    assert short_times(f"by ada {TIME}") == "by ada 12-06 23:54"
    assert short_times("v1 2026") == "v1 2026"


def test_a_table_that_fits_is_boxed_and_uncut() -> None:
    lines = _render(200, _rows(3))
    text = "\n".join(lines)
    assert "┏" in text and "…" not in text
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 3  # one line each: nothing wrapped
    assert all(TIME in r and MODEL in r and ACTOR in r and REASON in r for r in rows)
    assert max(len(line) for line in lines) <= 200


def test_at_80_columns_the_free_text_goes_under_its_row_whole() -> None:
    lines = _render(80, _rows(5), wrap="reason")
    assert max(len(line) for line in lines) <= 80
    rule = next(i for i, line in enumerate(lines) if set(line.strip()) == {"─"})
    body = lines[rule + 1 :]
    assert len(body) <= 5 * 3
    assert not _broken(body, [MODEL, ACTOR, "production", "auto_promote"])
    assert all("12-06 23:54" in line for line in body[::3])  # a row, then its reason
    assert TIME not in "\n".join(lines)  # short times in a narrow terminal
    flat = " ".join(" ".join(body).split())
    assert flat.count(f"reason: {REASON}") == 5


def test_one_free_text_column_wraps_in_its_column_when_it_keeps_room() -> None:
    heads = ["env", "action", "reason"]
    lines = _render(80, [["production", "rollback", REASON]], heads=heads, wrap="reason")
    assert "reason:" not in "\n".join(lines)  # in its column, not under the row
    body = [line.rstrip()[1:-1].split("│") for line in lines if line.startswith("│")]
    assert 1 < len(body) <= 3 and [c.strip() for c in body[0][:2]] == ["production", "rollback"]
    assert all(not "".join(row[:2]).strip() for row in body[1:])  # only the reason wraps
    assert " ".join(" ".join(row[-1] for row in body).split()) == REASON
    assert max(len(line) for line in lines) <= 80


def test_a_compact_table_wraps_its_free_text_in_place_when_it_keeps_room() -> None:
    heads = ["time", "env", "model", "action", "reason"]
    short = "superseded by the retrained loans@v3 after the latency review"
    lines = _render(
        80, [[TIME, "production", "loans", "rollback", short]], heads=heads, wrap="reason"
    )
    assert "┃" not in "\n".join(lines) and "reason:" not in "\n".join(lines)
    body = lines[next(i for i, x in enumerate(lines) if "───" in x) + 1 :]
    lead = "12-06 23:54  production  loans  rollback  "
    assert 1 < len(body) <= 3 and body[0].startswith(lead)
    assert all(line.startswith(" " * len(lead)) for line in body[1:])
    assert " ".join(" ".join(line[len(lead) :] for line in body).split()) == short
    assert max(len(line) for line in lines) <= 80
    # the same row with a reason that would take over three lines there: under the row
    twice = f"{REASON}; {REASON}"
    long = _render(
        80, [[TIME, "production", "loans", "rollback", twice]], heads=heads, wrap="reason"
    )
    assert f"reason: {twice}" in " ".join(" ".join(long).split())


def test_a_filtered_column_is_left_out_and_named_in_the_title() -> None:
    lines = _render(200, _rows(2), fixed={"env": "production", "model": None})
    assert lines[0].startswith("History (env production)")
    assert "production" not in "\n".join(lines[1:]) and MODEL in lines[4]


def test_columns_that_cannot_fit_are_named_not_mangled() -> None:
    heads = [f"metric_{i}" for i in range(12)]
    lines = _render(80, [[f"0.{i}12345" for i in range(12)]], heads=heads)
    assert max(len(line) for line in lines) <= 80
    at = next(i for i, line in enumerate(lines) if line.startswith("("))
    note, table = " ".join(lines[at:]), "\n".join(lines[:at])
    assert "more column(s) need a wider terminal" in note and "--json" in note
    hidden = [h for h in heads if f" {h}," in note or f" {h};" in note]
    assert hidden and all(h not in table.split() for h in hidden)
    assert all(f"0.{heads.index(h)}12345" in table for h in heads if h not in hidden)


def test_cells_are_text_but_a_rich_text_keeps_its_style() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=True, color_system="standard")
    print_table(console, "Runs", ["state", "note"], [[Text("deployed", style="green"), "[x]"]])
    text = out.getvalue()
    assert "\x1b[32mdeployed" in text and "[x]" in text and "[green]" not in text
