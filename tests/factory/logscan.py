"""Every log record of the test suite, written as the services write it (``ops``'s JSON
formatter) and scanned at the end for personal data (issue 14 point 2).

``tests/conftest.py`` starts a ``Recorder`` in every process of the session (each xdist
worker and the controller; records of processes they fork go to the same file), and the
controller scans every file once the workers are done: an identity number (any valid
GB 11643 number: the shared applicants and the factory's invented people alike), a name
of the suite's data (``../shared/data``, ``jiaozi/data/sample-applicants.csv``, the
factory's batch person) or a claim code's shape (``issuer.holder.codes``) fails the
session, naming the lines.

Servers and commands the tests run as subprocesses (tests/e2e, the CLI's ``serve``, the
demo's and the stack's services) write to their own stderr or log files, which the
recorder cannot see: the test that ran one hands those files (or the captured text) to
``keep``/``keep_text`` once it is done, which copies them into the session's directory as
``*.log``; ``scan_dir`` reads them line by line as it reads the JSON lines (a traceback,
nginx's or PostgreSQL's lines are scanned as plain text). A file is copied, not written
there by the child, so a test still reads its child's output where it always did.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from issuer.holder.codes import CODE_ALPHABET, CODE_LENGTH
from ops import JsonFormatter
from tests.factory import APPLICANTS_CSV, REPO
from tests.factory.issuer import RESIDENT_ID, gb11643_ok

__all__ = [
    "DIR_VARIABLE",
    "PLANTED",
    "Finding",
    "Needles",
    "Recorder",
    "keep",
    "keep_text",
    "needles",
    "scan_dir",
    "scan_lines",
]

#: Where the session's log files are: set by the first process (the controller), inherited
#: by the xdist workers it starts.
DIR_VARIABLE = "JIAOZI_TEST_LOG_DIR"
#: The ``extra=`` key of a record a test plants on purpose (to prove another check catches
#: it): the recorder leaves it out.
PLANTED = "jiaozi_test_planted"
SAMPLE_CSV = REPO / "jiaozi" / "data" / "sample-applicants.csv"
FACTORY_NAMES = ("林芳",)  # tests/factory/batchfile.py's invented person

_CJK_RUN = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff]{2,}")
_C = re.escape(CODE_ALPHABET)
_G = CODE_LENGTH // 4
_CLAIM_CODE = re.compile(
    rf"(?<![0-9A-Za-z])(?:[{_C}]{{{CODE_LENGTH}}}|[{_C}]{{4}}(?:-[{_C}]{{4}}){{{_G - 1}}})(?![0-9A-Za-z])"
)


@dataclass(frozen=True)
class Needles:
    """What must never be in a log line: ``names`` (exact names of the suite's people);
    identity numbers and claim codes are found by shape."""

    names: frozenset[str]
    shortest: int
    longest: int


@dataclass(frozen=True)
class Finding:
    path: str
    line_no: int
    what: str
    line: str


def _names(path: Path) -> Iterator[str]:
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row.get("name"):
                    yield row["name"].strip()


def needles(extra_names: Iterable[str] = ()) -> Needles:
    """Return the names of the suite's data (and ``extra_names``)."""
    names = frozenset(
        n for n in (*_names(APPLICANTS_CSV), *_names(SAMPLE_CSV), *FACTORY_NAMES, *extra_names) if n
    )
    lengths = [len(n) for n in names] or [2]
    return Needles(names, min(lengths), max(lengths))


def scan_line(line: str, found: Needles) -> str | None:
    """Return what personal data ``line`` holds ("identity number", "name 林芳", "claim
    code"), or None."""
    if any(gb11643_ok(m) for m in RESIDENT_ID.findall(line)):
        return "identity number"
    if _CLAIM_CODE.search(line):
        return "claim code"
    for run in _CJK_RUN.findall(line):
        for size in range(found.shortest, min(found.longest, len(run)) + 1):
            for i in range(len(run) - size + 1):
                if run[i : i + size] in found.names:
                    return f"name {run[i : i + size]}"
    return None


def scan_lines(lines: Iterable[str], found: Needles, path: str = "-") -> list[Finding]:
    """Return a ``Finding`` for every line of ``lines`` holding personal data."""
    out = []
    for n, line in enumerate(lines, 1):
        what = scan_line(line, found)
        if what is not None:
            out.append(Finding(path, n, what, line.rstrip("\n")))
    return out


def scan_dir(directory: Path, found: Needles) -> tuple[int, list[Finding]]:
    """Return how many lines the ``*.jsonl`` (the recorders') and ``*.log`` (``keep``'s)
    files under ``directory`` hold and the findings among them."""
    total, findings = 0, []
    for path in sorted([*directory.glob("*.jsonl"), *directory.glob("*.log")]):
        with path.open(encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        total += len(lines)
        findings += scan_lines(lines, found, path.name)
    return total, findings


def _session_dir(directory: Path | None) -> Path | None:
    if directory is not None:
        return directory
    named = os.environ.get(DIR_VARIABLE)
    return Path(named) if named else None


def _name(label: str) -> str:
    # one file per call: two tests (or xdist workers) keeping "issuer.log" both stay
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label)[:60] or "output"
    return f"{safe}-{uuid.uuid4().hex[:8]}.log"


def keep(*paths: Path, directory: Path | None = None) -> list[Path]:
    """Copy the files ``paths`` (a subprocess's output or log files; missing ones are
    passed over) into ``directory`` (default: the session's log directory; none set: do
    nothing) for the session's scan. Return the copies' paths."""
    target = _session_dir(directory)
    if target is None:
        return []
    copies = []
    for path in paths:
        if path.is_file():
            copy = target / _name(path.stem)
            shutil.copyfile(path, copy)
            copies.append(copy)
    return copies


def keep_text(label: str, text: str | bytes | None, directory: Path | None = None) -> Path | None:
    """Write ``text`` (a subprocess's captured stderr) to a file named after ``label`` in
    ``directory`` (as ``keep``) for the session's scan. Return its path, or None when
    there is no directory or no text."""
    target = _session_dir(directory)
    if target is None or not text:
        return None
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    copy = target / _name(label)
    copy.write_text(text, encoding="utf-8")
    return copy


def _not_the_test_client(record: logging.LogRecord) -> bool:
    """Drop httpx's line about a request the tests' own client sent (Starlette's
    TestClient, ``http://testserver``): the test chose that URL, not the service; httpx
    lines of the services' own clients (sync, national rounds) are kept. Drop a record a
    test planted on purpose (``PLANTED``)."""
    if getattr(record, PLANTED, False):
        return False
    return not (record.name == "httpx" and "://testserver" in str(record.args or record.msg))


class Recorder:
    """A handler on the root logger writing every record of INFO and above, formatted by
    ``ops.JsonFormatter``, to ``<dir>/<worker>.jsonl``."""

    def __init__(self, worker: str) -> None:
        directory = os.environ.get(DIR_VARIABLE)
        self.owner = directory is None  # the first process makes (and later removes) it
        if directory is None:
            directory = tempfile.mkdtemp(prefix="jiaozi-test-logs-")
            os.environ[DIR_VARIABLE] = directory
        self.directory = Path(directory)
        self.handler = logging.FileHandler(self.directory / f"{worker}.jsonl", encoding="utf-8")
        self.handler.setFormatter(JsonFormatter(service="tests"))
        self.handler.setLevel(logging.INFO)
        self.handler.addFilter(_not_the_test_client)
        root = logging.getLogger()
        root.addHandler(self.handler)
        # The services log their INFO lines too (the access log, publication, sync): seen
        # only if the root lets them through.
        if root.level > logging.INFO:
            root.setLevel(logging.INFO)

    def close(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()

    def remove(self) -> None:
        if self.owner:
            shutil.rmtree(self.directory, ignore_errors=True)
            os.environ.pop(DIR_VARIABLE, None)
