"""The CLI's one CSV writer: formula-like text is neutralised, values are kept."""

from __future__ import annotations

import csv

from fieldpass.cli.csv_export import safe_cell, write_csv_file


def test_formula_like_text_gets_a_leading_quote_and_numbers_stay():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("u","c")'):
        assert safe_cell(text) == "'" + text
    for value in (-5, 3.5, 0, "plain", "a=b", "", "1-2"):
        assert safe_cell(value) == value
    assert safe_cell(None) == ""


def test_write_csv_file_writes_every_row_quoted_as_text(tmp_path):
    path = tmp_path / "out.csv"
    count = write_csv_file(path, ["name", "n"], [["=cmd|' /C calc'!A0", -3], ["ok, fine", None]])
    assert count == 2
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["name", "n"], ["'=cmd|' /C calc'!A0", "-3"], ["ok, fine", ""]]
