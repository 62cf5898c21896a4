"""Random status-list indices (credential.IndexAllocator): herd privacy needs every index
drawn uniformly from the free ones, never twice, until the list is full."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from credential._errors import StatusListError
from credential._statuslist import MIN_LIST_SIZE, IndexAllocator

# --- index allocation -----------------------------------------------------------------------


def test_allocator_fills_the_list_without_duplicates() -> None:
    alloc = IndexAllocator(MIN_LIST_SIZE, rng=random.Random(1))
    start = time.perf_counter()
    drawn = [alloc.allocate() for _ in range(MIN_LIST_SIZE)]
    elapsed = time.perf_counter() - start
    assert sorted(drawn) == list(range(MIN_LIST_SIZE))
    assert alloc.remaining == 0
    assert elapsed < 10.0
    with pytest.raises(StatusListError, match="full"):
        alloc.allocate()
    with pytest.raises(StatusListError):
        alloc.allocate_many(1)


def test_allocator_is_reproducible_with_a_seeded_rng() -> None:
    first = IndexAllocator(MIN_LIST_SIZE, rng=random.Random(2024)).allocate_many(1000)
    second = IndexAllocator(MIN_LIST_SIZE, rng=random.Random(2024)).allocate_many(1000)
    other = IndexAllocator(MIN_LIST_SIZE, rng=random.Random(2025)).allocate_many(1000)
    assert first == second
    assert first != other
    assert len(set(first)) == 1000


def test_allocator_draws_spread_over_the_list() -> None:
    drawn = IndexAllocator(MIN_LIST_SIZE, rng=random.Random(5)).allocate_many(1000)
    low = sum(1 for i in drawn if i < MIN_LIST_SIZE // 2)
    assert 400 < low < 600
    assert min(drawn) < MIN_LIST_SIZE // 8
    assert max(drawn) > MIN_LIST_SIZE - MIN_LIST_SIZE // 8
    # Not sequential: herd privacy means no predictable next index.
    assert drawn != sorted(drawn)


def test_allocator_default_rng_is_system_random() -> None:
    alloc = IndexAllocator(64)
    assert isinstance(alloc._rng, random.SystemRandom)
    assert sorted(alloc.allocate_many(64)) == list(range(64))


def test_allocator_bulk_system_draws_are_fresh_and_spread() -> None:
    # The default (system) randomness is read in bulk for many draws at once.
    size = 1000  # not a power of two: words past the list are rejected
    used = set(range(0, size, 4))
    alloc = IndexAllocator(size, used=used)
    drawn = alloc.allocate_many(250)
    assert len(set(drawn)) == 250
    assert all(0 <= i < size and i not in used for i in drawn)
    assert alloc.remaining == size - 250 - 250
    # past half used the explicit free array takes over; still all fresh, then full
    rest = alloc.allocate_many(alloc.remaining)
    assert sorted(set(drawn) | set(rest) | used) == list(range(size))
    # uniform over the free indices: each of 8 slices of MIN_LIST_SIZE gets ~1/8
    counts = [0] * 8
    for i in IndexAllocator(MIN_LIST_SIZE).allocate_many(8000):
        counts[i * 8 // MIN_LIST_SIZE] += 1
    assert all(800 < c < 1200 for c in counts), counts


def test_allocator_respects_used_indices() -> None:
    size = 1000
    alloc = IndexAllocator(size, used=range(0, size, 2), rng=random.Random(3))
    assert alloc.remaining == 500
    drawn = alloc.allocate_many(500)
    assert sorted(drawn) == list(range(1, size, 2))
    with pytest.raises(StatusListError, match="full"):
        alloc.allocate()


def test_allocator_nearly_full_is_fast() -> None:
    free = {5, 77, 1000, 65536, 131071}
    used = (i for i in range(MIN_LIST_SIZE) if i not in free)
    alloc = IndexAllocator(MIN_LIST_SIZE, used=used, rng=random.Random(4))
    start = time.perf_counter()
    drawn = alloc.allocate_many(5)
    assert time.perf_counter() - start < 1.0
    assert set(drawn) == free
    with pytest.raises(StatusListError, match="full"):
        alloc.allocate()


def test_allocator_duplicate_used_counted_once() -> None:
    alloc = IndexAllocator(4, used=[1, 1, 2], rng=random.Random(0))
    assert alloc.remaining == 2
    assert sorted(alloc.allocate_many(2)) == [0, 3]


def test_allocate_many_is_all_or_nothing() -> None:
    alloc = IndexAllocator(10, rng=random.Random(6))
    alloc.allocate_many(7)
    with pytest.raises(StatusListError, match="3 free"):
        alloc.allocate_many(4)
    assert alloc.remaining == 3
    assert alloc.allocate_many(0) == []
    assert len(set(alloc.allocate_many(3))) == 3


@pytest.mark.parametrize(
    ("size", "used"),
    [(0, ()), (-5, ()), (True, ()), (10, (10,)), (10, (-1,)), (10, (True,)), (10, ("1",))],
)
def test_allocator_refuses_bad_arguments(size: Any, used: Any) -> None:
    with pytest.raises(StatusListError):
        IndexAllocator(size, used=used)


@pytest.mark.parametrize("n", [-1, True, 1.0])
def test_allocate_many_refuses_bad_n(n: Any) -> None:
    alloc = IndexAllocator(10, rng=random.Random(0))
    with pytest.raises(StatusListError):
        alloc.allocate_many(n)
    assert alloc.remaining == 10
