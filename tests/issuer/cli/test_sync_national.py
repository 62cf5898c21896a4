"""``jiaozi issuer sync-national``: one round against the registry, from the office's key
store and trust state, as an operator runs it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from credential import REGISTRY_ID
from keys import KeyStore, add_office, current_trust_list, export_trust
from registry.app import create_app
from registry.db import make_engine
from registry.settings import RegistrySettings
from tests.factory import REPO, logscan
from tests.factory.issuer import batch_cli_env
from tests.factory.keys import root_home_of
from tests.factory.server import free_port, served


def _sync(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "jiaozi", "issuer", "sync-national"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    logscan.keep_text("sync-national", done.stderr)  # its log lines, for the session's scan
    return done


def test_without_a_registry_url_it_says_so(tmp_path: Path) -> None:
    env = batch_cli_env(tmp_path, f"sqlite:///{tmp_path / 'office.db'}")
    result = _sync(env)
    assert result.returncode == 1
    assert "JIAOZI_REGISTRY_URL is not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_round_against_a_registry_and_against_none(tmp_path: Path) -> None:
    env = batch_cli_env(tmp_path, f"sqlite:///{tmp_path / 'office.db'}")
    home = Path(env["JIAOZI_HOME"])
    store = KeyStore(root_home_of(home), b"cli-test-passphrase")  # the ceremony's root home
    now = int(time.time()) - 1800
    add_office(
        store,
        office_id=REGISTRY_ID,
        name="全国教师资格限制库登记中心",
        province="00",
        office_code="000",
        qualification_types=[],
        now=now,
    )
    export_trust(store.home, home / "trust")  # the office gets the list naming the registry
    settings = RegistrySettings(
        env="development", database_url=f"sqlite:///{tmp_path / 'registry.db'}"
    )
    engine = make_engine(settings.database_url)
    app = create_app(
        settings,
        engine=engine,
        signer_provider=lambda: store.active_signer(REGISTRY_ID, now=int(time.time())),
        trust_provider=lambda: current_trust_list(store.home),
    )
    with TestClient(app), served(app) as url:
        result = _sync({**env, "JIAOZI_REGISTRY_URL": url})
    assert result.returncode == 0, result.stderr
    assert "sent 0, pending 0, applied 0, revoked 0, cursor 0" in result.stdout
    engine.dispose()
    down = _sync({**env, "JIAOZI_REGISTRY_URL": f"http://127.0.0.1:{free_port()}"})
    assert down.returncode == 1
    assert "error: registry unreachable" in down.stderr
    assert "Traceback" not in down.stderr
