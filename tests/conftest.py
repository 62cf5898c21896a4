"""Database fixtures for integration tests: every database test runs on SQLite and on
PostgreSQL.

SQLite is a fresh file per test. PostgreSQL (``JIAOZI_TEST_POSTGRES_URL``, default the
local trust-auth server) gets a schema per test, named after this session's random
prefix, dropped after the test; any left at the end of the session are dropped too. An
unreachable PostgreSQL fails the tests that need it: it is never skipped.

The tests run in development mode, said explicitly (production is the settings' default).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from issuer.settings import IssuerSettings
from issuer.web.app import create_app
from keys import DocumentSigningKey, office_document_key
from tests.factory import logscan, signer
from tests.factory.issuer import API_KEY, IssuerHarness
from tests.factory.keys import OFFICE, make_store

# Starlette's TestClient sends "Host: testserver": every app a test builds (issuer and
# verifier, from this environment) answers to that name too, said here for the tests only;
# no default of the services allows it (docs/operations.md section 8).
os.environ["JIAOZI_ALLOWED_HOSTS"] = "testserver"

# Assigned, not set by default: a JIAOZI_ENV=production left in a CI environment must not
# make every test's development secrets fail. Nothing builds settings at import, and this
# module is imported before any test module; tests of production mode set or delete it.
os.environ["JIAOZI_ENV"] = "development"

# Tests judge which answer a file gets, not how fast: bench/hostile.py measures time against
# the 1.8 s default. On a loaded CI machine (2 cores, xdist, the test's own servers) a
# genuine file's reading was seen passing 1.8 s of wall-clock time and being refused as
# file_too_costly. The tests of the limit itself build their Sandbox with their own timeout.
os.environ["JIAOZI_EXTRACT_TIMEOUT"] = "30"

# --- every log line of the session, scanned for personal data (tests/factory/logscan.py) ----

_recorder: logscan.Recorder | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _recorder
    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    _recorder = logscan.Recorder(worker)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In the process that made the log directory (the xdist controller, or the only
    process), once every worker is done: fail the session on any log line holding an
    identity number, a name of the suite's data or a claim code."""
    if _recorder is None:
        return
    _recorder.close()
    if not _recorder.owner:
        return
    try:
        lines, findings = logscan.scan_dir(_recorder.directory, logscan.needles())
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if findings:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            if tr is not None:
                tr.write_sep(
                    "=", f"personal data in {len(findings)} of {lines} log lines", red=True
                )
                for f in findings[:20]:
                    tr.write_line(f"  {f.path}:{f.line_no}: {f.what}: {f.line[:300]}")
        elif tr is not None:  # also under -q (make test): the CI log says what was scanned
            tr.write("\n")  # after the progress dots, which xdist leaves unterminated
            tr.write_line(f"log scan: {lines} log lines, no personal data")
    finally:
        _recorder.remove()


PG_URL = os.environ.get(
    "JIAOZI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
_SCHEMA_PREFIX = f"jz_{uuid.uuid4().hex[:10]}"
_counter = itertools.count(1)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[sa.Engine]:
    """An engine on the test PostgreSQL server; fails (not skips) if it is unreachable."""
    engine = sa.create_engine(PG_URL, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for this test and unreachable at {PG_URL}: {exc}")
    yield engine
    with engine.begin() as conn:
        left = conn.execute(
            sa.text(
                "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE :p"
            ),
            {"p": _SCHEMA_PREFIX + "%"},
        ).scalars()
        for name in list(left):
            conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A URL of an empty database (no tables yet), on each backend in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'issuer.db'}"
        return
    admin: sa.Engine = request.getfixturevalue("pg_admin")
    schema = f"{_SCHEMA_PREFIX}_{next(_counter)}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')


# --- an issuer app over that database ------------------------------------------------------


@pytest.fixture(scope="session")
def document_key(tmp_path_factory: pytest.TempPathFactory) -> DocumentSigningKey:
    """The test office's PDF-signing key, chained to a root made now (pyHanko validates
    against the real clock)."""
    now = int(dt.datetime.now(dt.UTC).timestamp())
    store = make_store(tmp_path_factory.mktemp("keys"), now=now - 120)
    return office_document_key(store, OFFICE, now=now)


@pytest.fixture
def issuer_env(database_url: str, document_key: DocumentSigningKey) -> Iterator[IssuerHarness]:
    settings = IssuerSettings(
        database_url=database_url,
        public_url="http://testserver",
        verifier_url="https://verify.example.cn",
        api_key=API_KEY,
        id_hmac_key="test-id-hmac-key-0123456789-abcdef",
    )
    key = signer(kid="11001-1")
    app = create_app(settings, signer=key, document_key_provider=lambda: document_key)
    with TestClient(app) as client:  # the lifespan disposes the engine on exit
        yield IssuerHarness(settings, key, app, client)
