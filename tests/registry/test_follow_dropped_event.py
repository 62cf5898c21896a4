"""``jiaozi feed follow`` against a feed whose pages lose an event on the way (issue 12
point 7: "chained ... so a consumer can prove it missed nothing"): the chain makes the
consumer refuse the page and apply nothing, wherever the event falls in the pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi import FastAPI, Header, Query
from fastapi.testclient import TestClient

from jiaozi.cli import main
from registry.app import create_app
from registry.db import make_engine
from registry.feed import add_client
from registry.follow import certificates, cursor_table, target_engine
from registry.settings import RegistrySettings
from tests.factory.feed import batch, event
from tests.factory.registry import NationalWorld
from tests.factory.server import served


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """A registry holding events 1..5 of office A, and a feed client's key."""
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
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/feed/events", content=batch(world, "A", [event(i, who=i) for i in range(1, 6)])
        )
        assert answer.status_code == 201, answer.text
        yield client, add_client(engine, "mis", identity=False, now=dt.datetime.now(dt.UTC))
    engine.dispose()


def dropping(registry: TestClient, dropped: int) -> FastAPI:
    """A man in the middle that passes the registry's feed on without event ``dropped``
    (the rest of each page, its ``head`` included, as the registry gave it)."""
    app = FastAPI()

    @app.get("/api/v1/feed")
    def feed(
        authorization: Annotated[str, Header()],
        after: Annotated[int, Query()] = 0,
        limit: Annotated[int, Query()] = 500,
    ) -> dict[str, Any]:
        page = registry.get(
            "/api/v1/feed",
            params={"after": after, "limit": limit},
            headers={"authorization": authorization},
        ).json()
        page["events"] = [e for e in page["events"] if e["seq"] != dropped]
        return page  # type: ignore[no-any-return]

    return app


def follow(url: str, key: str, into: str, limit: int) -> Any:
    return CliRunner().invoke(
        main,
        ["feed", "follow", "--registry", url, "--key", key, "--into", into,
         "--limit", str(limit), "--until-idle"],
    )  # fmt: skip


def held(into: str) -> tuple[int, list[str]]:
    engine = target_engine(into)
    try:
        with engine.connect() as conn:
            cursor = int(conn.execute(sa.select(cursor_table.c.seq)).scalar_one())
            numbers = sorted(r.number for r in conn.execute(certificates.select()))
    finally:
        engine.dispose()
    return cursor, numbers


@pytest.mark.parametrize(
    ("dropped", "limit", "applied"),
    [
        (3, 500, 0),  # inside a page: event 4 does not link to 2
        (3, 2, 2),  # first of a page: the page after 2 starts at 4
        (3, 1, 2),  # alone on its page: an empty page while the head is 5
        (5, 500, 4),  # the last event: an empty page while the head is 5
    ],
)
def test_consumer_cannot_detect_a_dropped_event(
    registry: tuple[TestClient, str], tmp_path: Path, dropped: int, limit: int, applied: int
) -> None:
    client, key = registry
    into = f"sqlite:///{tmp_path / 'mis.db'}"
    with served(dropping(client, dropped)) as url:
        out = follow(url, key, into, limit)
    assert out.exit_code == 1, out.output
    assert "the feed chain is broken, nothing applied: gap:" in out.output
    # the pages before the broken one stay applied, nothing from it on
    assert held(into) == (applied, [f"2026A{i:08d}" for i in range(1, applied + 1)])


def test_the_same_feed_passed_on_whole_is_followed_to_its_head(
    registry: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, key = registry
    into = f"sqlite:///{tmp_path / 'mis.db'}"
    with served(client.app) as url:
        out = follow(url, key, into, 2)
    assert out.exit_code == 0, out.output
    assert held(into) == (5, [f"2026A{i:08d}" for i in range(1, 6)])
