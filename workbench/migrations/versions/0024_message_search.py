"""message search: newest matches first without fetching every match

Word search shows the newest matching messages (``ORDER BY sent_at DESC LIMIT 20``). With
only 0016's expression index PostgreSQL fetched every match of a common word, recomputing
``to_tsvector`` for rows a lossy bitmap could not tell apart (58 s at 5,000,000
messages). Now:

- ``message.text_search``, a ``tsvector`` generated from ``text`` and STORED, with a GIN
  index (``ix_message_words``) that replaces 0016's expression index: a row is tested
  against the words without parsing its text again, so walking messages newest first is
  cheap when a word is common, and the GIN index serves the rare ones. Its statistics
  target is raised so the planner knows how common a word is (most common lexemes kept:
  10,000 instead of 1,000).
- ``ix_message_sent`` on ``(sent_at, id)``: the walk, newest first.
- ``ix_case_person_queue`` on ``(person_id, queue)``: "this person has a case in one of
  my queues", the restriction a moderator's search carries, from the index alone (the
  person page's and the access check's case lookups by person use it too).

Cost on a big table (PostgreSQL, 5,000,000 messages, this 2-core machine): adding a
STORED generated column rewrites ``message`` and rebuilds its indexes under an ACCESS
EXCLUSIVE lock (intake of messages waits): measured, 157 s for the whole upgrade (54 s
at 1,000,000 messages), most of it the rewrite, ``to_tsvector`` costing ~30 us a row here;
the table grows from 1.1 to 2.3 GB. Downgrading (0016's index rebuilt) took 118 s. Run it
in a maintenance window. The column is not in the ORM model (PostgreSQL
only; SQLite keeps 0016's FTS5 table), so nothing loads it with a message.

Revision ID: 0024_message_search
Revises: 0023_transcript_coverage
"""

from __future__ import annotations

from alembic import op

revision = "0024_message_search"
down_revision = "0023_transcript_coverage"
branch_labels = None
depends_on = None

_PG_UP = [
    # Dropped first: the rewrite below would otherwise rebuild it (to_tsvector once more
    # for every row) just before it goes.
    "DROP INDEX IF EXISTS ix_message_text_search",
    "ALTER TABLE message ADD COLUMN text_search tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED",
    "CREATE INDEX ix_message_words ON message USING gin (text_search)",
    "ALTER TABLE message ALTER COLUMN text_search SET STATISTICS 1000",
]
_PG_DOWN = [
    "DROP INDEX IF EXISTS ix_message_words",
    "ALTER TABLE message DROP COLUMN IF EXISTS text_search",
    "CREATE INDEX ix_message_text_search ON message USING gin (to_tsvector('simple', text))",
]


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        for statement in _PG_UP:
            op.execute(statement)
    op.create_index("ix_message_sent", "message", ["sent_at", "id"])
    op.create_index("ix_case_person_queue", "case", ["person_id", "queue"])
    if postgresql:
        # The new column has no statistics until analysed, and the planner's choice
        # between walking by time and the GIN index rests on them.
        op.execute("ANALYZE message")


def downgrade() -> None:
    op.drop_index("ix_case_person_queue", table_name="case")
    op.drop_index("ix_message_sent", table_name="message")
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_DOWN:
            op.execute(statement)
