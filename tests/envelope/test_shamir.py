"""Shamir sharing over GF(2^8): the field, exhaustive reconstruction, and secrecy of k−1 shares."""

from __future__ import annotations

import itertools
import os
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidding.envelope import shamir


def slow_mul(a: int, b: int) -> int:
    """Carry-less multiply then reduce by x^8+x^4+x^3+x+1: an independent reference for the tables."""
    product = 0
    for bit in range(8):
        if b >> bit & 1:
            product ^= a << bit
    for bit in range(14, 7, -1):
        if product >> bit & 1:
            product ^= 0x11B << (bit - 8)
    return product


def test_field_multiplication_matches_the_reference_everywhere():
    assert shamir.gf_mul(0x57, 0x83) == 0xC1  # FIPS-197 §4.2 worked example
    for a in range(256):
        for b in range(256):
            assert shamir.gf_mul(a, b) == slow_mul(a, b)


def test_division_inverts_multiplication():
    for a in range(256):
        for b in range(1, 256):
            assert shamir.gf_div(shamir.gf_mul(a, b), b) == a
    with pytest.raises(ZeroDivisionError):
        shamir.gf_div(1, 0)


def test_share_layout_is_index_then_bytes():
    shares = shamir.split(b"\x00" * 32, 2, 3)
    assert [share[0] for share in shares] == [1, 2, 3]
    assert all(len(share) == 33 for share in shares)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_every_subset_of_at_least_k_shares_rebuilds_and_smaller_ones_do_not(n):
    secret = os.urandom(32)
    for k in range(1, n + 1):
        shares = shamir.split(secret, k, n)
        for size in range(1, n + 1):
            for subset in itertools.combinations(shares, size):
                rebuilt = shamir.combine(list(subset))
                if size >= k:
                    assert rebuilt == secret
                else:
                    # A random 32-byte value equals the secret with probability 2^-256.
                    assert rebuilt != secret


def test_fixed_polynomial_gives_the_expected_values():
    # f(x) = 0x42 + x + 0x02·x² over GF(2^8), checked point by point.
    shares = shamir.split_with_coefficients(b"\x42", 3, 4, bytes([0x01, 0x02]))
    for share in shares:
        x = share[0]
        assert share[1] == 0x42 ^ x ^ shamir.gf_mul(0x02, shamir.gf_mul(x, x))
    assert shamir.combine(shares[1:]) == b"\x42"


def test_k_minus_one_shares_are_uniform_whatever_the_secret():
    # k = 2: share 1's byte is s ^ a1, uniform over a1 for every s.
    for secret in range(256):
        seen = Counter(shamir.split_with_coefficients(bytes([secret]), 2, 3, bytes([a1]))[0][1] for a1 in range(256))
        assert len(seen) == 256
    # k = 3: the pair (share 1, share 3) is a bijection of (a1, a2) for each secret tried.
    for secret in (0x00, 0x5A, 0xFF):
        pairs = set()
        for a1 in range(256):
            for a2 in range(256):
                shares = shamir.split_with_coefficients(bytes([secret]), 3, 3, bytes([a1, a2]))
                pairs.add((shares[0][1], shares[2][1]))
        assert len(pairs) == 65536


@settings(max_examples=60, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=40),
    n=st.integers(min_value=1, max_value=8),
    data=st.data(),
)
def test_any_k_shares_rebuild(secret, n, data):
    k = data.draw(st.integers(min_value=1, max_value=n))
    shares = shamir.split(secret, k, n)
    chosen = data.draw(st.lists(st.sampled_from(range(n)), min_size=k, max_size=n, unique=True))
    assert shamir.combine([shares[i] for i in chosen]) == secret


@settings(max_examples=60, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=8),
    other=st.binary(min_size=1, max_size=8),
    n=st.integers(min_value=2, max_value=6),
    data=st.data(),
)
def test_k_minus_one_shares_are_consistent_with_every_secret(secret, other, n, data):
    """Any k−1 shares could come from any other secret: there is a polynomial for it through the same points."""
    other = (other * len(secret))[: len(secret)]
    k = data.draw(st.integers(min_value=2, max_value=n))
    shares = shamir.split(secret, k, n)
    seen = data.draw(st.lists(st.sampled_from(range(n)), min_size=k - 1, max_size=k - 1, unique=True))
    coefficients = bytearray((k - 1) * len(secret))
    for b in range(len(secret)):
        points = [(0, other[b])] + [(shares[i][0], shares[i][b + 1]) for i in seen]
        poly = shamir.interpolate_coefficients(points)
        assert len(poly) == k
        for j in range(1, k):
            coefficients[(j - 1) * len(secret) + b] = poly[j]
    alternative = shamir.split_with_coefficients(other, k, n, bytes(coefficients))
    for i in seen:
        assert alternative[i] == shares[i]
    assert shamir.combine(alternative[:k]) == other


def test_combine_refuses_inconsistent_input():
    shares = shamir.split(b"secret-key-bytes", 2, 3)
    with pytest.raises(ValueError):
        shamir.combine([shares[0], shares[0]])
    with pytest.raises(ValueError):
        shamir.combine([shares[0], shares[1][:-1]])
    with pytest.raises(ValueError):
        shamir.combine([b"\x00" + shares[0][1:], shares[1]])
    with pytest.raises(ValueError):
        shamir.split(b"x", 0, 3)
    with pytest.raises(ValueError):
        shamir.split(b"x", 4, 3)
    with pytest.raises(ValueError):
        shamir.split(b"x", 2, 256)


@settings(max_examples=50, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=32),
    k=st.integers(1, 5),
    extra=st.integers(1, 4),
    data=st.data(),
)
def test_shares_of_one_dealing_are_consistent_in_any_order_and_one_changed_byte_is_not(secret, k, extra, data):
    n = k + extra
    shares = shamir.split(secret, k, n)
    order = data.draw(st.permutations(shares))
    assert shamir.off_polynomial(order, k) == []
    assert shamir.interpolate_at(order[:k], 0) == secret
    # Move one share off the polynomials by one byte: whichever k shares come first, some share is off.
    victim = data.draw(st.integers(0, n - 1))
    position = data.draw(st.integers(1, len(secret)))
    changed = bytearray(shares[victim])
    changed[position] ^= data.draw(st.integers(1, 255))
    bad = [*shares[:victim], bytes(changed), *shares[victim + 1 :]]
    assert shamir.off_polynomial(data.draw(st.permutations(bad)), k) != []
