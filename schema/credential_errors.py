"""Typed errors of credential mutations: `errors: [{ code, field, message }]`."""

from __future__ import annotations

import strawberry

from services.credentials.errors import CredentialErrorCode
from services.errors import DomainError

CredentialErrorCodeEnum = strawberry.enum(
    CredentialErrorCode,
    name="CredentialErrorCode",
    description="Why a credential mutation was refused.",
)


@strawberry.type
class CredentialError:
    code: CredentialErrorCodeEnum  # type: ignore[valid-type]
    field: str | None = strawberry.field(description="The input field at fault, if one is.")
    message: str

    @classmethod
    def from_domain(cls, error: DomainError) -> CredentialError:
        code = error.code if isinstance(error.code, CredentialErrorCode) else None
        if code is None:
            raise TypeError(f"{error.code!r} is not a credential error code")
        return cls(code=code, field=error.field, message=error.message)

    @classmethod
    def many(cls, errors: list[DomainError], id_argument: str = "id") -> list[CredentialError]:
        """Services name the credential they were given "id"; the client knows it by the
        argument it passed it in (credentialId, ids)."""
        converted = [cls.from_domain(e) for e in errors]
        for error in converted:
            if error.field == "id":
                error.field = id_argument
        return converted

    @classmethod
    def not_found(cls, field: str, what: str = "Credential") -> CredentialError:
        return cls(
            code=CredentialErrorCode.NOT_FOUND, field=field, message=f"{what} doesn't exist."
        )
