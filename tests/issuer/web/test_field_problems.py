"""A refused field has one code whichever layer refuses it: the request schema (an absent
field, a number for text, a value past the schema's bound) answers with the code the field
rules give the same defect."""

from __future__ import annotations

import pytest

from tests.factory.issuer import IssuerHarness, application


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({k: v for k, v in application(1).items() if k != "name"}, "required"),
        (application(1, name=""), "required"),
        ({**application(1), "name": 5}, "type"),
        (application(1, name="林" * 1001), "too_long"),
        (application(1, name="林" * 51), "too_long"),
    ],
    ids=["absent", "empty", "number", "past-the-schema-bound", "past-the-rule"],
)
def test_the_schema_and_the_rules_give_one_code_per_defect(
    issuer_env: IssuerHarness, body: dict[str, object], code: str
) -> None:
    r = issuer_env.issue(body)  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("name", code)]


def test_a_batch_upload_without_its_file_field_is_required_not_missing(
    issuer_env: IssuerHarness,
) -> None:
    # the multipart body has a field, but not the one named "file"
    r = issuer_env.client.post(
        "/api/v1/batches",
        files={"upload": ("round.csv", b"request_id\n")},
        headers={"Authorization": issuer_env.headers()["Authorization"]},
    )
    assert r.status_code == 422, r.text
    assert [(e["field"], e["code"]) for e in r.json()["errors"]] == [("file", "required")]
