"""URL rules that compile their builders on first use build the URLs werkzeug builds."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask, url_for
from werkzeug.routing import BuildError, Rule

from workbench.app_base import LazyBuilderRule, WorkbenchFlask


def _views(app: Flask) -> Flask:
    def view(**_: object) -> str:
        return ""

    app.add_url_rule("/", "home", view)
    app.add_url_rule("/cases/<int:case_id>", "case", view)
    app.add_url_rule("/people/<name>/notes/<path:rest>", "notes", view)
    app.add_url_rule("/queue/", "queue", view, defaults={"page": 1})
    app.add_url_rule("/queue/page/<int:page>", "queue", view)
    return app


def _urls(app: Flask) -> list[str]:
    with app.test_request_context(base_url="https://workbench.example"):
        return [
            url_for("home"),
            url_for("case", case_id=42),
            url_for("notes", name="Ana María", rest="a/b c"),
            url_for("queue"),
            url_for("queue", page=3),
            url_for("case", case_id=7, tab="audit", q="a&b"),
            url_for("home", _external=True),
            url_for("case", case_id=7, _external=True, next="/admin/"),
        ]


EXPECTED = [
    "/",
    "/cases/42",
    "/people/Ana%20Mar%C3%ADa/notes/a/b%20c",
    "/queue/",
    "/queue/page/3",
    "/cases/7?tab=audit&q=a%26b",
    "https://workbench.example/",
    "https://workbench.example/cases/7?next=/admin/",
]


def test_urls_are_the_ones_werkzeugs_own_rules_build() -> None:
    lazy = _views(WorkbenchFlask(__name__))
    assert lazy.url_rule_class is LazyBuilderRule
    assert _urls(lazy) == EXPECTED == _urls(_views(Flask(__name__)))


@pytest.mark.parametrize("app_class", [Flask, WorkbenchFlask])
def test_a_url_that_cannot_be_built_fails_as_before(app_class: type[Flask]) -> None:
    app = _views(app_class(__name__))
    with app.test_request_context():
        with pytest.raises(BuildError, match="Could not build url for endpoint 'case'"):
            url_for("case")
        with pytest.raises(ValueError, match="invalid literal for int"):
            url_for("case", case_id="not a number")
        # A failed first build leaves a builder that works.
        assert url_for("case", case_id=5) == "/cases/5"


def _is_compiled(builder: object) -> bool:
    # werkzeug names the functions it generates "<builder:'/the/rule'>".
    return str(getattr(builder, "__name__", "")).startswith("<builder:")


def test_a_builder_is_compiled_on_first_use_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[tuple[str, bool]] = []
    real = Rule._compile_builder

    def counting(rule: Rule, append_unknown: bool = True):
        compiled.append((rule.rule, append_unknown))
        return real(rule, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", counting)
    app = _views(WorkbenchFlask(__name__))
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "case")
    assert isinstance(rule, LazyBuilderRule)
    # Matching is compiled as the rule is added; building is not.
    assert app.url_map.bind("x").match("/cases/9") == ("case", {"case_id": 9})
    assert compiled == [] and not _is_compiled(rule._build_unknown)
    with app.test_request_context():
        assert url_for("case", case_id=1) == "/cases/1"
        assert url_for("case", case_id=2, tab="x") == "/cases/2?tab=x"
    assert compiled == [("/cases/<int:case_id>", True)]
    assert _is_compiled(rule._build_unknown) and not _is_compiled(rule._build)


def test_the_workbench_app_uses_the_lazy_rules(app: Flask) -> None:
    rules = list(app.url_map.iter_rules())
    assert rules and all(isinstance(rule, LazyBuilderRule) for rule in rules)
    with app.test_request_context():
        assert url_for("web.healthz") == "/healthz"


def test_threads_building_the_first_urls_at_once_all_get_the_right_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    threads = 8
    both_compiling = threading.Barrier(threads)
    real = Rule._compile_builder

    def slow(rule: Rule, append_unknown: bool = True):
        # Hold each compiling thread until all are compiling: the first builds race.
        try:
            both_compiling.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return real(rule, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", slow)
    app = _views(WorkbenchFlask(__name__))

    def build(n: int) -> list[str]:
        with app.test_request_context():
            return [url_for("case", case_id=n), url_for("case", case_id=n, tab=str(n)),
                    url_for("queue", page=n + 2)]

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(build, range(threads)))
    assert results == [[f"/cases/{n}", f"/cases/{n}?tab={n}", f"/queue/page/{n + 2}"]
                       for n in range(threads)]
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "case")
    assert _is_compiled(rule._build_unknown)
