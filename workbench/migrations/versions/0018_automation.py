"""automation: a model's automated actions wait for a senior's review

Each action a rule applied alone (a model's automation rule, a hash bank's rule) says
"pending review" in its facts; now it says so in ``review_state`` too, with who settled it
and when, so the seniors have a queue of them. Existing ones nobody has reversed start out
pending; the strike thresholds' and expiry's actions follow a person or the clock, and
are not reviewed.

Revision ID: 0018_automation
Revises: 0014_images
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_automation"
down_revision = "0014_images"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("reviewed_by_id", BIG_ID, nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_action_reviewed_by_id_moderator"),
                                    "moderator", ["reviewed_by_id"], ["id"])
        batch_op.create_index("ix_action_review", ["review_state", "created_at"],
                              unique=False)
    action = sa.table("action", sa.column("review_state", sa.String),
                      sa.column("automated", sa.Boolean),
                      sa.column("decided_by_rule", sa.String),
                      sa.column("reverses_action_id", BIG_ID), sa.column("status", sa.String))
    op.execute(action.update()
               .where(action.c.automated.is_(True),
                      action.c.decided_by_rule.not_in(["strikes", "expiry"]),
                      action.c.reverses_action_id.is_(None),
                      action.c.status != "reversed")
               .values(review_state="pending"))


def downgrade() -> None:
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_index("ix_action_review")
        batch_op.drop_constraint(batch_op.f("fk_action_reviewed_by_id_moderator"),
                                 type_="foreignkey")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by_id")
        batch_op.drop_column("review_state")
