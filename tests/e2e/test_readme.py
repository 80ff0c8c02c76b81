"""The README stays true: the ``backtest demo`` table at its top is what the demo prints."""

from __future__ import annotations

import difflib
import re

from backtest.cli import main
from backtest.core.config import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def readme_demo_block() -> list[str]:
    """The lines of the first fenced block after the sentence introducing ``make demo``'s table."""
    text = README.read_text()
    intro = text.index("`make demo` prints a table")
    match = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL).search(text, intro)
    assert match, "README.md: no fenced block after the `make demo` table sentence"
    return match.group(1).rstrip("\n").splitlines()


def diff(expected: list[str], printed: list[str]) -> str:
    return "\n".join(
        difflib.unified_diff(expected, printed, "README.md", "backtest demo", lineterm="")
    )


def test_readme_demo_table_matches_the_demo_output(tmp_path, capsys):
    db = tmp_path / "demo.duckdb"
    assert main(["demo", "--db", str(db)]) == 0
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    shown = [line.rstrip() for line in readme_demo_block()]

    header = next(index for index, line in enumerate(printed) if line.startswith("uid "))
    # The README shows the header, the rule, some rows, "...", the summary and the warehouse.
    assert shown[:2] == printed[header : header + 2], diff(shown[:2], printed[header : header + 2])
    ellipsis = shown.index("...")
    readme_rows = shown[2:ellipsis]
    assert readme_rows, "README.md shows no demo row"
    printed_rows = printed[header + 2 :]
    end = next(index for index, line in enumerate(printed_rows) if not line.strip())
    table = printed_rows[:end]
    missing = [row for row in readme_rows if row not in table]
    assert not missing, "README.md rows the demo does not print:\n" + diff(readme_rows, table)
    in_order = sorted(readme_rows, key=table.index)
    assert readme_rows == in_order, "README.md rows are out of order:\n" + diff(readme_rows, table)

    summary, warehouse = shown[ellipsis + 1 :]
    assert summary in printed, diff([summary], [line for line in printed if "requests:" in line])
    assert warehouse.startswith("Warehouse: ")
    assert f"Warehouse: {db}" in printed
