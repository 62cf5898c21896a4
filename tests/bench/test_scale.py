"""bench/scale.py's pieces at a tiny scale (a 20-row batch, 3,000 certificates loaded by
bench.search's loader into a fresh database) and the results table's pure parts: each
runs and counts what it should. Speed is ``make bench``'s, never judged here."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bench import scale, scale_stack, search
from bench.__main__ import shown, write_results
from bench.batch import applicants
from credential import StatusList
from issuer.db.engine import make_engine
from tests.conftest import PG_URL

ADMIN_URL = make_url(PG_URL).set(database="postgres").render_as_string(hide_password=False)


def _databases(admin: sa.Engine, name: str) -> int:
    with admin.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}
            ).scalar_one()
        )


def test_fresh_database_is_empty_and_dropped_after(pg_admin: sa.Engine) -> None:
    with scale.fresh_database(ADMIN_URL, prefix="bench_scale_test") as url:
        name = make_url(url).database
        assert name is not None and name.startswith("bench_scale_test_")
        assert _databases(pg_admin, name) == 1
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                assert sa.inspect(conn).get_table_names() == []
        finally:
            engine.dispose()
    assert _databases(pg_admin, name) == 0


def test_postgresql_unreachable_says_why_and_none_when_it_answers(pg_admin: sa.Engine) -> None:
    assert scale.postgresql_unreachable(ADMIN_URL) is None
    # a closed port on loopback: nothing listens on port 1
    url = make_url(ADMIN_URL).set(port=1).render_as_string(hide_password=False)
    why = scale.postgresql_unreachable(url)
    assert why is not None and why.startswith("postgresql+psycopg://postgres@127.0.0.1:1/")


def test_batch_runs_issue_every_row_on_sqlite_and_postgresql(pg_admin: sa.Engine) -> None:
    best = scale.batch_pg_vs_sqlite(
        applicants(20), expected=20, rounds=1, workers=1, admin_url=ADMIN_URL
    )
    # run_batch_once asserts the issued count; each side measured something
    assert best["raw"]["rate"] > 0 and best["sqlite"]["rate"] > 0 and best["pg"]["rate"] > 0
    figures = scale.batch_figures(best)
    assert figures["scale_batch_pg_certs_per_s"] == best["pg"]["rate"]
    # the server is on this machine: its backends' CPU was read around the batch
    assert figures["scale_batch_pg_server_cpu_us_per_cert"] >= 0.0


def test_server_cpu_reads_this_database_backends(pg_admin: sa.Engine) -> None:
    with scale.fresh_database(ADMIN_URL, prefix="bench_scale_test") as url:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                mine = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                got = scale.server_cpu(engine)
        finally:
            engine.dispose()
    assert mine in got  # the open connection's backend among those read
    assert all(seconds >= 0.0 for seconds in got.values())


def test_server_cpu_between_counts_new_backends_whole_and_needs_both_readings() -> None:
    assert scale._server_cpu_between({1: 1.0}, {1: 1.5, 2: 0.25}) == pytest.approx(0.75)
    assert scale._server_cpu_between({}, {1: 1.0}) is None


def test_batch_figures_are_the_ratios_of_the_best_runs() -> None:
    run = {"seconds": 2.0, "database": 0.5, "parent_cpu_us": 90.0}
    got = scale.batch_figures(
        {
            "raw": {"rate": 100_000.0},
            "sqlite": {**run, "rate": 10_000.0},
            "pg": {**run, "rate": 8_000.0},
        }
    )
    assert got["scale_batch_pg_vs_sqlite_ratio"] == pytest.approx(0.8)
    assert got["scale_batch_pg_vs_raw_ratio"] == pytest.approx(0.08)
    assert got["scale_batch_sqlite_vs_raw_ratio"] == pytest.approx(0.1)
    assert got["scale_batch_pg_vs_sqlite_goal"] == scale.GOAL_PG_VS_SQLITE


def test_search_figures_take_the_worst_p99_against_the_goal() -> None:
    got = scale.search_figures(
        {"search_a_p50_ms": 90.0, "search_a_p99_ms": 20.0, "search_b_p99_ms": 50.0}
    )
    assert got["scale_search_worst_p99_ms"] == 50.0
    assert got["scale_search_ratio"] == pytest.approx(50.0 / scale.GOAL_SEARCH_P99_MS)
    assert got["search_a_p50_ms"] == 90.0  # bench.search's own figures kept


def test_not_valid_entries_counts_every_entry_not_zero() -> None:
    lst = StatusList(1024, bits=2)
    for idx, value in ((0, 1), (3, 2), (4, 3), (1023, 1)):
        lst.set(idx, value)
    assert scale.not_valid_entries(lst) == 4


def test_loaded_office_published_and_synced_by_a_fresh_verifier(
    pg_admin: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "ROWS", 3_000)
    with scale.fresh_database(ADMIN_URL, prefix="bench_scale_test") as url:
        engine = make_engine(url)
        try:
            search.load(engine)
            not_valid = scale.not_valid_in_db(engine, search.OFFICE_A)
            restricted = scale.restricted_in_db(engine)
        finally:
            engine.dispose()
        got = scale.office_figures(url, search.OFFICE_A, search.HMAC_KEY, rounds=2)
        again = scale.office_figures(url, search.OFFICE_A, search.HMAC_KEY, rounds=1)
    # the loader made some not valid (their bits set) and restricted some
    assert not_valid > restricted > 0
    assert got["scale_office_status_lists"] == search.LISTS_A
    assert got["scale_publish_lists_signed"] == search.LISTS_A
    # a page per change, the snapshot and the empty head page
    assert got["scale_publish_restricted_documents"] == restricted + 2
    assert got["scale_sync_lists_held"] == search.LISTS_A
    assert got["scale_sync_clean"] == 1.0
    # the verifier holds, through the issuer's HTTP, what the database says
    assert got["scale_sync_not_valid_entries"] == got["scale_sync_not_valid_in_db"] == not_valid
    assert got["scale_sync_restricted_certificates"] == restricted
    assert got["scale_sync_restricted_in_db"] == restricted
    assert got["scale_sync_agrees"] == 1.0
    assert got["scale_publish_ratio"] == pytest.approx(
        got["scale_publish_seconds"] / scale.GOAL_PUBLISH_S
    )
    assert got["scale_sync_ratio"] == pytest.approx(got["scale_sync_seconds"] / scale.GOAL_SYNC_S)
    # a second run on the same database (as make bench's next) publishes and syncs alike
    assert again["scale_publish_lists_signed"] == search.LISTS_A
    assert (again["scale_sync_clean"], again["scale_sync_agrees"]) == (1.0, 1.0)


def test_stack_figure_is_skipped_with_a_reason_without_the_stack(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scale_stack, "STACK_MODULE", "jiaozi.no_such_stack")
    got = scale_stack.stack_figures()
    assert "jiaozi.no_such_stack" in str(got["scale_stack_skipped"])


def test_stack_that_fails_to_start_is_skipped_with_its_reason_and_stopped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stopped: list[Path] = []

    class StackError(Exception):
        pass

    class Stack:
        def __init__(self, base: Path, **ports: int) -> None:
            self.base = base

        def start(self, *, samples: int) -> None:
            raise StackError("nginx -t refused the configuration\nline 2")

        def stop(self) -> None:
            stopped.append(self.base)

    fake = types.ModuleType("fake_stack")
    fake.Stack, fake.StackError = Stack, StackError  # type: ignore[attr-defined]
    parts = types.ModuleType("fake_stack.parts")
    parts.nginx_binary = lambda: "/usr/sbin/nginx"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "fake_stack", fake)
    monkeypatch.setitem(sys.modules, "fake_stack.parts", parts)
    monkeypatch.setattr(scale_stack, "STACK_MODULE", "fake_stack")
    got = scale_stack.stack_figures()
    assert got == {
        "scale_stack_skipped": "the stack run failed: nginx -t refused the configuration | line 2"
    }
    assert len(stopped) == 1 and not stopped[0].parent.exists()  # stopped, directory removed


def test_stack_figures_take_each_side_best_round_and_all_its_errors() -> None:
    def r(rps: float, errors: float) -> dict[str, float]:
        return {"x_rps": rps, "x_p50_ms": 1000 / rps, "x_p99_ms": 2000 / rps, "x_errors": errors}

    got = scale_stack.stack_ratio(
        {"direct": [r(1000.0, 0.0), r(1250.0, 1.0)], "nginx": [r(1500.0, 2.0), r(900.0, 0.0)]}
    )
    assert got["scale_stack_direct_rps"] == 1250.0
    assert got["scale_stack_nginx_rps"] == 1500.0
    assert got["scale_stack_nginx_p99_ms"] == pytest.approx(2000 / 1500)
    assert (got["scale_stack_direct_errors"], got["scale_stack_nginx_errors"]) == (1.0, 2.0)
    assert got["scale_stack_ratio"] == pytest.approx(1.2)


def test_verify_request_is_one_whole_http_request() -> None:
    raw = scale_stack.verify_request("127.0.0.1:8443", "https://v.example.cn/v#abc")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"POST /api/v1/verify HTTP/1.1\r\nHost: 127.0.0.1:8443\r\n")
    assert f"Content-Length: {len(body)}".encode() in head
    assert json.loads(body) == {"qr": "https://v.example.cn/v#abc"}


def test_results_written_flat_and_sorted_and_shown_as_the_table_does(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    write_results({"b": 1.5, "a": 12345.6, "c": "skipped: no stack"}, out)
    text = out.read_text(encoding="utf-8")
    assert json.loads(text) == {"a": 12345.6, "b": 1.5, "c": "skipped: no stack"}
    assert text.index('"a"') < text.index('"b"') < text.index('"c"')
    assert [shown(1.5), shown(12345.6), shown("why")] == ["1.500", "12,346", "why"]
