"""What a stopped batch says about a database error: the driver's first line, never the
statement or its parameters (a batch's rows hold names and person references)."""

from __future__ import annotations

import sqlalchemy as sa

from issuer.batches.store import error_text, failure_reason


class DriverError(Exception):
    pass


def test_database_error_is_named_without_statement_or_rows() -> None:
    orig = DriverError("server closed the connection unexpectedly\n\tThis probably means...")
    exc = sa.exc.OperationalError(
        "INSERT INTO certificate (name, id_number_masked) VALUES (%s, %s)",
        [("林芳", "330***********5006")],
        orig,
    )
    assert "林芳" in str(exc)  # what SQLAlchemy itself would print
    text = error_text(exc)
    assert text == "DriverError: server closed the connection unexpectedly"
    reason = failure_reason(exc)
    for said in (reason.message, reason.message_zh):
        assert "林芳" not in said and "INSERT" not in said


def test_other_errors_keep_their_message() -> None:
    assert error_text(ValueError("bad chunk")) == "ValueError: bad chunk"
    assert len(error_text(RuntimeError("x" * 2000))) == 500
