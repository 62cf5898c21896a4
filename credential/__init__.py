"""Jiaozi's pure core: identifiers, canonical JSON, JWS, QR token, status list, trust list,
restricted list, the verification pipeline, and the rules on proxies, hosts and origins
both web layers apply. No network, no database, no web framework:
both services import it, and a test keeps it that way. It imports nothing of ours.

Everything public is re-exported here; the underscored modules are implementation.
"""

from ._b64 import b64url_decode, b64url_encode
from ._canonical import canonical_json, strict_json_loads
from ._certnumber import CertificateNumber
from ._credential import (
    CREDENTIAL_TYP,
    QR_TYP,
    Certificate,
    IssuedTokens,
    QrClaims,
    StatusReference,
    certificate_from_claims,
    credential_claims,
    credential_digest,
    qr_claims,
    sign_certificate,
    sign_purpose_copy,
)
from ._elicence import ElicenceId, elicence_id, mod37_36_check, parse_elicence_id
from ._errors import (
    CredentialError,
    InputTooLargeError,
    InvalidFieldError,
    MalformedError,
    RestrictionListError,
    RollbackError,
    SignatureError,
    StatusListError,
    TrustListError,
)
from ._hosts import HostRules, parse_host_list, parse_proxy_list
from ._iddocs import IdType, mask_id, normalise_id, person_key, validate_resident_id
from ._jws import MAX_TOKEN_LENGTH, ParsedJWS, encode_jws, parse_jws
from ._keys import Algorithm, KeySigner, PublicKey, Signer, is_small_order_ed25519
from ._kinds import QualificationType, Sex
from ._language import preferred_language
from ._qr import decode_transport, encode_transport, extract_token, qr_segments, qr_url
from ._restrictions import (
    RESTRICTION_CATEGORIES,
    RESTRICTIONS_TYP,
    RestrictionDocument,
    RestrictionRecord,
    load_restrictions,
    restriction_entry_claim,
    restrictions_changes_claims,
    restrictions_snapshot_claims,
    sign_restrictions,
)
from ._result import CertificateView, Check, Reason, Verdict, VerificationResult
from ._statuslist import (
    MIN_LIST_SIZE,
    IndexAllocator,
    StatusList,
    StatusValue,
    parse_status_list_claims,
    status_list_claims,
)
from ._statustoken import STATUS_LIST_TYP, StatusSnapshot, load_status_list
from ._time import BEIJING, as_utc, beijing_date, rfc3339
from ._trust import TRUST_LIST_TYP, Office, TrustList, sign_trust_list, verify_trust_list
from ._verify import RestrictionLookup, VerifyPolicy, person_reference, verify

__all__ = [
    "BEIJING",
    "CREDENTIAL_TYP",
    "MAX_TOKEN_LENGTH",
    "MIN_LIST_SIZE",
    "QR_TYP",
    "RESTRICTIONS_TYP",
    "RESTRICTION_CATEGORIES",
    "STATUS_LIST_TYP",
    "TRUST_LIST_TYP",
    "Algorithm",
    "Certificate",
    "CertificateNumber",
    "CertificateView",
    "Check",
    "CredentialError",
    "ElicenceId",
    "HostRules",
    "IdType",
    "IndexAllocator",
    "InputTooLargeError",
    "InvalidFieldError",
    "IssuedTokens",
    "KeySigner",
    "MalformedError",
    "Office",
    "ParsedJWS",
    "PublicKey",
    "QrClaims",
    "QualificationType",
    "Reason",
    "RestrictionDocument",
    "RestrictionListError",
    "RestrictionLookup",
    "RestrictionRecord",
    "RollbackError",
    "Sex",
    "SignatureError",
    "Signer",
    "StatusList",
    "StatusListError",
    "StatusReference",
    "StatusSnapshot",
    "StatusValue",
    "TrustList",
    "TrustListError",
    "Verdict",
    "VerificationResult",
    "VerifyPolicy",
    "as_utc",
    "b64url_decode",
    "b64url_encode",
    "beijing_date",
    "canonical_json",
    "certificate_from_claims",
    "credential_claims",
    "credential_digest",
    "decode_transport",
    "elicence_id",
    "encode_jws",
    "encode_transport",
    "extract_token",
    "is_small_order_ed25519",
    "load_restrictions",
    "load_status_list",
    "mask_id",
    "mod37_36_check",
    "normalise_id",
    "parse_elicence_id",
    "parse_host_list",
    "parse_jws",
    "parse_proxy_list",
    "parse_status_list_claims",
    "person_key",
    "person_reference",
    "preferred_language",
    "qr_claims",
    "qr_segments",
    "qr_url",
    "restriction_entry_claim",
    "restrictions_changes_claims",
    "restrictions_snapshot_claims",
    "rfc3339",
    "sign_certificate",
    "sign_purpose_copy",
    "sign_restrictions",
    "sign_trust_list",
    "status_list_claims",
    "strict_json_loads",
    "validate_resident_id",
    "verify",
    "verify_trust_list",
]
