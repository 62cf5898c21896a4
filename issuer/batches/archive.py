"""A batch's signed certificate PDFs as one zip, streamed while it is made.

``certificates_zip`` yields the bytes of a zip archive holding ``<certificate number>.pdf``
for each valid certificate of the batch, in row order: the same signed PDFs as
``issuer.batches.printing`` writes (``issuer.issuance.certificate_pdf``), made part by
part (100 rows read at a time) and written to the stream as each is made, so neither
the archive nor the batch's PDFs are ever held in memory together. The PDFs are stored,
not deflated (they are compressed already). Certificates not valid any more, and any that
cannot be drawn, are left out and listed in ``未收录.txt`` (row, number, why) at the end.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from sqlalchemy.engine import Engine

from credential import CredentialError
from issuer.batches.printing import batch_entries, page_jobs
from issuer.db.models import Certificate
from issuer.issuance import SealedDataError, certificate_pdf, facts_of
from issuer.pdf import PdfError
from issuer.settings import IssuerSettings
from keys import DocumentSigningKey

__all__ = ["SKIPPED_NAME", "certificates_zip"]

SKIPPED_NAME = "未收录.txt"
_PART = 100


class _Sink(io.RawIOBase):
    """A write-only, unseekable file whose bytes are taken as they come (zipfile then
    writes each member's sizes after its data)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self.pieces.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out = b"".join(self.pieces)
        self.pieces.clear()
        return out


def certificates_zip(
    engine: Engine,
    *,
    batch_id: int,
    settings: IssuerSettings,
    document_key: DocumentSigningKey,
) -> Iterator[bytes]:
    """Yield the zip of batch ``batch_id``'s signed PDFs piece by piece (see the
    module's docstring). The batch is read as the iteration goes: begin it only for a
    batch of this office (the caller checks). Raises OSError only if the stream does."""
    sink = _Sink()
    skipped: list[str] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as zf:
        entries = batch_entries(engine, batch_id)
        skipped += [
            f"{e.row_number}\t{e.number}\t{e.status}" for e in entries if e.status != "valid"
        ]
        valid = [e for e in entries if e.status == "valid"]
        for start in range(0, len(valid), _PART):
            for row_number, number, stored, token, layout, _make, photo in page_jobs(
                engine, valid[start : start + _PART], set()
            ):
                row = Certificate(  # type: ignore[call-arg]  # just what printing reads
                    certificate_number=number,
                    credential_jws=stored,
                    qr_token=token,
                    layout_version=layout,
                )
                try:
                    pdf = certificate_pdf(
                        row,
                        settings=settings,
                        document_key=document_key,
                        opened=facts_of(row, settings=settings),
                        photo=photo,
                    )
                except (PdfError, SealedDataError, CredentialError, ValueError) as exc:
                    skipped.append(f"{row_number}\t{number}\t{exc}")
                    continue
                zf.writestr(f"{number}.pdf", pdf)
                yield sink.take()
        if skipped:
            zf.writestr(SKIPPED_NAME, "行号\t证书编号\t原因\n" + "\n".join(skipped) + "\n")
    yield sink.take()
