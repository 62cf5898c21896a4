"""ops.context and ops.logs: request ids, and one JSON object per log line."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

import ops
from ops.context import request_id_var, service_var


@pytest.mark.parametrize("value", ["abc", "A.b_c-9", "x" * 64, b"req-1"])
def test_a_sane_request_id_is_kept(value: str | bytes) -> None:
    kept = ops.sane_request_id(value)
    assert kept == (value.decode() if isinstance(value, bytes) else value)


@pytest.mark.parametrize(
    "value", [None, "", "x" * 65, "a b", "a\nb", "é", "a;b", "<script>", b"\xff\xfe"]
)
def test_an_insane_request_id_is_refused(value: str | bytes | None) -> None:
    assert ops.sane_request_id(value) is None


def test_new_request_ids_are_sane_and_distinct() -> None:
    ids = {ops.new_request_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(ops.sane_request_id(i) == i and len(i) == 32 for i in ids)


def _line(record: logging.LogRecord, service: str | None = "issuer") -> dict:
    return json.loads(ops.JsonFormatter(service=service).format(record))


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    logger = logging.getLogger("jiaozi.test")
    return logger.makeRecord(
        "jiaozi.test", logging.WARNING, __file__, 1, msg, args, None, extra=extra or None
    )


def test_a_json_line_has_the_fields_and_the_extras() -> None:
    line = _line(_record("published %s lists", 3, document="statuslists/1", count=3))
    assert line["level"] == "WARNING" and line["logger"] == "jiaozi.test"
    assert line["msg"] == "published 3 lists"
    assert line["ts"].endswith("Z") and line["ts"][:2] == "20"
    assert line["request_id"] is None and line["service"] == "issuer"
    assert line["document"] == "statuslists/1" and line["count"] == 3


def test_the_request_context_is_carried_into_the_line() -> None:
    rid, svc = request_id_var.set("req-42"), service_var.set("verifier")
    try:
        line = _line(_record("inside"), service="issuer")
    finally:
        request_id_var.reset(rid)
        service_var.reset(svc)
    assert line["request_id"] == "req-42" and line["service"] == "verifier"
    assert _line(_record("after"))["request_id"] is None


def test_one_line_per_record_even_with_newlines_and_chinese() -> None:
    text = ops.JsonFormatter().format(_record("第一行\n第二行"))
    assert "\n" not in text and json.loads(text)["msg"] == "第一行\n第二行"
    assert "第一行" in text  # readable, not \\u escapes


def test_an_exception_is_its_type_and_stack_never_its_message() -> None:
    number = "1101051976" + "09062469"  # as a client sent it: not in the source line
    try:
        raise ValueError(f"identity number {number} refused")
    except ValueError:
        record = logging.getLogger("jiaozi.test").makeRecord(
            "jiaozi.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    text = ops.JsonFormatter().format(record)
    line = json.loads(text)
    assert line["exc_type"] == "ValueError"
    assert any("test_an_exception_is_its_type" in frame for frame in line["stack"])
    assert number not in text


def test_log_config_sends_every_logger_to_stderr_in_the_format() -> None:
    for fmt, cls in (("json", "ops.logs.JsonFormatter"), ("text", "ops.logs.TextFormatter")):
        config = ops.log_config("registry", fmt)
        assert config["formatters"]["jiaozi"] == {"()": cls, "service": "registry"}
        assert config["root"]["handlers"] == ["stderr"]
        assert config["loggers"]["uvicorn.access"]["propagate"] is True
    with pytest.raises(ValueError, match="json, text"):
        ops.log_config("registry", "xml")


def test_a_handler_built_as_log_config_says_writes_json_lines() -> None:
    # Built by hand as dictConfig would (applying it here would replace the session's
    # own log handlers).
    config = ops.log_config("verifier")["formatters"]["jiaozi"]
    assert config["()"] == "ops.logs.JsonFormatter"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(ops.JsonFormatter(service=config["service"]))
    logger = logging.getLogger("jiaozi.test.handler")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("one")
        logger.warning("two")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    lines = stream.getvalue().splitlines()
    assert [json.loads(x)["msg"] for x in lines] == ["one", "two"]
    assert {json.loads(x)["service"] for x in lines} == {"verifier"}


def test_text_format_names_the_request() -> None:
    rid = request_id_var.set("req-7")
    try:
        text = ops.TextFormatter().format(_record("hello"))
    finally:
        request_id_var.reset(rid)
    assert "[req-7] hello" in text and "WARNING jiaozi.test" in text
