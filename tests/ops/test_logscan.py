"""The suite's log scanner (tests/factory/logscan.py) finds what it is there to find: a
scanner that could not fail would make the session-wide scan worthless."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ops import JsonFormatter
from tests.factory import applicants
from tests.factory.batchfile import person
from tests.factory.logscan import needles, scan_dir, scan_line, scan_lines

NEEDLES = needles()
ROW = applicants()[17]


def _json_line(msg: str) -> str:
    record = logging.getLogger("jiaozi.x").makeRecord(
        "jiaozi.x", logging.INFO, __file__, 1, msg, (), None
    )
    return JsonFormatter(service="issuer").format(record)


def test_a_planted_identity_number_is_found() -> None:
    assert scan_line(_json_line(f"row {ROW['id_number']} refused"), NEEDLES) == "identity number"
    invented = person(4321, "req-1")[5]  # the factory's invented people too
    assert scan_line(_json_line(f"id={invented}"), NEEDLES) == "identity number"


def test_a_planted_name_is_found() -> None:
    name = ROW["name"]
    assert scan_line(_json_line(f"申请人{name}已签发"), NEEDLES) == f"name {name}"
    assert scan_line(_json_line("batch person 林芳"), NEEDLES) == "name 林芳"


def test_a_planted_claim_code_is_found_grouped_or_not() -> None:
    assert scan_line(_json_line("code ABCD-EFGH-JKMN-PQRS"), NEEDLES) == "claim code"
    assert scan_line(_json_line("code=ABCDEFGHJKMNPQRS"), NEEDLES) == "claim code"


def test_ordinary_lines_pass() -> None:
    for msg in (
        "GET /api/v1/certificates/{number} 200",
        "published status lists [1], documents 2, restricted list 0",
        "request 5f0c2a7e9b1d4c3a8e6f0a1b2c3d4e5f",
        "北京市教育委员会教师资格认定中心 publication ok",
        "timestamp 17965015133630624640",  # digits, but 20 of them
    ):
        assert scan_line(_json_line(msg), NEEDLES) is None, msg


def test_the_findings_name_file_line_and_what(tmp_path: Path) -> None:
    (tmp_path / "gw0.jsonl").write_text(
        _json_line("ok") + "\n" + _json_line(f"person {ROW['id_number']}") + "\n",
        encoding="utf-8",
    )
    (tmp_path / "gw1.jsonl").write_text(_json_line("fine") + "\n", encoding="utf-8")
    lines, found = scan_dir(tmp_path, NEEDLES)
    assert lines == 3
    assert [(f.path, f.line_no, f.what) for f in found] == [("gw0.jsonl", 2, "identity number")]
    assert json.loads(found[0].line)["logger"] == "jiaozi.x"
    assert scan_lines(["a", "b"], NEEDLES) == []


def test_the_recorder_leaves_out_only_planted_records_and_the_test_clients_lines() -> None:
    from tests.factory.logscan import PLANTED, _not_the_test_client

    def record(name: str, msg: str, *args: object, **extra: object) -> logging.LogRecord:
        return logging.getLogger(name).makeRecord(
            name, logging.INFO, __file__, 1, msg, args, None, extra=extra or None
        )

    assert _not_the_test_client(record("jiaozi.x", "person %s", ROW["id_number"]))
    assert not _not_the_test_client(
        record("jiaozi.x", "person %s", ROW["id_number"], **{PLANTED: True})
    )
    assert not _not_the_test_client(
        record("httpx", "HTTP Request: %s %s", "GET", "http://testserver/api/v1/x")
    )
    assert _not_the_test_client(
        record("httpx", "HTTP Request: %s %s", "GET", "https://issuer.example/statuslists/1")
    )


_CHILD = """
import logging, sys
import ops
ops.configure_logging("issuer")  # as the serve commands log: JSON lines on stderr
logging.getLogger("jiaozi.child").info("applicant %s accepted", sys.argv[1])
raise RuntimeError(sys.argv[2])  # an uncaught crash: Python's plain-text traceback
"""


def test_a_subprocess_s_stderr_kept_for_the_scan_is_scanned(tmp_path: Path) -> None:
    """What the session does with a server the tests ran as a subprocess: its stderr (a
    file, or captured text) is kept in the log directory and ``scan_dir`` finds the
    identity number in its JSON line and the name in its plain-text traceback. A private
    directory, not the session's: this must not fail the session."""
    import subprocess
    import sys

    from tests.factory import REPO
    from tests.factory.logscan import keep, keep_text

    stderr = tmp_path / "child.log"
    with stderr.open("wb") as err:
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, ROW["id_number"], f"no seat for {ROW['name']}"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    logs = tmp_path / "logs"
    logs.mkdir()
    (copy,) = keep(stderr, tmp_path / "missing.log", directory=logs)
    assert copy.parent == logs and copy.name.startswith("child-") and copy.suffix == ".log"
    kept = keep_text("captured", stderr.read_bytes(), directory=logs)
    assert kept is not None and keep_text("nothing", "", directory=logs) is None

    lines, found = scan_dir(logs, NEEDLES)
    assert lines >= 2 * 4  # the JSON line and a traceback of several lines, twice
    whats = {(f.path, f.what) for f in found}
    for path in (copy.name, kept.name):
        assert (path, "identity number") in whats, found
        assert (path, f"name {ROW['name']}") in whats, found
    line = next(f.line for f in found if f.what == "identity number")
    assert json.loads(line)["service"] == "issuer"


def test_keep_does_nothing_without_a_log_directory(tmp_path: Path, monkeypatch) -> None:
    from tests.factory.logscan import DIR_VARIABLE, keep, keep_text

    monkeypatch.delenv(DIR_VARIABLE, raising=False)
    (tmp_path / "a.log").write_text("x\n")
    assert keep(tmp_path / "a.log") == []
    assert keep_text("a", "x") is None
