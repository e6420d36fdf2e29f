"""legal: requests, erasure, holds and evidence custody

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# On PostgreSQL the audit log refuses UPDATE and DELETE. The one exception is the
# retention job purging events older than a year, which it must ask for explicitly
# (SET LOCAL workbench.audit_purge = 'on') inside its own transaction.
AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE'
       AND current_setting('workbench.audit_purge', true) = 'on'
       AND OLD.at < now() - interval '365 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_event is append-only: % refused on event %', TG_OP, OLD.id
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
AUDIT_TRIGGER = """
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()
"""


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    op.create_table(
        "legal_request",
        sa.Column("authority_type", sa.String(length=32), nullable=False),
        sa.Column("authority", sa.String(length=300), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("asks", JSON, nullable=False),
        sa.Column("person_id", BIG_ID, nullable=True),
        sa.Column("case_id", BIG_ID, nullable=True),
        sa.Column("account_id", BIG_ID, nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("hold_id", BIG_ID, nullable=True),
        sa.Column("recorded_by_id", BIG_ID, nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", BIG_ID, nullable=True),
        sa.Column("response_note", sa.Text(), nullable=True),
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("legal_request", "account_id", "account"),
        _fk("legal_request", "case_id", "case"),
        _fk("legal_request", "closed_by_id", "moderator"),
        _fk("legal_request", "hold_id", "legal_hold"),
        _fk("legal_request", "person_id", "person"),
        _fk("legal_request", "recorded_by_id", "moderator"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_legal_request")),
    )
    with op.batch_alter_table("legal_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_request_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_legal_request_case_id"), ["case_id"])
        batch_op.create_index(batch_op.f("ix_legal_request_person_id"), ["person_id"])
        batch_op.create_index("ix_legal_request_open_due", ["status", "due_at"])

    op.create_table(
        "erasure_request",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("person_id", BIG_ID, nullable=True),
        sa.Column("account_id", BIG_ID, nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("blocked_reason", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erased", JSON, nullable=True),
        sa.Column("recorded_by_id", BIG_ID, nullable=True),
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(CASE WHEN person_id IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN account_id IS NULL THEN 0 ELSE 1 END) = 1",
            name=op.f("ck_erasure_request_one_subject"),
        ),
        _fk("erasure_request", "account_id", "account"),
        _fk("erasure_request", "person_id", "person"),
        _fk("erasure_request", "recorded_by_id", "moderator"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasure_request")),
    )
    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_request_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_erasure_request_person_id"), ["person_id"])
        batch_op.create_index("ix_erasure_request_due", ["status", "not_before"])

    with op.batch_alter_table("evidence_export", schema=None) as batch_op:
        batch_op.add_column(sa.Column("certificate_sha256", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("legal_request_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_export_legal_request_id_legal_request"),
            "legal_request", ["legal_request_id"], ["id"])
        batch_op.create_index(
            batch_op.f("ix_evidence_export_legal_request_id"), ["legal_request_id"])

    op.create_table(
        "evidence_custody_event",
        sa.Column("export_id", BIG_ID, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("moderator_id", BIG_ID, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("archive_sha256", sa.String(length=64), nullable=False),
        sa.Column("id", BIG_ID, nullable=False),
        _fk("evidence_custody_event", "export_id", "evidence_export"),
        _fk("evidence_custody_event", "moderator_id", "moderator"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_custody_event")),
    )
    with op.batch_alter_table("evidence_custody_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_custody_event_export_id"), ["export_id"])

    if op.get_bind().dialect.name == "postgresql":
        op.execute(AUDIT_FUNCTION)
        op.execute(AUDIT_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_append_only()")

    with op.batch_alter_table("evidence_custody_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_custody_event_export_id"))
    op.drop_table("evidence_custody_event")

    with op.batch_alter_table("evidence_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_export_legal_request_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_evidence_export_legal_request_id_legal_request"), type_="foreignkey")
        batch_op.drop_column("legal_request_id")
        batch_op.drop_column("certificate_sha256")

    with op.batch_alter_table("erasure_request", schema=None) as batch_op:
        batch_op.drop_index("ix_erasure_request_due")
        batch_op.drop_index(batch_op.f("ix_erasure_request_person_id"))
        batch_op.drop_index(batch_op.f("ix_erasure_request_account_id"))
    op.drop_table("erasure_request")

    with op.batch_alter_table("legal_request", schema=None) as batch_op:
        batch_op.drop_index("ix_legal_request_open_due")
        batch_op.drop_index(batch_op.f("ix_legal_request_person_id"))
        batch_op.drop_index(batch_op.f("ix_legal_request_case_id"))
        batch_op.drop_index(batch_op.f("ix_legal_request_account_id"))
    op.drop_table("legal_request")
