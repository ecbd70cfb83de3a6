"""credential event queue: events a long import stages, published in order after it commits

Revision ID: 0011_credential_event_queue
Revises: 0010_digest_runs
Create Date: 2026-12-08 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0011_credential_event_queue"
down_revision: str | None = "0010_digest_runs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credential_event_queue",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("credential_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credential_event_queue_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credential_event_queue")),
    )
    with op.batch_alter_table("credential_event_queue", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credential_event_queue_organization_id"),
            ["organization_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_credential_event_queue_organization_id_id", ["organization_id", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("credential_event_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_credential_event_queue_organization_id_id")
        batch_op.drop_index(batch_op.f("ix_credential_event_queue_organization_id"))
    op.drop_table("credential_event_queue")
