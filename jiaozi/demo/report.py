"""What the demo prints at the end: where to look, and the commands to try next."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["where_to_look"]


def where_to_look(summary: dict[str, Any], base: Path) -> None:
    """Print the addresses, the sample links and the files of a finished run described by
    ``summary`` (the content of demo.json), with paths shown relative to the current
    directory when they are under it."""
    try:
        home = base.relative_to(Path.cwd())
    except ValueError:
        home = base
    a, b = summary["offices"]
    certs = summary["certificates"]
    # one of A's, judged offline against A's status list below
    valid = next(c for c in certs if c["verdict"] == "valid" and c["office"] == a["office_id"])
    revoked = next(c for c in certs if c["certificate_number"] == summary["revoked"])
    restricted = summary["national"]["certificate"]
    status_a = summary["status_lists"][a["office_id"]]
    print(f"""
去哪里看 / where to look:
  查验页面 verifier page   {summary["verifier_url"]}/   (paste a QR link, upload a PDF, or scan)
  有效证书 a valid QR      {valid["qr_url"]}
  已撤销   the revoked QR  {revoked["qr_url"]}
  受限制   B's restricted  {home}/certificates/{restricted}.qr.txt
  办公控制台 office console {a["url"]}/office ({a["short"]}), {b["url"]}/office ({b["short"]})
                           (A's officers' sign-in details: {home}/OFFICE-SIGN-IN.txt)
  签发接口 issuer API docs {a["url"]}/docs ({a["short"]}), {b["url"]}/docs ({b["short"]})
                           (OpenAPI; "Authorize" with the admin key in {home}/ADMIN-API-KEYS.txt)
  全国登记 registry        {summary["registry_url"]}/healthz   (the national restricted list)
  证书PDF  PDFs            {home}/pdf/<证书号码>.pdf   (signed; the e-licence is attached)
  日志     logs            {home}/logs/<service>.log
  文件     files           {home}/certificates/<证书号码>.{{vc.jwt,json,qr.txt,qr.png}},
                           {home}/status/, {home}/published/ (trust list), {home}/demo.json
  密钥     keys            {home}/root/ (ceremony only), {home}/registry/, {home}/{a["home"]}/,
                           {home}/{b["home"]}/ (each its own keys/, encrypted); {home}/verifier/
                           holds none. Passphrases and secrets: {home}/env/*.env (demo only)

On the command line, through the verifier service, then offline (from the files):
  .venv/bin/jiaozi verify {home}/pdf/{valid["certificate_number"]}.pdf --online {summary["verifier_url"]}
  .venv/bin/jiaozi verify "$(cat {home}/certificates/{revoked["certificate_number"]}.qr.txt)" --trust {home}/published/trust-list.jwt --status {home}/{status_a} --origin {summary["verifier_url"]}
  .venv/bin/jiaozi verify {home}/certificates/{valid["certificate_number"]}.json --trust {home}/published/trust-list.jwt --status {home}/{status_a} --lang en
A national round by hand, at an office:
  (set -a; . {home}/env/{b["home"]}.env; .venv/bin/jiaozi issuer sync-national)""")
    sys.stdout.flush()
