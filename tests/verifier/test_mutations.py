"""10,000 random byte mutations of a genuine QR token, through the full pipeline.

Each mutation substitutes, inserts or deletes 1-3 bytes anywhere in the token text. The
property: a mutated token either does not verify as ``valid``, or, if it does, it carries
exactly the original claims (header and payload identical). In other words no edit an
attacker can make to the text changes what a ``valid`` answer vouches for. The only edits
expected to stay ``valid`` are whitespace added at either end (pasted input is trimmed).
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credential import extract_token, parse_jws
from tests.factory import World

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

W = World()
SNAPSHOT = W.snapshot()
STATUS = {SNAPSHOT.uri: SNAPSHOT}
ORIGINAL = W.issue().qr_token
ORIGINAL_PARSED = parse_jws(ORIGINAL)

# A replacement byte: mostly token characters (the interesting edits), sometimes anything.
BYTE = st.one_of(
    st.sampled_from(ALPHABET),
    st.sampled_from(" \t\r\n=+/\x00"),
    st.integers(0, 255).map(chr),
)
OP = st.tuples(
    st.sampled_from(("sub", "ins", "del")),
    st.integers(0, len(ORIGINAL)),
    BYTE,
)


def mutate(token: str, ops: list[tuple[str, int, str]]) -> str:
    chars = list(token)
    for kind, pos, ch in ops:
        if kind == "ins":
            chars.insert(min(pos, len(chars)), ch)
        elif not chars:
            continue
        elif kind == "sub":
            chars[pos % len(chars)] = ch
        else:
            del chars[pos % len(chars)]
    return "".join(chars)


def test_random_mutations_never_change_what_a_valid_answer_vouches_for() -> None:
    outcomes: Counter[str] = Counter()
    assert W.verify(ORIGINAL, status=STATUS).verdict == "valid"

    @settings(
        max_examples=10_000,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(ops=st.lists(OP, min_size=1, max_size=3))
    def check(ops: list[tuple[str, int, str]]) -> None:
        mutated = mutate(ORIGINAL, ops)
        result = W.verify(mutated, status=STATUS)  # never raises for any input
        if result.verdict != "valid":
            assert result.reason is not None
            outcomes[f"refused:{result.reason}"] += 1
            return
        # Still valid: it must be the very same token once the pasted text is trimmed.
        parsed = parse_jws(extract_token(mutated))
        assert parsed.payload == ORIGINAL_PARSED.payload
        assert parsed.header == ORIGINAL_PARSED.header
        assert parsed.signature == ORIGINAL_PARSED.signature
        outcomes["valid-identical" if mutated == ORIGINAL else "valid-trimmed"] += 1
        assert mutated.strip() == ORIGINAL

    check()
    print(f"mutation outcomes: {dict(outcomes)}")
    refused = sum(n for k, n in outcomes.items() if k.startswith("refused:"))
    assert refused > 9_000
    assert set(outcomes) <= {
        "refused:malformed",
        "refused:bad_signature",
        "refused:unknown_issuer",
        "valid-trimmed",
        "valid-identical",
    }
