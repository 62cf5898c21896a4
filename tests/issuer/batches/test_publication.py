"""A batch publishes the status list it began (the office's first here) as it goes, so
its certificates' lists are public without any GET signing them (issue 12 point 6)."""

from __future__ import annotations

from tests.factory import APPLICANTS_CSV
from tests.factory.issuer import IssuerHarness, poll_batch, post_batch, rows


def test_a_batch_publishes_the_list_it_began(issuer_env: IssuerHarness) -> None:
    lines = APPLICANTS_CSV.read_bytes().splitlines(keepends=True)
    r = post_batch(issuer_env, b"".join(lines[:6]), "five.csv")
    assert r.status_code == 202, r.text
    got = poll_batch(issuer_env, r.json()["id"])
    assert (got["state"], got["issued_rows"]) == ("done", 5), got
    (lst,) = rows(issuer_env, "SELECT id, revision, signed_revision, signed_token FROM status_list")
    assert lst["signed_token"] is not None
    assert lst["signed_revision"] == lst["revision"]

    def no_signing() -> None:
        raise AssertionError("a public GET asked for the signing key")

    issuer_env.app.state.signer_provider = no_signing
    served = issuer_env.client.get(f"/statuslists/{lst['id']}")
    assert (served.status_code, served.text) == (200, lst["signed_token"])
