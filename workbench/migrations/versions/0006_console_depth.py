"""console depth: strikes policy, reporter standing, bulk decisions, daily figures

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("id", BIG_ID, nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "daily_figure",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "key", name=op.f("pk_daily_figure")),
    )
    with op.batch_alter_table("daily_figure", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_daily_figure_updated_at"), ["updated_at"])

    op.create_table(
        "dashboard_chart",
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("svg", sa.Text(), nullable=False),
        sa.Column("csv", sa.Text(), nullable=False),
        sa.Column("figures_key", sa.String(length=200), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("days", "slug", name=op.f("pk_dashboard_chart")),
    )

    op.create_table(
        "reporter_mark",
        sa.Column("account_id", BIG_ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_by_id", BIG_ID, nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by_id", BIG_ID, nullable=True),
        sa.Column("clear_reason", sa.Text(), nullable=True),
        *_id_columns(),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"],
                                name=op.f("fk_reporter_mark_account_id_account")),
        sa.ForeignKeyConstraint(["cleared_by_id"], ["moderator.id"],
                                name=op.f("fk_reporter_mark_cleared_by_id_moderator")),
        sa.ForeignKeyConstraint(["marked_by_id"], ["moderator.id"],
                                name=op.f("fk_reporter_mark_marked_by_id_moderator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporter_mark")),
    )
    with op.batch_alter_table("reporter_mark", schema=None) as batch_op:
        batch_op.create_index("ix_reporter_mark_account", ["account_id", "created_at"])
        batch_op.create_index("uq_reporter_mark_active", ["account_id"], unique=True,
                              sqlite_where=sa.text("cleared_at IS NULL"),
                              postgresql_where=sa.text("cleared_at IS NULL"))

    op.create_table(
        "bulk_operation",
        sa.Column("moderator_id", BIG_ID, nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("action_template", JSON, nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_count", sa.Integer(), nullable=False),
        sa.Column("decided_count", sa.Integer(), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undone_by_id", BIG_ID, nullable=True),
        *_id_columns(),
        sa.ForeignKeyConstraint(["moderator_id"], ["moderator.id"],
                                name=op.f("fk_bulk_operation_moderator_id_moderator")),
        sa.ForeignKeyConstraint(["undone_by_id"], ["moderator.id"],
                                name=op.f("fk_bulk_operation_undone_by_id_moderator")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_operation")),
    )
    with op.batch_alter_table("bulk_operation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_operation_moderator_id"), ["moderator_id"])

    op.create_table(
        "bulk_operation_item",
        sa.Column("bulk_id", BIG_ID, nullable=False),
        sa.Column("case_id", BIG_ID, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("action_id", BIG_ID, nullable=True),
        sa.Column("step_action_id", BIG_ID, nullable=True),
        sa.Column("strike_id", BIG_ID, nullable=True),
        sa.Column("delivery_ids", JSON, nullable=True),
        sa.Column("undo_delivery_ids", JSON, nullable=True),
        sa.Column("id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(["action_id"], ["action.id"],
                                name=op.f("fk_bulk_operation_item_action_id_action")),
        sa.ForeignKeyConstraint(["bulk_id"], ["bulk_operation.id"],
                                name=op.f("fk_bulk_operation_item_bulk_id_bulk_operation"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"],
                                name=op.f("fk_bulk_operation_item_case_id_case")),
        sa.ForeignKeyConstraint(["step_action_id"], ["action.id"],
                                name=op.f("fk_bulk_operation_item_step_action_id_action")),
        sa.ForeignKeyConstraint(["strike_id"], ["strike.id"],
                                name=op.f("fk_bulk_operation_item_strike_id_strike")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_operation_item")),
        sa.UniqueConstraint("bulk_id", "case_id",
                            name=op.f("uq_bulk_operation_item_bulk_id_case_id")),
    )
    with op.batch_alter_table("bulk_operation_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bulk_operation_item_case_id"), ["case_id"])

    # Day-range scans for the dashboard figures and the wellness count.
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.create_index("ix_action_created", ["created_at"])
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.create_index("ix_case_decided", ["decided_at"])
        batch_op.create_index("ix_case_decided_by", ["decided_by_id", "decided_at"])


def downgrade() -> None:
    with op.batch_alter_table("case", schema=None) as batch_op:
        batch_op.drop_index("ix_case_decided_by")
        batch_op.drop_index("ix_case_decided")
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_index("ix_action_created")
    with op.batch_alter_table("bulk_operation_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_operation_item_case_id"))
    op.drop_table("bulk_operation_item")
    with op.batch_alter_table("bulk_operation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bulk_operation_moderator_id"))
    op.drop_table("bulk_operation")
    with op.batch_alter_table("reporter_mark", schema=None) as batch_op:
        batch_op.drop_index("uq_reporter_mark_active",
                            sqlite_where=sa.text("cleared_at IS NULL"),
                            postgresql_where=sa.text("cleared_at IS NULL"))
        batch_op.drop_index("ix_reporter_mark_account")
    op.drop_table("reporter_mark")
    with op.batch_alter_table("daily_figure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_daily_figure_updated_at"))
    op.drop_table("dashboard_chart")
    op.drop_table("daily_figure")
