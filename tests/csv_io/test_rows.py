"""The quick path of row checking never changes a result: for any row, checking it in a
batch gives what the full rules (`RowParser.parse`) give, problems and stored values
alike, whether the quick path took the row or left it to them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from models.credential_type import CredentialType, FieldRule
from models.permission import Permission
from services.csv_io.columns import Column
from services.csv_io.rows import HolderRef, RowParser
from services.viewer import Viewer


def _type(type_id: int, name: str, **rules: object) -> CredentialType:
    fields: dict[str, object] = {
        "issue_date_rule": FieldRule.OPTIONAL,
        "expiry_date_rule": FieldRule.OPTIONAL,
        "media_rule": FieldRule.OPTIONAL,
        "default_validity_months": None,
        "never_expires": False,
    }
    return CredentialType(id=type_id, organization_id=1, name=name, **(fields | rules))


TYPES = [
    _type(1, "First Aid"),
    _type(2, "Licence", issue_date_rule=FieldRule.REQUIRED, expiry_date_rule=FieldRule.REQUIRED),
    _type(3, "Forever", never_expires=True),
    _type(4, "Yearly", default_validity_months=12),
    _type(5, "Undated", issue_date_rule=FieldRule.NOT_USED),
]
USERS = {"alex@example.com": HolderRef(10, None), "bo@example.com": HolderRef(11, 7)}
VIEWERS = [
    Viewer(1, 1, 1, frozenset({Permission.USERS_MANAGE}), None, frozenset(), frozenset()),
    Viewer(2, 1, 1, frozenset({Permission.COMPANIES_MANAGE}), None, frozenset({7}), frozenset()),
]
EMAILS = ["alex@example.com", "ALEX@Example.com", " alex@example.com", "'alex@example.com"]
EMAILS += ["bo@example.com", "nobody@example.com", "", " ", "'=bo@example.com"]
TYPE_NAMES = ["First Aid", "first aid", " First Aid ", "'First Aid", "Licence", "Forever"]
TYPE_NAMES += ["Yearly", "Undated", "Forklift", ""]
DATES = ["", "2026-01-10", "2029-01-10", "2020-01-01", "20260110  ", "2026-W01-1"]
DATES += [" 2026-01-10", "2026-01-10 ", "2026-02-30", "10/01/2026", "'2026-01-10", " "]
NUMBERS = ["", "N-1", " N-1 ", "'=1+1", "'N", "N\x01", "x" * 100, "x" * 101, "N\u200b"]
NUMBERS += ["N\xa0", " ", "N-1 "]
EXTERNAL_IDS = ["", "HR-1", " HR-1 ", "HR-1 ", "'-5", "y" * 100, "y" * 101, "HR\x02"]
ARCHIVED = ["", "no", "No", " no", "yes", "maybe"]

REQUIRED = [
    Column.HOLDER_EMAIL,
    Column.CREDENTIAL_TYPE,
    Column.ISSUE_DATE,
    Column.EXPIRY_DATE,
    Column.CREDENTIAL_NUMBER,
]


def _cell(pool: list[str]) -> st.SearchStrategy[str]:
    """Half the time the pool's first, plain value: most rows then come close to the
    quick path, one odd cell away from it."""
    return st.one_of(st.just(pool[0]), st.sampled_from(pool))


@st.composite
def _rows(draw: st.DrawFn) -> tuple[list[Column], list[str]]:
    columns = list(REQUIRED)
    cells = [
        draw(_cell(EMAILS)),
        draw(_cell(TYPE_NAMES)),
        draw(_cell(DATES[1:])),  # plain: 2026-01-10
        draw(_cell(DATES[2:])),  # plain: 2029-01-10
        draw(_cell(NUMBERS[1:])),  # plain: N-1
    ]
    if draw(st.booleans()):
        columns.append(Column.EXTERNAL_ID)
        cells.append(draw(_cell(EXTERNAL_IDS)))
    if draw(st.booleans()):
        columns.append(Column.ARCHIVED)
        cells.append(draw(_cell(ARCHIVED)))
    order = draw(st.permutations(range(len(columns))))
    missing = draw(st.sampled_from([0, 0, 0, 0, 1, 2]))  # short rows, now and then
    return [columns[n] for n in order], [cells[n] for n in order][: len(columns) - missing]


@settings(max_examples=3000, deadline=None)
@given(row=_rows(), viewer=st.sampled_from(VIEWERS))
def test_checking_a_row_gives_what_the_full_rules_give(
    row: tuple[list[Column], list[str]], viewer: Viewer
) -> None:
    columns, cells = row
    positions = {column: n for n, column in enumerate(columns)}
    parser = RowParser(viewer, positions, USERS, {t.name_key: t for t in TYPES})
    # When one row is checked in a batch, and parsed by the full rules
    parsed, failures = parser.check([(2, cells)], parser.pair_set())
    expected = parser.parse(2, cells)
    # Then both say the same
    if isinstance(expected, list):
        assert (parsed, failures) == ([], [(2, expected)])
    else:
        assert (parsed, failures) == ([expected], [])


def test_plain_rows_of_a_large_file_are_taken_as_the_full_rules_take_them() -> None:
    # Given rows as a register export has them, and a second row for the same pair
    parser = RowParser(
        VIEWERS[0],
        {column: n for n, column in enumerate(REQUIRED)},
        USERS,
        {t.name_key: t for t in TYPES},
    )
    rows = [
        (2, ["alex@example.com", "First Aid", "2026-01-10", "2029-01-10", "FA-1"]),
        (3, ["Bo@Example.com", "Licence", "2026-01-10", "2029-01-10", "L-1"]),
        (4, ["alex@example.com", "first aid", "2026-01-11", "2029-01-11", "FA-2"]),
    ]
    # When they are checked
    parsed, failures = parser.check(rows, parser.pair_set())
    # Then the first two are stored as parse has them, the third is a duplicate
    assert parsed == [parser.parse(*rows[0]), parser.parse(*rows[1])]
    assert [(row, [p.code.value for p in problems]) for row, problems in failures] == [
        (4, ["DUPLICATE_ROW"])
    ]
