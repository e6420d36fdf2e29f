"""images: uploaded images, hash banks with their entries, and matches

Revision ID: 0014_images
Revises: 0012_evidence_safety
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_images"
down_revision = "0012_evidence_safety"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('hash_bank',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('category', sa.String(length=32), nullable=False),
        sa.Column('action_rule', JSON, nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_by_id', BIG_ID, nullable=True),
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['moderator.id'],
            name=op.f('fk_hash_bank_created_by_id_moderator')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_bank')),
        sa.UniqueConstraint('name', name=op.f('uq_hash_bank_name'))
    )
    op.create_table('image',
        sa.Column('platform_id', BIG_ID, nullable=False),
        sa.Column('platform_image_id', sa.String(length=128), nullable=False),
        sa.Column('owner_account_id', BIG_ID, nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('platform_conversation_id', sa.String(length=128), nullable=True),
        sa.Column('platform_message_id', sa.String(length=128), nullable=True),
        sa.Column('room_id', sa.String(length=128), nullable=True),
        sa.Column('call_id', BIG_ID, nullable=True),
        sa.Column('call_in_progress', sa.Boolean(), nullable=False),
        sa.Column('blob_sha256', sa.String(length=64), nullable=False),
        sa.Column('display_sha256', sa.String(length=64), nullable=True),
        sa.Column('format', sa.String(length=16), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('size_bytes', sa.BigInteger(), nullable=False),
        sa.Column('pdq', sa.String(length=64), nullable=True),
        sa.Column('pdq_quality', sa.Integer(), nullable=True),
        sa.Column('nudity_score', sa.Float(), nullable=True),
        sa.Column('nudity_labels', JSON, nullable=True),
        sa.Column('status', sa.String(length=32), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('captured_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('id', BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_image_call_id_call')),
        sa.ForeignKeyConstraint(['owner_account_id'], ['account.id'],
            name=op.f('fk_image_owner_account_id_account')),
        sa.ForeignKeyConstraint(['platform_id'], ['platform.id'],
            name=op.f('fk_image_platform_id_platform')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_image')),
        sa.UniqueConstraint('platform_id', 'platform_image_id',
            name=op.f('uq_image_platform_id_platform_image_id'))
    )
    with op.batch_alter_table('image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_blob_sha256'), ['blob_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_call_id'), ['call_id'], unique=False)
        batch_op.create_index('ix_image_owner', ['owner_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_pdq'), ['pdq'], unique=False)
        batch_op.create_index('ix_image_status', ['status'], unique=False)

    op.create_table('bank_entry',
        sa.Column('bank_id', BIG_ID, nullable=False),
        sa.Column('pdq', sa.String(length=64), nullable=False),
        sa.Column('quality', sa.Integer(), nullable=True),
        sa.Column('crop_hashes', JSON, nullable=True),
        sa.Column('source_image_id', BIG_ID, nullable=True),
        sa.Column('added_by_id', BIG_ID, nullable=True),
        sa.Column('source', sa.String(length=300), nullable=True),
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['added_by_id'], ['moderator.id'],
            name=op.f('fk_bank_entry_added_by_id_moderator')),
        sa.ForeignKeyConstraint(['bank_id'], ['hash_bank.id'],
            name=op.f('fk_bank_entry_bank_id_hash_bank'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['source_image_id'], ['image.id'],
            name=op.f('fk_bank_entry_source_image_id_image')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_entry')),
        sa.UniqueConstraint('bank_id', 'pdq', name=op.f('uq_bank_entry_bank_id_pdq'))
    )
    with op.batch_alter_table('bank_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_entry_bank_id'), ['bank_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bank_entry_pdq'), ['pdq'], unique=False)

    op.create_table('image_match',
        sa.Column('image_id', BIG_ID, nullable=False),
        sa.Column('bank_entry_id', BIG_ID, nullable=False),
        sa.Column('bank_id', BIG_ID, nullable=False),
        sa.Column('distance', sa.Integer(), nullable=False),
        sa.Column('query_region', sa.String(length=32), nullable=False),
        sa.Column('bank_region', sa.String(length=32), nullable=False),
        sa.Column('report_id', BIG_ID, nullable=True),
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['bank_entry_id'], ['bank_entry.id'],
            name=op.f('fk_image_match_bank_entry_id_bank_entry'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['bank_id'], ['hash_bank.id'],
            name=op.f('fk_image_match_bank_id_hash_bank'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['image_id'], ['image.id'],
            name=op.f('fk_image_match_image_id_image'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['report_id'], ['report.id'],
            name=op.f('fk_image_match_report_id_report')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_image_match')),
        sa.UniqueConstraint('image_id', 'bank_entry_id',
            name=op.f('uq_image_match_image_id_bank_entry_id'))
    )
    with op.batch_alter_table('image_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_image_match_bank_entry_id'),
            ['bank_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_image_match_image_id'), ['image_id'], unique=False)

    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_action_image_id_image"), "image",
                                    ["image_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("action", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_action_image_id_image"), type_="foreignkey")
        batch_op.drop_column("image_id")
    # Dropping a table drops its indexes; dependants first.
    for table in ("image_match", "bank_entry", "image", "hash_bank"):
        op.drop_table(table)
