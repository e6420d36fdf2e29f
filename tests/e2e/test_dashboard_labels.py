"""Dashboard charts as chromium sets them: every label inside its chart, none clipped."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from workbench.reporting.dashboard import build_charts
from workbench.reporting.figures import DEADLINE_BUCKETS, Metric

DAYS = [date(2026, 11, 1) + timedelta(days=i) for i in range(30)]
LONG_NAME = "Priyanka Venkataraman-Chattopadhyay (night shift, Hindi and Tamil)"
LONG_MODEL = "text-toxicity-multilingual 2026.11.3|harassment_targeted_threat"

#: Each <text> of each chart against the chart's own box, in the browser's layout.
OUTSIDE = """() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg')) {
    const box = svg.getBoundingClientRect();
    for (const text of svg.querySelectorAll('text')) {
      const r = text.getBoundingClientRect();
      if (!text.textContent.trim()) continue;
      if (r.left < box.left - 0.5 || r.right > box.right + 0.5 ||
          r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        out.push(svg.querySelector('title').textContent + ': ' + text.textContent.trim());
      }
    }
  }
  return out;
}"""


def _frame() -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = []
    for i, day in enumerate(DAYS):
        for category in ("harassment", "spam_scam", "child_safety_grooming", "self_harm"):
            rows.append((day, Metric.REPORTS, category, 10 + i))
        rows.append((day, Metric.ACTIONS, "restrict_calls_temporarily", 3))
        rows.append((day, Metric.DECISIONS, "1", 40 + i))
        rows.append((day, Metric.DECISIONS, "2", 12))
        rows.append((day, Metric.DECISION_MINUTES_P50, "all", 95))
        rows.append((day, Metric.DECIDED, "all", 50))
        rows.append((day, Metric.CLASSIFIER_DECIDED, LONG_MODEL, 20))
        rows.append((day, Metric.CLASSIFIER_UPHELD, LONG_MODEL, 17))
    for n, (_, label) in enumerate(DEADLINE_BUCKETS):
        rows.append((DAYS[-1], Metric.OPEN_BY_DEADLINE, label, 100 * n + 5))
    return pd.DataFrame(rows, columns=["day", "metric", "key", "value"])


def test_every_chart_label_is_whole_in_the_browser(browser: Any) -> None:
    charts = build_charts(_frame(), DAYS, {"1": LONG_NAME, "2": "Ravi"})
    html = "".join(f'<figure style="width:36rem">{c.svg}</figure>' for c in charts)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_content(f'<!doctype html><html lang="en"><body style="font: 15px system-ui">'
                         f'{html}</body></html>')
        texts = page.evaluate("[...document.querySelectorAll('svg text')]"
                              ".map(t => t.textContent)")
        assert any(LONG_NAME in t for t in texts)
        assert page.evaluate(OUTSIDE) == []
    finally:
        context.close()
