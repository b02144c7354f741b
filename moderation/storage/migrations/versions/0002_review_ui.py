"""review ui: accounts, login attempts, app secrets; reason codes and undo links on decisions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:53:06.156208

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=255), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_user_ip_time", ["username", "ip", "created_at"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_code", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("undoes_action_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_moderation_actions_actor", ["actor", "id"], unique=False)
        batch_op.create_foreign_key(
            "fk_moderation_actions_undoes_action_id", "moderation_actions", ["undoes_action_id"], ["id"]
        )

    with op.batch_alter_table("review_queue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decision_code", sa.String(length=50), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("review_queue", schema=None) as batch_op:
        batch_op.drop_column("decision_code")

    with op.batch_alter_table("moderation_actions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_moderation_actions_undoes_action_id", type_="foreignkey")
        batch_op.drop_index("ix_moderation_actions_actor")
        batch_op.drop_column("undoes_action_id")
        batch_op.drop_column("reason_code")

    op.drop_table("users")
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempts_user_ip_time")

    op.drop_table("login_attempts")
    op.drop_table("app_secrets")
