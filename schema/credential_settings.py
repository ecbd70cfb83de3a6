"""The organization's credential settings."""

from __future__ import annotations

import strawberry
from strawberry import UNSET, Info

from models.credential_settings import CredentialSettings as SettingsModel
from resolvers.context import RequestContext
from resolvers.mutations import run_mutation
from schema.credential_errors import CredentialError
from schema.unset import given
from services.credentials.settings import update_settings


@strawberry.type
class CredentialSettings:
    approvals_required: bool = strawberry.field(
        description="New versions wait for approval; otherwise they are approved on submission."
    )
    media_optional: bool = strawberry.field(
        description="Credentials may be submitted without photos or PDFs even when their "
        "type's mediaRule is REQUIRED."
    )
    expiring_soon_days: int = strawberry.field(
        description="How many days before expiry a credential counts as expiring soon."
    )

    @classmethod
    def from_model(cls, model: SettingsModel) -> CredentialSettings:
        return cls(
            approvals_required=model.approvals_required,
            media_optional=model.media_optional,
            expiring_soon_days=model.expiring_soon_days,
        )


@strawberry.input(description="Fields left out keep their values.")
class UpdateCredentialSettingsInput:
    approvals_required: bool | None = UNSET
    media_optional: bool | None = UNSET
    expiring_soon_days: int | None = UNSET


@strawberry.type
class CredentialSettingsPayload:
    settings: CredentialSettings | None = None
    errors: list[CredentialError] = strawberry.field(default_factory=list)


@strawberry.type
class CredentialSettingsMutations:
    @strawberry.mutation(description="Change the credential settings (CREDENTIALS_MANAGE).")
    async def update_credential_settings(
        self, info: Info[RequestContext, None], input: UpdateCredentialSettingsInput
    ) -> CredentialSettingsPayload:
        outcome = await run_mutation(
            info,
            lambda session, viewer, now: update_settings(
                session,
                viewer,
                now,
                approvals_required=given(input.approvals_required),
                media_optional=given(input.media_optional),
                expiring_soon_days=given(input.expiring_soon_days),
            ),
        )
        if outcome.value is None:
            return CredentialSettingsPayload(errors=CredentialError.many(outcome.errors))
        return CredentialSettingsPayload(settings=CredentialSettings.from_model(outcome.value))
