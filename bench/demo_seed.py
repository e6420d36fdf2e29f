"""The demo's seed: how long ``seed-demo`` takes, and what the demo then shows.

Run: ``python bench/demo_seed.py [--seed 7]``. Seeds a fresh SQLite database in a
temporary folder with the default demo size (timed), files the pending user reports
into cases as the worker's report job does, and prints the figures: messages by the
detector's language, cases by queue, the share of open cases past their due time.
Classifier reports (opened when the worker scores the messages) are not counted here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from bench.harness import SECRET_KEY, print_json  # noqa: E402


def _harmful_share(texts: Sequence[str]) -> float:
    """Share of lines written from a harmful template (slots and tails matched loosely)."""
    import re

    from workbench.demo.chat import HARM_CATEGORY, load_templates

    patterns = [re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(t.text.rstrip(".!?"))),
                           re.IGNORECASE)
                for t in load_templates() if t.kind in HARM_CATEGORY]
    return sum(any(p.match(t) for p in patterns) for t in texts) / max(1, len(texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from workbench import database
    from workbench.app import create_app
    from workbench.cases.filing import file_reports
    from workbench.cases.policy import case_policy
    from workbench.demo.seed import seed_demo_data
    from workbench.extensions import db
    from workbench.models import Call, Case, Message, Report, utcnow
    from workbench.settings import SETTINGS_KEY

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.db"
        database.upgrade(url)
        app = create_app({"database_url": url, "secret_key": SECRET_KEY,
                          "instance_dir": Path(tmp) / "instance"})
        with app.app_context():
            settings = app.extensions[SETTINGS_KEY]
            started = time.perf_counter()
            counts = seed_demo_data(db.session, settings, seed=args.seed)
            seed_s = time.perf_counter() - started
            pending = list(db.session.scalars(select(Report.id).where(
                Report.status == "pending").order_by(Report.id)))
            file_reports(db.session, pending, case_policy(settings, db.session))
            db.session.commit()
            languages = Counter(dict(db.session.execute(
                select(Message.language, func.count()).group_by(Message.language)).all()))
            open_cases = db.session.scalars(select(Case).where(Case.status == "open")).all()
            now = utcnow()
            print_json({
                "seed_s": round(seed_s, 1),
                "rows": counts,
                "messages_by_language": dict(languages.most_common()),
                "devanagari_messages": sum(1 for t in db.session.scalars(select(Message.text))
                                           if any("\u0900" <= ch <= "\u097f" for ch in t)),
                "harmful_share": round(_harmful_share(db.session.scalars(
                    select(Message.text)).all()), 3),
                "calls_in_progress": db.session.scalar(select(func.count()).select_from(Call)
                                                       .where(Call.ended_at.is_(None))),
                "open_cases_by_queue": dict(Counter(c.queue for c in open_cases).most_common()),
                "open_cases": len(open_cases),
                "overdue_share": round(sum(c.due_at < now for c in open_cases)
                                       / max(1, len(open_cases)), 3),
            })


if __name__ == "__main__":
    main()
