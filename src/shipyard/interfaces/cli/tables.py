"""How the CLI prints a table so that it stays readable in any terminal width.

When every column fits (the free text wrapped in place to at most three lines), the table
is the usual boxed Rich table, nothing cut. When it does not (an 80-column terminal), the
table turns compact (no borders, two spaces between columns); if something would still be
cut or wrapped, times lose their year and seconds (``MM-DD HH:MM``). Identifier-like cells
never wrap: a long one ends in ``…`` (never under ``ID_FLOOR`` characters) rather than
breaking over lines. Only the free-text column (a reason, the details) wraps, at word
boundaries; when that leaves it too little room it moves under its row, indented and
labelled, over the full width. Columns that still do not fit are left out and named in a
note (``--json`` always has everything).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["print_table", "short_times"]

_TIME = re.compile(r"\b\d{4}-(\d{2}-\d{2} \d{2}:\d{2}):\d{2}\b")
_SHORT_TIME = re.compile(r"\b\d{2}-\d{2} \d{2}:\d{2}\b")
GAP = 2  # characters between two columns of a compact table
ID_FLOOR = 10  # an identifier column is cut to no fewer characters (with its "…")
WRAP_FLOOR = 24  # a free-text column wraps in place only if it keeps this many characters
MAX_LINES = 3  # ... and its longest value takes no more lines than this
INDENT = 4  # a free-text value moved under its row starts this far in


def short_times(text: str) -> str:
    """``2026-12-06 23:54:39`` → ``12-06 23:54`` wherever a full timestamp appears."""
    return _TIME.sub(r"\1", text)


@dataclass(frozen=True)
class _Layout:
    shown: list[int]  # indexes of the columns in the table, in order
    widths: dict[int, int]  # their widths
    wrap: int | None  # the free-text column when it wraps inside the table
    below: list[int]  # the free-text columns that print under each row instead
    cut: bool  # whether a value is cut, wrapped or left out


def print_table(
    console: Any,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    wrap: str | Sequence[str] = (),
    fixed: Mapping[str, Any] | None = None,
) -> None:
    """Print ``rows`` under ``columns``; ``wrap`` names the free-text column(s) (with
    several, they always go under their row), and a column in ``fixed`` with a value (a
    filter the user gave) is left out and named in the title."""
    given = {k: v for k, v in (fixed or {}).items() if v is not None and k in columns}
    keep = [i for i, c in enumerate(columns) if c not in given]
    if given:
        title += " (" + ", ".join(f"{k} {v}" for k, v in given.items()) + ")"
    heads = [columns[i] for i in keep]
    cells = [[_cell(r[i]) for i in keep] for r in rows]
    free = [wrap] if isinstance(wrap, str) else list(wrap)
    wrap_at = [heads.index(w) for w in free if w in heads]
    width = console.width
    if _fits_boxed(console, heads, cells, wrap_at, width):
        console.print(_table(title, heads, cells, None, wrap_at))
        return
    layout = _fit(console, heads, cells, wrap_at, width)
    if layout.cut:  # a narrow terminal: times lose their year and seconds
        cells = [[_shorten(c) for c in r] for r in cells]
        layout = _fit(console, heads, cells, wrap_at, width)
    _print_compact(console, title, heads, cells, layout)


def _cell(value: Any) -> Any:
    """A Rich ``Text`` as it is; anything else as plain text (a ``[`` is not markup)."""
    from rich.text import Text

    return value if isinstance(value, Text) else Text("" if value is None else str(value))


def _shorten(cell: Any) -> Any:
    """The cell on one line, its timestamps without year and seconds."""
    plain = cell.plain
    short = short_times(plain).replace("\n", " ")
    if short == plain:
        return cell
    from rich.text import Text

    return Text(short, style=cell.style)


def _natural(heads: Sequence[str], cells: Sequence[Sequence[Any]]) -> list[int]:
    from rich.cells import cell_len

    widths = [cell_len(h) for h in heads]
    for row in cells:
        for i, c in enumerate(row):
            longest = max((cell_len(line) for line in c.plain.split("\n")), default=0)
            widths[i] = max(widths[i], longest)
    return widths


def _fits_boxed(
    console: Any,
    heads: Sequence[str],
    cells: Sequence[Sequence[Any]],
    free: Sequence[int],
    width: int,
) -> bool:
    """Whether Rich's default table (a border and one space either side of each cell) fits
    with every column but the free-text ones at full width, and those wrapped in place."""
    natural = _natural(heads, cells)
    rest = width - 3 * len(heads) - 1 - sum(w for i, w in enumerate(natural) if i not in free)
    widths = {i: natural[i] for i in free}
    while widths and sum(widths.values()) > rest and max(widths.values()) > 1:
        widths[max(widths, key=lambda i: widths[i])] -= 1  # as Rich narrows: widest first
    if sum(widths.values()) > rest:
        return False
    return all(_wraps_within(console, cells, i, w, natural[i]) for i, w in widths.items())


def _wraps_within(
    console: Any, cells: Sequence[Sequence[Any]], col: int, width: int, natural: int
) -> bool:
    """Whether column ``col`` wrapped to ``width`` keeps readable: wide enough and no
    value over ``MAX_LINES`` lines."""
    if width >= natural:
        return True
    if width < WRAP_FLOOR:
        return False
    return all(len(r[col].wrap(console, width)) <= MAX_LINES for r in cells)


def _fit(
    console: Any,
    heads: Sequence[str],
    cells: Sequence[Sequence[Any]],
    free: Sequence[int],
    room: int,
) -> _Layout:
    natural = _natural(heads, cells)
    others = [i for i in range(len(heads)) if i not in free]
    widths = {i: natural[i] for i in others}
    if len(free) == 1:
        fixed = sum(widths.values()) + GAP * len(others)
        if _wraps_within(console, cells, free[0], room - fixed, natural[free[0]]):
            widths[free[0]] = room - fixed
            wraps = natural[free[0]] > widths[free[0]]  # shorter times give it more room
            return _Layout(list(range(len(heads))), widths, free[0], [], wraps)
    _shrink(widths, natural, _timed(cells), heads, room)
    shown = sorted(widths)
    while len(shown) > 1 and _used(widths, shown) > room:
        shown.pop()
    cut = len(shown) < len(widths) or any(widths[i] < natural[i] for i in widths)
    return _Layout(shown, widths, None, list(free), cut)


def _timed(cells: Sequence[Sequence[Any]]) -> set[int]:
    """The columns holding a (short) time: never cut."""
    return {i for r in cells for i, c in enumerate(r) if _SHORT_TIME.search(c.plain)}


def _used(widths: Mapping[int, int], shown: Sequence[int]) -> int:
    return sum(widths[i] for i in shown) + GAP * (len(shown) - 1)


def _shrink(
    widths: dict[int, int], natural: list[int], keep: set[int], heads: Sequence[str], room: int
) -> None:
    """Cut the widest identifier columns a character at a time, down to ``ID_FLOOR``;
    the ``keep`` columns and short values keep their width."""
    floors = {
        i: natural[i] if i in keep else min(natural[i], max(ID_FLOOR, len(heads[i])))
        for i in widths
    }
    excess = _used(widths, list(widths)) - room
    while excess > 0:
        cuttable = [i for i in widths if widths[i] > floors[i]]
        if not cuttable:
            return
        widest = max(cuttable, key=lambda i: widths[i] - floors[i])
        widths[widest] -= 1
        excess -= 1


def _table(
    title: str | None,
    heads: Sequence[str],
    cells: Sequence[Sequence[Any]],
    widths: Mapping[int, int] | None,
    wrap: Sequence[int],
) -> Any:
    """Boxed with natural widths (``widths`` None) or compact with these widths; only the
    ``wrap`` columns wrap."""
    from rich import box
    from rich.table import Table

    if widths is None:
        out = Table(title=title, title_justify="left")
    else:
        out = Table(
            title=title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            padding=(0, GAP - 1, 0, 0),
        )
    for i, head in enumerate(heads):
        width = None if widths is None else widths[i]
        if i in wrap:
            out.add_column(head, width=width, overflow="fold")
        else:
            out.add_column(head, width=width, no_wrap=True, overflow="ellipsis")
    for row in cells:
        out.add_row(*row)
    return out


def _print_compact(
    console: Any,
    title: str,
    heads: Sequence[str],
    cells: Sequence[Sequence[Any]],
    layout: _Layout,
) -> None:
    from rich.text import Text

    shown = layout.shown
    widths = {n: layout.widths[i] for n, i in enumerate(shown)}
    wrap = [shown.index(layout.wrap)] if layout.wrap is not None else []
    rows = [[r[i] for i in shown] for r in cells]
    console.print(Text(title, style="table.title"), overflow="fold")
    table = _table(None, [heads[i] for i in shown], rows, widths, wrap)
    hidden = [heads[i] for i in range(len(heads)) if i not in shown and i not in layout.below]
    if not layout.below:
        console.print(table)
    else:
        below = [[(heads[i], r[i]) for i in layout.below] for r in cells]
        _print_with_text_below(console, table, below)
    if hidden:
        console.print(
            Text(
                f"({len(hidden)} more column(s) need a wider terminal: {', '.join(hidden)}; "
                "--json has them all)",
                style="dim",
            )
        )


def _print_with_text_below(
    console: Any, table: Any, texts: Sequence[Sequence[tuple[str, Any]]]
) -> None:
    """The table one line per row, each row followed by its free text, indented and
    labelled (an empty one skipped)."""
    from rich.padding import Padding
    from rich.segment import Segment, Segments
    from rich.text import Text

    lines = console.render_lines(table, console.options, pad=False)
    top = len(lines) - len(texts)
    for line in lines[:top]:
        console.print(Segments([*line, Segment.line()]), end="")
    for line, row in zip(lines[top:], texts, strict=True):
        console.print(Segments([*line, Segment.line()]), end="")
        for head, text in row:
            if text.plain:
                label = Text.assemble((f"{head}: ", "dim"), text)
                console.print(Padding(label, (0, 0, 0, INDENT), expand=False))
