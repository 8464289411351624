"""SQLite-specific behaviour of the queue storage: schema, locking, corruption recovery."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from plexsync.queue import sqlite_db as store_db
from plexsync.queue.enums import JobSource, JobState, ObjectKind, SettleAction
from plexsync.queue.job_queue import JobQueue
from plexsync.queue.model import SyncRecord
from plexsync.queue.schema import MIGRATIONS
from plexsync.queue.sqlite_db import SCHEMA_VERSION, StoreError
from tests.helpers import T0, captured_log, lines, record

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_database_uses_wal_and_the_current_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    JobQueue(str(db)).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"jobs", "dead_letters", "sync_records", "out_of_scope", "stats", "meta"} <= tables


def test_a_later_migration_upgrades_an_existing_database_and_keeps_its_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "q.db")
    old = JobQueue(db)
    old.enqueue(5, T0, JobSource.HOOK, ["title"])
    old.close()
    v2 = ("ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT ''",)
    monkeypatch.setattr(store_db, "MIGRATIONS", (*MIGRATIONS, v2))
    monkeypatch.setattr(store_db, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    upgraded = JobQueue(db)
    job = upgraded.job(5)
    upgraded.close()
    assert job is not None and job.cleared_fields == {"title"}
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert conn.execute("SELECT note FROM jobs").fetchone() == ("",)


def test_a_database_from_a_newer_plexsync_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer PlexSync"):
        JobQueue(str(db))
    assert db.exists() and not list(tmp_path.glob("*.corrupt-*"))


def test_a_garbage_file_is_moved_aside_and_rebuilt_with_a_warning(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    db.write_bytes(os.urandom(8192))
    with captured_log() as stream:
        store = JobQueue(str(db))
        store.enqueue(1, T0, JobSource.HOOK, [])
        assert store.counts()["pending"] == 1
        store.close()
    [warning] = lines(stream, "w")
    assert "q.db" in warning and "moved it aside" in warning
    assert len(list(tmp_path.glob("q.db.corrupt-*"))) == 1


def test_corruption_found_by_a_later_operation_is_recovered_once(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    store = JobQueue(str(db))
    store.close()
    db.write_bytes(b"this is not a database" * 400)
    with captured_log():
        store.enqueue(2, T0, JobSource.HOOK, [])  # reopens lazily, finds garbage, rebuilds
    assert store.counts()["pending"] == 1
    store.close()


def test_a_healthy_database_is_never_moved_aside_by_a_late_recovery(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    JobQueue(db).close()
    assert store_db._still_corrupt(db) is False


def test_a_lock_held_too_long_fails_after_bounded_retries_with_a_clear_error(
        tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    JobQueue(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    sleeps: list[float] = []
    store = JobQueue(db, busy_timeout=0.01, retries=3, sleep=sleeps.append)
    try:
        with pytest.raises(StoreError, match="stayed locked"):
            store.enqueue(1, T0, JobSource.HOOK, [])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert len(sleeps) == 3  # exponential (20 ms · 2^n), jittered by a factor in [0.5, 1.5)
    assert all(0.01 * 2**n <= slept < 0.03 * 2**n for n, slept in enumerate(sleeps))
    store.enqueue(1, T0, JobSource.HOOK, [])
    store.close()


def test_a_lock_released_during_the_retries_lets_the_write_succeed(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    JobQueue(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    def release(_seconds: float) -> None:
        if holder.in_transaction:
            holder.execute("ROLLBACK")

    store = JobQueue(db, busy_timeout=0.01, retries=3, sleep=release)
    store.enqueue(1, T0, JobSource.HOOK, [])
    job = store.job(1)
    assert job is not None and job.state == JobState.PENDING
    store.close()
    holder.close()


def test_threads_enqueueing_together_lose_no_job(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    JobQueue(db).close()
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        store = JobQueue(db)
        try:
            for scene in range(offset, offset + 50):
                store.enqueue(scene, T0, JobSource.HOOK, [])
                store.enqueue(scene, T0 + 1, JobSource.HOOK, ["title"])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=worker, args=(i * 50,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store = JobQueue(db)
    assert errors == [] and store.counts()["pending"] == 400
    store.close()


def test_records_round_trip_their_lists_as_json(tmp_path: Path) -> None:
    store = JobQueue(str(tmp_path / "q.db"), clock=lambda: T0)
    store.enqueue(1, T0, JobSource.HOOK, ["title", "details"])
    [job] = store.claim(5, 60, "me")
    store.settle(job.id, "me", SettleAction.DONE, record=SyncRecord(
        scene_id=1, rating_key=9, section_id=2, stash_updated_at="x", fetched_at=T0,
        values_hash="h", synced_at=T0, collections_added=("Studio A",), confidence="LOW",
    ))
    assert job.cleared_fields == {"details", "title"}
    assert store.records_for([1])[1].collections_added == ("Studio A",)
    with sqlite3.connect(tmp_path / "q.db") as conn:
        assert conn.execute("SELECT collections_added FROM sync_records").fetchone() == (
            '["Studio A"]',)
    store.close()


def test_memory_path_gives_a_private_volatile_store() -> None:
    store = JobQueue(":memory:")
    store.enqueue(1, T0, JobSource.HOOK, [])
    assert store.counts()["pending"] == 1
    store.close()


def test_the_sql_names_states_and_sources_only_through_the_enums() -> None:
    import plexsync.queue.dead_letters as dead_letters
    import plexsync.queue.job_queue as queue
    import plexsync.queue.sqlite_rows as rows
    import plexsync.queue.transitions as transitions

    literals = [f"'{value}'" for value in (*JobState, *JobSource)]
    for module in (queue, dead_letters, transitions, rows):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        assert [text for text in literals if text in source] == [], module.__name__


def test_the_page_s_plain_dead_letter_rows_are_the_newest_dead_letters(tmp_path: Path) -> None:
    now = [T0]
    store = JobQueue(str(tmp_path / "q.db"), clock=lambda: now[0])
    try:
        for scene_id in (7, 8, 9):
            store.enqueue(scene_id, T0, JobSource.HOOK, [])
        jobs = store.claim(10, 60, "t")
        for job, at in zip(jobs, (T0 + 5, T0 + 9, T0 + 5), strict=True):  # 7 and 9 tie
            now[0] = at
            store.settle(job.id, "t", SettleAction.DEAD, error={
                "error_class": "LowConfidence", "message": f"m{job.scene_id}",
                "candidates": [f"/v/{job.scene_id}.mp4"]})
        rows = store.newest_dead_letter_rows(2)
        dead = {d.scene_id: d for d in store.dlq_entries()}
    finally:
        store.close()
    assert [r["scene_id"] for r in rows] == [8, 9]   # newest first, the tie by scene desc
    assert rows == [{"scene_id": d.scene_id, "error_class": d.error_class, "message": d.message,
                     "attempts": d.attempts, "last_failure_at": d.last_failure_at,
                     "candidates": list(d.candidates)} for d in (dead[8], dead[9])]


def test_a_version_4_database_gains_object_jobs_and_keeps_its_records(tmp_path: Path) -> None:
    db = tmp_path / "q.db"
    with sqlite3.connect(db) as conn:   # a database as PlexSync before object jobs left it
        for step in MIGRATIONS[:4]:
            for statement in step:
                conn.execute(statement)
        conn.execute("INSERT INTO sync_records (scene_id, rating_key, section_id, "
                     "stash_updated_at, fetched_at, values_hash, synced_at) "
                     "VALUES (5, 105, 1, '', 1.0, 'h', 1.0)")
        conn.execute("PRAGMA user_version = 4")
    store = JobQueue(str(db))
    try:
        assert set(store.records_for([5])) == {5}
        assert store.scenes_of_objects(ObjectKind.TAG, [3]) == []
    finally:
        store.close()


def test_a_stored_record_keeps_the_scene_s_objects_until_it_brings_new_ones(
        tmp_path: Path) -> None:
    store = JobQueue(str(tmp_path / "q.db"), clock=lambda: T0)
    last: frozenset[tuple[str, int, str]] = frozenset()
    try:
        for objects in (frozenset({("tag", 3, "A"), ("performer", 4, "P")}), None,
                        frozenset({("tag", 8, "B")})):
            store.enqueue(5, T0, JobSource.HOOK, [])
            [job] = store.claim(1, 60, "drain-a")
            store.settle(job.id, "drain-a", SettleAction.DONE,
                         record=record(5, objects=objects))
            last = objects if objects is not None else last
            assert store.scenes_of_objects(ObjectKind.TAG, [3]) == (
                [5] if ("tag", 3, "A") in last else [])
        assert store.scenes_of_objects(ObjectKind.TAG, [8]) == [5]
        assert store.scenes_of_objects(ObjectKind.PERFORMER, [4]) == []
    finally:
        store.close()
