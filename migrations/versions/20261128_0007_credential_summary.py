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

# A credential's first version is its summary: no look at other versions (bulk imports
# write mostly first versions; the full rule costs ~25 us a row on SQLite).
_ONLY = (
    "NOT EXISTS (SELECT 1 FROM credential_versions o "
    "WHERE o.credential_id = {row}.credential_id AND o.id <> {row}.id)"
)
_FIRST = (
    "latest_approval_status = {row}.approval_status, "
    f"counting_from = {_EVERY_DAY}, counting_expiry_date = {{row}}.expiry_date"
)

def _written(row: str, same: str) -> str:
    """The credential of `row`, a first version, holds its summary already: a bulk writer
    (the CSV import) that wrote it with the credential saves a row-by-row UPDATE, and its
    covering index's churn. `same`: the dialect's null-safe equality."""
    return (
        f"credentials.latest_approval_status {same} {row}.approval_status "
        f"AND credentials.counting_from = {_EVERY_DAY} "
        f"AND credentials.counting_expiry_date {same} {row}.expiry_date"
    )


_SQLITE_TRIGGERS = {
    "credential_summary_on_first_insert": (
        f"AFTER INSERT ON credential_versions WHEN {_ONLY.format(row='NEW')}",
        f"UPDATE credentials SET {_FIRST.format(row='NEW')} WHERE id = NEW.credential_id "
        f"AND NOT ({_written('NEW', 'IS')})",
    ),
    "credential_summary_on_insert": (
        f"AFTER INSERT ON credential_versions WHEN NOT {_ONLY.format(row='NEW')}",
        f"UPDATE credentials SET {SUMMARY} WHERE id = NEW.credential_id",
    ),
    "credential_summary_on_update": (
        "AFTER UPDATE OF credential_id, number, approval_status, issue_date, expiry_date "
        "ON credential_versions",
        f"UPDATE credentials SET {SUMMARY} WHERE id IN (NEW.credential_id, OLD.credential_id)",
    ),
    "credential_summary_on_delete": (
        "AFTER DELETE ON credential_versions",
        f"UPDATE credentials SET {SUMMARY} WHERE id = OLD.credential_id",
    ),
}

# Within the transaction that adds them (a bulk import), the planner has no statistics of
# the rows it added: it takes credentials for a small table and joined the changed rows to
# all of it for every batch (hash joins over a scan), so a batch cost more as the
# transaction went on. The summaries are reached by key from the changed rows instead.
_BY_KEY = "SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off"

# PostgreSQL: inserts and deletes once per statement, over its transition table (a bulk
# insert is one UPDATE per kind); updates, done a row at a time, per row.
_POSTGRESQL = {
    "refresh_credential_summary_on_insert": (
        "AFTER INSERT ON credential_versions REFERENCING NEW TABLE AS changed "
        "FOR EACH STATEMENT",
        f"""
        UPDATE credentials SET {_FIRST.format(row='n')}
        FROM changed n WHERE credentials.id = n.credential_id AND {_ONLY.format(row='n')}
            AND NOT ({_written('n', 'IS NOT DISTINCT FROM')});
        UPDATE credentials SET {SUMMARY}
        WHERE id IN (SELECT n.credential_id FROM changed n WHERE NOT {_ONLY.format(row='n')});
        """,
    ),
    "refresh_credential_summary_on_delete": (
        "AFTER DELETE ON credential_versions REFERENCING OLD TABLE AS changed "
        "FOR EACH STATEMENT",
        f"UPDATE credentials SET {SUMMARY} WHERE id IN (SELECT credential_id FROM changed);",
    ),
    "refresh_credential_summary_on_update": (
        "AFTER UPDATE OF credential_id, number, approval_status, issue_date, expiry_date "
        "ON credential_versions FOR EACH ROW",
        f"UPDATE credentials SET {SUMMARY} WHERE id IN (NEW.credential_id, OLD.credential_id);",
    ),
}


def upgrade() -> None:
    op.add_column('credentials', sa.Column('latest_approval_status', sa.Enum('PENDING', 'APPROVED', 'REJECTED', name='approvalstatus', native_enum=False, length=16), nullable=True))
    op.add_column('credentials', sa.Column('counting_from', sa.Date(), nullable=True))
    op.add_column('credentials', sa.Column('counting_expiry_date', sa.Date(), nullable=True))
    op.execute(f"UPDATE credentials SET {SUMMARY}")
    op.create_index('ix_credentials_holder_summary', 'credentials', ['holder_id', 'organization_id', 'type_id', 'archived_at', 'latest_approval_status', 'counting_from', 'counting_expiry_date'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        for name, (event, body) in _POSTGRESQL.items():
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN {body} RETURN NULL; "
                f"END $$ LANGUAGE plpgsql {_BY_KEY}"
            )
            op.execute(f"CREATE TRIGGER {name} {event} EXECUTE FUNCTION {name}()")
    else:
        for name, (event, body) in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {event} BEGIN {body}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for name in _POSTGRESQL:
            op.execute(f"DROP TRIGGER {name} ON credential_versions")
            op.execute(f"DROP FUNCTION {name}()")
    else:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {name}")
    with op.batch_alter_table('credentials', schema=None) as batch_op:
        batch_op.drop_index('ix_credentials_holder_summary')
        batch_op.drop_column('counting_expiry_date')
        batch_op.drop_column('counting_from')
        batch_op.drop_column('latest_approval_status')
