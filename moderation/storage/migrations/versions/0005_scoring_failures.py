"""scoring_failures: comment revisions a scorer version raised on, skipped until retried or edited

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 18:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "scoring_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("comment_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("scorer", sa.String(length=100), nullable=False),
        sa.Column("scorer_version", sa.String(length=100), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["comment_id"], ["comments.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "comment_id", "content_hash", "scorer_version", name="uq_scoring_failures_comment_revision_scorer"
        ),
    )
    op.create_index(op.f("ix_scoring_failures_comment_id"), "scoring_failures", ["comment_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_scoring_failures_comment_id"), table_name="scoring_failures")
    op.drop_table("scoring_failures")
