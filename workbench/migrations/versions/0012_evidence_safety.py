"""evidence safety: a delivery's last error is a short class, never the platform's words

Deliveries used to keep up to 200 bytes of a platform's error body (once an internal
service's token). Rows written before are rewritten to the class the sender now stores.
There is nothing to put back on the way down: the bodies are gone.

Revision ID: 0012_evidence_safety
Revises: 0010_sessions
"""

from __future__ import annotations

from alembic import op

revision = "0012_evidence_safety"
down_revision = "0010_sessions"
branch_labels = None
depends_on = None

CLASSES = ("no_url", "blocked", "dns", "refused", "timeout", "tls", "connection",
           "3xx", "4xx", "5xx", "status")


def upgrade() -> None:
    known = ", ".join(f"'{c}'" for c in CLASSES)
    op.execute(f"""
        UPDATE enforcement_delivery SET last_error = CASE
            WHEN last_status_code BETWEEN 300 AND 399 THEN '3xx'
            WHEN last_status_code BETWEEN 400 AND 499 THEN '4xx'
            WHEN last_status_code BETWEEN 500 AND 599 THEN '5xx'
            WHEN last_status_code IS NOT NULL THEN 'status'
            WHEN last_error LIKE '%no webhook URL%' THEN 'no_url'
            WHEN last_error LIKE 'NameResolution%' THEN 'dns'
            WHEN last_error LIKE '%Timeout%' THEN 'timeout'
            WHEN last_error LIKE '%SSL%' THEN 'tls'
            WHEN last_error LIKE 'NewConnectionError%' THEN 'refused'
            ELSE 'connection' END
        WHERE last_error IS NOT NULL AND last_error NOT IN ({known})""")


def downgrade() -> None:
    pass
