"""insert_new: a batch written in one statement, duplicates skipped, every value kept;
update_by_id: each row its own values, in one statement on PostgreSQL; a batch lookup planned
for its values however often it runs. On PostgreSQL a batch's rows go as one JSON document,
or as an array a column when a value has no JSON form (NaN)."""

from __future__ import annotations

import math

import pytest
from flask import Flask
from psycopg.adapt import PyFormat
from sqlalchemy import func, select, text
from sqlalchemy.exc import DataError

from tests.support.statements import recorded
from workbench.cases.filing import root_person_ids
from workbench.database import IntegerListDumper
from workbench.extensions import db
from workbench.models import Case, ClassifierScore, Person, Platform, utcnow
from workbench.upserts import insert_new, one_of, update_by_id


def _score(content_id: int, explanation: object, **more: object) -> dict[str, object]:
    return {"content_type": "message", "content_id": content_id, "model_name": "text",
            "model_version": "v1", "scores": {"abusive": 0.5, "note": "<b>x</b>'"},
            "flagged": {"labels": []}, "explanation": explanation, **more}


def test_a_batch_is_inserted_once_with_its_values_and_defaults(
    app: Flask, platforms: dict[str, object]
) -> None:
    with app.app_context():
        # Every column given: one INSERT ... SELECT from a JSON document on PostgreSQL.
        now = utcnow()
        rows = [_score(i, None if i % 2 else {"abusive": [[0, 3, 0.5]]}, created_at=now)
                for i in range(1, 701)]
        first = insert_new(db.session, ClassifierScore, rows,
                           ["content_type", "content_id", "model_name", "model_version"],
                           [ClassifierScore.id, ClassifierScore.content_id])
        assert sorted(r.content_id for r in first) == list(range(1, 701))
        # created_at left out: its default is computed per row, so rows go as VALUES.
        again = insert_new(db.session, ClassifierScore,
                           [{k: v for k, v in r.items() if k != "created_at"}
                            for r in rows[:5]] + [_score(701, None)],
                           ["content_type", "content_id", "model_name", "model_version"],
                           [ClassifierScore.content_id])
        assert [r.content_id for r in again] == [701]
        db.session.commit()
        stored = {s.content_id: s for s in db.session.scalars(select(ClassifierScore))}
        assert len(stored) == 701
        assert stored[2].explanation == {"abusive": [[0, 3, 0.5]]}
        assert stored[1].explanation is None
        # ... stored as JSON null, as the ORM stores None, not as SQL NULL.
        assert not db.session.scalars(select(ClassifierScore.id).where(
            ClassifierScore.explanation.is_(None))).all()
        assert stored[7].scores == {"abusive": 0.5, "note": "<b>x</b>'"}
        assert stored[3].created_at == now
        assert stored[701].created_at is not None and stored[701].created_at >= now
        ids = [s.id for s in stored.values()][:300]
        found = db.session.scalars(select(ClassifierScore.id).where(
            one_of(db.session, ClassifierScore.id, ids))).all()
        assert sorted(found) == sorted(ids)
        assert db.session.scalars(select(Platform.id).where(
            one_of(db.session, Platform.id, []))).all() == []
        # Text values too, quotes and non-ASCII included.
        slugs = db.session.scalars(select(Platform.slug)).all()
        wanted = [slugs[0], "no-such-'slug\"", "प्लेटफ़ॉर्म", slugs[-1]]
        assert sorted(db.session.scalars(select(Platform.slug).where(
            one_of(db.session, Platform.slug, wanted))).all()) == sorted({slugs[0], slugs[-1]})


def test_a_json_value_that_is_a_list_is_kept_whole(app: Flask,
                                                   platforms: dict[str, object]) -> None:
    """A JSON list (a bank entry's crop hashes, an explanation's spans) is one value, not
    a dimension of the batch's array."""
    with app.app_context():
        now = utcnow()
        spans = [["crop_0.01", "ab" * 32], ["crop_0.02", "cd" * 32]]
        rows = [_score(i, {"abusive": spans}, created_at=now, flagged=[["a", 1], ["b", 2]])
                for i in range(1, 4)]
        insert_new(db.session, ClassifierScore, rows,
                   ["content_type", "content_id", "model_name", "model_version"],
                   [ClassifierScore.id])
        db.session.commit()
        stored = db.session.scalars(select(ClassifierScore)).all()
        # The column is typed as a dict; this test stores a list in it.
        flagged: list[object] = [s.flagged for s in stored]
        assert flagged == [[["a", 1], ["b", 2]]] * 3
        assert stored[0].explanation == {"abusive": spans}


def test_each_row_is_updated_with_its_own_values_and_no_other_row(app: Flask) -> None:
    with app.app_context():
        now = utcnow()
        insert_new(db.session, ClassifierScore, [_score(i, None, created_at=now)
                                                 for i in range(1, 8)],
                   ["content_type", "content_id", "model_name", "model_version"],
                   [ClassifierScore.id])
        ids = dict(db.session.execute(select(ClassifierScore.content_id,
                                             ClassifierScore.id)).all())
        later = now.replace(year=now.year + 1)
        update_by_id(db.session, ClassifierScore, [
            {"id": ids[i], "model_version": f"v{i}", "scores": {"abusive": i / 10, "q": "'x\""},
             "explanation": [[i, i + 1]] if i % 2 else None, "created_at": later}
            for i in (2, 3, 5)])
        db.session.commit()
        db.session.expire_all()
        stored = {s.content_id: s for s in db.session.scalars(select(ClassifierScore))}
        for i in (2, 3, 5):
            assert stored[i].model_version == f"v{i}" and stored[i].created_at == later
            assert stored[i].scores == {"abusive": i / 10, "q": "'x\""}
            explanation: object = stored[i].explanation  # a list, in a column typed as a dict
            assert explanation == ([[i, i + 1]] if i % 2 else None)
        for i in (1, 4, 6, 7):
            assert stored[i].model_version == "v1" and stored[i].created_at == now
            assert stored[i].scores == _score(i, None)["scores"]


def test_an_object_already_loaded_reads_what_update_by_id_wrote(
    app: Flask, platforms: dict[str, object]
) -> None:
    """A caller holding the row (a report it just filed) sees the new values, on both
    databases: the PostgreSQL statement bypasses the session's objects."""
    with app.app_context():
        insert_new(db.session, ClassifierScore, [_score(1, None, created_at=utcnow())],
                   ["content_type", "content_id", "model_name", "model_version"],
                   [ClassifierScore.id])
        loaded = db.session.scalars(select(ClassifierScore)).one()
        assert loaded.model_version == "v1"
        loaded.flagged = {"labels": ["abusive"]}  # a pending change of another column
        update_by_id(db.session, ClassifierScore, [{"id": loaded.id, "model_version": "v9"}])
        assert loaded.model_version == "v9"
        assert loaded.flagged == {"labels": ["abusive"]}
        db.session.commit()
        db.session.expire_all()
        assert db.session.get_one(ClassifierScore, loaded.id).flagged == {"labels": ["abusive"]}


def test_a_batch_lookup_is_planned_for_its_values_each_time(app: Flask,
                                                            database_url: str) -> None:
    # psycopg prepares a statement run five times on a connection; PostgreSQL would then
    # plan it once for any array of ids, and such a plan cannot use the partial index of
    # open cases (its status list is bound too) and went row by row through the array.
    if not database_url.startswith("postgresql"):
        pytest.skip("prepared statements' plans are PostgreSQL's")
    with app.app_context():
        for start in range(12):
            root_person_ids(db.session, set(range(start, start + 300)))
            db.session.commit()  # as a job does (psycopg forgets what it prepared on rollback)
        plans = db.session.execute(text(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement LIKE '%merged_into_id%'")).all()
        db.session.rollback()
    assert plans, "the lookup was never prepared: nothing was tested"
    assert [generic for generic, _ in plans] == [0]
    assert plans[0][1] >= 6


def test_a_batch_update_looks_its_rows_up_by_id_not_by_reading_the_table(
        app: Flask, database_url: str) -> None:
    """Joined to the unnest of ids alone, the planner saw no bound on the rows and hashed
    the whole table: filing 500 reports read all 54,000 in the intake benchmark."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite updates by primary key, a statement per row")
    with app.app_context():
        insert_new(db.session, ClassifierScore, [_score(i, None) for i in range(20_000)],
                   ["content_type", "content_id", "model_name", "model_version"],
                   [ClassifierScore.id])
        db.session.commit()
        db.session.execute(text("ANALYZE classifier_score"))
        db.session.commit()
        ids = db.session.scalars(select(ClassifierScore.id).order_by(ClassifierScore.id)
                                 .limit(500)).all()
        update_by_id(db.session, ClassifierScore,
                     [{"id": i, "model_version": "v2"} for i in ids])
        # This transaction's own table counters, before they are flushed to the statistics.
        scans = db.session.execute(text(
            "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables "
            "WHERE relname = 'classifier_score'")).one()
        updated = db.session.scalar(select(func.count()).where(
            ClassifierScore.model_version == "v2"))
        db.session.rollback()
    assert updated == 500
    assert scans.seq_scan == 0 and scans.idx_scan >= 1, scans


def test_a_batch_is_one_statement_with_one_document_on_postgresql(
        app: Flask, database_url: str, platforms: dict[str, object]) -> None:
    """The driver encodes an array parameter element by element in Python (a third of a
    500-report request's CPU); the rows go as one JSON text instead."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite binds each row's values")
    with app.app_context(), recorded(db.engine) as seen:
        now = utcnow()
        inserted = insert_new(db.session, ClassifierScore,
                              [_score(i, {"abusive": [[0, 1, 0.5]]}, created_at=now)
                               for i in range(500)],
                              ["content_type", "content_id", "model_name", "model_version"],
                              [ClassifierScore.id])
        update_by_id(db.session, ClassifierScore,
                     [{"id": r.id, "model_version": "v2", "created_at": now} for r in inserted])
        db.session.commit()
        assert db.session.scalar(select(func.count()).where(
            ClassifierScore.model_version == "v2")) == 500
    writes = [(sql, params) for sql, params in seen
              if sql.lstrip().startswith(("INSERT", "UPDATE"))]
    assert len(writes) == 2, [sql for sql, _ in writes]
    for sql, params in writes:
        assert "jsonb_array_elements" in sql
        assert isinstance(params, dict)
        lists = [key for key, value in params.items() if isinstance(value, list)]
        # The update binds its ids as an array as well, for the planner (below).
        assert lists == ([] if sql.lstrip().startswith("INSERT") else ["ids"]), sql


def test_a_value_with_no_json_form_is_stored_all_the_same(app: Flask,
                                                         database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite stores NaN as NULL")
    with app.app_context():
        now = utcnow()
        ((person,),) = insert_new(db.session, Person, [{"created_at": now}], ["id"], [Person.id])
        case = {"person_id": person, "status": "open", "queue": "general", "priority": math.nan,
                "primary_category": "spam_scam", "due_at": now, "report_count": 1,
                "reporter_count": 1, "live": False, "created_at": now, "updated_at": now}
        ((case_id,),) = insert_new(db.session, Case, [case], ["id"], [Case.id])
        db.session.commit()
        assert math.isnan(db.session.get_one(Case, case_id).priority)
        update_by_id(db.session, Case, [{"id": case_id, "priority": math.inf,
                                         "primary_category": "hate"}])
        db.session.commit()
        db.session.expire_all()
        stored = db.session.get_one(Case, case_id)
        assert stored.priority == math.inf and stored.primary_category == "hate"


def test_text_longer_than_its_column_is_refused_not_cut(app: Flask, database_url: str,
                                                      platforms: dict[str, object]) -> None:
    with app.app_context():
        row = _score(1, None, created_at=utcnow(), model_name="m" * 65)  # the column holds 64
        if not database_url.startswith("postgresql"):
            pytest.skip("SQLite does not enforce a string's length")
        with pytest.raises(DataError):
            insert_new(db.session, ClassifierScore, [row],
                       ["content_type", "content_id", "model_name", "model_version"],
                       [ClassifierScore.id])
        db.session.rollback()


def test_a_timestamp_without_its_zone_is_refused(app: Flask, platforms: dict[str, object]) -> None:
    """As the ORM's own writes refuse it: stored, it would be read in the server's zone."""
    with app.app_context():
        naive = utcnow().replace(tzinfo=None)
        with pytest.raises(Exception, match="naive datetime"):
            insert_new(db.session, ClassifierScore, [_score(1, None, created_at=naive)],
                       ["content_type", "content_id", "model_name", "model_version"],
                       [ClassifierScore.id])
        db.session.rollback()


def test_lists_of_integers_are_bound_as_the_driver_would(app: Flask, database_url: str) -> None:
    """The app's connections write a list of integers in one join (``IntegerListDumper``);
    every other list goes the driver's way, and each comes back as it went."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no arrays")
    with app.app_context():
        raw = db.session.connection().connection.dbapi_connection
        assert raw is not None
        assert raw.adapters.get_dumper(list, PyFormat.TEXT) is IntegerListDumper
        lists = {"ids": [3, 1, 2**40, -7], "none": [5, None], "flags": [True, False],
                 "words": ['a "b"', "c,d", "{e}", None], "empty": []}
        got = db.session.execute(text(
            "SELECT CAST(:ids AS BIGINT[]), CAST(:none AS BIGINT[]), CAST(:flags AS BOOLEAN[]),"
            " CAST(:words AS TEXT[]), CAST(:empty AS BIGINT[])"), lists).one()
        db.session.rollback()
    assert list(got) == list(lists.values())
