"""CSV rows turned into what to store, or into the problems that keep them out.

Most rows of a large file are plain: cells without surrounding spaces or a neutralizing
quote, an email and a type name as stored, ISO dates. `RowParser.check` takes those
through a quick path of dictionary look-ups; any row it is not sure of goes through
`parse`, the full rules with their messages. The quick path accepts only rows `parse`
would accept, with the same result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from operator import itemgetter
from typing import Final, TypeAlias

from models.credential_type import CredentialType, FieldRule
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.credentials.validation import MAX_CREDENTIAL_NUMBER, VersionDetails, validated
from services.csv_io.columns import NO, SPECS, YES, Column, unneutralize
from services.csv_io.errors import ImportErrorCode
from services.errors import DomainError, DomainErrors
from services.viewer import Viewer

MAX_EXTERNAL_ID = 100

_FIELD_COLUMNS = {
    "issueDate": Column.ISSUE_DATE,
    "expiryDate": Column.EXPIRY_DATE,
    "credentialNumber": Column.CREDENTIAL_NUMBER,
}
_CODES = {
    CredentialErrorCode.REQUIRED: ImportErrorCode.REQUIRED,
    CredentialErrorCode.NOT_USED: ImportErrorCode.NOT_USED,
    CredentialErrorCode.EXPIRY_BEFORE_ISSUE: ImportErrorCode.EXPIRY_BEFORE_ISSUE,
}


@dataclass(frozen=True, slots=True)
class Problem:
    column: Column | None
    code: ImportErrorCode
    message: str

    @property
    def column_title(self) -> str | None:
        return SPECS[self.column].title if self.column is not None else None


@dataclass(frozen=True, slots=True)
class HolderRef:
    id: int
    company_id: int | None


# (row number, holder, type id, issue date, expiry date, credential number, external id):
# a tuple, not an object, for the million rows of a large file.
ParsedRow: TypeAlias = tuple[int, HolderRef, int, date | None, date | None, str | None, str | None]
ROW_NUMBER: Final = 0
HOLDER: Final = 1
TYPE_ID: Final = 2
ISSUE: Final = 3
EXPIRY: Final = 4
NUMBER: Final = 5
EXTERNAL_ID: Final = 6
Failure: TypeAlias = tuple[int, list[Problem]]

_DUPLICATE = Problem(
    Column.CREDENTIAL_TYPE,
    ImportErrorCode.DUPLICATE_ROW,
    "This holder and credential type are on an earlier row of the file too: keep one "
    "row per holder and type.",
)


class PairSet:
    """The (holder, type) pairs seen in a file, by their indexes among the users and
    types loaded: a bit each when that fits in a few megabytes, else a set."""

    _MAX_BITS = 1 << 25

    def __init__(self, holders: int, types: int) -> None:
        self._types = max(types, 1)
        size = holders * self._types
        self._bits = bytearray((size + 7) // 8) if size <= self._MAX_BITS else None
        self._set: set[int] = set()

    def add(self, holder_index: int, type_index: int) -> bool:
        """Adds the pair; False if it was there already."""
        key = holder_index * self._types + type_index
        bits = self._bits
        if bits is None:
            if key in self._set:
                return False
            self._set.add(key)
            return True
        byte, mask = key >> 3, 1 << (key & 7)
        if bits[byte] & mask:
            return False
        bits[byte] |= mask
        return True


def _quick_rule(
    credential_type: CredentialType, index: int
) -> tuple[int, int, bool, bool, bool, bool]:
    """(id, index, issue may be empty, issue may be given, expiry may be empty, expiry may
    be given): what the quick path checks. An expiry left empty where `validated` would
    propose one is left to the full rules."""
    issue, never_expires = credential_type.issue_date_rule, credential_type.never_expires
    expiry = FieldRule.NOT_USED if never_expires else credential_type.expiry_date_rule
    proposes = credential_type.default_validity_months is not None and not never_expires
    return (
        credential_type.id,
        index,
        issue is not FieldRule.REQUIRED,
        issue is not FieldRule.NOT_USED,
        expiry is not FieldRule.REQUIRED and not proposes,
        expiry is not FieldRule.NOT_USED,
    )


class RowParser:
    """Parses rows against the organization's users and types, as one viewer may import."""

    def __init__(
        self,
        viewer: Viewer,
        positions: dict[Column, int],
        users: dict[str, HolderRef],
        types: dict[str, CredentialType],
    ) -> None:
        self._viewer = viewer
        self._positions = positions
        self._users = users
        self._types = types
        self._holder_index = {holder.id: n for n, holder in enumerate(users.values())}
        self._type_index = {t.id: n for n, t in enumerate(types.values())}
        self._quick_holders = {
            key: (holder, self._holder_index[holder.id])
            for key, holder in users.items()
            if policy.can_manage_holder(viewer, holder)
        }
        self._quick_types = {
            key: _quick_rule(t, self._type_index[t.id]) for key, t in types.items()
        }
        required = [
            positions.get(column)
            for column in (
                Column.HOLDER_EMAIL,
                Column.CREDENTIAL_TYPE,
                Column.ISSUE_DATE,
                Column.EXPIRY_DATE,
                Column.CREDENTIAL_NUMBER,
            )
        ]
        self._pick_required = (
            itemgetter(*[p for p in required if p is not None]) if None not in required else None
        )
        self._external_at = positions.get(Column.EXTERNAL_ID)
        self._archived_at = positions.get(Column.ARCHIVED)

    def pair_set(self) -> PairSet:
        return PairSet(len(self._holder_index), len(self._type_index))

    def check(
        self, batch: Sequence[tuple[int, list[str]]], seen: PairSet
    ) -> tuple[list[ParsedRow], list[Failure]]:
        """The batch's rows to store, and the problems of the others in row order (a
        (holder, type) pair already in `seen` is a duplicate)."""
        parsed: list[ParsedRow] = []
        failures: list[Failure] = []
        quick = self._quick
        for row_number, cells in batch:
            found = quick(row_number, cells)
            if found is None:
                result = self.parse(row_number, cells)
                if isinstance(result, list):
                    failures.append((row_number, result))
                    continue
                found = (
                    result,
                    self._holder_index[result[HOLDER].id],
                    self._type_index[result[TYPE_ID]],
                )
            row, holder_index, type_index = found
            if seen.add(holder_index, type_index):
                parsed.append(row)
            else:
                failures.append((row_number, [_DUPLICATE]))
        return parsed, failures

    def _quick(self, row_number: int, cells: list[str]) -> tuple[ParsedRow, int, int] | None:
        """The row with its holder's and type's indexes when it is plainly good; None
        when the full rules must decide. (The hot loop of a large import: written out.)"""
        pick = self._pick_required
        if pick is None:
            return None
        try:
            email, type_name, issue_text, expiry_text, number = pick(cells)
            external_id = "" if self._external_at is None else cells[self._external_at]
            if self._archived_at is not None and cells[self._archived_at] not in ("", NO):
                return None
            if not email or not type_name or email[0] == "'" or type_name[0] == "'":
                return None  # required, or what unneutralize may change
            holder_found = self._quick_holders.get(email) or self._quick_holders.get(
                email.strip().casefold()
            )
            type_found = self._quick_types.get(type_name) or self._quick_types.get(
                type_name.strip().casefold()
            )
            if holder_found is None or type_found is None:
                return None
            type_id, type_index, issue_empty_ok, issue_ok, expiry_empty_ok, expiry_ok = type_found
            # YYYY-MM-DD only (fromisoformat also takes "20250301  ", which the full
            # rules strip and refuse): anything else goes to them.
            if issue_text:
                if len(issue_text) != 10 or issue_text[4] != "-" or issue_text[7] != "-":
                    return None
                issue: date | None = date.fromisoformat(issue_text)
                if not issue_ok:
                    return None
            elif issue_empty_ok:
                issue = None
            else:
                return None
            if expiry_text:
                if len(expiry_text) != 10 or expiry_text[4] != "-" or expiry_text[7] != "-":
                    return None
                expiry_day = date.fromisoformat(expiry_text)
                if not expiry_ok or (issue is not None and expiry_day < issue):
                    return None
                expiry: date | None = expiry_day
            elif expiry_empty_ok:
                expiry = None
            else:
                return None
        except (IndexError, ValueError):
            return None
        if number and not _plain(number, MAX_CREDENTIAL_NUMBER):
            return None
        if external_id and not _plain(external_id, MAX_EXTERNAL_ID):
            return None
        holder, holder_index = holder_found
        row = (row_number, holder, type_id, issue, expiry, number or None, external_id or None)
        return row, holder_index, type_index

    def _cell(self, cells: list[str], column: Column) -> str:
        position = self._positions.get(column)
        if position is None or position >= len(cells):
            return ""
        return unneutralize(cells[position]).strip()

    def _date(self, cells: list[str], column: Column, problems: list[Problem]) -> date | None:
        text = self._cell(cells, column)
        if not text:
            return None
        try:
            if len(text) != 10:  # fromisoformat also takes 20250301 and week dates
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError:
            problems.append(
                Problem(
                    column, ImportErrorCode.INVALID_DATE, "Invalid date format: use YYYY-MM-DD."
                )
            )
            return None

    def parse(self, row_number: int, cells: list[str]) -> ParsedRow | list[Problem]:
        problems: list[Problem] = []
        holder = self._holder(cells, problems)
        credential_type = self._type(cells, problems)
        issue = self._date(cells, Column.ISSUE_DATE, problems)
        expiry = self._date(cells, Column.EXPIRY_DATE, problems)
        number = self._cell(cells, Column.CREDENTIAL_NUMBER) or None
        external_id = self._cell(cells, Column.EXTERNAL_ID) or None
        if external_id is not None and len(external_id) > MAX_EXTERNAL_ID:
            problems.append(
                Problem(
                    Column.EXTERNAL_ID,
                    ImportErrorCode.INVALID,
                    f"The external id is longer than {MAX_EXTERNAL_ID} characters.",
                )
            )
        archived = self._cell(cells, Column.ARCHIVED).casefold()
        if archived not in ("", NO):
            problems.append(
                Problem(
                    Column.ARCHIVED,
                    ImportErrorCode.ARCHIVED,
                    "Archived credentials are not imported: remove the row or clear its "
                    "Archived cell."
                    if archived == YES
                    else "Archived is either yes or no.",
                )
            )
        if holder is None or credential_type is None or problems:
            return problems
        try:
            details = validated(
                VersionDetails(issue, expiry, number), credential_type, propose_expiry=True
            )
        except DomainError as error:
            return [_problem_of(error)]
        except DomainErrors as errors:
            return [_problem_of(error) for error in errors.errors]
        return (
            row_number,
            holder,
            credential_type.id,
            details.issue_date,
            details.expiry_date,
            details.credential_number,
            external_id,
        )

    def _holder(self, cells: list[str], problems: list[Problem]) -> HolderRef | None:
        email = self._cell(cells, Column.HOLDER_EMAIL)
        if not email:
            problems.append(
                Problem(Column.HOLDER_EMAIL, ImportErrorCode.REQUIRED, "Holder email is required.")
            )
            return None
        holder = self._users.get(email.casefold())
        # Someone the viewer may not manage answers exactly as someone who does not exist.
        if holder is None or not policy.can_manage_holder(self._viewer, holder):
            problems.append(
                Problem(Column.HOLDER_EMAIL, ImportErrorCode.USER_NOT_FOUND, "User doesn't exist.")
            )
            return None
        return holder

    def _type(self, cells: list[str], problems: list[Problem]) -> CredentialType | None:
        name = self._cell(cells, Column.CREDENTIAL_TYPE)
        if not name:
            problems.append(
                Problem(
                    Column.CREDENTIAL_TYPE, ImportErrorCode.REQUIRED, "Credential type is required."
                )
            )
            return None
        credential_type = self._types.get(name.casefold())
        if credential_type is None:
            problems.append(
                Problem(
                    Column.CREDENTIAL_TYPE,
                    ImportErrorCode.TYPE_NOT_FOUND,
                    "Credential type doesn't exist.",
                )
            )
        return credential_type


def _plain(text: str, longest: int) -> bool:
    """Printable (so no control characters), no surrounding spaces (printable leaves only
    the ASCII one), no neutralizing quote, not too long: as the full rules keep it."""
    return text.isprintable() and text[0] not in " '" and text[-1] != " " and len(text) <= longest


def _problem_of(error: DomainError) -> Problem:
    column = _FIELD_COLUMNS.get(error.field or "")
    code = _CODES.get(error.code, ImportErrorCode.INVALID)  # type: ignore[call-overload]
    return Problem(column, code, error.message)
