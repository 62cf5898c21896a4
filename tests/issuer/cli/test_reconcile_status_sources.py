"""Where `jiaozi issuer reconcile-status --published` reads the published lists from: the
export directory, or the public URL (a static server on loopback here). The reconcile
itself is tests/issuer/lifecycle/test_reconcile.py and the backup drill."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest

from issuer.cli.commands import _published_tokens


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _export(root: Path) -> None:
    (root / "statuslists").mkdir(parents=True)
    (root / "statuslists" / "1").write_text("token-one\n", "ascii")
    (root / "statuslists" / "3").write_text("token-three", "ascii")
    (root / "statuslists" / ".1.abc.tmp").write_text("half written", "ascii")


def test_reads_every_list_of_an_export_directory(tmp_path: Path) -> None:
    _export(tmp_path)
    assert _published_tokens(str(tmp_path), []) == ["token-one\n", "token-three"]
    with pytest.raises(click.ClickException, match="not a directory"):
        _published_tokens(str(tmp_path / "missing"), [])


def test_reads_the_held_lists_at_a_public_url(tmp_path: Path) -> None:
    _export(tmp_path)
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        uris = [f"https://office.example.cn/statuslists/{n}" for n in (1, 2, 3)]
        # list 2 was never published (404): skipped; the others read by their ids
        assert _published_tokens(base, uris) == ["token-one\n", "token-three"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
