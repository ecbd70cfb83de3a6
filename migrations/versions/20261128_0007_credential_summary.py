"""credential summary: what the overview counts, kept on each credential by triggers

Revision ID: 0007_credential_summary
Revises: 0006_imports
Create Date: 2026-11-28 18:10:00

Three columns on credentials, written only by triggers on credential_versions (every
insert, update of a dated or status column, and delete), so every writer keeps them, bulk
Core inserts included:

- latest_approval_status: the latest version's approval status;
- counting_expiry_date: the expiry date of the version that counts
  (services.credentials.dates.version_that_counts) on every day from counting_from on;
- counting_from: that first day ('0001-01-01': every day); NULL when no one version counts
  from some day on, and the versions decide.

The rule: without an approved version the latest counts, every day; with one approved
version, that one, every day. With several, the latest approved one (k) counts from its
issue date on, provided no other approved version runs past it (none without an expiry,
or expiring after k, while k expires): from that day k is issued, and it is valid, or
lapsed with nothing approved still valid. Otherwise NULL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007_credential_summary'
down_revision: str | None = '0006_imports'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVERY_DAY = "'0001-01-01'"
_OF = "v.credential_id = credentials.id"
_APPROVED = "v.approval_status = 'APPROVED'"
_LATEST_APPROVED = (
    f"(SELECT max(v.number) FROM credential_versions v WHERE {_OF} AND {_APPROVED})"
)


def _of_latest_approved(column: str) -> str:
    return (
        f"(SELECT v.{column} FROM credential_versions v "
        f"WHERE {_OF} AND v.number = {_LATEST_APPROVED})"
    )


# The SET clause of an UPDATE of credentials: the summary from the row's versions.
SUMMARY = f"""
latest_approval_status = (
    SELECT v.approval_status FROM credential_versions v
    WHERE {_OF} ORDER BY v.number DESC LIMIT 1),
counting_expiry_date = CASE
    WHEN {_LATEST_APPROVED} IS NULL THEN (
        SELECT v.expiry_date FROM credential_versions v
        WHERE {_OF} ORDER BY v.number DESC LIMIT 1)
    ELSE {_of_latest_approved('expiry_date')} END,
counting_from = CASE
    WHEN (SELECT count(*) FROM credential_versions v WHERE {_OF} AND {_APPROVED}) <= 1
        THEN {_EVERY_DAY}
    WHEN {_of_latest_approved('expiry_date')} IS NULL OR NOT EXISTS (
        SELECT 1 FROM credential_versions v
        WHERE {_OF} AND {_APPROVED} AND v.number < {_LATEST_APPROVED}
            AND (v.expiry_date IS NULL OR v.expiry_date > {_of_latest_approved('expiry_date')}))
        THEN coalesce({_of_latest_approved('issue_date')}, {_EVERY_DAY})
    ELSE NULL END
"""

_SQLITE_TRIGGERS = {
    "credential_summary_on_insert": ("AFTER INSERT", "NEW"),
    "credential_summary_on_update": (
        "AFTER UPDATE OF credential_id, number, approval_status, issue_date, expiry_date",
        "NEW",
    ),
    "credential_summary_on_delete": ("AFTER DELETE", "OLD"),
}
# On an update that moved a version (never done), the old credential is refreshed too.
_POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION refresh_credential_summary() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE credentials SET {SUMMARY} WHERE id = OLD.credential_id;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.credential_id <> OLD.credential_id) THEN
        UPDATE credentials SET {SUMMARY} WHERE id = NEW.credential_id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.add_column('credentials', sa.Column('latest_approval_status', sa.Enum('PENDING', 'APPROVED', 'REJECTED', name='approvalstatus', native_enum=False, length=16), nullable=True))
    op.add_column('credentials', sa.Column('counting_from', sa.Date(), nullable=True))
    op.add_column('credentials', sa.Column('counting_expiry_date', sa.Date(), nullable=True))
    op.execute(f"UPDATE credentials SET {SUMMARY}")
    op.create_index('ix_credentials_holder_summary', 'credentials', ['holder_id', 'organization_id', 'type_id', 'archived_at', 'latest_approval_status', 'counting_from', 'counting_expiry_date'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_POSTGRESQL_FUNCTION)
        op.execute(
            "CREATE TRIGGER credential_summary AFTER INSERT OR DELETE OR UPDATE OF "
            "credential_id, number, approval_status, issue_date, expiry_date "
            "ON credential_versions FOR EACH ROW EXECUTE FUNCTION refresh_credential_summary()"
        )
    else:
        for name, (event, row) in _SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {name} {event} ON credential_versions BEGIN "
                f"UPDATE credentials SET {SUMMARY} WHERE id = {row}.credential_id; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER credential_summary ON credential_versions")
        op.execute("DROP FUNCTION refresh_credential_summary()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_credentials_holder_summary')
        batch_op.drop_column('counting_expiry_date')
        batch_op.drop_column('counting_from')
        batch_op.drop_column('latest_approval_status')
