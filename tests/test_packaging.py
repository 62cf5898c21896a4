"""What each deployable installs: the verifier must not need reportlab, pyHanko or key tooling."""

from __future__ import annotations

import tomllib

from tests.factory import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def _names(reqs: list[str]) -> set[str]:
    return {r.split("[")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in reqs}


def test_verifier_extra_has_no_pdf_signing_or_rendering() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    verifier = _names(extras["verifier"]) | _names(PYPROJECT["project"]["dependencies"])
    assert not verifier & {"reportlab", "rl-accel", "pyhanko", "segno", "openpyxl"}, verifier
    assert "reportlab" in _names(extras["issuer"])
    # PDFs are signed by keys.PadesSigner; pyHanko is the validator the tests use
    assert "pyhanko" not in _names(extras["issuer"])
    assert "pyhanko" in _names(extras["dev"])


def test_core_is_small() -> None:
    assert _names(PYPROJECT["project"]["dependencies"]) == {"cryptography", "pyjwt", "click"}


def test_registry_extra_serves_and_stores_only() -> None:
    extras = PYPROJECT["project"]["optional-dependencies"]
    registry = _names(extras["registry"])
    assert {"fastapi", "uvicorn", "sqlalchemy", "psycopg", "pydantic-settings"} <= registry
    assert not registry & {"reportlab", "rl-accel", "pyhanko", "segno", "openpyxl"}
    assert "alembic" in registry  # its schema is migrated as the others' (issue 14)
    assert "registry*" in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
