"""A certificate is issued only if it can be printed: a name, subject or
ethnicity with a character no certificate font has is refused at validation, naming the
character, in the single-issue path and in a batch file; rare characters that the
fallback face draws (生僻字) pass."""

from __future__ import annotations

import datetime as dt

import pytest

from issuer.batches.reading import read_batch
from issuer.fields import ValidationFailed, validate_application
from tests.factory import applicants

ROW = applicants()[1]
TODAY = dt.date(2026, 11, 29)


def _application(**over: str) -> dict[str, str]:
    data = {
        "name": ROW["name"],
        "sex": ROW["gender"],
        "birth_date": ROW["birth_date"],
        "id_type": ROW["id_type"],
        "id_number": ROW["id_number"],
        "qualification_type": ROW["qualification_type"],
        "subject": ROW["subject"],
        "certified_on": ROW["issue_date"],
    }
    data.update(over)
    return data


@pytest.mark.parametrize("field", ["name", "subject", "ethnicity"])
def test_single_issue_refuses_an_unprintable_character_naming_it(field: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        validate_application(_application(**{field: "王𓀀"}), today=TODAY)
    (error,) = info.value.errors
    assert (error.field, error.code) == (field, "unprintable")
    assert "U+13000" in error.message and "“𓀀”" in error.message_zh


@pytest.mark.parametrize("name", ["王𬌗", "李䶮", "阿依古丽·买买提"])
def test_rare_characters_the_fallback_draws_are_accepted(name: str) -> None:
    assert validate_application(_application(name=name), today=TODAY).name == name


def test_a_batch_row_with_an_unprintable_name_is_reported_and_the_others_kept() -> None:
    header = "name,gender,birth_date,id_type,id_number,qualification_type,subject,issue_date"
    rows = [",".join(r[k] for k in header.split(",")) for r in applicants()[1:4]]
    rows[1] = rows[1].replace(applicants()[2]["name"], "张𓀀", 1)
    parsed = read_batch(("\n".join([header, *rows]) + "\n").encode(), filename="x.csv", today=TODAY)
    (error,) = parsed.errors
    assert (error.row_number, error.field, error.code) == (3, "name", "unprintable")
    assert "U+13000" in error.message_en and "𓀀" in error.message_zh
    assert len(parsed.rows) == 2
