"""Request and response bodies of the issuer API (pydantic; no FastAPI imports)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CertificateCreate", "CertificateLinks", "CertificatePublic", "Problem", "StatusRef"]

# Generous bounds so a huge value is refused before any work; the real rules (with
# Chinese and English messages) are in issuer.fields.application.
_BOUND = 1000


class CertificateCreate(BaseModel):
    """One application to certify. Text fields are validated by issuer.fields.application."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "name": "吴鸣",
                "sex": "女",
                "birth_date": "1976-09-06",
                "id_type": "resident_id",
                "id_number": "110105197609062469",
                "qualification_type": "senior_middle",
                "subject": "思想政治",
                "certified_on": "2026-06-17",
            }
        },
    )

    name: str = Field(max_length=_BOUND, description="姓名")
    sex: str = Field(max_length=_BOUND, description="男/女/male/female")
    birth_date: str = Field(max_length=_BOUND, description="YYYY-MM-DD")
    id_type: str = Field(max_length=_BOUND, description="resident_id, passport, ...")
    id_number: str = Field(max_length=_BOUND)
    qualification_type: str = Field(max_length=_BOUND, description="slug, 1-7 or 中文名称")
    subject: str = Field(max_length=_BOUND, description="任教学科")
    certified_on: str = Field(max_length=_BOUND, description="认定日期 YYYY-MM-DD")
    ethnicity: str | None = Field(default=None, max_length=_BOUND, description="民族")
    # base64 of the file (issuer.issuance.photos checks it, naming the field ``photo``);
    # the bound only stops a body far past the 2 MiB rule before any work
    photo: str | None = Field(
        default=None,
        max_length=4 * 1024 * 1024,
        description="持证人照片: base64 of a JPEG or PNG file (at most 2 MiB, portrait about"
        " 5:7, at least 260 x 364 pixels); normalised to a 295 x 413 JPEG and bound into the"
        " credential by its SHA-256",
    )


class StatusRef(BaseModel):
    uri: str
    idx: int


class CertificateLinks(BaseModel):
    self: str
    status_list: str
    verify: str


class CertificatePublic(BaseModel):
    """An issued certificate as the office sees it: facts, both tokens, links."""

    certificate_number: str
    version: int
    elicence_id: str
    status: str
    name: str
    sex: str
    birth_date: str
    ethnicity: str | None
    id_type: str
    id_number_masked: str
    qualification_type: str
    qualification_name: str
    subject: str
    certified_on: str
    office_name: str
    issued_at: str
    credential: str = Field(description="the e-licence, a compact JWS (vc+jwt)")
    credential_json: str | None = Field(
        default=None,
        description=(
            "the e-licence dual-signed (EdDSA and SM2 with SM3) as a JWS JSON serialization"
            " whose first signature is `credential`; present when the office has an SM2 key"
        ),
    )
    qr_token: str = Field(description="the QR token, a compact JWS (jiaozi-qr+jwt)")
    qr_url: str = Field(description="the text printed in the QR")
    status_list: StatusRef
    links: CertificateLinks


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldProblem] | None = None
