"""The signed batch: packed readings, EIP-712 digest, proof of work, signature.

This is the one module that fixes the bytes a device signs (docs/protocol.md); the
MeasurementRegistry hashes the same bytes and the tests check every digest and
signature against eth-account.

Units: time in s since 1970 (UTC), power in mW, cumulative energy in mWh.

Addresses and 32-byte values are accepted as raw bytes or as ``"0x"`` hex strings
(see ``as_bytes``); hashes are returned as bytes, JSON fields as ``"0x"`` hex strings.
"""

from . import keccak as _keccak
from . import protocol as _protocol
from . import secp256k1 as _secp256k1
from .protocol import MAX_READINGS

keccak256 = _keccak.keccak256

DOMAIN_TYPEHASH = keccak256(_protocol.DOMAIN_TYPE.encode())
BATCH_TYPEHASH = keccak256(_protocol.BATCH_TYPE.encode())
_NAME_HASH = keccak256(_protocol.DOMAIN_NAME.encode())
_VERSION_HASH = keccak256(_protocol.DOMAIN_VERSION.encode())

_U64 = 1 << 64
_U128 = 1 << 128
_U256 = 1 << 256
_HEX_DIGITS = "0123456789abcdefABCDEF"
_ZERO12 = bytes(12)


# ----------------------------------------------------------------------------
# Encoding helpers
# ----------------------------------------------------------------------------

def as_bytes(value, size):
    """Raw bytes of an address or hash given as bytes or as a hex string.

    Parameters
    ----------
    value : bytes or bytearray or str
        ``size`` raw bytes, or a string ``"0x"`` followed by ``2*size`` hex digits.
    size : int
        Expected length [bytes]: 20 for an address, 32 for a hash.

    Returns
    -------
    bytes
        ``size`` bytes.

    Raises
    ------
    ValueError
        On a wrong length or a malformed hex string.
    """
    if isinstance(value, str):
        digits = value[2:] if value[:2] in ("0x", "0X") else ""
        if len(digits) != 2 * size or any(c not in _HEX_DIGITS for c in digits):
            raise ValueError("batch: expected 0x and %d hex digits, got %r" % (2 * size, value))
        return int(digits, 16).to_bytes(size, "big")
    if isinstance(value, (bytes, bytearray)) and len(value) == size:
        return bytes(value)
    raise ValueError("batch: expected %d bytes or a 0x hex string" % size)


def to_hex(data):
    """``"0x"`` and two lowercase hex digits per byte of ``data``."""
    return "0x" + "".join("%02x" % b for b in data)


def _uint(value, bound, name):
    """Check ``0 <= value < bound`` (an ``int``) and return it."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < bound:
        raise ValueError("batch: %s must be an int in [0, 2**%d)" % (name, _log2(bound)))
    return value


def _log2(bound):
    n = 0
    while bound > 1:
        bound >>= 1
        n += 1
    return n


def _word(value):
    """32-byte big-endian ABI word of a uint (already range-checked)."""
    return value.to_bytes(32, "big")


# ----------------------------------------------------------------------------
# Readings
# ----------------------------------------------------------------------------

def pack_reading(ts, power_mw, total_mwh):
    """Pack one reading into a uint256.

    Parameters
    ----------
    ts : int
        Timestamp [s since 1970, UTC], below 2**64.
    power_mw : int
        Power [mW], below 2**64.
    total_mwh : int
        Cumulative energy since onboarding [mWh], below 2**128.

    Returns
    -------
    int
        ``ts << 192 | power_mw << 128 | total_mwh``.

    Raises
    ------
    ValueError
        If a field is negative, too large or not an int.
    """
    _uint(ts, _U64, "timestamp")
    _uint(power_mw, _U64, "power_mw")
    _uint(total_mwh, _U128, "total_mwh")
    return (ts << 192) | (power_mw << 128) | total_mwh


def unpack_reading(packed):
    """Split a packed reading into ``(ts [s], power_mw [mW], total_mwh [mWh])``.

    Raises
    ------
    ValueError
        If ``packed`` is not an int in ``[0, 2**256)``.
    """
    _uint(packed, _U256, "packed reading")
    return (packed >> 192, (packed >> 128) & (_U64 - 1), packed & (_U128 - 1))


def readings_hash(readings):
    """``keccak256`` of the packed readings, 32 bytes each, big-endian, in order.

    Parameters
    ----------
    readings : list of int
        Packed readings (``pack_reading``).

    Returns
    -------
    bytes
        32 bytes.
    """
    return keccak256(b"".join(_word(_uint(r, _U256, "packed reading")) for r in readings))


# ----------------------------------------------------------------------------
# EIP-712
# ----------------------------------------------------------------------------

def domain_separator(chain_id, registry):
    """EIP-712 domain separator of the MeasurementRegistry.

    Parameters
    ----------
    chain_id : int
        EIP-155 chain id.
    registry : bytes or str
        The registry's address (20 bytes or ``"0x"`` hex).

    Returns
    -------
    bytes
        32 bytes.
    """
    return keccak256(DOMAIN_TYPEHASH + _NAME_HASH + _VERSION_HASH
                     + _word(_uint(chain_id, _U256, "chain_id"))
                     + _ZERO12 + as_bytes(registry, 20))


def _struct_prefix(device, epoch, seq, readings_hash32, prev_batch):
    """ABI encoding of a Batch without its last field (``powNonce``): 192 bytes."""
    return (BATCH_TYPEHASH + _ZERO12 + as_bytes(device, 20)
            + _word(_uint(epoch, _U64, "epoch")) + _word(_uint(seq, _U64, "seq"))
            + as_bytes(readings_hash32, 32) + as_bytes(prev_batch, 32))


def struct_hash(device, epoch, seq, readings_hash32, prev_batch, pow_nonce):
    """EIP-712 ``hashStruct`` of a Batch.

    Parameters
    ----------
    device : bytes or str
        The device's address (20 bytes or ``"0x"`` hex).
    epoch : int
        Epoch number (hours since the registry's genesis), below 2**64.
    seq : int
        Sequence number of the batch for this device (0 first), below 2**64.
    readings_hash32 : bytes or str
        ``readings_hash(readings)``.
    prev_batch : bytes or str
        Digest of the device's previous accepted batch (32 zero bytes for seq 0).
    pow_nonce : int
        Proof-of-work nonce, below 2**256.

    Returns
    -------
    bytes
        32 bytes.
    """
    return keccak256(_struct_prefix(device, epoch, seq, readings_hash32, prev_batch)
                     + _word(_uint(pow_nonce, _U256, "pow_nonce")))


def digest(domain_sep, struct_hash32):
    """EIP-712 digest ``keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct)``: the batch hash.

    Returns
    -------
    bytes
        32 bytes: what is signed, and the next batch's ``prev_batch``.
    """
    return keccak256(b"\x19\x01" + as_bytes(domain_sep, 32) + as_bytes(struct_hash32, 32))


# ----------------------------------------------------------------------------
# Proof of work
# ----------------------------------------------------------------------------

def pow_hash(digest32, nonce):
    """``uint256(keccak256(digest ‖ uint256(nonce)))``, compared with the target.

    Returns
    -------
    int
        In ``[0, 2**256)``.
    """
    return int.from_bytes(keccak256(as_bytes(digest32, 32)
                                    + _word(_uint(nonce, _U256, "pow_nonce"))), "big")


def find_pow(domain_sep, device, epoch, seq, readings_hash32, prev_batch, target,
             start=0, count=None):
    """Search the first nonce, from ``start``, whose batch meets the PoW target.

    The nonce is a field of the Batch, so every try hashes the struct, the digest and
    the PoW hash (three Keccak permutations: the first 136 bytes of the struct
    encoding do not depend on the nonce and are absorbed once). Search in slices
    (``count`` tries at a time) to keep sampling on time between them.

    Parameters
    ----------
    domain_sep : bytes or str
        ``domain_separator(chain_id, registry)``.
    device, epoch, seq, readings_hash32, prev_batch
        As for ``struct_hash``.
    target : int
        Success when ``pow_hash(digest, nonce) < target``; a uint256 above 0
        (expected tries: ``2**256 / target``).
    start : int, optional
        First nonce to try.
    count : int, optional
        Number of nonces to try; default: until found.

    Returns
    -------
    int or None
        The first nonce in ``[start, start + count)`` that meets the target, or None
        if there is none in that slice.
    """
    if not _uint(target, _U256, "target"):
        raise ValueError("batch: target must be positive")
    _uint(start, _U256, "start")
    end = _U256 if count is None else min(_U256, start + count)
    sep = b"\x19\x01" + as_bytes(domain_sep, 32)
    prefix = _struct_prefix(device, epoch, seq, readings_hash32, prev_batch)
    rate = _keccak.RATE
    state = _keccak.absorb(prefix[:rate])
    rest = prefix[rate:]
    nonce = start
    while nonce < end:
        word = _word(nonce)
        d = keccak256(sep + keccak256(rest + word, state))
        if int.from_bytes(keccak256(d + word), "big") < target:
            return nonce
        nonce += 1
    return None


# ----------------------------------------------------------------------------
# Signature and the whole batch
# ----------------------------------------------------------------------------

def signature_bytes(v, r, s):
    """The 65-byte signature ``r ‖ s ‖ v`` (what ``ecrecover``-based checks take)."""
    if v not in (27, 28):
        raise ValueError("batch: v must be 27 or 28")
    return _word(_uint(r, _U256, "r")) + _word(_uint(s, _U256, "s")) + bytes((v,))


def sign_batch(priv, chain_id, registry, epoch, seq, readings, prev_batch, target,
               nonce_start=0):
    """Hash, prove and sign one batch, ready to post to the gateway.

    Parameters
    ----------
    priv : int
        The device's private key.
    chain_id : int
        EIP-155 chain id.
    registry : bytes or str
        MeasurementRegistry address.
    epoch, seq : int
        As for ``struct_hash``.
    readings : list
        1..12 readings, each a packed int or a ``(ts [s], power [mW], total [mWh])``
        triple, in time order.
    prev_batch : bytes or str
        Digest of the previous accepted batch (32 zero bytes for seq 0).
    target : int
        PoW target.
    nonce_start : int, optional
        First nonce to try (pass the nonce a sliced ``find_pow`` found to sign at once).

    Returns
    -------
    batch : dict
        The JSON object of docs/protocol.md: ``device``, ``epoch``, ``seq``,
        ``readings`` (``[ts, power_mw, total_mwh]`` lists), ``prev_batch``,
        ``pow_nonce``, ``signature`` (``"0x"`` + 65 bytes ``r ‖ s ‖ v``).
    digest : bytes
        The batch's 32-byte EIP-712 digest (the next batch's ``prev_batch``).
    """
    packed = [r if isinstance(r, int) else pack_reading(r[0], r[1], r[2]) for r in readings]
    if not 1 <= len(packed) <= MAX_READINGS:
        raise ValueError("batch: a batch holds 1 to %d readings" % MAX_READINGS)
    prev = as_bytes(prev_batch, 32)
    device = _secp256k1.address(_secp256k1.public_key(priv))
    domain_sep = domain_separator(chain_id, registry)
    rhash = readings_hash(packed)
    nonce = find_pow(domain_sep, device, epoch, seq, rhash, prev, target, nonce_start)
    if nonce is None:
        raise ValueError("batch: no nonce meets the target")
    dig = digest(domain_sep, struct_hash(device, epoch, seq, rhash, prev, nonce))
    v, r, s = _secp256k1.sign(dig, priv)
    batch = {
        "device": to_hex(device),
        "epoch": epoch,
        "seq": seq,
        "readings": [list(unpack_reading(p)) for p in packed],
        "prev_batch": to_hex(prev),
        "pow_nonce": nonce,
        "signature": to_hex(signature_bytes(v, r, s)),
    }
    return batch, dig
