"""SHA-256 and HMAC-SHA256 in pure Python (FIPS 180-4, RFC 2104).

CircuitPython's ``hashlib`` is not present on every board, and RFC 6979 signing and
the epoch lottery seed both need SHA-256, so the device carries its own. Words are
Python ints masked to 32 bits; the 64 rounds run in a loop over local variables.
"""

BLOCK = 64
"""Bytes per compression [bytes]."""

_M32 = 0xFFFFFFFF

_K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)

_H0 = (0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
       0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19)


def _compress(state, data, off):
    """Compress the 64-byte block ``data[off:off+64]`` into ``state``.

    Parameters
    ----------
    state : tuple of 8 int
        Chaining value, 32-bit words.
    data : bytes or bytearray
        Buffer holding the block.
    off : int
        Offset of the block in ``data`` [bytes].

    Returns
    -------
    tuple of 8 int
        The new chaining value.

    Notes
    -----
    A 32-bit rotation is a shift of the doubled word ``x | x << 32``; the bits left
    above bit 31 by shifts and sums are cleared by the final masks, since the low 32
    bits of a sum depend only on the low 32 bits of its terms. Eight rounds are written
    out with the working variables renamed, instead of shuffled, from one to the next.
    """
    M = _M32
    w = [int.from_bytes(data[off + 4 * i:off + 4 * i + 4], "big") for i in range(16)]
    for i in range(16, 64):
        x = w[i - 15]
        x2 = x | (x << 32)
        y = w[i - 2]
        y2 = y | (y << 32)
        w.append((w[i - 16] + ((x2 >> 7) ^ (x2 >> 18) ^ (x >> 3)) + w[i - 7]
                  + ((y2 >> 17) ^ (y2 >> 19) ^ (y >> 10))) & M)
    kw = [k + x for k, x in zip(_K, w)]
    a, b, c, d, e, f, g, h = state
    for i in range(0, 64, 8):
        x = e | (e << 32)
        t = h + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (g ^ (e & (f ^ g))) + kw[i + 0]
        d = (d + t) & M
        x = a | (a << 32)
        h = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((a & b) | (c & (a | b)))) & M
        x = d | (d << 32)
        t = g + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (f ^ (d & (e ^ f))) + kw[i + 1]
        c = (c + t) & M
        x = h | (h << 32)
        g = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((h & a) | (b & (h | a)))) & M
        x = c | (c << 32)
        t = f + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (e ^ (c & (d ^ e))) + kw[i + 2]
        b = (b + t) & M
        x = g | (g << 32)
        f = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((g & h) | (a & (g | h)))) & M
        x = b | (b << 32)
        t = e + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (d ^ (b & (c ^ d))) + kw[i + 3]
        a = (a + t) & M
        x = f | (f << 32)
        e = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((f & g) | (h & (f | g)))) & M
        x = a | (a << 32)
        t = d + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (c ^ (a & (b ^ c))) + kw[i + 4]
        h = (h + t) & M
        x = e | (e << 32)
        d = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((e & f) | (g & (e | f)))) & M
        x = h | (h << 32)
        t = c + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (b ^ (h & (a ^ b))) + kw[i + 5]
        g = (g + t) & M
        x = d | (d << 32)
        c = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((d & e) | (f & (d | e)))) & M
        x = g | (g << 32)
        t = b + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (a ^ (g & (h ^ a))) + kw[i + 6]
        f = (f + t) & M
        x = c | (c << 32)
        b = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((c & d) | (e & (c | d)))) & M
        x = f | (f << 32)
        t = a + ((x >> 6) ^ (x >> 11) ^ (x >> 25)) + (h ^ (f & (g ^ h))) + kw[i + 7]
        e = (e + t) & M
        x = b | (b << 32)
        a = (t + ((x >> 2) ^ (x >> 13) ^ (x >> 22)) + ((b & c) | (d & (b | c)))) & M
    return ((state[0] + a) & M, (state[1] + b) & M, (state[2] + c) & M,
            (state[3] + d) & M, (state[4] + e) & M, (state[5] + f) & M,
            (state[6] + g) & M, (state[7] + h) & M)


def _finish(state, data, done):
    """Hash ``data`` on top of ``state``, which already covers ``done`` bytes.

    Returns the 32-byte digest of the whole message.
    """
    n = len(data)
    full = n - n % BLOCK
    for off in range(0, full, BLOCK):
        state = _compress(state, data, off)
    # Padding: 0x80, zeros up to 56 mod 64, then the message length in bits (64-bit).
    rest = n - full
    tail = (bytes(data[full:]) + b"\x80" + bytes((55 - rest) % BLOCK)
            + ((done + n) * 8).to_bytes(8, "big"))
    state = _compress(state, tail, 0)
    if len(tail) > BLOCK:
        state = _compress(state, tail, BLOCK)
    return b"".join(x.to_bytes(4, "big") for x in state)


def sha256(data):
    """SHA-256 digest.

    Parameters
    ----------
    data : bytes or bytearray
        The message.

    Returns
    -------
    bytes
        The 32-byte digest.
    """
    return _finish(_H0, data, 0)


def hmac_key(key):
    """Precompute an HMAC-SHA256 key, to tag several messages with it.

    Parameters
    ----------
    key : bytes or bytearray
        The key, any length (keys longer than 64 bytes are hashed first).

    Returns
    -------
    tuple
        Opaque pair of SHA-256 states (after the inner and outer padded key), for
        ``hmac_sha256``.
    """
    ipad, opad = _pads(key)
    return (_compress(_H0, ipad, 0), _compress(_H0, opad, 0))


def _pads(key):
    """The inner and outer padded blocks of an HMAC key (RFC 2104)."""
    if len(key) > BLOCK:
        key = sha256(key)
    key = bytes(key) + bytes(BLOCK - len(key))
    return bytes(k ^ 0x36 for k in key), bytes(k ^ 0x5C for k in key)


def hmac_sha256(key, data):
    """HMAC-SHA256 (RFC 2104).

    Parameters
    ----------
    key : bytes or bytearray or tuple
        The key, any length, or its precomputed form from ``hmac_key(key)``.
    data : bytes or bytearray
        The message.

    Returns
    -------
    bytes
        The 32-byte tag.
    """
    if not isinstance(key, tuple):
        key = pure_hmac_key(key)
    return _finish(key[1], _finish(key[0], data, BLOCK), BLOCK)


# The same three functions from the interpreter's ``hashlib`` where it has one (CPython: the
# simulated boards and the tests; some boards). The pure-Python forms above stay importable as
# ``pure_sha256``, ``pure_hmac_key`` and ``pure_hmac_sha256`` so that tests hold them equal.
pure_sha256, pure_hmac_key, pure_hmac_sha256 = sha256, hmac_key, hmac_sha256

try:
    import hashlib as _hashlib
    _hashlib.sha256().copy()
except (ImportError, AttributeError):
    _hashlib = None

if _hashlib is not None:
    def sha256(data):  # noqa: F811 - the compiled form of the function above
        """SHA-256 digest."""
        return _hashlib.sha256(bytes(data)).digest()

    def hmac_key(key):  # noqa: F811 - the compiled form of the function above
        """Precompute an HMAC-SHA256 key: the hash objects after the inner and outer padded key."""
        ipad, opad = _pads(key)
        return (_hashlib.sha256(ipad), _hashlib.sha256(opad))

    def hmac_sha256(key, data):  # noqa: F811 - the compiled form of the function above
        """HMAC-SHA256 (RFC 2104) with a key or its ``hmac_key`` form."""
        if not isinstance(key, tuple):
            key = hmac_key(key)
        inner, outer = key[0].copy(), key[1].copy()
        inner.update(bytes(data))
        outer.update(inner.digest())
        return outer.digest()
