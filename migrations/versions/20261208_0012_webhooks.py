"""webhook endpoints and their attempts; webhook deliveries in the outbox

Revision ID: 0012_webhooks
Revises: 0011_credential_event_queue
Create Date: 2026-12-08 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012_webhooks'
down_revision: str | None = '0011_credential_event_queue'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('webhook_endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('event_kinds', sa.JSON(), nullable=False),
    sa.Column('type_ids', sa.JSON(), nullable=False),
    sa.Column('company_ids', sa.JSON(), nullable=False),
    sa.Column('secret_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('previous_secret_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('previous_secret_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.Enum('ACTIVE', 'PAUSED', 'DISABLED', name='webhookendpointstatus', native_enum=False, length=20), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('cursor', sa.Integer(), nullable=False),
    sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_webhook_endpoints_created_by_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_webhook_endpoints_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_organization_id'), ['organization_id'], unique=False)
        batch_op.create_index('ix_webhook_endpoints_status', ['status'], unique=False)

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('recipient_user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('webhook_endpoint_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('credential_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_deliveries_webhook_endpoint_id_webhook_endpoints'), 'webhook_endpoints', ['webhook_endpoint_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index('ix_deliveries_webhook_lane', ['webhook_endpoint_id', 'credential_id', 'status', 'id'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('request_headers', sa.JSON(), nullable=False),
    sa.Column('request_body', sa.Text(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_deliveries'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_webhook_attempts_organization_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_attempts_delivery_id_id', ['delivery_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_attempts_organization_id'), ['organization_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempts_organization_id'))
        batch_op.drop_index('ix_webhook_attempts_delivery_id_id')
    op.drop_table('webhook_attempts')
    op.execute("DELETE FROM deliveries WHERE channel = 'WEBHOOK'")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_webhook_lane')
        batch_op.drop_constraint(batch_op.f('fk_deliveries_webhook_endpoint_id_webhook_endpoints'), type_='foreignkey')
        batch_op.drop_column('credential_id')
        batch_op.drop_column('event_id')
        batch_op.drop_column('webhook_endpoint_id')
        batch_op.alter_column('recipient_user_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_endpoints_status')
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_organization_id'))
    op.drop_table('webhook_endpoints')
