"""What the demo prints at the end: where to look and the commands to try next while the
services run (``where_to_look``), or, after ``--exit``, that they have stopped and what is
left on disk (``after_exit``): an address is never offered as live once it is closed."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["STOPPED", "after_exit", "batch_command", "where_to_look"]

# the line --exit ends with (tests/jiaozi/test_demo.py looks for it)
STOPPED = "服务已停止 / the services have stopped"


def _shown(path: Path) -> str:
    """Return ``path`` relative to the current directory when it is under it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def batch_command(summary: dict[str, Any], base: Path) -> str:
    """Return the command line that issues the sample CSV at office A with ``jiaozi batch
    issue`` from batch-issue.env (in a subshell: the caller's shell keeps no JIAOZI_*);
    the error report goes under ``base``, not beside the CSV in the package."""
    home = _shown(base)
    csv = Path(summary["batch"]["csv"])
    errors = f"{home}/batch/{csv.stem}.errors.csv"
    photos = summary["batch"].get("photos")  # the holders' photos (synthetic), as a zip
    with_photos = f" --photos {shlex.quote(home + '/' + photos)}" if photos else ""
    return (
        f"(. {shlex.quote(home + '/' + summary['batch']['env'])} && mkdir -p {home}/batch && "
        f".venv/bin/jiaozi batch issue {shlex.quote(_shown(csv))}{with_photos}"
        f" --errors-out {errors})"
    )


def _files(home: str, a: dict[str, Any], b: dict[str, Any]) -> str:
    return f"""  证书PDF  PDFs            {home}/pdf/<证书号码>.pdf   (signed; the e-licence is attached)
  日志     logs            {home}/logs/<service>.log
  文件     files           {home}/certificates/<证书号码>.{{vc.jwt,json,qr.txt,qr.png}},
                           {home}/status/, {home}/published/ (trust list), {home}/demo.json
  密钥     keys            {home}/root/ (ceremony only), {home}/registry/, {home}/{a["home"]}/,
                           {home}/{b["home"]}/ (each its own keys/, encrypted); {home}/verifier/
                           holds none. Passphrases and secrets: {home}/env/*.env (demo only)
  接口密钥 API keys        {home}/ADMIN-API-KEYS.txt, {home}/CLERK-API-KEYS.txt,
                           {home}/SUPERVISOR-API-KEYS.txt (0600)
  领取码   claim codes     {home}/CLAIM-CODES.txt (0600; one per teacher)"""


def _offline(summary: dict[str, Any], home: str) -> str:
    a = summary["offices"][0]
    certs = summary["certificates"]
    valid = next(c for c in certs if c["verdict"] == "valid" and c["office"] == a["office_id"])
    revoked = summary["revoked"]
    status_a = summary["status_lists"][a["office_id"]]
    return f"""  .venv/bin/jiaozi verify "$(cat {home}/certificates/{revoked}.qr.txt)" --trust {home}/published/trust-list.jwt --status {home}/{status_a} --origin {summary["verifier_url"]}
  .venv/bin/jiaozi verify {home}/certificates/{valid["certificate_number"]}.json --trust {home}/published/trust-list.jwt --status {home}/{status_a} --lang en"""


def where_to_look(summary: dict[str, Any], base: Path, holder: dict[str, str]) -> None:
    """Print the live addresses, the sample links, one teacher's claim code (``holder``:
    ``url``, ``certificate_number``, ``claim_code``) and the files of a finished run
    described by ``summary`` (the content of demo.json), while its services run."""
    home = _shown(base)
    a, b = summary["offices"]
    certs = summary["certificates"]
    # one of A's, judged offline against A's status list below
    valid = next(c for c in certs if c["verdict"] == "valid" and c["office"] == a["office_id"])
    revoked = next(c for c in certs if c["certificate_number"] == summary["revoked"])
    restricted = summary["national"]["certificate"]
    print(f"""
去哪里看 / where to look:
  核验页面 verifier page   {summary["verifier_url"]}/   (paste a QR link, upload a PDF, or scan)
  有效证书 a valid QR      {valid["qr_url"]}
  已撤销   the revoked QR  {revoked["qr_url"]}
  受限制   B's restricted  {home}/certificates/{restricted}.qr.txt
  持证人页面 holder pages  {holder["url"]}
                           证书号码 number {holder["certificate_number"]}，领取码 claim code {holder["claim_code"]}
                           (the teacher types both; every teacher's code: {home}/CLAIM-CODES.txt)
  办公控制台 office console {a["url"]}/office ({a["short"]}), {b["url"]}/office ({b["short"]})
                           (A's officers' sign-in details: {home}/OFFICE-SIGN-IN.txt)
  签发接口 issuer API docs {a["url"]}/docs ({a["short"]}), {b["url"]}/docs ({b["short"]})
                           (OpenAPI; "Authorize" with a key of {home}/*-API-KEYS.txt)
  全国登记 registry        {summary["registry_url"]}/healthz   (the national restricted list)
{_files(home, a, b)}

命令行核验 / on the command line, through the verifier service, then offline (from the files):
  .venv/bin/jiaozi verify {home}/pdf/{valid["certificate_number"]}.pdf --online {summary["verifier_url"]}
{_offline(summary, home)}
批量签发 / a batch at office {a["short"]} (the sample CSV; no server needed, its database and keys):
  {batch_command(summary, base)}
全国同步 / a national round by hand, at an office:
  (set -a; . {home}/env/{b["home"]}.env; .venv/bin/jiaozi issuer sync-national)""")
    sys.stdout.flush()


def after_exit(summary: dict[str, Any], base: Path) -> None:
    """Print, once every service has stopped (``--exit``), that they have, what is left on
    disk of the run ``summary`` describes, and the commands that work without them."""
    home = _shown(base)
    a, b = summary["offices"]
    print(f"""
{STOPPED} (--exit): 登记中心、两个签发机构、核验服务与持证人页面均已关闭，本次运行的地址不再可用；
  不带 --exit 运行（make demo）则保持运行。/ the registry, both offices, the verifier and
  the holder pages are closed and this run's addresses no longer answer; run `make demo`
  without --exit to keep them serving.

留下的文件 / what is left on disk:
{_files(home, a, b)}

无需服务的命令 / commands that need no running service:
  离线核验 / verify offline, from the files:
{_offline(summary, home)}
  批量签发 / a batch at office {a["short"]} (the sample CSV, straight into its database):
  {batch_command(summary, base)}""")
    sys.stdout.flush()
