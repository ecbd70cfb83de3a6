"""A small dashboard's worth of credentials in known states, for the list, overview and
statement-count tests.

On DAY (the tests' "today") with the default 30-day window, each label says what the
credential is. Written through the lifecycle services as the admin; the admin's own
credentials are reviewed by the credentials manager.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models import ApprovalStatus
from server.database import Database
from services.credentials import lifecycle
from services.credentials import types as type_service
from services.credentials.validation import VersionDetails
from tests.credentials.matrix_setup import Seed, reviewer_viewer, seeding
from tests.world import World

DAY = date(2026, 11, 28)
FIRST_AID = "First aid certificate"
FORKLIFT = "Forklift licence"
WHITE_CARD = "White card"  # never expires


@dataclass(frozen=True)
class Version:
    issued: date
    expires: date | None
    status: ApprovalStatus
    number: str


@dataclass(frozen=True)
class Planned:
    holder: str
    type_name: str
    versions: tuple[Version, ...]
    archived: bool = False


def _v(issued: str, expires: str | None, status: ApprovalStatus, number: str) -> Version:
    return Version(
        date.fromisoformat(issued),
        date.fromisoformat(expires) if expires else None,
        status,
        number,
    )


A, P, R = ApprovalStatus.APPROVED, ApprovalStatus.PENDING, ApprovalStatus.REJECTED

# label -> credential, created in this order (so "newest first" is the reverse).
PLANNED: dict[str, Planned] = {
    "acme first aid valid": Planned(
        "acme_worker", FIRST_AID, (_v("2025-01-10", "2027-06-30", A, "FA-100"),)
    ),
    "acme forklift expiring": Planned(
        "acme_worker", FORKLIFT, (_v("2024-03-01", "2026-12-10", A, "FL-200"),)
    ),
    "bolt first aid expired": Planned(
        "bolt_worker", FIRST_AID, (_v("2023-01-01", "2026-10-01", A, "FA-300"),)
    ),
    "bolt forklift pending": Planned(
        "bolt_worker", FORKLIFT, (_v("2026-11-01", "2029-11-01", P, "FL-400"),)
    ),
    "contact white card": Planned(
        "bolt_contact", WHITE_CARD, (_v("2020-05-05", None, A, "WC-500"),)
    ),
    "employee forklift rejected": Planned(
        "employee", FORKLIFT, (_v("2026-02-01", "2028-02-01", R, "FL-600"),)
    ),
    "employee first aid archived": Planned(
        "employee", FIRST_AID, (_v("2025-01-01", "2026-09-01", A, "FA-700"),), archived=True
    ),
    # A lapsed credential whose renewal waits for approval: EXPIRED until it is approved.
    "admin forklift renewal pending": Planned(
        "admin",
        FORKLIFT,
        (
            _v("2023-01-01", "2026-11-01", A, "FL-800"),
            _v("2026-11-20", "2029-11-20", P, "FL-801"),
        ),
    ),
}
LIVE = [label for label, planned in PLANNED.items() if not planned.archived]


@dataclass
class Dashboard:
    """What was seeded: labels by credential key and type keys by name."""

    labels: dict[int, str]
    types: dict[str, int]

    def key(self, label: str) -> int:
        return next(k for k, v in self.labels.items() if v == label)


async def seed_dashboard(database: Database, world: World) -> Dashboard:
    labels: dict[int, str] = {}
    async with seeding(database, world) as seed:
        types = {
            FIRST_AID: await seed.credential_type(FIRST_AID),
            FORKLIFT: await seed.credential_type(FORKLIFT),
        }
        types[WHITE_CARD] = await _never_expiring_type(seed, WHITE_CARD)
        for label, planned in PLANNED.items():
            labels[await _create(seed, world, types[planned.type_name], planned)] = label
    return Dashboard(labels, types)


async def _never_expiring_type(seed: Seed, name: str) -> int:
    changes = type_service.TypeChanges(name=name, never_expires=True)
    return (await type_service.create_type(seed.session, seed.viewer, changes, seed.now)).id


async def _create(seed: Seed, world: World, type_id: int, planned: Planned) -> int:
    reviewer = reviewer_viewer(world) if planned.holder == "admin" else seed.viewer
    holder_id = world.user_ids[planned.holder]
    credential_id: int | None = None
    for version in planned.versions:
        details = VersionDetails(version.issued, version.expires, version.number)
        if credential_id is None:
            credential = await lifecycle.create_credential(
                seed.session, seed.viewer, type_id, holder_id, details, seed.now
            )
            credential_id = credential.id
        else:
            await lifecycle.add_version(seed.session, seed.viewer, credential_id, details, seed.now)
        if version.status is A:
            await lifecycle.approve(seed.session, reviewer, credential_id, seed.now)
        elif version.status is R:
            await lifecycle.reject(seed.session, reviewer, credential_id, "Unreadable.", seed.now)
    assert credential_id is not None
    if planned.archived:
        await seed.archive(credential_id)
    return credential_id
