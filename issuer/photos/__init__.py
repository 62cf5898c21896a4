"""The holder's photo (issue 15 point 1): a JPEG or PNG an office sends, judged by its
content and made into the one JPEG that is stored, printed, attached to the signed PDF and
bound into the credential by its SHA-256.

``normalise_photo(data)`` returns a ``Photo`` (the normalised JPEG, its SHA-256, the
credential's ``digestSRI``) or raises ``PhotoError`` (a ``credential.InvalidFieldError`` on
field ``photo``, one stable code per broken rule, English and Chinese message).
docs/formats.md ("The holder's photo") states the rules.

May import: ``credential``. No database, no web framework.
"""

from issuer.photos._normalise import (
    ASPECT_MAX,
    ASPECT_MIN,
    MAX_BYTES,
    MAX_SIDE,
    MEDIA_TYPE,
    MIN_HEIGHT,
    MIN_WIDTH,
    OUT_SIZE,
    Photo,
    PhotoError,
    digest_sri,
    normalise_photo,
    sniff_photo,
)

__all__ = [
    "ASPECT_MAX",
    "ASPECT_MIN",
    "MAX_BYTES",
    "MAX_SIDE",
    "MEDIA_TYPE",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "OUT_SIZE",
    "Photo",
    "PhotoError",
    "digest_sri",
    "normalise_photo",
    "sniff_photo",
]
