"""``jiaozi accounts console-code``: how the first admin gets into the console (a
deployment act on the machine, like ``create-admin``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pyotp
from sqlalchemy.orm import Session

from issuer import console
from issuer.db.engine import make_engine
from issuer.settings import IssuerSettings
from tests.issuer.cli.test_commands import cli_env, jiaozi, one_line_error

CODE = re.compile(r"^[A-Z2-9]{4}(-[A-Z2-9]{4}){3}$")


def test_console_code_prints_a_code_once_that_enrols_the_admin(
    database_url: str, tmp_path: Path
) -> None:
    env = cli_env(tmp_path, JIAOZI_DATABASE_URL=database_url)
    made = jiaozi(
        "accounts", "create-admin", "--username", "root", "--name", "管理员", env=env, cwd=tmp_path
    )
    assert made.returncode == 0, made.stderr
    r = jiaozi("accounts", "console-code", "--username", "root", env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    code = r.stdout.strip()
    assert CODE.match(code), r.stdout
    assert "not be shown again" in r.stderr

    settings = IssuerSettings(env="development", database_url=database_url)
    engine = make_engine(database_url)
    now = dt.datetime.now(dt.UTC)
    try:
        with Session(engine) as s:
            got = console.start_enrolment(
                s,
                username="root",
                code=code,
                password="a long passphrase",
                client="t",
                settings=settings,
                now=now,
            )
            console.confirm_enrolment(
                s,
                username="root",
                code=code,
                totp_code=pyotp.TOTP(got.secret).at(now),
                client="t",
                settings=settings,
                now=now,
            )
            later = now + dt.timedelta(seconds=60)
            assert console.sign_in(
                s,
                username="root",
                password="a long passphrase",
                code=pyotp.TOTP(got.secret).at(later),
                client="t",
                settings=settings,
                now=later,
            )
    finally:
        engine.dispose()

    nobody = jiaozi("accounts", "console-code", "--username", "nobody", env=env, cwd=tmp_path)
    assert "nobody" in one_line_error(nobody)
    assert nobody.stdout == ""
