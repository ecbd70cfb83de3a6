"""Who is calling: the authenticated user with everything access decisions need."""

from __future__ import annotations

from dataclasses import dataclass

from models.permission import Permission


@dataclass(frozen=True, slots=True)
class Viewer:
    user_id: int
    organization_id: int
    token_id: int
    permissions: frozenset[Permission]
    company_id: int | None
    managed_company_ids: frozenset[int]
    key_contact_company_ids: frozenset[int]

    def has(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def sees_all_users(self) -> bool:
        """Admins who manage users or credentials see everyone in the organization."""
        return self.has(Permission.USERS_MANAGE) or self.has(Permission.CREDENTIALS_MANAGE)

    @property
    def overseen_company_ids(self) -> frozenset[int]:
        """Companies whose workers this viewer may see: managed ones and their own contact's."""
        managed = self.managed_company_ids if self.has(Permission.COMPANIES_MANAGE) else frozenset()
        return managed | self.key_contact_company_ids

    @property
    def visible_company_ids(self) -> frozenset[int] | None:
        """Companies this viewer sees; None means every company of the organization."""
        if self.sees_all_users:
            return None
        own = frozenset({self.company_id}) if self.company_id is not None else frozenset()
        return self.overseen_company_ids | own

    @property
    def listed_company_ids(self) -> frozenset[int] | None:
        """Companies the `companies` list gives (the contractor view): every one for those
        who see everyone, else the ones this viewer oversees; a plain worker's own company
        is readable (visible_company_ids) but not listed. None means every company."""
        if self.sees_all_users:
            return None
        return self.overseen_company_ids
