"""Who may do what with credentials: every rule stated once, used by the schema's
permission classes and by the lifecycle services alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from models.permission import Permission
from services.viewer import Viewer


class Holder(Protocol):
    """What the rules need to know of a credential's holder."""

    @property
    def id(self) -> int: ...

    @property
    def company_id(self) -> int | None: ...


def can_view_holder(viewer: Viewer, holder: Holder) -> bool:
    """Seeing a holder's credentials at all (dates, status, history)."""
    return (
        viewer.user_id == holder.id
        or viewer.sees_all_users
        or holder.company_id in viewer.overseen_company_ids
    )


def can_manage_holder(viewer: Viewer, holder: Holder) -> bool:
    """Submitting and changing a holder's credentials: themselves, "Platform management:
    Users", and "Companies: Manage" for the workers of the companies they manage."""
    return (
        viewer.user_id == holder.id
        or viewer.has(Permission.USERS_MANAGE)
        or (
            viewer.has(Permission.COMPANIES_MANAGE)
            and holder.company_id is not None
            and holder.company_id in viewer.managed_company_ids
        )
    )


@dataclass(frozen=True)
class Reach:
    """Whose credentials' details a viewer sees besides their own: everyone's, or the
    workers' of some companies. The rule of can_see_details in a form SQL can use."""

    everyone: bool
    company_ids: frozenset[int]


def details_reach(viewer: Viewer) -> Reach:
    """Credential number, media and rejection reason: the holder, those who manage the
    holder's credentials, and reviewers (they judge the evidence)."""
    everyone = viewer.has(Permission.USERS_MANAGE) or viewer.has(Permission.CREDENTIALS_MANAGE)
    managed = viewer.managed_company_ids if viewer.has(Permission.COMPANIES_MANAGE) else frozenset()
    return Reach(everyone=everyone, company_ids=frozenset() if everyone else managed)


def can_see_details(viewer: Viewer, holder: Holder) -> bool:
    reach = details_reach(viewer)
    return (
        viewer.user_id == holder.id
        or reach.everyone
        or (holder.company_id is not None and holder.company_id in reach.company_ids)
    )


def can_read_media_log(viewer: Viewer) -> bool:
    """The organization's record of who opened which files."""
    return viewer.has(Permission.CREDENTIALS_MANAGE)


def can_review(viewer: Viewer, holder: Holder) -> bool:
    """Approving or rejecting: credential managers, never on their own credentials."""
    return viewer.has(Permission.CREDENTIALS_MANAGE) and viewer.user_id != holder.id


def can_archive(viewer: Viewer, holder: Holder) -> bool:
    """Archiving and restoring: admins, and company managers for their workers."""
    return (
        viewer.has(Permission.USERS_MANAGE)
        or viewer.has(Permission.CREDENTIALS_MANAGE)
        or (
            viewer.has(Permission.COMPANIES_MANAGE)
            and holder.company_id is not None
            and holder.company_id in viewer.managed_company_ids
        )
    )


def can_delete(viewer: Viewer) -> bool:
    """Permanent deletion: organization admins only."""
    return viewer.has(Permission.USERS_MANAGE) or viewer.has(Permission.CREDENTIALS_MANAGE)


def can_configure(viewer: Viewer) -> bool:
    """Credential types and the organization's credential settings."""
    return viewer.has(Permission.CREDENTIALS_MANAGE)


def can_define_job_roles(viewer: Viewer) -> bool:
    """Job roles and their credential requirements: configuration, as credential types."""
    return viewer.has(Permission.CREDENTIALS_MANAGE)


def can_assign_job_roles(viewer: Viewer) -> bool:
    """Who holds which role: user managers and credential managers."""
    return viewer.has(Permission.USERS_MANAGE) or viewer.has(Permission.CREDENTIALS_MANAGE)


def can_import(viewer: Viewer) -> bool:
    """Loading credentials from CSV: "Platform management: Users" for anyone, "Companies:
    Manage" for their companies' workers (each row's holder is checked with
    `can_manage_holder`)."""
    return viewer.has(Permission.USERS_MANAGE) or viewer.has(Permission.COMPANIES_MANAGE)


def can_approve_on_import(viewer: Viewer) -> bool:
    """approveAll: reviewers only (each row still follows `can_review`)."""
    return viewer.has(Permission.CREDENTIALS_MANAGE)


def can_see_email(viewer: Viewer, user_id: int) -> bool:
    """A user's email: the user themselves and "Platform management: Users"."""
    return viewer.user_id == user_id or viewer.has(Permission.USERS_MANAGE)
