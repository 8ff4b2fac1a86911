"""What every CLI command shares (``interfaces/cli/common.py``)."""

from __future__ import annotations

import pytest


def test_table_cells_print_as_text_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard.interfaces.cli.common import table

    table("Registered models", ["name", "description"], [["churn", "a[/] [bold]b[/bold] [x]"]])
    assert "a[/] [bold]b[/bold] [x]" in capsys.readouterr().out
