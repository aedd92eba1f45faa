"""Shamir secret sharing over GF(2^8), byte by byte — the scheme of HashiCorp Vault's ``shamir`` package.

The field is GF(2^8) with the AES reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11b). For each secret byte s a
polynomial f(x) = s + a_1 x + … + a_{k-1} x^{k-1} is drawn with uniformly random coefficients (zero allowed, which
is what makes any k−1 shares independent of the secret); share i is the byte i followed by f(i) for every secret
byte. Unlike Vault, the x-coordinates are fixed: share i belongs to opener i, i = 1 … n.

Pure Python table arithmetic is not constant-time; the shares it handles are data keys that are published after
the opening anyway, and splitting happens on the bidder's own machine.

Interpolation multiplies whole shares by one field element at a time: that is ``bytes.translate`` with the element's
256-byte multiplication table, and the sum is an XOR of the shares as big integers — a few microseconds per share,
where byte-by-byte arithmetic took tens (an opening combines two shares of every envelope of every bid).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping, Sequence

MAX_SHARES = 255

_EXP = [0] * 512
_LOG = [0] * 256


def _build_tables() -> None:
    value = 1
    for power in range(255):
        _EXP[power] = value
        _LOG[value] = power
        # multiply by the generator 0x03: v*2 xor v, reduced by 0x11b
        doubled = value << 1
        if doubled & 0x100:
            doubled ^= 0x11B
        value = doubled ^ value
    for power in range(255, 512):
        _EXP[power] = _EXP[power - 255]


_build_tables()

#: ``_MUL_TABLES[c]`` maps each byte b to c·b: multiplying a whole byte string by c is ``data.translate(table)``.
_MUL_TABLES = [bytes(0 if c == 0 or b == 0 else _EXP[_LOG[c] + _LOG[b]] for b in range(256)) for c in range(256)]


def gf_mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def gf_div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(2^8)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] - _LOG[b] + 255]


def evaluate(coefficients: Sequence[int], x: int) -> int:
    """f(x) for f = coefficients[0] + coefficients[1] x + … (Horner's rule)."""
    result = 0
    for coefficient in reversed(coefficients):
        result = gf_mul(result, x) ^ coefficient
    return result


def split_with_coefficients(secret: bytes, k: int, n: int, coefficients: bytes) -> list[bytes]:
    """Split with given random coefficients (``(k−1)·len(secret)`` bytes).

    ``coefficients[(j−1)·L + b]`` is a_j for secret byte b (L = ``len(secret)``): the layout the test vectors use.
    """
    _check_parameters(k, n)
    length = len(secret)
    if len(coefficients) != (k - 1) * length:
        raise ValueError(f"need {(k - 1) * length} coefficient bytes, got {len(coefficients)}")
    polynomials = [[secret[b]] + [coefficients[(j - 1) * length + b] for j in range(1, k)] for b in range(length)]
    return [bytes([x]) + bytes(evaluate(poly, x) for poly in polynomials) for x in range(1, n + 1)]


def split(secret: bytes, k: int, n: int, random_bytes: Callable[[int], bytes] = os.urandom) -> list[bytes]:
    """n shares of ``secret``, any k of which rebuild it; share i (1-based) is ``bytes([i]) + y``."""
    _check_parameters(k, n)
    return split_with_coefficients(secret, k, n, random_bytes((k - 1) * len(secret)))


def combine(shares: Mapping[int, bytes] | Sequence[bytes]) -> bytes:
    """Rebuild the secret from shares (Lagrange interpolation at x = 0). Give exactly the shares to use.

    With fewer than k shares the result is a meaningless value, not an error: the caller checks it against a
    commitment.
    """
    return interpolate_at(shares, 0)


def interpolate_at(shares: Mapping[int, bytes] | Sequence[bytes], x: int) -> bytes:
    """The y-bytes at ``x`` of the polynomials (one per secret byte) of degree < len(shares) through ``shares``.

    At x = 0 this is the secret; at the x of another share it is what that share must hold if it was dealt from
    the same polynomials (:func:`off_polynomial`).
    """
    items = list(shares.values()) if isinstance(shares, Mapping) else list(shares)
    if not items:
        raise ValueError("no shares")
    length = len(items[0])
    if length < 2 or any(len(share) != length for share in items):
        raise ValueError("shares must all have the same length, at least 2 bytes")
    xs = [share[0] for share in items]
    if 0 in xs or len(set(xs)) != len(xs):
        raise ValueError("share x-coordinates must be distinct and non-zero")
    if not 0 <= x <= 255:
        raise ValueError("x is a byte")
    weights = _lagrange_weights(tuple(xs), x)
    total = 0
    for share, weight in zip(items, weights, strict=True):
        total ^= int.from_bytes(bytes(share[1:]).translate(_MUL_TABLES[weight]))
    return total.to_bytes(length - 1)


@functools.lru_cache(maxsize=1024)
def _lagrange_weights(xs: tuple[int, ...], x: int) -> tuple[int, ...]:
    """The Lagrange basis at x: l_i(x) = Π_{j≠i} (x − x_j) / (x_i − x_j); in GF(2^8) subtraction is xor. (The same
    few index sets recur for every bid of an opening.)"""
    weights = []
    for i, x_i in enumerate(xs):
        weight = 1
        for j, x_j in enumerate(xs):
            if i != j:
                weight = gf_mul(weight, gf_div(x ^ x_j, x_i ^ x_j))
        weights.append(weight)
    return tuple(weights)


def off_polynomial(shares: Sequence[bytes], k: int) -> list[int]:
    """The x-coordinates of the shares that do not lie on the polynomials through the first k of ``shares``.

    Empty exactly when all the shares were dealt from one set of polynomials of degree < k — whichever k of them
    are taken first: if they all lie on one polynomial, any k determine it; if they do not, any k leave some
    share off it. So "consistent or not" depends only on the set of shares, never on their order.
    """
    if len(shares) < k:
        raise ValueError(f"need at least k = {k} shares")
    base = list(shares[:k])
    return [share[0] for share in shares[k:] if interpolate_at(base, share[0]) != bytes(share[1:])]


def interpolate_coefficients(points: Sequence[tuple[int, int]]) -> list[int]:
    """The coefficients (constant first) of the unique polynomial of degree < len(points) through ``points``."""
    degree = len(points)
    result = [0] * degree
    for i, (x_i, y_i) in enumerate(points):
        # basis polynomial Π_{j≠i} (x − x_j) / (x_i − x_j), built up coefficient by coefficient
        basis = [1]
        denominator = 1
        for j, (x_j, _) in enumerate(points):
            if i == j:
                continue
            shifted = [0, *basis]
            for power, coefficient in enumerate(basis):
                shifted[power] ^= gf_mul(coefficient, x_j)
            basis = shifted
            denominator = gf_mul(denominator, x_i ^ x_j)
        scale = gf_div(y_i, denominator)
        for power, coefficient in enumerate(basis):
            result[power] ^= gf_mul(coefficient, scale)
    return result


def _check_parameters(k: int, n: int) -> None:
    if not (1 <= k <= n <= MAX_SHARES):
        raise ValueError(f"need 1 <= k <= n <= {MAX_SHARES}, got k={k}, n={n}")
