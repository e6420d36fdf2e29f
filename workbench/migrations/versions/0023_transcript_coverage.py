"""transcript coverage: recordings in a language the recogniser does not know

The bundled speech model is US English: Hindi speech came out as English words and was
scored as such. A recording now says whether its transcript is trusted
(``transcribed``) or is speech in another language (``no_transcript_language``), which
the console shows as "listen" and the text models do not score. Existing rows stay NULL
(analysed before the check).

Revision ID: 0023_transcript_coverage
Revises: 0022_bank_exchange
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_transcript_coverage"
down_revision = "0022_bank_exchange"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recording", schema=None) as batch_op:
        batch_op.add_column(sa.Column("transcript_status", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recording", schema=None) as batch_op:
        batch_op.drop_column("transcript_status")
