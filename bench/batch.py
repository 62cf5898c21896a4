"""A 10,000-row batch (validate, sign both tokens, store; no PDF) against the raw Ed25519
sign rate on two cores, both measured in this run (goal 0.12).

The batch runs as ``jiaozi batch issue`` does (``issuer.batches.run.issue_file``: the file
validated while the pool signs its first chunk, then issued) on a fresh SQLite file in a
temporary directory, once with the signing in a pool of two forked processes and once in
a single process; the best of three rounds of each. The time split is of the pooled run's
wall time: validating the file (the workers sign the first chunk meanwhile), the parent
waiting for signatures, and the parent's database work (allocating, inserting, hashing
the audit chain, committing). CPU microseconds per certificate (parent, pool workers,
single process) are reported too: they say what the machine must do per certificate even
when other processes share its cores and the rates are noisy.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ROWS = 10_000
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
# A signing input of the size of a QR token's (header.payload, ~700 characters).
_MESSAGE = b"e" * 700


def _sign_for(seconds: float, start: Any, out: Any) -> None:
    key = Ed25519PrivateKey.generate()
    start.wait()
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < seconds:
        for _ in range(200):
            key.sign(_MESSAGE)
        n += 200
    out.put(n / elapsed)


def raw_sign_rate_two_cores(seconds: float = 1.0) -> float:
    """Return signatures per second of two processes signing at once (summed)."""
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_sign_for, args=(seconds, start, out)) for _ in range(2)]
    for p in procs:
        p.start()
    time.sleep(0.2)  # both ready before the clock starts
    start.set()
    total = sum(out.get(timeout=30) for _ in procs)
    for p in procs:
        p.join()
    return float(total)


def applicants(count: int = ROWS) -> bytes:
    """Return a CSV of ``count`` synthetic applicants (the shared tool, seed 11)."""
    return subprocess.run(
        [
            sys.executable,
            str(SHARED / "tools" / "make_applicants.py"),
            "--count",
            str(count),
            "--seed",
            "11",
        ],
        check=True,
        capture_output=True,
    ).stdout


def _children_cpu() -> float:
    """CPU seconds of this process's finished children (the pool's workers, once shut)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_batch_once(
    data: bytes,
    *,
    workers: int,
    chunk: int | None = None,
    expected: int = ROWS,
    prepare: Callable[[Engine], object] | None = None,
    database_url: str | None = None,
    finish: Callable[[Engine], object] | None = None,
    signer: Any = None,
    photos: bytes | None = None,
) -> dict[str, float]:
    """Issue ``data`` into a fresh SQLite file; return the rate and the time split.

    ``chunk`` defaults to ``issuer.batches.run.DEFAULT_CHUNK`` (what the HTTP API uses).
    ``prepare`` is given the engine of the migrated database before the clock starts
    (bench.national fills the national list there); ``expected`` is how many rows must
    be issued (the rate counts those). ``database_url`` replaces the SQLite file with an
    empty database the caller made (bench.scale: a fresh PostgreSQL database per run);
    ``finish`` is given the engine once the clock has stopped, before it is disposed
    (bench.scale reads the server's CPU there). ``signer`` replaces the fresh Ed25519
    key (bench.sm2: a DualSigner). ``photos``: a zip of the holders' photos
    (opened inside the clock, as ``jiaozi batch issue --photos`` does).
    """

    from credential import KeySigner
    from issuer import batches
    from issuer.db.engine import make_engine, upgrade
    from issuer.settings import IssuerSettings

    signer = signer or KeySigner(Ed25519PrivateKey.generate(), "11001-1")
    with tempfile.TemporaryDirectory(prefix="jiaozi-bench-") as tmp:
        settings = IssuerSettings(database_url=database_url or f"sqlite:///{tmp}/issuer.db")
        engine = make_engine(settings.database_url)
        try:
            upgrade(engine)
            if prepare is not None:
                prepare(engine)
            timing = batches.Timing()
            marks: list[float] = []
            cpu0, kids0 = time.process_time(), _children_cpu()
            t0 = time.perf_counter()
            zipped = None
            if photos is not None:
                zipped = batches.open_photo_zip(photos, max_total=1 << 31)
            batch = batches.issue_file(
                engine,
                data=data,
                filename="bench.csv",
                signer=signer,
                settings=settings,
                actor="bench",
                now_fn=lambda: dt.datetime.now(dt.UTC),
                chunk=chunk or batches.DEFAULT_CHUNK,
                workers=workers,
                opened=lambda _: marks.append(time.perf_counter()),
                timing=timing,
                photos=zipped,
            )
            t1, t2 = marks[0], time.perf_counter()
            cpu, kids = time.process_time() - cpu0, _children_cpu() - kids0
            if finish is not None:
                finish(engine)
        finally:
            engine.dispose()
    assert batch.issued_rows == expected, batch
    total = t2 - t0
    return {
        "rate": expected / total,
        "seconds": total,
        "validate": (t1 - t0) / total,
        "sign": timing.sign_wait / total,
        "database": timing.database / total,
        "parent_cpu_us": cpu / expected * 1e6,
        "workers_cpu_us": kids / expected * 1e6,
    }


def run() -> dict[str, float]:
    data = applicants()
    raw = 0.0
    pooled: dict[str, float] = {"rate": 0.0}
    single: dict[str, float] = {"rate": 0.0}
    for _ in range(3):  # alternate, keep the best of each: noise lowers all sides alike
        raw = max(raw, raw_sign_rate_two_cores())
        got = run_batch_once(data, workers=2)
        if got["rate"] > pooled["rate"]:
            pooled = got
        got = run_batch_once(data, workers=1)
        if got["rate"] > single["rate"]:
            single = got
    return {
        "raw_ed25519_sign_2cores_per_s": raw,
        "batch_10k_certs_per_s": pooled["rate"],
        "batch_10k_seconds": pooled["seconds"],
        "batch_10k_ratio": pooled["rate"] / raw,
        "batch_10k_goal": 0.12,
        "batch_10k_validate_fraction": pooled["validate"],
        "batch_10k_sign_wait_fraction": pooled["sign"],
        "batch_10k_database_fraction": pooled["database"],
        "batch_10k_1proc_certs_per_s": single["rate"],
        "batch_10k_1proc_ratio": single["rate"] / raw,
        "batch_10k_1proc_validate_fraction": single["validate"],
        "batch_10k_1proc_sign_fraction": single["sign"],
        "batch_10k_1proc_database_fraction": single["database"],
        "batch_10k_pool_speedup": pooled["rate"] / single["rate"],
        # CPU per certificate (robust to a busy machine, unlike the rates above)
        "batch_10k_parent_cpu_us_per_cert": pooled["parent_cpu_us"],
        "batch_10k_workers_cpu_us_per_cert": pooled["workers_cpu_us"],
        "batch_10k_1proc_cpu_us_per_cert": single["parent_cpu_us"],
    }


# What offices send (phone and studio portraits within the 2 MiB rule): width, height,
# EXIF orientation (6: stored turned, as a phone held upright does), JPEG quality.
# Texture (noise over the synthetic drawing) gives them a camera's file size, about
# 0.45 / 0.9 / 1.35 / 1.8 / 1.7 MB.
PHOTO_MIX = (
    (866, 1155, 1, 95),  # 1 MP, a scanned passport photo
    (1500, 2000, 1, 90),  # 3 MP, a studio's export
    (1944, 2592, 6, 88),  # 5 MP phone, turned
    (2448, 3264, 1, 85),  # 8 MP
    (3024, 4032, 6, 75),  # 12 MP phone, turned
)


def camera_photo(seed: int, width: int, height: int, orientation: int, quality: int) -> bytes:
    """Return a synthetic portrait of a camera's size and file size (no real face)."""
    from PIL import Image

    from jiaozi.demo.photos import synthetic_photo

    small = synthetic_photo(seed, size=(width // 4, height // 4))
    img = Image.open(io.BytesIO(small)).resize((width, height), Image.Resampling.BICUBIC)
    img = Image.blend(img, Image.effect_noise((width, height), 24).convert("RGB"), 0.3)
    if orientation == 6:
        img = img.rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()


def camera_photos_zip(names: list[str], *, distinct: int = 4) -> bytes:
    """Return a zip of one camera-sized photo per name, cycling through PHOTO_MIX;
    ``distinct`` pictures of each size are made and repeated (making one costs more than
    normalising it)."""
    made = [camera_photo(k, *m) for k in range(distinct) for m in PHOTO_MIX]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for k, name in enumerate(names):
            zf.writestr(f"{name}.jpg", made[k % len(made)])
    return buf.getvalue()


def photo_rates(rows: int = 2000, *, mix: str = "demo") -> dict[str, float]:
    """Return a batch of ``rows`` with and without a zip of photos (one per row by
    application number; pooled, two workers): rows per second of the import (the file
    read, the photos judged and normalised and stored) and of the whole batch, and the
    with / without ratios. ``mix``: ``demo`` (the demo's small 354 x 496 drawings, ~12 KB)
    or ``camera`` (PHOTO_MIX: 1 to 12 MP, 0.45 to 1.8 MB; 2,000 rows make a 2.6 GB zip,
    held in memory). The normalising itself, one core, ms a photo of each kind, beside;
    and CPU ms a row (parent and workers) of both batches and their difference, the
    photos' cost.
    Not part of ``run()`` (bench/results.json): ``python -c 'import bench.batch as b;
    print(b.photo_rates(2000, mix="camera"))'``."""
    import csv

    from issuer.photos import normalise_photo
    from jiaozi.demo.photos import photos_zip, synthetic_photo

    data = applicants(rows)
    ids = [r["request_id"] for r in csv.DictReader(io.StringIO(data.decode("utf-8")))]
    zipped = photos_zip(ids) if mix == "demo" else camera_photos_zip(ids)
    out: dict[str, float] = {"photos_zip_mb": len(zipped) / 1e6}
    samples = {"demo": synthetic_photo(1)} | {
        f"{m[0] * m[1] / 1e6:.0f}mp": camera_photo(1, *m) for m in PHOTO_MIX
    }
    for name, photo in samples.items():
        t0 = time.perf_counter()
        for _ in range(5):
            normalise_photo(photo)
        out[f"normalise_{name}_ms"] = (time.perf_counter() - t0) / 5 * 1e3
    for name, extra in (("plain", None), ("photos", zipped)):
        got = run_batch_once(data, workers=2, expected=rows, photos=extra)
        out[f"{name}_import_rows_per_s"] = rows / (got["seconds"] * got["validate"])
        out[f"{name}_batch_rows_per_s"] = got["rate"]
        out[f"{name}_cpu_ms_per_row"] = (got["parent_cpu_us"] + got["workers_cpu_us"]) / 1e3
    # what the photos cost the machine, robust to a busy machine unlike the rates
    out["photo_cpu_ms_per_row"] = out["photos_cpu_ms_per_row"] - out["plain_cpu_ms_per_row"]
    out["photos_import_ratio"] = out["photos_import_rows_per_s"] / out["plain_import_rows_per_s"]
    out["photos_batch_ratio"] = out["photos_batch_rows_per_s"] / out["plain_batch_rows_per_s"]
    return out


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name:<40} {value:,.3f}")
