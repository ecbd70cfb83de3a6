"""Credential reads on the root Query."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

import strawberry
from strawberry import Info

from models.credential_filter import ArchivedFilter, CredentialFilter
from models.credential_page import ListedCredential
from models.credential_queries import CredentialOrder as CredentialOrderModel
from models.credential_queries import CredentialOrderField
from resolvers.context import RequestContext
from resolvers.credential import (
    resolve_credential_settings,
    resolve_credential_types,
    resolve_credentials_by_id,
)
from resolvers.credential_list import resolve_credentials_page
from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest
from schema.archived import ArchivedFilterEnum
from schema.credential import ApprovalStatusEnum, CredentialNode, ExpiryStatusEnum
from schema.credential_settings import CredentialSettings
from schema.credential_type import CredentialTypeNode
from schema.ids import key_of
from schema.pagination import Connection
from schema.user import UserType

CredentialOrderFieldEnum = strawberry.enum(
    CredentialOrderField,
    name="CredentialOrderField",
    description="CREATED: when the credential was created. EXPIRY_DATE and ISSUE_DATE: the "
    "latest version's (no expiry sorts after every date, no issue date before every date). "
    "HOLDER_NAME and TYPE_NAME: case-insensitive. UPDATED_AT: the last change to the "
    "credential or its latest version.",
)


class OrderDirection(StrEnum):
    ASC = "ASC"
    DESC = "DESC"


OrderDirectionEnum = strawberry.enum(
    OrderDirection, name="OrderDirection", description="ASC: smallest first; DESC: largest first."
)


@strawberry.input(description="Ties are broken by creation, in the same direction.")
class CredentialOrder:
    field: CredentialOrderFieldEnum  # type: ignore[valid-type]
    direction: OrderDirectionEnum = OrderDirection.ASC  # type: ignore[valid-type]

    def to_order(self) -> CredentialOrderModel:
        return CredentialOrderModel(self.field, descending=self.direction is OrderDirection.DESC)


def _keys(ids: list[strawberry.ID] | None, type_name: str) -> list[int] | None:
    """Keys of the ids of that type; ids of other types or other shapes match nothing."""
    if ids is None:
        return None
    return [key for given in ids if (key := key_of(given, type_name)) is not None]


@strawberry.input(description="Every condition given must hold; a list matches any of its items.")
class CredentialFilterInput:
    type_ids: list[strawberry.ID] | None = None
    holder_ids: list[strawberry.ID] | None = None
    company_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Credentials of these companies' workers."
    )
    job_role_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Credentials of people who hold any of these job roles."
    )
    approval_statuses: list[ApprovalStatusEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Of the latest version."
    )
    expiry_statuses: list[ExpiryStatusEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description="As the credential's expiryStatus reads on onDate.",
    )
    on_date: date | None = strawberry.field(
        default=None, description="The day expiryStatuses are judged on; default today (UTC)."
    )
    expires_from: date | None = strawberry.field(
        default=None, description="The latest version expires on this day or later."
    )
    expires_to: date | None = strawberry.field(
        default=None,
        description="The latest version expires on this day or earlier (no expiry never matches).",
    )
    archived: ArchivedFilterEnum = ArchivedFilter.EXCLUDE  # type: ignore[valid-type]
    search: str | None = strawberry.field(
        default=None,
        description="Part of the holder's name, their email or a credential number, any "
        "case; emails and numbers match only where the viewer may read them.",
    )

    def to_filter(self) -> CredentialFilter:
        return CredentialFilter(
            type_ids=_keys(self.type_ids, "CredentialType"),
            holder_ids=_keys(self.holder_ids, "User"),
            company_ids=_keys(self.company_ids, "Company"),
            job_role_ids=_keys(self.job_role_ids, "JobRole"),
            approval_statuses=self.approval_statuses,
            expiry_statuses=self.expiry_statuses,
            expires_from=self.expires_from,
            expires_to=self.expires_to,
            archived=self.archived,
            search=self.search or None,
        )


@strawberry.type
class CredentialQueries:
    @strawberry.field(description="The organization's credential types, by name.")
    async def credential_types(self, info: Info[RequestContext, None]) -> list[CredentialTypeNode]:
        return [CredentialTypeNode.from_model(t) for t in await resolve_credential_types(info)]

    @strawberry.field(description="The organization's credential settings.")
    async def credential_settings(self, info: Info[RequestContext, None]) -> CredentialSettings:
        return CredentialSettings.from_model(await resolve_credential_settings(info))

    @strawberry.field(description="A credential; null if it does not exist or is not visible.")
    async def credential(
        self, info: Info[RequestContext, None], id: strawberry.ID
    ) -> CredentialNode | None:
        found = await resolve_credentials_by_id(info, [key_of(id, "Credential")])
        return CredentialNode.from_model(found[0]) if found[0] is not None else None

    @strawberry.field(
        description="Credentials the viewer may see, newest first unless orderBy says "
        "otherwise. Archived ones are left out unless the filter asks for them. Pages of "
        f"{DEFAULT_PAGE_SIZE} by default, at most {MAX_PAGE_SIZE}: first/after forwards, "
        "last/before backwards."
    )
    async def credentials(
        self,
        info: Info[RequestContext, None],
        filter: CredentialFilterInput | None = None,
        order_by: CredentialOrder | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[CredentialNode]:
        credential_filter_input = filter or CredentialFilterInput()
        listed = await resolve_credentials_page(
            info,
            credential_filter_input.to_filter(),
            order_by.to_order() if order_by is not None else CredentialOrderModel(),
            PageRequest.of(first, after, last, before),
            credential_filter_input.on_date,
        )
        types: dict[int, CredentialTypeNode] = {}
        holders: dict[int, UserType] = {}

        def node(row: ListedCredential) -> CredentialNode:
            status = listed.expiry_status(row)
            return CredentialNode.from_listed(row, status, listed.on, types, holders)

        return Connection.from_page(listed.page, node)
