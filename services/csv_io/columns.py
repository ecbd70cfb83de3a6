"""The columns of credential CSV files, shared by the template, the import and the export:
a file exported can be imported back unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Column(StrEnum):
    """Keys of the columns; each file header is the column's title."""

    HOLDER_EMAIL = "holder_email"
    CREDENTIAL_TYPE = "credential_type"
    ISSUE_DATE = "issue_date"
    EXPIRY_DATE = "expiry_date"
    CREDENTIAL_NUMBER = "credential_number"
    EXTERNAL_ID = "external_id"
    HOLDER_NAME = "holder_name"
    APPROVAL_STATUS = "approval_status"
    EXPIRY_STATUS = "expiry_status"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class ColumnSpec:
    key: Column
    title: str
    required: bool  # the import refuses a file without it
    imported: bool  # read by the import; the others are report columns it ignores
    example: str


COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(Column.HOLDER_EMAIL, "Holder email", True, True, "alex.morgan@example.com"),
    ColumnSpec(Column.CREDENTIAL_TYPE, "Credential type", True, True, "Driver's licence"),
    ColumnSpec(Column.ISSUE_DATE, "Issue date", True, True, "2025-03-01"),
    ColumnSpec(Column.EXPIRY_DATE, "Expiry date", True, True, "2030-02-28"),
    ColumnSpec(Column.CREDENTIAL_NUMBER, "Credential number", True, True, "DL-0042137"),
    ColumnSpec(Column.EXTERNAL_ID, "External id", False, True, "HR-7781"),
    ColumnSpec(Column.HOLDER_NAME, "Holder name", False, False, "Alex Morgan"),
    ColumnSpec(Column.APPROVAL_STATUS, "Approval status", False, False, "APPROVED"),
    ColumnSpec(Column.EXPIRY_STATUS, "Expiry status", False, False, "VALID"),
    ColumnSpec(Column.ARCHIVED, "Archived", False, True, "no"),
)

SPECS = {spec.key: spec for spec in COLUMNS}
TEMPLATE_COLUMNS = tuple(spec for spec in COLUMNS if spec.imported and spec.key != Column.ARCHIVED)
EXPORT_COLUMNS = COLUMNS

YES, NO = "yes", "no"

# A spreadsheet runs a cell starting with one of these as a formula (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALIZER = "'"


def _header_key(title: str) -> str:
    return " ".join(title.replace("_", " ").split()).casefold()


_BY_HEADER = {_header_key(spec.title): spec.key for spec in COLUMNS}


def column_for_header(title: str) -> Column | None:
    """The column a header cell names, in any case and with `_` or spaces; None if none."""
    return _BY_HEADER.get(_header_key(title.lstrip("\ufeff")))


def neutralize(cell: str) -> str:
    """A cell a spreadsheet shows as text: a leading quote before formula starts."""
    return _NEUTRALIZER + cell if cell.startswith(_FORMULA_STARTS) else cell


def unneutralize(cell: str) -> str:
    """What `neutralize` wrote, read back: the export's own quote is dropped."""
    if cell.startswith(_NEUTRALIZER) and cell[1:].startswith(_FORMULA_STARTS):
        return cell[1:]
    return cell


def template_rows() -> list[list[str]]:
    """The header row and one example row."""
    return [
        [spec.title for spec in TEMPLATE_COLUMNS],
        [spec.example for spec in TEMPLATE_COLUMNS],
    ]
