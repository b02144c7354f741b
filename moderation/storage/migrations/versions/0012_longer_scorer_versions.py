"""scorer versions up to 255 characters: a cascade's version names both tiers, its bands and its fit

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01 15:30:00

The default cascade (escalating to the int8-ffn01 copy of the accurate tier) has a version of 101 characters,
more than the 100 these columns held (PostgreSQL refused it; SQLite does not check lengths).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable): the columns that hold a scorer's version.
VERSION_COLUMNS = (
    ("scores", "scorer_version", False),
    ("scoring_failures", "scorer_version", False),
    ("moderation_actions", "scorer", True),
)


def upgrade() -> None:
    """Upgrade schema."""
    _resize(sa.String(length=100), sa.String(length=255))


def downgrade() -> None:
    """Downgrade schema."""
    _resize(sa.String(length=255), sa.String(length=100))


def _resize(old: sa.String, new: sa.String) -> None:
    for table, column, nullable in VERSION_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=nullable)
