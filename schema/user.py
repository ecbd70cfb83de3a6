"""The User type and the users connection's filter."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import Info, relay
from strawberry.permission import PermissionExtension

from models.credential_filter import ArchivedFilter
from models.user import User as UserModel
from models.user import UserFilter
from resolvers.context import RequestContext
from resolvers.user import resolve_users_by_id
from schema.archived import ArchivedFilterEnum
from schema.ids import key_of, local_ids
from schema.permissions import IsSelfOrUsersManager

if TYPE_CHECKING:
    from schema.company import CompanyType
    from schema.credential import CredentialNode
    from schema.job_role import JobRoleNode


@strawberry.type(name="User")
class UserType(relay.Node):
    id: relay.NodeID[int]
    name: str
    is_active: bool
    created_at: datetime
    company_id: strawberry.Private[int | None]
    email_address: strawberry.Private[str]

    @strawberry.field(
        description="Visible to the user themselves and to user managers; null for others.",
        extensions=[PermissionExtension(permissions=[IsSelfOrUsersManager()], fail_silently=True)],
    )
    def email(self) -> str | None:
        return self.email_address

    @strawberry.field(description="The contractor company the user works for, if any.")
    async def company(
        self, info: Info[RequestContext, None]
    ) -> Annotated[CompanyType, strawberry.lazy("schema.company")] | None:
        from schema.company import CompanyType

        if self.company_id is None:
            return None
        company = await info.context.loaders.company_by_id.load(self.company_id)
        return CompanyType.from_model(company) if company is not None else None

    @strawberry.field(
        description="The user's credentials, newest first; archived ones only if asked for."
    )
    async def credentials(
        self,
        info: Info[RequestContext, None],
        archived: ArchivedFilterEnum = ArchivedFilter.EXCLUDE,  # type: ignore[valid-type]
    ) -> list[Annotated[CredentialNode, strawberry.lazy("schema.credential")]]:
        from schema.credential import CredentialNode

        loader = info.context.loaders.credentials.credentials_by_holder
        return [CredentialNode.from_model(c) for c in await loader.load((self.id, archived))]

    @strawberry.field(description="The job roles the user holds, by name.")
    async def job_roles(
        self, info: Info[RequestContext, None]
    ) -> list[Annotated[JobRoleNode, strawberry.lazy("schema.job_role")]]:
        from schema.job_role import JobRoleNode

        loaders = info.context.loaders.job_roles
        roles = await loaders.role_by_id.load_many(await loaders.role_ids_by_user_id.load(self.id))
        return [JobRoleNode.from_model(r) for r in roles if r is not None]

    @classmethod
    def from_model(cls, user: UserModel) -> UserType:
        return cls(
            id=user.id,
            name=user.name,
            is_active=user.is_active,
            created_at=user.created_at,
            company_id=user.company_id,
            email_address=user.email,
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info[RequestContext, None], node_ids: Iterable[str], required: bool = False
    ) -> list[UserType | None]:
        users = await resolve_users_by_id(info, local_ids(node_ids))
        return [cls.from_model(user) if user is not None else None for user in users]


@strawberry.input(name="UserFilter")
class UserFilterInput:
    search: str | None = strawberry.field(
        default=None,
        description="Part of the name or email, any case; emails match only where the "
        "viewer may read them.",
    )
    company_ids: list[strawberry.ID] | None = None
    is_active: bool | None = None

    def to_filter(self) -> UserFilter:
        company_ids = None
        if self.company_ids is not None:
            keys = [key_of(given, "Company") for given in self.company_ids]
            company_ids = [key for key in keys if key is not None]
        return UserFilter(search=self.search, company_ids=company_ids, is_active=self.is_active)
