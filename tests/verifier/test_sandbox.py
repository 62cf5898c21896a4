"""verifier.sandbox: files are read in worker processes that a hostile file cannot hold or
grow without being replaced; what a worker finds is what ``extract`` finds in-process."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from tests.factory import World
from tests.factory.hostile import png_rgb_zeros
from tests.factory.pdf import document_signer, fixed_world, root_private_key, sample_certificate
from tests.factory.pdf import signed_pdf as issuer_pdf
from verifier.app import create_app
from verifier.extract import UnreadableFile, extract
from verifier.sandbox import ExtractorBusy, Sandbox
from verifier.settings import VerifierSettings


@pytest.fixture(scope="module")
def genuine() -> bytes:
    world: World = fixed_world()
    return issuer_pdf(world, sample_certificate(), document_signer(root_private_key(world)))


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(1, timeout=30.0)
    yield box
    box.close()


def test_a_worker_finds_what_extract_finds(sandbox: Sandbox, genuine: bytes) -> None:
    found = sandbox.run(genuine)
    assert found == extract(genuine)
    assert found.qr is not None and found.credential is not None
    (pid,) = sandbox.pids()
    assert pid != os.getpid()
    assert sandbox.run(genuine) == found and sandbox.pids() == [pid]  # the worker is reused


def test_a_refusal_in_a_worker_is_the_same_refusal(sandbox: Sandbox) -> None:
    with pytest.raises(UnreadableFile) as caught:
        sandbox.run(b"%PDF-1.7\n" + b"garbage " * 40)
    assert (caught.value.code, caught.value.zh) == ("unreadable_pdf", "无法读取该PDF")


def test_a_file_over_the_time_limit_is_too_costly_and_its_worker_replaced(
    genuine: bytes,
) -> None:
    box = Sandbox(1, timeout=0.001)  # no PDF is read in a millisecond
    try:
        with pytest.raises(UnreadableFile) as caught:
            box.run(genuine)
        assert caught.value.code == "file_too_costly"
        assert box.pids() == []  # killed, not returned to the pool
        box.timeout = 30.0
        assert box.run(genuine).qr is not None  # a new worker took its place
    finally:
        box.close()


def test_a_worker_that_does_not_start_in_time_is_busy_not_too_costly(genuine: bytes) -> None:
    # Start-up is waited for apart from the file's own limit (a genuine file must never be
    # refused as too costly because a worker was being replaced): a worker not ready within
    # start_timeout is "busy, try again" (503), not a judgement of the file.
    box = Sandbox(1, timeout=30.0, start_timeout=0.0)
    try:
        with pytest.raises(ExtractorBusy):
            box.run(genuine)
        assert box.pids() == []
        box.start_timeout = 30.0
        assert box.run(genuine).qr is not None
    finally:
        box.close()


def test_a_file_over_the_memory_limit_is_too_costly(genuine: bytes) -> None:
    # 30 megapixels of RGB need 90 MB decoded: more than a worker capped at 96 MiB of
    # address space (the interpreter itself takes about 60) can allocate.
    box = Sandbox(1, timeout=30.0, memory=96 * 1024 * 1024)
    try:
        with pytest.raises(UnreadableFile) as caught:
            box.run(png_rgb_zeros(6000, 5000))
        assert caught.value.code == "file_too_costly"
        box.memory = 512 * 1024 * 1024
        assert box.run(genuine).credential is not None
    finally:
        box.close()


def test_a_worker_retires_after_its_tasks(genuine: bytes) -> None:
    box = Sandbox(1, timeout=30.0, max_tasks=2)
    try:
        box.run(genuine)
        (first,) = box.pids()
        box.run(genuine)
        assert box.pids() == []  # retired after its second file
        box.run(genuine)
        assert box.pids() != [first]
    finally:
        box.close()


def test_a_closed_sandbox_stops_its_workers_and_starts_new_ones(genuine: bytes) -> None:
    box = Sandbox(1, timeout=30.0)
    try:
        box.run(genuine)
        (first,) = box.pids()
        box.close()
        assert box.pids() == []
        assert box.run(genuine).qr is not None and box.pids() != [first]
    finally:
        box.close()


def test_no_free_worker_within_the_wait_is_busy(genuine: bytes) -> None:
    box = Sandbox(1, timeout=30.0, wait=0.01)
    large = png_rgb_zeros(6000, 5000)  # 90 MB to decode: the one worker is held a while
    held: list[str] = []
    busy: list[ExtractorBusy] = []

    def hold() -> None:
        while not held:
            try:
                box.run(large)
            except ExtractorBusy:
                continue  # the genuine file had the worker: try again
            except UnreadableFile as exc:
                held.append(exc.code)

    try:
        holder = threading.Thread(target=hold)
        holder.start()
        while holder.is_alive() and not busy:
            try:
                box.run(genuine)
            except ExtractorBusy as exc:
                busy.append(exc)
        holder.join()
        assert busy and held == ["no_qr"]
    finally:
        box.close()


def test_no_workers_reads_in_the_caller(genuine: bytes) -> None:
    box = Sandbox(0)
    assert box.run(genuine) == extract(genuine) and box.pids() == []


def test_the_app_reads_files_with_the_configured_limits(tmp_path: Path) -> None:
    settings = VerifierSettings(
        database_url=f"sqlite:///{tmp_path / 'verifier.db'}",
        extract_workers=3,
        extract_timeout=2.5,
        extract_memory_mib=256,
        extract_max_tasks=7,
    )
    box = create_app(settings, background_sync=False).state.sandbox
    assert (box.workers, box.timeout, box.memory, box.max_tasks) == (3, 2.5, 256 << 20, 7)
    assert VerifierSettings.model_fields["extract_timeout"].default == 1.8
    assert VerifierSettings.model_fields["extract_workers"].default == 2
    with pytest.raises(ValidationError):
        VerifierSettings(extract_timeout=0)
