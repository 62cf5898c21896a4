"""E-licence identifiers (证照标识, GB/T 36904, contract section 2) and their ISO/IEC 7064
MOD 37,36 check character:
``1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>``."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ._certnumber import CERTIFICATE_NUMBER_LENGTH, CertificateNumber
from ._errors import InvalidFieldError
from ._fieldtext import all_digits, clean, is_int, show, show_char

__all__ = [
    "ELICENCE_ROOT",
    "ElicenceId",
    "elicence_id",
    "mod37_36_check",
    "mod37_36_is_valid",
    "parse_elicence_id",
]

ELICENCE_ROOT = "1.2.156.3005.2"

_M36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_M36_VALUE = {ch: i for i, ch in enumerate(_M36)}


def _mod37_36_state(s: str, field: str, p: int = 36) -> int:
    """Return the running product p after ``s`` (starting from ``p``, by default 36)."""
    for i, ch in enumerate(s, start=1):
        v = _M36_VALUE.get(ch)
        if v is None:
            raise InvalidFieldError(
                field,
                "characters",
                f"only 0-9 and A-Z are allowed; character {i} is {show_char(ch)}",
                f"只允许 0-9 和 A-Z；第{i}位为{show_char(ch)}",
            )
        t = (p + v) % 36 or 36
        p = (t * 2) % 37
    return p


def mod37_36_check(s: str) -> str:
    """Return the ISO/IEC 7064 MOD 37,36 check character (from 0-9A-Z) for ``s``.

    Raises InvalidFieldError (code ``characters``) if ``s`` holds anything but 0-9A-Z.
    """
    return _M36[(1 - _mod37_36_state(s, "elicence_id")) % 36]


def mod37_36_is_valid(s: str) -> bool:
    """Return True if the last character of ``s`` is the MOD 37,36 check of the rest."""
    if not s or any(ch not in _M36_VALUE for ch in s):
        return False
    p = _mod37_36_state(s[:-1], "elicence_id")
    return (p + _M36_VALUE[s[-1]]) % 36 == 1


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_TYPE_CODE_LEN = 21
_USCC_LEN = 18
_SERIAL_MAX = 32


def _check_alnum(value: str, *, field: str, part: str, part_zh: str, length: int | None) -> None:
    """Raise InvalidFieldError unless ``value`` is 0-9A-Z of the given (or 1-32) length."""
    if length is not None and len(value) != length:
        raise InvalidFieldError(
            field,
            f"{part}_length",
            f"{part.replace('_', ' ')} must be {length} characters, got {len(value)}",
            f"{part_zh}应为{length}位，实际为{len(value)}位",
        )
    if length is None and not 1 <= len(value) <= _SERIAL_MAX:
        raise InvalidFieldError(
            field,
            f"{part}_length",
            f"{part.replace('_', ' ')} must be 1-{_SERIAL_MAX} characters, got {len(value)}",
            f"{part_zh}应为1至{_SERIAL_MAX}位，实际为{len(value)}位",
        )
    for i, ch in enumerate(value, start=1):
        if ch not in _M36_VALUE:
            raise InvalidFieldError(
                field,
                f"{part}_characters",
                f"{part.replace('_', ' ')} allows only 0-9 and A-Z; "
                f"character {i} is {show_char(ch)}",
                f"{part_zh}只允许 0-9 和 A-Z；第{i}位为{show_char(ch)}",
            )


def _check_uscc(uscc: str, field: str) -> None:
    """Raise InvalidFieldError unless ``uscc`` is a GB 32100 code with a correct check."""
    if len(uscc) != _USCC_LEN:
        raise InvalidFieldError(
            field,
            "issuer_uscc_length",
            f"issuer unified social credit code must be {_USCC_LEN} characters, got {len(uscc)}",
            f"发证机构统一社会信用代码应为{_USCC_LEN}位，实际为{len(uscc)}位",
        )
    for i, ch in enumerate(uscc, start=1):
        if ch not in _USCC_ALPHABET:
            raise InvalidFieldError(
                field,
                "issuer_uscc_characters",
                "issuer unified social credit code allows only 0-9 and A-Z without "
                f"I, O, S, V, Z; character {i} is {show_char(ch)}",
                "发证机构统一社会信用代码只允许 0-9 和除 I、O、S、V、Z 以外的大写字母；"
                f"第{i}位为{show_char(ch)}",
            )
    total = sum(_USCC_ALPHABET.index(ch) * w for ch, w in zip(uscc, _USCC_WEIGHTS, strict=False))
    expected = _USCC_ALPHABET[(31 - total % 31) % 31]
    if uscc[17] != expected:
        raise InvalidFieldError(
            field,
            "issuer_uscc_check_digit",
            f"issuer unified social credit code check character should be {expected}, "
            f"got {uscc[17]}",
            f"发证机构统一社会信用代码校验码应为{expected}，实际为{uscc[17]}",
        )


def _check_version(version: object, field: str) -> None:
    """Raise InvalidFieldError unless ``version`` is an int 1-999."""
    if not (is_int(version) and 1 <= version <= 999):
        raise InvalidFieldError(
            field,
            "version_out_of_range",
            f"version must be 1-999, got {show(version)}",
            f"版本号应在1至999之间，实际为{show(version)}",
        )


@dataclass(frozen=True, slots=True)
class ElicenceId:
    """The parts of an e-licence identifier; ``str()`` gives the full identifier."""

    type_code: str
    issuer_uscc: str
    serial: str
    version: int
    check: str

    def __str__(self) -> str:
        """Return ``1.2.156.3005.2.<type>.<uscc>.<serial>.<version>.<check>``."""
        return (
            f"{ELICENCE_ROOT}.{self.type_code}.{self.issuer_uscc}.{self.serial}."
            f"{self.version:03d}.{self.check}"
        )


def elicence_id(
    *, type_code: str, issuer_uscc: str, serial: str | CertificateNumber, version: int
) -> str:
    """Return the GB/T 36904 identifier with its MOD 37,36 check character.

    ``type_code`` is 21 characters of 0-9A-Z, ``issuer_uscc`` a valid 18-character unified
    social credit code, ``serial`` 1-32 characters of 0-9A-Z (normally the certificate
    number), ``version`` 1-999. Raises InvalidFieldError naming the offending argument.
    """
    tc, uscc, state = _office_prefix(type_code, issuer_uscc)
    if (
        type(serial) is str
        and len(serial) == CERTIFICATE_NUMBER_LENGTH
        and serial.isascii()
        and serial.isdigit()
        and type(version) is int
        and 1 <= version <= 999
    ):
        # A certificate number (17 ASCII digits: _clean leaves it as it is, and it is
        # 0-9A-Z of 1-32 characters): the state after its first 11 digits, which a
        # round's numbers share, is worked out once.
        sn = serial
        state = _prefix_state(state, sn[:11])
        rest = sn[11:]
    else:
        sn = clean(str(serial))
        _check_alnum(sn, field="serial", part="serial", part_zh="流水号", length=None)
        _check_version(version, "version")
        rest = sn
    ver = f"{version:03d}"
    check = _M36[(1 - _mod37_36_state(rest + ver, "elicence_id", state)) % 36]
    return f"{ELICENCE_ROOT}.{tc}.{uscc}.{sn}.{ver}.{check}"


@functools.lru_cache(maxsize=256)
def _prefix_state(state: int, prefix: str) -> int:
    return _mod37_36_state(prefix, "elicence_id", state)


@functools.lru_cache(maxsize=64)
def _office_prefix(type_code: str, issuer_uscc: str) -> tuple[str, str, int]:
    # An office issues tens of thousands of identifiers with the same type code and
    # issuer code: validate them, and run the check over them, once.
    tc = clean(type_code)
    uscc = clean(issuer_uscc)
    _check_alnum(
        tc, field="type_code", part="type_code", part_zh="证照类型代码", length=_TYPE_CODE_LEN
    )
    _check_uscc(uscc, "issuer_uscc")
    return tc, uscc, _mod37_36_state(tc + uscc, "elicence_id")


def parse_elicence_id(text: str, field: str = "elicence_id") -> ElicenceId:
    """Return the parts of an e-licence identifier after checking lengths and check character.

    Raises InvalidFieldError with code ``root``, ``parts``, ``type_code_length``,
    ``type_code_characters``, ``issuer_uscc_length``, ``issuer_uscc_characters``,
    ``issuer_uscc_check_digit``, ``serial_length``, ``serial_characters``,
    ``version_format``, ``version_out_of_range`` or ``check_character``.
    """
    s = clean(text)
    prefix = ELICENCE_ROOT + "."
    if not s.startswith(prefix):
        raise InvalidFieldError(
            field,
            "root",
            f"e-licence identifier must start with {ELICENCE_ROOT}",
            f"电子证照标识应以 {ELICENCE_ROOT} 开头",
        )
    parts = s[len(prefix) :].split(".")
    if len(parts) != 5:
        raise InvalidFieldError(
            field,
            "parts",
            "e-licence identifier must have 5 dot-separated parts after the root "
            f"(type code, issuer code, serial, version, check), got {len(parts)}",
            f"电子证照标识在根代码之后应有5段（类型代码、发证机构代码、流水号、版本号、校验位），"
            f"实际为{len(parts)}段",
        )
    tc, uscc, sn, ver, check = parts
    _check_alnum(tc, field=field, part="type_code", part_zh="证照类型代码", length=_TYPE_CODE_LEN)
    _check_uscc(uscc, field)
    _check_alnum(sn, field=field, part="serial", part_zh="流水号", length=None)
    if not (len(ver) == 3 and all_digits(ver)):
        raise InvalidFieldError(
            field,
            "version_format",
            f"version must be 3 digits, got '{show(ver)}'",
            f"版本号应为3位数字，实际为“{show(ver)}”",
        )
    _check_version(int(ver), field)
    expected = mod37_36_check(tc + uscc + sn + ver)
    if check != expected:
        raise InvalidFieldError(
            field,
            "check_character",
            f"check character should be {expected}, got {show(check)}",
            f"校验位应为{expected}，实际为{show(check)}",
        )
    return ElicenceId(type_code=tc, issuer_uscc=uscc, serial=sn, version=int(ver), check=check)
