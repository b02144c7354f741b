"""commenters: admin states and their audit, reader reports

Revision ID: 0010
Revises: 0011
Create Date: 2026-11-30 23:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "commenters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("state_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_note", sa.Text(), nullable=True),
        sa.Column("state_set_by", sa.String(length=255), nullable=True),
        sa.Column("state_set_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "key", name="uq_commenters_source_key"),
    )
    op.create_table(
        "commenter_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commenter_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["commenter_id"], ["commenters.id"], name="fk_commenter_events_commenter_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commenter_events_commenter", "commenter_events", ["commenter_id", "id"], unique=False)
    op.create_table(
        "comment_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("reporter", sa.String(length=255), nullable=True),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"], name="fk_comment_reports_comment_id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_comment_reports_comment_id", "comment_reports", ["comment_id"], unique=False)
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.create_index("ix_comments_author_email_hash", ["source", "author_email_hash"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_author_email_hash")
    op.drop_index("ix_comment_reports_comment_id", table_name="comment_reports")
    op.drop_table("comment_reports")
    op.drop_index("ix_commenter_events_commenter", table_name="commenter_events")
    op.drop_table("commenter_events")
    op.drop_table("commenters")
