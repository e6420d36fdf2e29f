"""search: full-text search over message text, and usernames by prefix

PostgreSQL gets a GIN index on ``to_tsvector('simple', text)``; SQLite gets an FTS5 table
over the message table's text (external content, kept current by triggers). ``simple``
and ``unicode61`` with diacritics kept split on letters of any script, so Hindi in
Devanagari and in Latin letters are found as typed.

Revision ID: 0016
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0007"
branch_labels = None
depends_on = None

_SQLITE_UP = [
    "CREATE VIRTUAL TABLE message_fts USING fts5(text, content='message', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "INSERT INTO message_fts(rowid, text) SELECT id, text FROM message",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF text ON message BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
]
_SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TABLE IF EXISTS message_fts",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_account_username_lower ON account "
                   "(lower(username) text_pattern_ops)")
        op.execute("CREATE INDEX ix_message_text_search ON message "
                   "USING gin (to_tsvector('simple', text))")
    else:
        op.execute("CREATE INDEX ix_account_username_lower ON account (lower(username))")
        for statement in _SQLITE_UP:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_message_text_search")
    else:
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_account_username_lower")
