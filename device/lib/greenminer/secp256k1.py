"""secp256k1 in pure Python: keys, addresses, RFC 6979 signatures, recovery, ECDH.

Points are ``(x, y)`` tuples of ints in affine coordinates (the point at infinity never
leaves this module); inside, the arithmetic runs in Jacobian coordinates
``(X, Y, Z)`` with ``x = X/Z**2``, ``y = Y/Z**3``, so a scalar multiplication needs
only one modular inversion.

Multiples of the generator use a fixed-base table (``j * 16**i * G`` for 64 windows
``i`` and digits ``j`` = 1..15, 960 affine points) built on first use: ``k*G`` is then
at most 64 point additions and no doubling. The table takes about 150 kB, too much for
a microcontroller, so CircuitPython/MicroPython use the generic 4-bit window method
(about 256 doublings and 64 additions), which is slower but small.

Security note: Python integers do not run in constant time, so this code leaks timing
(and the table lookups leak memory-access patterns) of the secret scalar. That is
accepted for a device that signs once an hour and whose key is worth one miner's
record, not for a wallet holding funds.

Only integer arithmetic and bytes are used (no ``hashlib``, no three-argument ``pow``),
so the module runs unchanged on CircuitPython boards with long-integer support.
"""

import sys

from . import keccak as _keccak
from . import sha256 as _sha256

P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
"""Field prime, ``2**256 - 2**32 - 977``."""
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
"""Group order (the curve's cofactor is 1)."""
B = 7
"""Curve ``y**2 = x**3 + 7`` over the field of ``P``."""
GX = 0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798
GY = 0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8
G = (GX, GY)
"""Generator point."""

_HALF_N = N // 2
_WINDOW = 4  # bits per window of the scalar multiplications
_USE_G_TABLE = sys.implementation.name not in ("circuitpython", "micropython")
_g_table = None  # fixed-base table, built on first use (CPython only)


# ----------------------------------------------------------------------------
# Field helpers
# ----------------------------------------------------------------------------

def inverse(a, m):
    """Modular inverse by the extended Euclidean algorithm.

    Parameters
    ----------
    a : int
        Value to invert.
    m : int
        Modulus (``P`` or ``N``).

    Returns
    -------
    int
        ``x`` in ``[1, m)`` with ``a*x % m == 1``.

    Raises
    ------
    ValueError
        If ``a`` has no inverse modulo ``m``.
    """
    low, high = a % m, m
    lm, hm = 1, 0
    while low > 1:
        q = high // low
        lm, hm = hm - lm * q, lm
        low, high = high - low * q, low
    if low != 1:
        raise ValueError("secp256k1: value not invertible")
    return lm % m


def pow_mod(base, exp, m):
    """``base**exp % m`` by square-and-multiply (no three-argument ``pow`` on CircuitPython).

    Parameters
    ----------
    base, exp, m : int
        ``exp >= 0``, ``m > 0``.

    Returns
    -------
    int
    """
    result = 1
    base %= m
    while exp:
        if exp & 1:
            result = result * base % m
        base = base * base % m
        exp >>= 1
    return result % m


def is_on_curve(point):
    """Whether ``point = (x, y)`` is a point of secp256k1 (not the point at infinity)."""
    x, y = point
    return 0 <= x < P and 0 <= y < P and (y * y - x * x * x - B) % P == 0


def decode_point(pubkey):
    """Point from a 64-byte public key ``x ‖ y`` (big-endian).

    Raises
    ------
    ValueError
        If the length is wrong or the point is not on the curve.
    """
    if len(pubkey) != 64:
        raise ValueError("secp256k1: public key must be 64 bytes x||y")
    point = (int.from_bytes(pubkey[:32], "big"), int.from_bytes(pubkey[32:], "big"))
    if not is_on_curve(point):
        raise ValueError("secp256k1: public key is not on the curve")
    return point


def encode_point(point):
    """64-byte public key ``x ‖ y`` (big-endian) of ``point = (x, y)``."""
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


# ----------------------------------------------------------------------------
# Jacobian point arithmetic (a = 0). Infinity is any triple with Z == 0.
# ----------------------------------------------------------------------------

def _jdouble(X, Y, Z):
    if not Y or not Z:
        return (0, 1, 0)
    YY = Y * Y % P
    S = 4 * X * YY % P
    M = 3 * X * X % P
    X3 = (M * M - 2 * S) % P
    Y3 = (M * (S - X3) - 8 * YY * YY) % P
    return (X3, Y3, 2 * Y * Z % P)


def _jadd_affine(X1, Y1, Z1, x2, y2):
    """Jacobian ``(X1, Y1, Z1)`` plus affine ``(x2, y2)``."""
    if not Z1:
        return (x2, y2, 1)
    ZZ = Z1 * Z1 % P
    H = (x2 * ZZ - X1) % P
    R = (y2 * ZZ * Z1 - Y1) % P
    if not H:
        return _jdouble(X1, Y1, Z1) if not R else (0, 1, 0)
    HH = H * H % P
    HHH = H * HH % P
    V = X1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - Y1 * HHH) % P
    return (X3, Y3, Z1 * H % P)


def _jadd(X1, Y1, Z1, X2, Y2, Z2):
    """Sum of two Jacobian points."""
    if not Z1:
        return (X2, Y2, Z2)
    if not Z2:
        return (X1, Y1, Z1)
    Z1Z1 = Z1 * Z1 % P
    Z2Z2 = Z2 * Z2 % P
    U1 = X1 * Z2Z2 % P
    S1 = Y1 * Z2 * Z2Z2 % P
    H = (X2 * Z1Z1 - U1) % P
    R = (Y2 * Z1 * Z1Z1 - S1) % P
    if not H:
        return _jdouble(X1, Y1, Z1) if not R else (0, 1, 0)
    HH = H * H % P
    HHH = H * HH % P
    V = U1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - S1 * HHH) % P
    return (X3, Y3, Z1 * Z2 * H % P)


def _to_affine(X, Y, Z):
    if not Z:
        raise ValueError("secp256k1: point at infinity")
    zi = inverse(Z, P)
    zi2 = zi * zi % P
    return (X * zi2 % P, Y * zi2 * zi % P)


def _batch_to_affine(points):
    """Affine forms of many finite Jacobian points with one inversion (Montgomery's trick)."""
    prefix = []
    acc = 1
    for _, _, Z in points:
        prefix.append(acc)
        acc = acc * Z % P
    inv = inverse(acc, P)
    out = [None] * len(points)
    for i in range(len(points) - 1, -1, -1):
        X, Y, Z = points[i]
        zi = inv * prefix[i] % P
        inv = inv * Z % P
        zi2 = zi * zi % P
        out[i] = (X * zi2 % P, Y * zi2 * zi % P)
    return out


def _window_table(point):
    """Affine multiples ``1*point .. 15*point``."""
    x, y = point
    jac = [(x, y, 1)]
    for _ in range(2, 1 << _WINDOW):
        X, Y, Z = jac[-1]
        jac.append(_jadd_affine(X, Y, Z, x, y))
    return _batch_to_affine(jac)


def _jmultiply(k, point):
    """``k * point`` in Jacobian coordinates, 4-bit fixed window, ``0 <= k < 2**256``."""
    table = _window_table(point)
    acc = (0, 1, 0)
    for shift in range(256 - _WINDOW, -1, -_WINDOW):
        X, Y, Z = acc
        if Z:
            for _ in range(_WINDOW):
                X, Y, Z = _jdouble(X, Y, Z)
        digit = (k >> shift) & 15
        if digit:
            x, y = table[digit - 1]
            X, Y, Z = _jadd_affine(X, Y, Z, x, y)
        acc = (X, Y, Z)
    return acc


def _build_g_table():
    """Affine ``j * 16**i * G`` for ``i`` in 0..63 and ``j`` in 1..15, as 64 lists."""
    jac = []
    X, Y, Z = GX, GY, 1
    for _ in range(256 // _WINDOW):
        base = (X, Y, Z)
        row = [base]
        for _ in range(2, 1 << _WINDOW):
            row.append(_jadd(row[-1][0], row[-1][1], row[-1][2], X, Y, Z))
        jac.extend(row)
        X, Y, Z = _jadd(row[-1][0], row[-1][1], row[-1][2], X, Y, Z)  # 16 * base
    flat = _batch_to_affine(jac)
    step = (1 << _WINDOW) - 1
    return [flat[i:i + step] for i in range(0, len(flat), step)]


def _jmultiply_g(k):
    """``k * G`` in Jacobian coordinates, ``0 <= k < 2**256``."""
    global _g_table
    if not _USE_G_TABLE:
        return _jmultiply(k, G)
    if _g_table is None:
        _g_table = _build_g_table()
    X, Y, Z = 0, 1, 0
    for row in _g_table:
        digit = k & 15
        if digit:
            x, y = row[digit - 1]
            X, Y, Z = _jadd_affine(X, Y, Z, x, y)
        k >>= _WINDOW
    return (X, Y, Z)


def _check_scalar(k, what):
    if not 0 < k < N:
        raise ValueError("secp256k1: %s must be in [1, N-1]" % what)


# ----------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------

def multiply(k, point):
    """Scalar multiplication ``k * point`` (ECDH: the shared x is ``multiply(sk, pk)[0]``).

    Parameters
    ----------
    k : int
        Scalar in ``[1, N-1]``.
    point : tuple of 2 int
        Affine point ``(x, y)`` on the curve (see ``decode_point``).

    Returns
    -------
    tuple of 2 int
        Affine ``(x, y)`` of ``k * point``.

    Raises
    ------
    ValueError
        If ``k`` is out of range or ``point`` is not on the curve (this check stops
        invalid-curve attacks on ECDH).
    """
    _check_scalar(k, "scalar")
    if not is_on_curve(point):
        raise ValueError("secp256k1: point is not on the curve")
    if point[0] == GX and point[1] == GY:
        return _to_affine(*_jmultiply_g(k))
    return _to_affine(*_jmultiply(k, point))


def public_key(priv):
    """Uncompressed public key of a private key.

    Parameters
    ----------
    priv : int
        Private key in ``[1, N-1]``.

    Returns
    -------
    bytes
        64 bytes ``x ‖ y`` (big-endian, without the 0x04 prefix).
    """
    _check_scalar(priv, "private key")
    return encode_point(_to_affine(*_jmultiply_g(priv)))


def address(pubkey):
    """Ethereum address of a public key.

    Parameters
    ----------
    pubkey : bytes
        64 bytes ``x ‖ y``.

    Returns
    -------
    bytes
        20 bytes, the last 20 of ``keccak256(pubkey)``.
    """
    if len(pubkey) != 64:
        raise ValueError("secp256k1: public key must be 64 bytes x||y")
    return _keccak.keccak256(pubkey)[12:]


_RFC6979_ZERO_KEY = None  # hmac_key(bytes(32)), the first K of every signature


def _rfc6979_nonces(x, h1):
    """Candidate nonces of RFC 6979 §3.2 with HMAC-SHA256, ``x``/``h1`` as 32 bytes each.

    Yields ints; the caller skips candidates it cannot use and asks for the next one.
    Each HMAC key is expanded once and used for both of its messages.
    """
    global _RFC6979_ZERO_KEY
    hmac = _sha256.hmac_sha256
    expand = _sha256.hmac_key
    if _RFC6979_ZERO_KEY is None:
        _RFC6979_ZERO_KEY = expand(bytes(32))
    v = b"\x01" * 32
    k = expand(hmac(_RFC6979_ZERO_KEY, v + b"\x00" + x + h1))
    v = hmac(k, v)
    k = expand(hmac(k, v + b"\x01" + x + h1))
    v = hmac(k, v)
    while True:
        v = hmac(k, v)  # qlen = hlen = 256 bits: one HMAC gives T
        yield int.from_bytes(v, "big")
        k = expand(hmac(k, v + b"\x00"))
        v = hmac(k, v)


def sign(digest, priv):
    """ECDSA signature of a 32-byte digest, deterministic (RFC 6979) and low-s.

    Parameters
    ----------
    digest : bytes
        The 32-byte message hash (e.g. an EIP-712 digest), signed as is.
    priv : int
        Private key in ``[1, N-1]``.

    Returns
    -------
    tuple of 3 int
        ``(v, r, s)`` with ``v`` in {27, 28} (27 + parity of R.y, flipped together with
        s when s is replaced by ``N - s``), ``1 <= r < N`` and ``1 <= s <= N // 2``:
        byte for byte what eth-account's ``unsafe_sign_hash`` gives.
    """
    if len(digest) != 32:
        raise ValueError("secp256k1: digest must be 32 bytes")
    _check_scalar(priv, "private key")
    z = int.from_bytes(digest, "big") % N
    x_bytes = priv.to_bytes(32, "big")
    for k in _rfc6979_nonces(x_bytes, z.to_bytes(32, "big")):
        if not 0 < k < N:
            continue
        rx, ry = _to_affine(*_jmultiply_g(k))
        if rx >= N:
            continue  # r = rx - N would need v in {29, 30}; chance ~2**-128
        s = inverse(k, N) * (z + rx * priv) % N
        if not s:
            continue
        recid = ry & 1
        if s > _HALF_N:
            s = N - s
            recid ^= 1
        return (27 + recid, rx, s)


def recover(digest, v, r, s):
    """Public key that produced a signature (what ``ecrecover`` does, before hashing).

    Parameters
    ----------
    digest : bytes
        The 32-byte signed hash.
    v : int
        27 or 28.
    r, s : int
        Signature values in ``[1, N-1]`` (high s is accepted, as by ``ecrecover``).

    Returns
    -------
    bytes
        The 64-byte public key ``x ‖ y``.

    Raises
    ------
    ValueError
        If the signature is malformed or recovers no key.
    """
    if len(digest) != 32:
        raise ValueError("secp256k1: digest must be 32 bytes")
    if v not in (27, 28):
        raise ValueError("secp256k1: v must be 27 or 28")
    if not (0 < r < N and 0 < s < N):
        raise ValueError("secp256k1: r and s must be in [1, N-1]")
    alpha = (r * r * r + B) % P
    y = pow_mod(alpha, (P + 1) // 4, P)
    if y * y % P != alpha:
        raise ValueError("secp256k1: r is not the x of a curve point")
    if (y & 1) != v - 27:
        y = P - y
    z = int.from_bytes(digest, "big") % N
    r_inv = inverse(r, N)
    u1 = (-z * r_inv) % N
    u2 = s * r_inv % N
    X1, Y1, Z1 = _jmultiply_g(u1)
    X2, Y2, Z2 = _jmultiply(u2, (r, y))
    return encode_point(_to_affine(*_jadd(X1, Y1, Z1, X2, Y2, Z2)))
