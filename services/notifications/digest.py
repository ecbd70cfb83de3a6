"""What a manager's digest says: of the people the manager may see, the credentials that
expire within the organization's window, those newly expired in the period, those waiting
for approval, and the people who do not meet their job role's requirements on the day.

Built with the manager's own visibility and field rules (the lists' statements and
services.credentials.policy): a key contact never reads a credential number here either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from models.credential import ApprovalStatus, ExpiryStatus
from models.credential_filter import CredentialFilter, ExpiryWindow
from models.credential_page import ListedCredential, select_listed_page
from models.credential_queries import CredentialOrder, CredentialOrderField, count_credentials
from models.job_role import select_job_roles, select_members
from models.notification import DigestFrequency
from models.user import select_users_by_id
from services.credentials.policy import can_see_details
from services.credentials.settings import load_settings
from services.job_roles.compliance import Window, compliance_of
from services.viewer import Viewer
from services.visibility import users_visible_to

# Lines listed per section; the rest is counted ("and 12 more").
SECTION_LINES = 25


@dataclass(frozen=True)
class DigestLine:
    credential_id: int
    holder_name: str
    type_name: str
    expiry_date: date | None
    # None where the recipient may not read it (services.credentials.policy.details_reach).
    credential_number: str | None


@dataclass(frozen=True)
class DigestSection:
    lines: tuple[DigestLine, ...]
    total: int


@dataclass(frozen=True)
class NotCompliant:
    person_name: str
    role_name: str


@dataclass(frozen=True)
class Digest:
    recipient_name: str
    period: DigestFrequency
    day: date
    # The expiring-soon window, in days, that "expiring" uses.
    window_days: int
    expiring: DigestSection
    newly_expired: DigestSection
    pending: DigestSection
    not_compliant: tuple[NotCompliant, ...]
    not_compliant_total: int

    @property
    def is_empty(self) -> bool:
        return not (
            self.expiring.total
            or self.newly_expired.total
            or self.pending.total
            or self.not_compliant_total
        )

    def counts(self) -> dict[str, int]:
        return {
            "expiring": self.expiring.total,
            "newlyExpired": self.newly_expired.total,
            "pending": self.pending.total,
            "notCompliant": self.not_compliant_total,
        }


async def build_digest(
    session: AsyncSession, viewer: Viewer, day: date, period: DigestFrequency
) -> Digest:
    """The digest of the period that ends on `day`. `session` is scoped to the viewer's
    organization."""
    settings = await load_settings(session, viewer.organization_id)
    window = ExpiryWindow.starting(day, settings.expiring_soon_days)
    first_day = day - timedelta(days=7 if period is DigestFrequency.WEEKLY else 1)
    by_expiry = CredentialOrder(CredentialOrderField.EXPIRY_DATE, descending=False)
    section = _SectionReader(session, viewer, window)
    recipient = await session.scalar(select_users_by_id(users_visible_to(viewer), [viewer.user_id]))
    not_compliant = await _not_compliant(session, viewer, window)
    return Digest(
        recipient_name=recipient.name if recipient is not None else "",
        period=period,
        day=day,
        window_days=settings.expiring_soon_days,
        expiring=await section.read(
            CredentialFilter(expiry_statuses=[ExpiryStatus.EXPIRING_SOON]), by_expiry
        ),
        # Lapsed within the period: valid through the expiry date, expired the day after.
        newly_expired=await section.read(
            CredentialFilter(
                expiry_statuses=[ExpiryStatus.EXPIRED],
                expires_from=first_day,
                expires_to=day - timedelta(days=1),
            ),
            by_expiry,
        ),
        pending=await section.read(
            CredentialFilter(approval_statuses=[ApprovalStatus.PENDING]),
            CredentialOrder(CredentialOrderField.UPDATED_AT, descending=False),
        ),
        not_compliant=tuple(not_compliant[:SECTION_LINES]),
        not_compliant_total=len(not_compliant),
    )


@dataclass
class _SectionReader:
    session: AsyncSession
    viewer: Viewer
    window: ExpiryWindow

    async def read(self, wanted: CredentialFilter, order: CredentialOrder) -> DigestSection:
        visible = users_visible_to(self.viewer)
        conditions = wanted.clauses(self.window)
        rows = [
            ListedCredential(*row)
            for row in await self.session.execute(
                select_listed_page(
                    visible,
                    conditions,
                    order,
                    None,
                    backward=False,
                    limit=SECTION_LINES,
                    on=self.window.on,
                )
            )
        ]
        total = len(rows)
        if total == SECTION_LINES:
            total = int(await self.session.scalar(count_credentials(visible, conditions)) or 0)
        return DigestSection(tuple(self._line(row) for row in rows), total)

    def _line(self, row: ListedCredential) -> DigestLine:
        holder = _Holder(row.holder_id, row.holder_company_id)
        return DigestLine(
            credential_id=row.id,
            holder_name=row.holder_name,
            type_name=row.type_name,
            expiry_date=row.counting_expiry_date or row.expiry_date,
            credential_number=(
                row.credential_number if can_see_details(self.viewer, holder) else None
            ),
        )


@dataclass(frozen=True)
class _Holder:
    id: int
    company_id: int | None


async def _not_compliant(
    session: AsyncSession, viewer: Viewer, window: ExpiryWindow
) -> list[NotCompliant]:
    """Members of every job role, among those the viewer may see, who do not meet it."""
    roles = {role.id: role.name for role in await session.scalars(select_job_roles())}
    if not roles:
        return []
    pairs = [
        (user_id, role_id)
        for role_id, user_id in await session.execute(
            select_members(list(roles), users_visible_to(viewer))
        )
    ]
    judged = await compliance_of(session, pairs, Window(window.on, window.soon_until))
    failing = [c for c in judged if not c.compliant]
    names = await _names(session, viewer, {c.user_id for c in failing})
    return [NotCompliant(names.get(c.user_id, ""), roles[c.role_id]) for c in failing]


async def _names(session: AsyncSession, viewer: Viewer, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    users = await session.scalars(select_users_by_id(users_visible_to(viewer), user_ids))
    return {user.id: user.name for user in users}
