"""Schemathesis against the verifier's own OpenAPI document: no 5xx, and nothing outside
what the document declares (status, media type, body)."""

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

from tests.factory import World
from tests.factory.verifier import Clock, FakeIssuer, settings_for, write_root
from verifier.app import create_app

# A verifier in its normal state: synced from a (fake) issuer, so that requests are judged
# rather than answered "no trust list yet".
_DIR = Path(tempfile.mkdtemp(prefix="jiaozi-verifier-schemathesis-"))
_WORLD = World()
_CLOCK = Clock()
_ISSUER = FakeIssuer(_WORLD, _CLOCK)
APP = create_app(
    settings_for(f"sqlite:///{_DIR / 'verifier.db'}", write_root(_WORLD, _DIR)),
    http=_ISSUER.client(),
    clock=_CLOCK,
)
APP.state.verifier.syncer.run_once()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_answers_within_its_declared_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
