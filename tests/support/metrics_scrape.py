"""Reading ``/metrics`` in tests: the exposition parsed into ``{(name, labels): value}``."""

from __future__ import annotations

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(app: Flask, address: str = "127.0.0.1", **headers: str) -> Samples:
    """``GET /metrics`` as a client at ``address`` would, through the app; must be a 200."""
    r = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": address},
                              headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/plain"
    return parse(r.get_data(as_text=True))


def parse(text: str) -> Samples:
    """Every sample of an exposition, keyed by its name and labels."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when it is not there: a counter not yet counted)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far the samples of ``name`` matching ``labels`` moved between two scrapes."""
    return total(after, name, **labels) - total(before, name, **labels)
