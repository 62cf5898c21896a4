"""The demo's people at the office console: office A's admin, clerk and two supervisors
enrolled as an officer would be (an enrolment code, a password, a TOTP code confirmed),
through ``issuer.console``'s functions on office A's database, and their sign-in details
written to ``var/demo/OFFICE-SIGN-IN.txt`` (0600) for whoever runs the demo.

A TOTP code is good once (``issuer.console.factors.totp_step``): the enrolment is
confirmed with the previous 30-second step's code (the window accepts one step either
side), so the code an authenticator shows now is still free for the first sign-in.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import pyotp
import sqlalchemy as sa
from sqlalchemy.orm import Session

from issuer import console
from issuer.db import make_engine
from issuer.db.tables import OFFICER
from issuer.settings import IssuerSettings

from .layout import OfficeSpec

__all__ = ["SignIn", "enrol_officers", "sign_in_text"]

CLIENT = "demo"  # the "client" the audit trail records for the demo's enrolment steps


@dataclass(frozen=True)
class SignIn:
    """One enrolled officer's details: what the sign-in file lists."""

    username: str
    role: str
    password: str
    secret: str
    uri: str
    recovery_codes: tuple[str, ...]


def _settings(env: dict[str, str]) -> IssuerSettings:
    """The office's settings from its service environment ``env`` (the JIAOZI_* it runs
    with), not from this process's environment."""
    given = {
        k.removeprefix("JIAOZI_").lower(): v for k, v in env.items() if k.startswith("JIAOZI_")
    }
    return IssuerSettings.model_validate(given)


def enrol_officers(
    env: dict[str, str], officers: list[tuple[str, str]], *, now: dt.datetime | None = None
) -> list[SignIn]:
    """Enrol each (username, role) of ``officers`` (already made at the office whose
    service environment is ``env``) at the console: issue an enrolment code, set a fresh
    random password, confirm the TOTP; return their details. Raises IssuerError (a refused
    step: the office's database is not what the demo made)."""
    settings = _settings(env)
    engine = make_engine(settings.database_url)
    out = []
    try:
        with Session(engine) as session:
            for username, role in officers:
                at = now or dt.datetime.now(dt.UTC)
                officer_id = session.execute(
                    sa.select(OFFICER.c.id).where(OFFICER.c.username == username)
                ).scalar_one()
                code = console.issue_enrolment(
                    session, officer_id=officer_id, office_id=settings.office_id,
                    issued_by=None, actor="demo", settings=settings, now=at,
                )  # fmt: skip
                password = secrets.token_urlsafe(18)
                made = console.start_enrolment(
                    session, username=username, code=code, password=password, client=CLIENT,
                    settings=settings, now=at,
                )  # fmt: skip
                earlier = pyotp.TOTP(made.secret).at(at - dt.timedelta(seconds=30))
                console.confirm_enrolment(
                    session, username=username, code=code, totp_code=earlier, client=CLIENT,
                    settings=settings, now=at,
                )  # fmt: skip
                out.append(
                    SignIn(username, role, password, made.secret, made.uri, made.recovery_codes)
                )
    finally:
        engine.dispose()
    return out


def sign_in_text(spec: OfficeSpec, url: str, people: list[SignIn]) -> str:
    """Return the text of the sign-in file for ``people`` of ``spec``'s office at ``url``."""
    lines = [
        f"{spec.short}（{spec.key}）办公控制台 / office {spec.key} console: {url}/office",
        "演示用账号，仅供本机演示 / demo accounts, for this machine's demo only.",
        "",
        "第二因素 / second factor: add the otpauth URI to an authenticator app, or compute",
        "the current code with:",
        "  .venv/bin/python -c 'import pyotp, sys; print(pyotp.TOTP(sys.argv[1]).now())' SECRET",
        "A code is good once: if one was just used, wait for the next (30 s). A recovery",
        "code (each good once) also works instead of a TOTP code.",
    ]
    for p in people:
        lines += [
            "",
            f"[{p.role}]",
            f"username: {p.username}",
            f"password: {p.password}",
            f"totp secret: {p.secret}",
            f"otpauth uri: {p.uri}",
            f"recovery codes: {' '.join(p.recovery_codes)}",
        ]
    return "\n".join(lines)
