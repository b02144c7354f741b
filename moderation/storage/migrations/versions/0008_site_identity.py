"""site identity: comments.author_id, author_email_hash, site_status and url

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 19:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("author_email_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("site_status", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("url", sa.Text(), nullable=True))
        batch_op.create_index("ix_comments_author_id", ["source", "author_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("comments", schema=None) as batch_op:
        batch_op.drop_index("ix_comments_author_id")
        batch_op.drop_column("url")
        batch_op.drop_column("site_status")
        batch_op.drop_column("author_email_hash")
        batch_op.drop_column("author_id")
