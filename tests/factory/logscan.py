"""Every log record of the test suite, written as the services write it (``ops``'s JSON
formatter) and scanned at the end for personal data (issue 14 point 2).

``tests/conftest.py`` starts a ``Recorder`` in every process of the session (each xdist
worker and the controller; records of processes they fork go to the same file), and the
controller scans every file once the workers are done: an identity number (any valid
GB 11643 number: the shared applicants and the factory's invented people alike), a name
of the suite's data (``../shared/data``, ``jiaozi/data/sample-applicants.csv``, the
factory's batch person) or a claim code's shape (``issuer.holder.codes``) fails the
session, naming the lines. Servers the tests run as subprocesses (tests/e2e, the demo)
log to their own stderr, which this does not see.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import shutil
import tempfile
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
    """Return how many lines the ``*.jsonl`` files under ``directory`` hold and the
    findings among them."""
    total, findings = 0, []
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8", errors="replace") as f:
            lines = f.readlines()
        total += len(lines)
        findings += scan_lines(lines, found, path.name)
    return total, findings


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
