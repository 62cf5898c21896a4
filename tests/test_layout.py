"""The project's layout rules, enforced: a pure core, crypto only in credential/ and keys/,
and an explicit public surface. Which package may import which is tests/test_imports.py."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest

import credential
from tests.factory import REPO

STDLIB_IO = {
    "socket",
    "sqlite3",
    "urllib.request",
    "http",
    "http.client",
    "subprocess",
    "asyncio",
    "ssl",
}
FRAMEWORKS = {
    "fastapi",
    "starlette",
    "sqlmodel",
    "sqlalchemy",
    "httpx",
    "requests",
    "uvicorn",
    "redis",
    "psycopg",
    "reportlab",
    "pyhanko",
}


def imports_of(package: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for path in (REPO / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(REPO))] = names
    return out


def test_credential_is_pure() -> None:
    for path, names in imports_of("credential").items():
        roots = {n.split(".")[0] for n in names}
        assert not roots & FRAMEWORKS, (path, roots & FRAMEWORKS)
        assert not names & STDLIB_IO and "os" not in roots, (path, names & STDLIB_IO)


def test_importing_credential_loads_no_framework() -> None:
    code = (
        "import sys, credential; "
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("package", ["ops", "issuer", "verifier", "registry", "jiaozi"])
def test_only_credential_and_keys_touch_crypto_primitives(package: str) -> None:
    for path, names in imports_of(package).items():
        # gmssl_pyx: the SM2 library, wrapped in credential/_sm2.py only (issue 16)
        bad = {n for n in names if n.split(".")[0] in {"cryptography", "jwt", "gmssl_pyx"}}
        assert not bad, (path, bad)


def test_exported_members() -> None:
    # Every name in __all__ exists; every public attribute is in __all__ (httpx's rule).
    for name in credential.__all__:
        assert hasattr(credential, name), name
    public = {n for n in dir(credential) if not n.startswith("_")}
    modules = {n for n in public if type(getattr(credential, n)).__name__ == "module"}
    assert public - modules == set(credential.__all__)
    for name in credential.__all__:
        mod = getattr(getattr(credential, name), "__module__", "credential")
        assert mod.startswith("credential"), (name, mod)


# A module longer than this holds more than one concern; split it by concern. Alembic
# revisions and vendored vectors are data, not modules anyone reads as code.
MAX_MODULE_LINES = 650


def test_no_module_is_much_over_600_lines() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "*.py"], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    assert len(tracked) > 100  # the listing itself worked
    long = {
        path: n
        for path in tracked
        if "/migrations/" not in path
        and not path.startswith("tests/vectors/")
        and (REPO / path).exists()
        and (n := len((REPO / path).read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


# Packages whose __init__ is their public surface: what other packages call.
SURFACES = [
    "keys",
    "ops",
    "issuer.db",
    "issuer.fields",
    "issuer.accounts",
    "issuer.issuance",
    "issuer.lifecycle",
    "issuer.holder",
    "issuer.console",
    "issuer.batches",
    "issuer.pdf",
    "issuer.search",
]


@pytest.mark.parametrize("name", SURFACES)
def test_every_name_a_surface_lists_exists_once(name: str) -> None:
    module = importlib.import_module(name)
    listed = module.__all__
    assert listed and len(set(listed)) == len(listed), name
    assert [n for n in listed if not hasattr(module, n)] == []
