"""Officers' sign-in to the console: argon2id passwords, the TOTP window, recovery codes,
lockout, idle timeout and expiry, each step in the audit chain under the officer's name."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from issuer import console
from issuer.accounts import deactivate_officer, refuse_ineligible_approver
from issuer.console.factors import hash_password, password_matches, totp_step
from issuer.errors import Forbidden
from issuer.fields import ValidationFailed
from tests.issuer.console.conftest import T0, ConsoleDb

T1 = T0 + dt.timedelta(minutes=1)  # a later TOTP step than enrolment's (each is good once)

PASSWORD = "correct horse battery"


def _enrol(db: ConsoleDb, name: str, *, by: str | None = "ada", now: dt.datetime = T0) -> str:
    """Enrol officer ``name`` fully; return their TOTP secret."""
    with db.session() as s:
        code = console.issue_enrolment(
            s,
            officer_id=db.ids[name],
            office_id=db.settings.office_id,
            issued_by=db.ids[by] if by else None,
            actor=f"officer:{by}",
            settings=db.settings,
            now=now,
        )
        got = console.start_enrolment(
            s,
            username=name,
            code=code,
            password=PASSWORD,
            client="10.0.0.1",
            settings=db.settings,
            now=now,
        )
        console.confirm_enrolment(
            s,
            username=name,
            code=code,
            totp_code=pyotp.TOTP(got.secret).at(now),
            client="10.0.0.1",
            settings=db.settings,
            now=now,
        )
    return got.secret


def _sign_in(db: ConsoleDb, name: str, password: str, code: str, now: dt.datetime) -> str:
    with db.session() as s:
        return console.sign_in(
            s,
            username=name,
            password=password,
            code=code,
            client="10.0.0.2",
            settings=db.settings,
            now=now,
        )


def test_passwords_are_stored_as_argon2id_and_only_the_right_one_matches() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert password_matches(stored, PASSWORD)
    assert not password_matches(stored, PASSWORD + "x")
    assert not password_matches(None, PASSWORD)  # no password set: never a match
    assert not password_matches("not a hash", PASSWORD)


def test_totp_is_accepted_one_step_either_side_and_each_step_once() -> None:
    secret = pyotp.random_base32()
    totp = pyotp.TOTP(secret)
    now = T0
    current = int(now.timestamp()) // 30
    assert totp_step(secret, totp.at(now), now=now, after=None) == current
    assert totp_step(secret, totp.at(now - dt.timedelta(seconds=30)), now=now, after=None) == (
        current - 1
    )
    assert totp_step(secret, totp.at(now + dt.timedelta(seconds=30)), now=now, after=None) == (
        current + 1
    )
    assert totp_step(secret, totp.at(now - dt.timedelta(seconds=60)), now=now, after=None) is None
    assert totp_step(secret, totp.at(now), now=now, after=current) is None  # replayed
    assert totp_step(secret, "12345", now=now, after=None) is None
    assert totp_step(secret, "１２３４５６", now=now, after=None) is None  # full-width digits


def test_enrolment_then_sign_in_is_audited_under_the_officers_name(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    later = T0 + dt.timedelta(minutes=1)
    token = _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(later), later)
    with console_db.session() as s:
        who = console.open_session(s, token, settings=console_db.settings, now=later)
    assert who is not None and who.username == "cy" and who.role == "clerk"
    assert who.principal.actor == "officer:cy"
    assert [a for a in console_db.actions() if a[1].startswith("console.")] == [
        ("officer:ada", "console.enrolment_issued", "officer:cy"),
        ("officer:cy", "console.password_set", "officer:cy"),
        ("officer:cy", "console.totp_enrolled", "officer:cy"),
        ("officer:cy", "console.signin", "officer:cy"),
    ]
    with console_db.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM officer_credential")).mappings().one()
        stored = " ".join(str(v) for v in row.values())
        assert secret not in stored  # the TOTP secret is sealed
        assert row["enrolment_hash"] is None  # the code is used up


def test_a_totp_code_signs_in_once(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    later = T0 + dt.timedelta(minutes=2)
    code = pyotp.TOTP(secret).at(later)
    _sign_in(console_db, "cy", PASSWORD, code, later)
    with pytest.raises(console.SignInFailed):
        _sign_in(console_db, "cy", PASSWORD, code, later + dt.timedelta(seconds=5))


def test_a_short_password_is_refused_naming_the_field(console_db: ConsoleDb) -> None:
    with console_db.session() as s:
        code = console.issue_enrolment(
            s,
            officer_id=console_db.ids["cy"],
            office_id=None,
            issued_by=None,
            actor="cli",
            settings=console_db.settings,
            now=T0,
        )
        with pytest.raises(ValidationFailed) as caught:
            console.start_enrolment(
                s,
                username="cy",
                code=code,
                password="short",
                client="c",
                settings=console_db.settings,
                now=T0,
            )
    assert [e.field for e in caught.value.errors] == ["password"]


def test_an_expired_or_wrong_enrolment_code_is_refused(console_db: ConsoleDb) -> None:
    with console_db.session() as s:
        code = console.issue_enrolment(
            s,
            officer_id=console_db.ids["cy"],
            office_id=None,
            issued_by=None,
            actor="cli",
            settings=console_db.settings,
            now=T0,
        )
        late = T0 + dt.timedelta(hours=console_db.settings.console_enrolment_hours)
        for given, at in ((code, late), ("AAAA-BBBB-CCCC-DDDD", T0)):
            with pytest.raises(console.SignInFailed):
                console.start_enrolment(
                    s,
                    username="cy",
                    code=given,
                    password=PASSWORD,
                    client="c",
                    settings=console_db.settings,
                    now=at,
                )


def test_lockout_after_max_failures_even_with_the_right_password(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    totp = pyotp.TOTP(secret)
    at = T0 + dt.timedelta(minutes=1)
    for _ in range(console_db.settings.console_max_failures):
        with pytest.raises(console.SignInFailed):
            _sign_in(console_db, "cy", "wrong password!", totp.at(at), at)
    with pytest.raises(console.ConsoleLocked) as locked:
        _sign_in(console_db, "cy", PASSWORD, totp.at(at), at)
    assert locked.value.retry_after == console_db.settings.console_lockout_minutes * 60
    actions = [a[1] for a in console_db.actions()]
    assert actions.count("console.signin_failed") == console_db.settings.console_max_failures
    assert actions[-2:] == ["console.lockout", "console.signin_refused"]
    free = at + dt.timedelta(minutes=console_db.settings.console_lockout_minutes, seconds=1)
    assert _sign_in(console_db, "cy", PASSWORD, totp.at(free), free)


def test_an_unknown_name_fails_as_a_wrong_password_does(console_db: ConsoleDb) -> None:
    with pytest.raises(console.SignInFailed) as unknown:
        _sign_in(console_db, "nobody", PASSWORD, "123456", T0)
    _enrol(console_db, "cy")
    with pytest.raises(console.SignInFailed) as wrong:
        _sign_in(console_db, "cy", "not the password", "123456", T0)
    assert (unknown.value.title, unknown.value.detail) == (wrong.value.title, wrong.value.detail)
    assert ("console", "console.signin_failed", "username:nobody") in console_db.actions()


def test_a_recovery_code_signs_in_once(console_db: ConsoleDb) -> None:
    with console_db.session() as s:
        code = console.issue_enrolment(
            s,
            officer_id=console_db.ids["cy"],
            office_id=None,
            issued_by=None,
            actor="cli",
            settings=console_db.settings,
            now=T0,
        )
        got = console.start_enrolment(
            s,
            username="cy",
            code=code,
            password=PASSWORD,
            client="c",
            settings=console_db.settings,
            now=T0,
        )
        console.confirm_enrolment(
            s,
            username="cy",
            code=code,
            totp_code=pyotp.TOTP(got.secret).at(T0),
            client="c",
            settings=console_db.settings,
            now=T0,
        )
    assert len(set(got.recovery_codes)) == 10
    spare = got.recovery_codes[3].lower().replace("-", " ")  # typed loosely
    assert _sign_in(console_db, "cy", PASSWORD, spare, T0)
    with pytest.raises(console.SignInFailed):
        _sign_in(console_db, "cy", PASSWORD, spare, T0)


def test_a_session_ends_when_idle_and_at_its_expiry(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    idle = dt.timedelta(minutes=console_db.settings.console_idle_minutes)
    token = _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(T1), T1)
    with console_db.session() as s:
        # a request just inside the idle limit keeps it alive for another full period
        step = T1 + idle - dt.timedelta(seconds=1)
        assert console.open_session(s, token, settings=console_db.settings, now=step)
        assert console.open_session(
            s, token, settings=console_db.settings, now=step + idle - dt.timedelta(seconds=1)
        )
        gone = step + 2 * idle
        assert console.open_session(s, token, settings=console_db.settings, now=gone) is None
        # ended for good, even if asked at an earlier time again
        assert console.open_session(s, token, settings=console_db.settings, now=step) is None
    assert console_db.actions()[-1] == ("officer:cy", "console.session_ended", "officer:cy")

    later = T0 + dt.timedelta(minutes=5)
    token = _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(later), later)
    end = later + dt.timedelta(hours=console_db.settings.console_session_hours)
    with console_db.session() as s:
        t = later
        while t + dt.timedelta(minutes=20) < end:  # never idle, yet it ends
            t += dt.timedelta(minutes=20)
            assert console.open_session(s, token, settings=console_db.settings, now=t)
        assert console.open_session(s, token, settings=console_db.settings, now=end) is None


def test_sign_out_ends_the_session(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    token = _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(T1), T1)
    with console_db.session() as s:
        who = console.open_session(s, token, settings=console_db.settings, now=T1)
        assert who is not None
        console.end_session(s, who, client="c", now=T1)
        assert console.open_session(s, token, settings=console_db.settings, now=T1) is None
    assert console_db.actions()[-1] == ("officer:cy", "console.signout", "officer:cy")


def test_a_new_enrolment_code_ends_sessions_and_the_old_password(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    token = _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(T1), T1)
    later = T0 + dt.timedelta(minutes=3)
    with console_db.session() as s:
        console.issue_enrolment(
            s,
            officer_id=console_db.ids["cy"],
            office_id=console_db.settings.office_id,
            issued_by=console_db.ids["bo"],
            actor="officer:bo",
            settings=console_db.settings,
            now=later,
        )
        assert console.open_session(s, token, settings=console_db.settings, now=later) is None
    with pytest.raises(console.SignInFailed):
        _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(later), later)


def test_the_issuer_of_an_enrolment_code_cannot_approve_for_its_officer(
    console_db: ConsoleDb,
) -> None:
    # ada issued bo's code: ada could have enrolled as bo, so bo may not approve ada's
    # requests (as with a key ada issued bo), while the code waits and after it is used
    with console_db.session() as s:
        console.issue_enrolment(
            s,
            officer_id=console_db.ids["bo"],
            office_id=None,
            issued_by=console_db.ids["ada"],
            actor="officer:ada",
            settings=console_db.settings,
            now=T0,
        )
    for _ in range(2):
        with console_db.session() as s, pytest.raises(Forbidden):
            refuse_ineligible_approver(
                s,
                approver_id=console_db.ids["bo"],
                requester_id=console_db.ids["ada"],
                requested_at=T0,
                kind="change_role",
            )
        _enrol(console_db, "bo", by="ada")
    # reset by the command line: the tie is gone
    _enrol(console_db, "bo", by=None)
    with console_db.session() as s:
        refuse_ineligible_approver(
            s,
            approver_id=console_db.ids["bo"],
            requester_id=console_db.ids["ada"],
            requested_at=T0,
            kind="change_role",
        )


def test_deactivating_an_officer_ends_their_session(console_db: ConsoleDb) -> None:
    secret = _enrol(console_db, "cy")
    token = _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(T1), T1)
    with console_db.session() as s:
        deactivate_officer(
            s,
            officer_id=console_db.ids["cy"],
            office_id=console_db.settings.office_id,
            actor="officer:ada",
            now=T1,
        )
        assert console.open_session(s, token, settings=console_db.settings, now=T1) is None
    with console_db.engine.connect() as conn:
        detail = conn.execute(
            sa.text("SELECT detail_json FROM audit_record ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    assert '"deactivated"' in detail
    with pytest.raises(console.SignInFailed):
        later = T1 + dt.timedelta(minutes=1)
        _sign_in(console_db, "cy", PASSWORD, pyotp.TOTP(secret).at(later), later)
