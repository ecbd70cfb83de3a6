"""The shared column rules: formula neutralization and its reversal, header matching."""

from __future__ import annotations

import pytest

from services.csv_io.columns import Column, column_for_header, neutralize, unneutralize


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+61 400 000", "'+61 400 000"),
        ("-12", "'-12"),
        ("@cmd", "'@cmd"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "'\rCR"),
        ("DL-0042", "DL-0042"),
        ("'quoted", "'quoted"),
        ("", ""),
    ],
)
def test_cells_a_spreadsheet_would_run_are_neutralized_and_read_back(
    cell: str, written: str
) -> None:
    assert neutralize(cell) == written
    assert unneutralize(written) == cell


@pytest.mark.parametrize(
    ("title", "column"),
    [
        ("Holder email", Column.HOLDER_EMAIL),
        ("HOLDER_EMAIL", Column.HOLDER_EMAIL),
        ("\ufeffholder  email ", Column.HOLDER_EMAIL),
        ("credential type", Column.CREDENTIAL_TYPE),
        ("Expiry Date", Column.EXPIRY_DATE),
        ("Notes", None),
    ],
)
def test_headers_match_in_any_case_and_spacing(title: str, column: Column | None) -> None:
    assert column_for_header(title) is column
