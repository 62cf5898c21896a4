"""``jiaozi verify FILE`` offline judges a PDF as the API judges an upload (issue 11,
point 3 follow-up): its QR and attached e-licence, and the PDF's own signature against the
pinned roots, so a PDF changed after signing is ``not_valid`` (``file_altered``) from the
command line too, not only through ``POST /api/v1/verify``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.factory import VERIFIER_URL, applicants
from tests.factory.pdf import document_signer, root_private_key, signed_pdf
from tests.factory.verifier import Harness, upload
from verifier.cli import EXIT, verify_command


def issued_pdf(api: Harness, idx: int) -> bytes:
    signer = document_signer(root_private_key(api.world))
    return signed_pdf(api.world, api.world.certificate(applicants()[idx]), signer, idx=600 + idx)


def cli(api: Harness, tmp: Path, data: bytes, *args: str) -> tuple[int, str]:
    """Run ``jiaozi verify`` on ``data`` as a file, offline, with the harness's trust data
    written where the command looks; return its exit code and output."""
    (tmp / "trust").mkdir(exist_ok=True)
    (tmp / "trust" / "trust-list.jwt").write_text(api.world.trust_token())
    (tmp / "trust" / "root.jwks.json").write_text(
        json.dumps({"keys": [api.world.root.public_key().to_jwk()]})
    )
    now = int(api.clock().timestamp())
    (tmp / "status.jwt").write_text(api.world.status_token(iat=now - 60))
    (tmp / "certificate.pdf").write_bytes(data)
    result = CliRunner().invoke(
        verify_command,
        [str(tmp / "certificate.pdf"), "--origin", VERIFIER_URL, "--status",
         str(tmp / "status.jwt"), *args],
        env={"JIAOZI_HOME": str(tmp), "JIAOZI_NOW": str(now)},
    )  # fmt: skip
    return result.exit_code, result.output


def api_answer(api: Harness, data: bytes) -> dict[str, Any]:
    r = upload(api, data, "certificate.pdf", "application/pdf", **{"Accept-Language": "en"})
    assert r.status_code == 200, r.text
    return r.json()


def file_check(doc: dict[str, Any]) -> dict[str, Any]:
    return {c["name"]: c for c in doc["checks"]}["file_signature"]


@pytest.mark.parametrize("change", ["none", "one byte", "appended"])
def test_the_command_gives_the_apis_verdict_for_a_pdf(
    api: Harness, tmp_path: Path, change: str
) -> None:
    data = issued_pdf(api, 7)
    if change == "one byte":
        at = data.rindex(b"ReportLab") + 2
        data = data[:at] + b"X" + data[at + 1 :]
    elif change == "appended":
        data += b"% appended after signing\n"
    code, out = cli(api, tmp_path, data, "--json", "--lang", "en")
    offline, online = json.loads(out), api_answer(api, data)
    assert (offline["verdict"], offline["reason"]) == (online["verdict"], online["reason"])
    assert file_check(offline) == file_check(online)
    assert code == EXIT[online["verdict"]]
    if change == "none":
        assert online["verdict"] == "valid" and file_check(online)["ok"] is True
    else:
        assert online["verdict"] == "not_valid" and online["reason"] == "file_altered"


def test_a_changed_pdf_in_plain_chinese(api: Harness, tmp_path: Path) -> None:
    code, out = cli(api, tmp_path, issued_pdf(api, 8) + b"\n", "--lang", "zh")
    assert code == EXIT["not_valid"]
    assert "✗ 文件签名: PDF文件在签名后被修改" in out


def test_a_file_with_nothing_to_judge_is_a_usage_error(api: Harness, tmp_path: Path) -> None:
    code, out = cli(api, tmp_path, b"%PDF-1.7\n%%EOF\n", "--lang", "en")
    assert code == 2, out  # click's usage error, which ``jiaozi`` turns into exit 64
    assert "certificate.pdf" in out
