"""The demo's national step: a restriction recorded at one office reaches the others.

Office A (北京) records a synthetic person certified at office B (上海) on the restricted
list: supervisor A asks, supervisor B approves. A's national round sends the signed entry
to the registry; B's round pulls the consolidated list (every office runs one each
``NATIONAL_SYNC_INTERVAL`` seconds in the demo; ``jiaozi issuer sync-national`` forces
one) and revokes its certificate of that person; the verifier, syncing B's status list,
then says 无效 (not_valid), and B refuses a new application of the person, naming A.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from credential import beijing_date
from verifier.cli import render_text

from .samples import OfficeClient, VerifierClient, expect, poll, result

__all__ = ["NATIONAL_SYNC_INTERVAL", "restrict_across_offices"]

NATIONAL_SYNC_INTERVAL = 1  # seconds: each demo office's national round (default 60)


def restrict_across_offices(
    a: OfficeClient,
    b: OfficeClient,
    verifier: VerifierClient,
    row: dict[str, str],
    cert: dict[str, Any],
) -> dict[str, Any]:
    """Record ``row``'s person at ``a``, wait until ``cert`` (issued at ``b``) is not
    valid at the verifier, and have ``b`` refuse a new application; print each step and
    return ``{"person", "recorded_at", "entry", "certificate", "verdict", "refused"}``.

    Raises DemoError when a step is refused or is not seen within the sync timeout.
    """
    print(
        f"\n全国限制库 / the national restricted list: {cert['name']} holds "
        f"{cert['certificate_number']} from {b.spec.short} (B)"
    )
    today = beijing_date(dt.datetime.now(dt.UTC)).isoformat()
    body = {
        "name": row["name"],
        "id_type": row["id_type"],
        "id_number": row["id_number"],
        "category": "revoked",
        "decision_date": today,
        "legal_basis": "《教师资格条例》第十九条（演示）",
    }
    done = a.two_supervisors(
        "/api/v1/restrictions", body, f"recording {row['request_id']} at {a.spec.short}"
    )
    entry = (done.get("result") or done)["restriction"]
    ref = f"{a.spec.office_id}#{entry['id']}"
    print(
        f"  {a.spec.short}（A）记录限制，审核人甲提出、审核人乙批准 / recorded at A by two "
        f"supervisors: {ref}, barred until {entry['bar_until']}"
    )
    print(
        f"  全国同步 / national sync: each office pushes and pulls every "
        f"{NATIONAL_SYNC_INTERVAL} s (`jiaozi issuer sync-national` forces a round)"
    )
    after = poll(
        f"the verifier seeing {cert['certificate_number']} revoked by {b.spec.short}",
        lambda: verifier.verify(cert["qr_url"]),
        lambda answer: answer.get("verdict") == "not_valid",
    )
    print(
        f"  {b.spec.short}（B）的证书 {cert['certificate_number']} 再次核验 / B's certificate, again:\n"
    )
    print("    " + render_text(result(after), "zh").replace("\n", "\n    "))

    refused = b.apply(row, attempt=2, subject="英语")
    problem: dict[str, Any] = expect(
        refused, 422, doing=f"{b.spec.short} refusing a new application of the restricted person"
    )
    message = "; ".join(e["message"] for e in problem.get("errors", [])) or problem["detail"]
    print(f"\n  {b.spec.short}（B）拒绝新的申请 / B refuses a new application: {message}")
    return {
        "person": row["name"],
        "recorded_at": a.spec.office_id,
        "entry": ref,
        "certificate": cert["certificate_number"],
        "verdict": after["verdict"],
        "refused": message,
    }
