"""A version's details checked against its type's rules; every failure reported at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.credential_type import CredentialType, FieldRule
from services.credentials.dates import add_months
from services.credentials.errors import CredentialErrorCode
from services.errors import DomainError, raise_all
from services.text import has_control_characters

MAX_CREDENTIAL_NUMBER = 100


@dataclass(frozen=True)
class VersionDetails:
    issue_date: date | None = None
    expiry_date: date | None = None
    credential_number: str | None = None


def _check_rule(
    rule: FieldRule, value: object, label: str, field: str, type_name: str
) -> DomainError | None:
    if rule is FieldRule.REQUIRED and value is None:
        return DomainError(
            CredentialErrorCode.REQUIRED, f"{label} is required for {type_name}.", field
        )
    if rule is FieldRule.NOT_USED and value is not None:
        return DomainError(
            CredentialErrorCode.NOT_USED, f"{type_name} does not use {label.lower()}.", field
        )
    return None


def validated(
    details: VersionDetails, credential_type: CredentialType, *, propose_expiry: bool
) -> VersionDetails:
    """The details to store: checked, the credential number tidied and, with
    `propose_expiry`, the expiry date proposed from the type's default validity when none
    was given."""
    number = (details.credential_number or "").strip() or None
    expiry = details.expiry_date
    if (
        propose_expiry
        and expiry is None
        and details.issue_date is not None
        and credential_type.default_validity_months is not None
        and not credential_type.never_expires
    ):
        try:
            expiry = add_months(details.issue_date, credential_type.default_validity_months)
        except ValueError:  # past 9999-12-31
            raise DomainError(
                CredentialErrorCode.INVALID,
                "The issue date is too late to propose an expiry date from it.",
                "issueDate",
            ) from None
    expiry_rule = (
        FieldRule.NOT_USED if credential_type.never_expires else (credential_type.expiry_date_rule)
    )
    name = credential_type.name
    problems = [
        _check_rule(
            credential_type.issue_date_rule, details.issue_date, "Issue date", "issueDate", name
        ),
        _check_rule(expiry_rule, expiry, "Expiration date", "expiryDate", name),
    ]
    if number is not None and has_control_characters(number):
        problems.append(
            DomainError(
                CredentialErrorCode.INVALID,
                "The credential number must not contain control characters.",
                "credentialNumber",
            )
        )
    if number is not None and len(number) > MAX_CREDENTIAL_NUMBER:
        problems.append(
            DomainError(
                CredentialErrorCode.INVALID,
                f"The credential number is longer than {MAX_CREDENTIAL_NUMBER} characters.",
                "credentialNumber",
            )
        )
    if details.issue_date is not None and expiry is not None and expiry < details.issue_date:
        problems.append(
            DomainError(
                CredentialErrorCode.EXPIRY_BEFORE_ISSUE,
                "Expiration date is earlier than issue date.",
                "expiryDate",
            )
        )
    raise_all([p for p in problems if p is not None])
    return VersionDetails(details.issue_date, expiry, number)
