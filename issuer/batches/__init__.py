"""Batch issuance: a certification round's spreadsheet read, judged, signed and issued.

Owns: ``reading`` (a file read: ``read_batch``), ``files`` (CSV and XLSX bytes to rows of
cells, whole-file refusals), ``headers`` (which column is which field), ``cells`` (what a
spreadsheet makes of a value: typed cells, Excel date spellings), ``rows`` (each row
judged by the field rules of ``issuer.fields``), ``report`` (the error report for the
clerk), ``store`` (the stored batch: its state, stored row errors, opening a file as a
batch), ``signing`` (the signing pool and its wire format, ``SignerRef``), ``bulk`` (a
chunk's status indices, bulk inserts, audit and event chaining), ``wal`` (SQLite's WAL
checkpointed by a thread), ``run`` (the pipeline: ``run_batch``, ``issue_file``),
``printing`` (a batch's PDFs as one print file), ``archive`` (the PDFs as a zip,
streamed), ``manifest`` (every row and what became of it), ``listing`` (an office's
batches, a page at a time), ``progress`` (rows per second, time left), ``workers`` (what
every pool worker does first), ``photos`` (a zip of the holders' photos matched to the
rows, judged and normalised when the batch is opened).

May import: ``credential``, ``keys``, ``issuer.db``, ``issuer.fields``, ``issuer.audit``,
``issuer.issuance``, ``issuer.lifecycle``, ``issuer.pdf``, ``issuer.settings``,
``issuer.errors``. Not ``issuer.web`` or ``issuer.cli``.

Its modules import each other, never this package; other packages import what is
listed here.
"""

from issuer.batches.archive import certificates_zip
from issuer.batches.listing import BatchPage, list_batches
from issuer.batches.manifest import IssuedRow, write_manifest
from issuer.batches.photos import PhotoZip, open_photo_zip
from issuer.batches.printing import (
    DEFAULT_PART_SIZE,
    PrintFailure,
    PrintReport,
    PrintUnavailableError,
    print_batch,
    print_file_name,
)
from issuer.batches.progress import BatchProgress, batch_progress
from issuer.batches.report import write_error_report
from issuer.batches.run import (
    DEFAULT_CHUNK,
    DEFAULT_WORKERS,
    Progress,
    Timing,
    issue_file,
    run_batch,
)
from issuer.batches.signing import SignerRef
from issuer.batches.store import (
    DONE,
    FAILED,
    ISSUING,
    STATES,
    VALIDATING,
    BatchFailure,
    OpenedBatch,
    batch_errors,
    batch_failure,
    file_sha256,
    get_batch,
    open_batch,
    start_batch,
)

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_PART_SIZE",
    "DEFAULT_WORKERS",
    "DONE",
    "FAILED",
    "ISSUING",
    "STATES",
    "VALIDATING",
    "BatchFailure",
    "BatchPage",
    "BatchProgress",
    "IssuedRow",
    "OpenedBatch",
    "PhotoZip",
    "PrintFailure",
    "PrintReport",
    "PrintUnavailableError",
    "Progress",
    "SignerRef",
    "Timing",
    "batch_errors",
    "batch_failure",
    "batch_progress",
    "certificates_zip",
    "file_sha256",
    "get_batch",
    "issue_file",
    "list_batches",
    "open_batch",
    "open_photo_zip",
    "print_batch",
    "print_file_name",
    "run_batch",
    "start_batch",
    "write_error_report",
    "write_manifest",
]
