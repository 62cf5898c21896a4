"""``jiaozi feed follow``, a real subprocess against a served registry: killed with
SIGKILL mid-follow and started again, its table equals the feed's state (no event lost,
none applied twice)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from jiaozi.cli import main
from registry.app import create_app
from registry.db import make_engine
from registry.feed import add_client
from registry.follow import certificates, cursor_table, target_engine
from registry.settings import RegistrySettings
from tests.factory import REPO, logscan
from tests.factory.feed import batch, event, identity_of
from tests.factory.registry import NationalWorld
from tests.factory.server import served


def _cursor(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(cursor_table.c.seq)).scalar() or 0)
    except sa.exc.OperationalError:  # not made yet
        return 0
    finally:
        engine.dispose()


def test_follow_killed_mid_way_resumes_without_loss_or_duplicate(tmp_path: Path) -> None:
    world = NationalWorld()
    settings = RegistrySettings(
        env="development", database_url=f"sqlite:///{tmp_path / 'registry.db'}"
    )
    engine = make_engine(settings.database_url)
    app = create_app(
        settings,
        engine=engine,
        signer_provider=lambda: world.signers["R"],
        trust_provider=lambda: world.trust,
    )
    expected: dict[str, tuple[str, str]] = {}
    with TestClient(app) as client:
        for name in "AB":
            events = [event(i, who=i, office=name) for i in range(1, 151)]
            events += [event(150 + i, who=i, kind="revoked", office=name) for i in range(1, 31)]
            for i in range(0, len(events), 60):
                answer = client.post(
                    "/api/v1/feed/events", content=batch(world, name, events[i : i + 60])
                )
                assert answer.status_code == 201, answer.text
            for e in events:
                expected[e.number] = (e.status, e.identity_number)
    key = add_client(engine, "mis", identity=True, now=dt.datetime.now(dt.UTC))
    into = f"sqlite:///{tmp_path / 'mis.db'}"
    with served(app) as url:
        command = [
            sys.executable, "-m", "jiaozi", "feed", "follow", "--registry", url,
            "--into", into, "--limit", "1", "--interval", "0.05",
        ]  # fmt: skip
        env = {**os.environ, "JIAOZI_FEED_KEY": key}
        first = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while _cursor(into) < 40:
                assert first.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        killed_at = _cursor(into)
        assert 40 <= killed_at < 360
        again = subprocess.run(
            [*command, "--until-idle"], cwd=REPO, env=env, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        logscan.keep_text("feed-follow", again.stderr)  # for the session's log scan
        assert again.returncode == 0, again.stderr
    target = target_engine(into)
    with target.connect() as conn:
        rows = conn.execute(certificates.select()).all()
    assert _cursor(into) == 360
    assert {r.number: (r.status, r.person) for r in rows} == expected
    assert {r.number for r in rows if r.status == "revoked"} == {
        f"2026{n}{i:08d}" for n in "AB" for i in range(1, 31)
    }
    assert rows[0].person == identity_of(int(rows[0].number[-8:]))
    engine.dispose()


def test_follow_refuses_a_bad_key_with_a_message() -> None:
    out = CliRunner().invoke(
        main,
        ["feed", "follow", "--registry", "http://127.0.0.1:9", "--key", "k", "--into",
         "sqlite://", "--until-idle"],
    )  # fmt: skip
    assert out.exit_code == 1 and "the registry answered" in out.output
