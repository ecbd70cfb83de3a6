"""One CSV row turned into what to store, or into the problems that keep it out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.credential_type import CredentialType
from services.credentials import policy
from services.credentials.errors import CredentialErrorCode
from services.credentials.validation import VersionDetails, validated
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


@dataclass(frozen=True, slots=True)
class ParsedRow:
    row_number: int
    holder: HolderRef
    type_id: int
    details: VersionDetails
    external_id: str | None


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
        return ParsedRow(row_number, holder, credential_type.id, details, external_id)

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


def _problem_of(error: DomainError) -> Problem:
    column = _FIELD_COLUMNS.get(error.field or "")
    code = _CODES.get(error.code, ImportErrorCode.INVALID)  # type: ignore[call-overload]
    return Problem(column, code, error.message)
