"""One certificate application (the body of ``POST /api/v1/certificates``) judged field by
field with the shared rules; a batch file's row is judged by the same rules
(``issuer.batches.rows``). Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from credential import IdType, QualificationType, Sex
from issuer.fields import codes, dates, texts
from issuer.fields.errors import Collector
from issuer.fields.identity import identity_number
from issuer.settings import IssuerSettings

__all__ = ["ValidApplication", "validate_application"]


@dataclass(frozen=True, slots=True)
class ValidApplication:
    """An application whose every field passed, in normalised form."""

    name: str
    sex: Sex
    birth_date: dt.date
    id_type: IdType
    id_number: str
    qualification_type: QualificationType
    subject: str
    certified_on: dt.date
    ethnicity: str | None = None


def validate_application(
    data: Mapping[str, object], *, today: dt.date, settings: IssuerSettings | None = None
) -> ValidApplication:
    """Return the normalised application, or raise ValidationFailed naming every bad field.

    ``data`` holds name, sex, birth_date, id_type, id_number, qualification_type, subject,
    certified_on and optionally ethnicity, as text. ``settings`` gives the office's
    certification policy (minimum age, earliest date; the defaults when None).
    """
    policy = dates.CertificationPolicy.of(settings)
    c = Collector()
    name = c.take(lambda: texts.name(data.get("name")))
    sex = c.take(lambda: codes.sex(data.get("sex")))
    birth = c.take(
        lambda: dates.date_in_range(
            "birth_date", dates.iso_date("birth_date", data.get("birth_date")), today=today
        )
    )
    kind = c.take(lambda: codes.id_type(data.get("id_type")))
    qualification = c.take(lambda: codes.qualification_type(data.get("qualification_type")))
    subject = c.take(lambda: texts.subject(data.get("subject")))
    certified = c.take(
        lambda: dates.date_in_range(
            "certified_on",
            dates.iso_date("certified_on", data.get("certified_on")),
            today=today,
            earliest=policy.earliest,
        )
    )
    ethnicity = c.take(lambda: texts.ethnicity(data.get("ethnicity")))
    # Birth date and sex are compared with the number only when they passed themselves.
    number = c.take(
        lambda: identity_number(data.get("id_number"), kind, birth_date=birth, sex=sex, today=today)
    )
    if birth is not None and certified is not None:
        c.take(lambda: dates.certification_age(certified, birth, policy))
    c.done()
    assert name is not None and sex is not None and birth is not None and kind is not None
    assert number is not None and qualification is not None and subject is not None
    assert certified is not None
    return ValidApplication(
        name=name,
        sex=sex,
        birth_date=birth,
        id_type=kind,
        id_number=number,
        qualification_type=qualification,
        subject=subject,
        certified_on=certified,
        ethnicity=ethnicity,
    )
