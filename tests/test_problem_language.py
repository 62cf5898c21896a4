"""Every problem the issuer, verifier and registry can answer, in both languages (issue 15
point 3): no English in a Chinese ``title``/``detail``/``errors[].message``, no Chinese in an
English one, no snake_case code in either (the ``type`` URI, ``code`` and field names are
data), scanned with the page scans' finders.

Two halves. The source: every (English, Chinese) text a problem is made of, read from the
code (the errors' constructors, ``problem``/``Problem`` calls and their title tables, field
errors); a text built at run time is scanned with its fields set aside. The services: the
answers their generic handlers give (404, 405, a body that fails validation) asked for in
zh-CN and in en.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factory import REPO
from tests.factory.language import chinese_faults, english_faults

PACKAGES = ("issuer", "verifier", "registry", "credential")
_CJK = re.compile(r"[\u3400-\u9fff]")

# Calls that make a problem or a field error, and where their English and Chinese texts
# are: (positional index or keyword) pairs.
_FIELD_ERRORS = {"FieldError", "FieldProblem", "InvalidFieldError"}
_FIELD_PAIRS = [((2, "message"), (3, "message_zh"))]
_ISSUER_PAIRS = [((0, "title"), (1, "title_zh")), ((2, "detail"), (3, "detail_zh"))]


def _text(node: ast.expr) -> str | None:
    """The text of a string literal; an f-string's with each field as ``{}``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None or right is not None:
            return (left or "{}") + (right or "{}")
    return None


def _arg(call: ast.Call, where: tuple[int, str]) -> ast.expr | None:
    index, name = where
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return call.args[index] if len(call.args) > index else None


def _issuer_errors(trees: dict[Path, ast.Module]) -> set[str]:
    """The names of ``IssuerError`` and every class deriving from it in the source."""
    bases: dict[str, set[str]] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases[node.name] = {
                    b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases
                }
    found = {"IssuerError"}
    while True:
        more = {name for name, of in bases.items() if of & found} - found
        if not more:
            return found
        found |= more


def _pairs() -> Iterator[tuple[str, str, str]]:
    """(where, English, Chinese) for every problem text in the source."""
    trees = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if "migrations" not in path.parts:
                trees[path] = ast.parse(path.read_text(encoding="utf-8"))
    errors = _issuer_errors(trees)
    for path, tree in trees.items():
        for node in ast.walk(tree):
            where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                pairs = (
                    _ISSUER_PAIRS
                    if name in errors
                    else _FIELD_PAIRS
                    if name in _FIELD_ERRORS
                    else []
                )
                for en_at, zh_at in pairs:
                    en_node, zh_node = _arg(node, en_at), _arg(node, zh_at)
                    en = _text(en_node) if en_node is not None else None
                    zh = _text(zh_node) if zh_node is not None else None
                    if en is not None and zh is not None:
                        yield where, en, zh
            # (English, Chinese) pairs: the problems' titles and details, wherever written
            if isinstance(node, ast.Tuple) and len(node.elts) == 2:
                a, b = (_text(e) for e in node.elts)
                if a is not None and b is not None and not _CJK.search(a) and _CJK.search(b):
                    yield where, a, b


def _is_problem_text(where: str) -> bool:
    """Whether a pair belongs to what the services answer: not the command line's words
    (``CLI_TEXT``, scanned by its own test) and not the PDF's or pages' templates."""
    return not where.startswith(("credential/_clitext.py", "issuer/pdf/", "issuer/cli/"))


PAIRS = [p for p in _pairs() if _is_problem_text(p[0])]
# Data a problem's text may name on purpose: header, field and parameter names a client
# must send, the values and date forms a field accepts (listed in both languages, as the
# request may carry either), a method and path to call, a command an operator must run.
DATA = (
    "{}",
    "Idempotency-Key",
    "Authorization",
    "Bearer",
    "application/json",
    "multipart/form-data",
    "If-Match",
    "Retry-After",
    "POST",
    "“file”",
    "reason_code",
    "credential（电子证照）",
    "YYYY-MM-DD",
    "YYYY/MM/DD",
    "YYYY.MM.DD",
    "YYYY年M月D日",
    "男、女、male、female",
    "male, female, 男, 女",
    "junior_middle",
    "初级中学",
    "resident_id, passport, hk_mo_pass, tw_pass or foreign_permanent_resident",
    "jiaozi backup issuer",
    "jiaozi issuer reconcile-status --published",
    "--none-published",
)


def test_the_source_holds_the_problems_texts() -> None:
    # the scan reads what it should: the generic titles of every service, and many more
    texts = {en for _, en, _ in PAIRS}
    assert {"Not found", "Internal error", "The request has invalid fields"} <= texts
    assert len(PAIRS) > 200, len(PAIRS)


@pytest.mark.parametrize(("where", "en", "zh"), PAIRS, ids=[p[0] for p in PAIRS])
def test_each_problem_text_is_in_one_language(where: str, en: str, zh: str) -> None:
    faults = chinese_faults([zh], DATA) + english_faults([en], DATA)
    assert faults == [], (where, faults)


# --- the services' answers ------------------------------------------------------------------


def _scan_answers(client: object, requests: list[tuple[str, str, dict[str, object]]]) -> None:
    """Ask each request in zh-CN and in en; every answer a problem in that language."""
    for method, path, options in requests:
        for header, lang in (("zh-CN,zh;q=0.9", "zh"), ("en", "en")):
            headers = {"Accept-Language": header, **options.pop("headers", {})}  # type: ignore[dict-item]
            r = client.request(method, path, headers=headers, **options)  # type: ignore[attr-defined]
            assert r.headers["content-type"].startswith("application/problem+json"), (
                method,
                path,
                r.status_code,
                r.text,
            )
            body = r.json()
            texts = [body["title"], body.get("detail", "")]
            texts += [e["message"] for e in body.get("errors", [])]
            finder = chinese_faults if lang == "zh" else english_faults
            assert finder([t for t in texts if t], DATA) == [], (method, path, lang, body)


def test_the_issuers_answers_are_problems_in_the_asked_language(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from issuer.settings import IssuerSettings
    from issuer.web.app import create_app
    from tests.factory import signer

    app = create_app(IssuerSettings(database_url=f"sqlite:///{tmp_path / 'i.db'}"), signer=signer())
    with TestClient(app, raise_server_exceptions=False) as client:
        _scan_answers(
            client,
            [
                ("GET", "/api/v1/nope", {}),
                ("DELETE", "/api/v1/certificates", {}),
                ("POST", "/api/v1/certificates", {"json": {}}),
                ("GET", "/api/v1/certificates", {}),
                ("POST", "/api/v1/batches", {"content": b"x"}),
            ],
        )


def test_the_verifiers_answers_are_problems_in_the_asked_language(tmp_path: Path) -> None:
    from tests.factory.verifier import make_harness

    gen = make_harness(f"sqlite:///{tmp_path / 'v.db'}", tmp_path)
    h = next(gen)
    try:
        _scan_answers(
            h.client,
            [
                ("GET", "/api/v1/nope", {}),
                ("POST", "/api/v1/verify", {"json": {}}),
                ("POST", "/api/v1/verify", {"json": {"qr": 5}}),
                ("POST", "/api/v1/verify", {"json": {"qr": "HC1:nonsense"}}),
                ("POST", "/api/v1/verify", {"json": {"qr": "1" * 30}}),
                (
                    "POST",
                    "/api/v1/verify",
                    {"content": b"{", "headers": {"Content-Type": "application/json"}},
                ),
                (
                    "POST",
                    "/api/v1/verify",
                    {"content": b"qr", "headers": {"Content-Type": "text/plain"}},
                ),
                ("POST", "/api/v1/admission-checks", {"json": {}}),
                ("PUT", "/api/v1/sync-status", {}),
            ],
        )
    finally:
        gen.close()


def test_the_registrys_answers_are_problems_in_the_asked_language(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from registry.app import create_app
    from registry.db import make_engine
    from registry.settings import RegistrySettings
    from tests.factory.registry import NationalWorld

    national = NationalWorld()
    url = f"sqlite:///{tmp_path / 'r.db'}"
    engine = make_engine(url)
    app = create_app(
        RegistrySettings(env="development", database_url=url),
        engine=engine,
        signer_provider=lambda: national.signers["R"],
        trust_provider=lambda: national.trust,
    )
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            _scan_answers(
                client,
                [
                    ("GET", "/api/v1/nope", {}),
                    ("GET", "/api/v1/feed", {}),
                    ("GET", "/api/v1/feed", {"headers": {"Authorization": "Bearer nope"}}),
                    ("POST", "/api/v1/restrictions", {"json": {}}),
                    ("POST", "/api/v1/feed/events", {"json": {}}),
                    ("PUT", "/trust-list.jwt", {}),
                ],
            )
    finally:
        engine.dispose()
