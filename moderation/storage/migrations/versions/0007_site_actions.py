"""site actions: decisions delivered to the comment's site

Revision ID: 0007
Revises: 0006

Self-contained: one new table, nothing else touched, so it can be re-chained after other revisions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("moderation_action_id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=50), nullable=True),
        sa.Column("undoes_site_action_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("applied", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["moderation_action_id"], ["moderation_actions.id"]),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("moderation_action_id", name="uq_site_actions_moderation_action"),
    )
    with op.batch_alter_table("site_actions", schema=None) as batch_op:
        batch_op.create_index("ix_site_actions_status_next_attempt", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_site_actions_comment_id", ["comment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("site_actions", schema=None) as batch_op:
        batch_op.drop_index("ix_site_actions_comment_id")
        batch_op.drop_index("ix_site_actions_status_next_attempt")
    op.drop_table("site_actions")
