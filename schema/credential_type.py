"""Credential types and the mutations that manage them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import strawberry
from strawberry import UNSET, Info, relay

from models.credential_type import CredentialType as CredentialTypeModel
from models.credential_type import FieldRule
from resolvers.context import RequestContext
from resolvers.mutations import run_mutation
from schema.credential_errors import CredentialError
from schema.ids import key_of, local_ids
from schema.unset import given
from services.credentials import types as type_service

FieldRuleEnum = strawberry.enum(
    FieldRule, name="FieldRule", description="Whether credentials of a type carry a detail."
)


@strawberry.type(name="CredentialType")
class CredentialTypeNode(relay.Node):
    id: relay.NodeID[int]
    name: str
    description: str
    issue_date_rule: FieldRuleEnum  # type: ignore[valid-type]
    expiry_date_rule: FieldRuleEnum  # type: ignore[valid-type]
    media_rule: FieldRuleEnum  # type: ignore[valid-type]
    default_validity_months: int | None = strawberry.field(
        description="Proposes the expiry date this many months after the issue date."
    )
    never_expires: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, model: CredentialTypeModel) -> CredentialTypeNode:
        return cls(
            id=model.id,
            name=model.name,
            description=model.description,
            issue_date_rule=model.issue_date_rule,
            expiry_date_rule=model.expiry_date_rule,
            media_rule=model.media_rule,
            default_validity_months=model.default_validity_months,
            never_expires=model.never_expires,
            created_at=model.created_at,
            updated_at=model.updated_at,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[CredentialTypeNode | None]:
        loader = info.context.loaders.credentials.type_by_id
        keys = local_ids(node_ids)
        found = await loader.load_many([k for k in keys if k is not None])
        by_id = {t.id: t for t in found if t is not None}
        return [cls.from_model(by_id[k]) if k is not None and k in by_id else None for k in keys]


@strawberry.input
class CreateCredentialTypeInput:
    name: str
    description: str = ""
    issue_date_rule: FieldRuleEnum = FieldRule.REQUIRED  # type: ignore[valid-type]
    expiry_date_rule: FieldRuleEnum = FieldRule.REQUIRED  # type: ignore[valid-type]
    media_rule: FieldRuleEnum = FieldRule.OPTIONAL  # type: ignore[valid-type]
    default_validity_months: int | None = None
    never_expires: bool = False

    def to_changes(self) -> type_service.TypeChanges:
        return type_service.TypeChanges(
            name=self.name,
            description=self.description,
            issue_date_rule=self.issue_date_rule,
            expiry_date_rule=(FieldRule.NOT_USED if self.never_expires else self.expiry_date_rule),
            media_rule=self.media_rule,
            never_expires=self.never_expires,
            default_validity_months=self.default_validity_months,
        )


@strawberry.input(description="Fields left out keep their values.")
class UpdateCredentialTypeInput:
    name: str | None = UNSET
    description: str | None = UNSET
    issue_date_rule: FieldRuleEnum | None = UNSET  # type: ignore[valid-type]
    expiry_date_rule: FieldRuleEnum | None = UNSET  # type: ignore[valid-type]
    media_rule: FieldRuleEnum | None = UNSET  # type: ignore[valid-type]
    default_validity_months: int | None = strawberry.field(
        default=UNSET, description="null removes the default validity period."
    )
    never_expires: bool | None = UNSET

    def to_changes(self) -> type_service.TypeChanges:
        changes = type_service.TypeChanges(
            name=given(self.name),
            description=given(self.description),
            issue_date_rule=given(self.issue_date_rule),
            expiry_date_rule=given(self.expiry_date_rule),
            media_rule=given(self.media_rule),
            never_expires=given(self.never_expires),
        )
        if self.default_validity_months is not UNSET:
            changes.default_validity_months = self.default_validity_months
        return changes


@strawberry.type
class CredentialTypePayload:
    credential_type: CredentialTypeNode | None = None
    errors: list[CredentialError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteCredentialTypePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[CredentialError] = strawberry.field(default_factory=list)


def _payload(
    outcome_value: CredentialTypeModel | None, errors: list[CredentialError]
) -> CredentialTypePayload:
    node = CredentialTypeNode.from_model(outcome_value) if outcome_value is not None else None
    return CredentialTypePayload(credential_type=node, errors=errors)


@strawberry.type
class CredentialTypeMutations:
    @strawberry.mutation(description="Create a credential type (CREDENTIALS_MANAGE).")
    async def create_credential_type(
        self,
        info: Info[RequestContext, None],
        input: CreateCredentialTypeInput,
    ) -> CredentialTypePayload:
        changes = input.to_changes()
        outcome = await run_mutation(
            info, lambda s, viewer, now: type_service.create_type(s, viewer, changes, now)
        )
        return _payload(outcome.value, CredentialError.many(outcome.errors))

    @strawberry.mutation(description="Change a credential type (CREDENTIALS_MANAGE).")
    async def update_credential_type(
        self,
        info: Info[RequestContext, None],
        id: strawberry.ID,
        input: UpdateCredentialTypeInput,
    ) -> CredentialTypePayload:
        type_id = key_of(id, "CredentialType")
        if type_id is None:
            return _payload(None, [CredentialError.not_found("id", "Credential type")])
        changes = input.to_changes()
        outcome = await run_mutation(
            info,
            lambda s, viewer, now: type_service.update_type(s, viewer, type_id, changes, now),
        )
        return _payload(outcome.value, CredentialError.many(outcome.errors))

    @strawberry.mutation(
        description="Delete a credential type that no credential uses, archived ones "
        "included (CREDENTIALS_MANAGE)."
    )
    async def delete_credential_type(
        self,
        info: Info[RequestContext, None],
        id: strawberry.ID,
    ) -> DeleteCredentialTypePayload:
        type_id = key_of(id, "CredentialType")
        if type_id is None:
            return DeleteCredentialTypePayload(
                errors=[CredentialError.not_found("id", "Credential type")]
            )
        outcome = await run_mutation(
            info, lambda s, viewer, now: type_service.delete_type(s, viewer, type_id)
        )
        if outcome.errors:
            return DeleteCredentialTypePayload(errors=CredentialError.many(outcome.errors))
        return DeleteCredentialTypePayload(deleted_id=id)
