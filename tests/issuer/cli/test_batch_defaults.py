"""The command line issues in the same chunks as the HTTP API and the bench."""

from __future__ import annotations

from issuer import batches
from issuer.cli import batch as batch_cli


def test_cli_chunk_default_is_the_service_default() -> None:
    command = batch_cli.batch_group.commands["issue"]
    (chunk,) = [p for p in command.params if p.name == "chunk"]
    assert chunk.default == batches.DEFAULT_CHUNK
