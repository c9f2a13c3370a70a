"""Keccak-256 as used by Ethereum, in pure Python.

This is the original Keccak submission (padding byte 0x01), not the standardised
SHA3-256 (padding 0x06): ``keccak256(b"")`` is ``c5d2460186f7...a470``.

The permutation works on 25 lanes held as Python ints of 64 bits, with one round
written out in full (theta, rho and pi merged, chi, iota), so the interpreter spends its
time on integer operations rather than on indexing. It runs unchanged on CPython and
CircuitPython (which needs long-integer support, as on every board with enough RAM for
secp256k1).
"""

RATE = 136
"""Bytes absorbed per permutation [bytes] (1088 bits; capacity 512 bits)."""

M = 0xFFFFFFFFFFFFFFFF  # 64-bit lane mask

# Round constants of iota, one per round (24 rounds).
_RC = (
    0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
    0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
    0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
    0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
    0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
    0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
)

_ZERO_STATE = (0,) * 25


def _permute(s):
    """Apply Keccak-f[1600] to a state.

    Parameters
    ----------
    s : list or tuple of 25 int
        Lanes, index ``x + 5*y``, each a 64-bit unsigned int.

    Returns
    -------
    list of 25 int
        The permuted lanes.
    """
    (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
     a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24) = s
    for rc in _RC:
        # theta: column parities c[x], then d[x] = c[x-1] ^ rot(c[x+1], 1)
        c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20
        c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21
        c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22
        c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23
        c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24
        d0 = c4 ^ (((c1 << 1) | (c1 >> 63)) & M)
        d1 = c0 ^ (((c2 << 1) | (c2 >> 63)) & M)
        d2 = c1 ^ (((c3 << 1) | (c3 >> 63)) & M)
        d3 = c2 ^ (((c4 << 1) | (c4 >> 63)) & M)
        d4 = c3 ^ (((c0 << 1) | (c0 >> 63)) & M)
        # rho and pi: b[y, 2x+3y] = rot(a[x, y] ^ d[x], r[x, y])
        b0 = a0 ^ d0
        t = a1 ^ d1
        b10 = ((t << 1) | (t >> 63)) & M
        t = a2 ^ d2
        b20 = ((t << 62) | (t >> 2)) & M
        t = a3 ^ d3
        b5 = ((t << 28) | (t >> 36)) & M
        t = a4 ^ d4
        b15 = ((t << 27) | (t >> 37)) & M
        t = a5 ^ d0
        b16 = ((t << 36) | (t >> 28)) & M
        t = a6 ^ d1
        b1 = ((t << 44) | (t >> 20)) & M
        t = a7 ^ d2
        b11 = ((t << 6) | (t >> 58)) & M
        t = a8 ^ d3
        b21 = ((t << 55) | (t >> 9)) & M
        t = a9 ^ d4
        b6 = ((t << 20) | (t >> 44)) & M
        t = a10 ^ d0
        b7 = ((t << 3) | (t >> 61)) & M
        t = a11 ^ d1
        b17 = ((t << 10) | (t >> 54)) & M
        t = a12 ^ d2
        b2 = ((t << 43) | (t >> 21)) & M
        t = a13 ^ d3
        b12 = ((t << 25) | (t >> 39)) & M
        t = a14 ^ d4
        b22 = ((t << 39) | (t >> 25)) & M
        t = a15 ^ d0
        b23 = ((t << 41) | (t >> 23)) & M
        t = a16 ^ d1
        b8 = ((t << 45) | (t >> 19)) & M
        t = a17 ^ d2
        b18 = ((t << 15) | (t >> 49)) & M
        t = a18 ^ d3
        b3 = ((t << 21) | (t >> 43)) & M
        t = a19 ^ d4
        b13 = ((t << 8) | (t >> 56)) & M
        t = a20 ^ d0
        b14 = ((t << 18) | (t >> 46)) & M
        t = a21 ^ d1
        b24 = ((t << 2) | (t >> 62)) & M
        t = a22 ^ d2
        b9 = ((t << 61) | (t >> 3)) & M
        t = a23 ^ d3
        b19 = ((t << 56) | (t >> 8)) & M
        t = a24 ^ d4
        b4 = ((t << 14) | (t >> 50)) & M
        # chi (x ^ M is the 64-bit complement of x), iota on lane 0
        a0 = b0 ^ ((b1 ^ M) & b2) ^ rc
        a1 = b1 ^ ((b2 ^ M) & b3)
        a2 = b2 ^ ((b3 ^ M) & b4)
        a3 = b3 ^ ((b4 ^ M) & b0)
        a4 = b4 ^ ((b0 ^ M) & b1)
        a5 = b5 ^ ((b6 ^ M) & b7)
        a6 = b6 ^ ((b7 ^ M) & b8)
        a7 = b7 ^ ((b8 ^ M) & b9)
        a8 = b8 ^ ((b9 ^ M) & b5)
        a9 = b9 ^ ((b5 ^ M) & b6)
        a10 = b10 ^ ((b11 ^ M) & b12)
        a11 = b11 ^ ((b12 ^ M) & b13)
        a12 = b12 ^ ((b13 ^ M) & b14)
        a13 = b13 ^ ((b14 ^ M) & b10)
        a14 = b14 ^ ((b10 ^ M) & b11)
        a15 = b15 ^ ((b16 ^ M) & b17)
        a16 = b16 ^ ((b17 ^ M) & b18)
        a17 = b17 ^ ((b18 ^ M) & b19)
        a18 = b18 ^ ((b19 ^ M) & b15)
        a19 = b19 ^ ((b15 ^ M) & b16)
        a20 = b20 ^ ((b21 ^ M) & b22)
        a21 = b21 ^ ((b22 ^ M) & b23)
        a22 = b22 ^ ((b23 ^ M) & b24)
        a23 = b23 ^ ((b24 ^ M) & b20)
        a24 = b24 ^ ((b20 ^ M) & b21)

    return [a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12,
            a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24]


def _absorb(state, data, end):
    """Absorb the full ``RATE``-byte blocks of ``data[:end]`` into ``state``.

    ``end`` must be a multiple of ``RATE``. Returns the new state (a list).
    """
    s = list(state)
    for off in range(0, end, RATE):
        for i in range(17):
            p = off + 8 * i
            s[i] ^= int.from_bytes(data[p:p + 8], "little")
        s = _permute(s)
    return s


def absorb(prefix):
    """Absorb a prefix once, to hash many messages that share it.

    Parameters
    ----------
    prefix : bytes
        A whole number of ``RATE`` (136) byte blocks.

    Returns
    -------
    tuple of 25 int
        The sponge state after the prefix, for ``keccak256(data, state)``.

    Raises
    ------
    ValueError
        If ``len(prefix)`` is not a multiple of 136.
    """
    if len(prefix) % RATE:
        raise ValueError("keccak: prefix length must be a multiple of 136 bytes")
    return tuple(_absorb(_ZERO_STATE, prefix, len(prefix)))


def keccak256(data, state=None):
    """Keccak-256 digest (Ethereum's ``keccak256``).

    Parameters
    ----------
    data : bytes or bytearray
        The message.
    state : tuple of 25 int, optional
        A state from ``absorb(prefix)``; the result is then
        ``keccak256(prefix + data)``, without absorbing ``prefix`` again.

    Returns
    -------
    bytes
        The 32-byte digest.
    """
    n = len(data)
    full = n - n % RATE
    s = _absorb(state or _ZERO_STATE, data, full)
    # Last block: the remaining bytes, then pad10*1 with Keccak's 0x01 domain byte.
    block = bytearray(data[full:])
    block.extend(bytes(RATE - (n - full)))
    block[n - full] ^= 0x01
    block[RATE - 1] ^= 0x80
    for i in range(17):
        s[i] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
    s = _permute(s)
    return (s[0].to_bytes(8, "little") + s[1].to_bytes(8, "little")
            + s[2].to_bytes(8, "little") + s[3].to_bytes(8, "little"))


# The same two functions, compiled, where the interpreter has them (CPython with pycryptodome:
# the simulated boards, the gateway, the tests). A board runs the pure-Python sponge above; both
# stay importable as ``pure_absorb`` and ``pure_keccak256`` so that tests hold them equal.
pure_absorb, pure_keccak256 = absorb, keccak256

try:
    from Crypto.Hash.keccak import new as _compiled
except ImportError:
    _compiled = None

if _compiled is not None:
    def absorb(prefix):  # noqa: F811 - the compiled form of the function above
        """Absorb a prefix once (here: keep it; the state is opaque to callers)."""
        if len(prefix) % RATE:
            raise ValueError("keccak: prefix length must be a multiple of 136 bytes")
        return bytes(prefix)

    def keccak256(data, state=None):  # noqa: F811 - the compiled form of the function above
        """Keccak-256 digest of ``data``, after the prefix ``state`` from ``absorb`` if given."""
        return _compiled(digest_bits=256, data=(state or b"") + bytes(data)).digest()
