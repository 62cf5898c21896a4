"""Schemathesis against the issuer's own OpenAPI document: generated requests for every
operation never get a 5xx, nor a status, media type or body the document does not declare."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from issuer.settings import DEV_API_KEY, IssuerSettings
from issuer.web.app import create_app
from tests.factory import signer

_DB = Path(tempfile.mkdtemp(prefix="jiaozi-schemathesis-")) / "issuer.db"
APP = create_app(IssuerSettings(database_url=f"sqlite:///{_DB}"), signer=signer(seed=7))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
AUTH = {"Authorization": f"Bearer {DEV_API_KEY}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_within_its_declared_schema(case: schemathesis.Case) -> None:
    headers = dict(AUTH)
    headers.update(case.headers or {})
    case.call_and_validate(headers=headers, checks=CHECKS)
