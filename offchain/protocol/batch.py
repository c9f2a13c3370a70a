"""
The device batch: packed readings, EIP-712 digest, signer and proof of work.

Pure functions, written from ``docs/protocol.md`` and independent of the device's
own encoder, so that the gateway and the indexer cross-check the device and the
registry. Hashes and signatures are ``bytes``; addresses are checksummed strings.
"""

from typing import NamedTuple

from eth_abi import encode as abi_encode
from eth_keys import keys
from eth_keys.exceptions import BadSignature, ValidationError
from eth_utils import keccak, to_checksum_address

from greenminer.protocol import (
    BATCH_TYPE,
    DOMAIN_NAME,
    DOMAIN_TYPE,
    DOMAIN_VERSION,
    EPOCH_SECONDS,
    UINT64_MAX,
    UINT128_MAX,
)

DOMAIN_TYPEHASH = keccak(text=DOMAIN_TYPE)
BATCH_TYPEHASH = keccak(text=BATCH_TYPE)

ZERO_HASH = bytes(32)
UINT256_MAX = 2**256 - 1
# secp256k1 group order; signatures are low-s (s <= n / 2)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

_MASK64 = 2**64 - 1
_MASK128 = 2**128 - 1



def eip712_types(type_string):
    """eth-account's ``types`` of a signed type (what a wallet displays), read from its EIP-712
    encoding in ``greenminer.protocol``: ``{"EIP712Domain": [...], primary: [...]}``, each
    field ``{"name": ..., "type": ...}`` in order."""

    def fields(encoded):
        name, body = encoded[:-1].split("(", 1)
        return name, [{"name": n, "type": t} for t, n in (f.split(" ") for f in body.split(","))]

    primary, primary_fields = fields(type_string)
    return {"EIP712Domain": fields(DOMAIN_TYPE)[1], primary: primary_fields}


EIP712_TYPES = eip712_types(BATCH_TYPE)


class Reading(NamedTuple):
    """One sample: timestamp [s], power [mW], cumulative energy since onboarding [mWh]."""

    ts: int
    power_mw: int
    total_mwh: int


class Batch(NamedTuple):
    """A signed batch as the device sends it; ``readings`` are packed ``uint256``."""

    device: str
    epoch: int
    seq: int
    readings: tuple  # packed readings, 1..12 ints
    prev_batch: bytes  # 32 bytes
    pow_nonce: int
    signature: bytes  # 65 bytes r ‖ s ‖ v


def pack_reading(ts, power_mw, total_mwh):
    """
    Pack one reading into a ``uint256``.

    Parameters
    ----------
    ts : int [s]
    power_mw : int [mW]
    total_mwh : int [mWh]

    Returns
    -------
    int
        ``ts << 192 | power_mw << 128 | total_mwh``.
    """
    if not (0 <= ts <= UINT64_MAX and 0 <= power_mw <= UINT64_MAX and 0 <= total_mwh <= UINT128_MAX):
        raise ValueError("reading out of range")
    return (ts << 192) | (power_mw << 128) | total_mwh


def unpack_reading(packed):
    """
    Split a packed ``uint256`` reading.

    Returns
    -------
    Reading
        timestamp [s], power [mW], total [mWh].
    """
    return Reading(packed >> 192, (packed >> 128) & _MASK64, packed & _MASK128)


def readings_hash(packed_readings):
    """``keccak256`` of the readings, 32 bytes each, big-endian."""
    return keccak(b"".join(int(r).to_bytes(32, "big") for r in packed_readings))


def domain_separator(chain_id, registry):
    """
    EIP-712 domain separator of the batches a registry accepts.

    Parameters
    ----------
    chain_id : int
    registry : str
        The MeasurementRegistry's address (verifyingContract).
    """
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                DOMAIN_TYPEHASH,
                keccak(text=DOMAIN_NAME),
                keccak(text=DOMAIN_VERSION),
                chain_id,
                to_checksum_address(registry),
            ],
        )
    )


def batch_digest(separator, device, epoch, seq, packed_readings, prev_batch, pow_nonce):
    """
    EIP-712 digest of a batch: its identity (``batch_hash``) and what the device signs.

    Parameters
    ----------
    separator : bytes
        The domain separator, see :func:`domain_separator`.
    device : str
    epoch, seq : int
    packed_readings : sequence of int
    prev_batch : bytes
        Digest of the device's previous accepted batch, zero bytes for seq 0.
    pow_nonce : int
    """
    struct_hash = keccak(
        abi_encode(
            ["bytes32", "address", "uint64", "uint64", "bytes32", "bytes32", "uint256"],
            [
                BATCH_TYPEHASH,
                to_checksum_address(device),
                epoch,
                seq,
                readings_hash(packed_readings),
                bytes(prev_batch),
                pow_nonce,
            ],
        )
    )
    return keccak(b"\x19\x01" + separator + struct_hash)


def typed_data(chain_id, registry, device, epoch, seq, readings_hash32, prev_batch, pow_nonce):
    """The batch as EIP-712 typed data in eth-account's ``full_message`` form.

    Tests hash it with eth-account as the reference the three encoders (device, this
    module, the registry) are held to.
    """
    return {
        "types": EIP712_TYPES,
        "primaryType": "Batch",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(registry),
        },
        "message": {
            "device": to_checksum_address(device),
            "epoch": epoch,
            "seq": seq,
            "readingsHash": bytes(readings_hash32),
            "prevBatch": bytes(prev_batch),
            "powNonce": pow_nonce,
        },
    }


def digest_of(separator, batch):
    """The digest of a :class:`Batch` (see :func:`batch_digest`)."""
    return batch_digest(
        separator, batch.device, batch.epoch, batch.seq, batch.readings, batch.prev_batch, batch.pow_nonce
    )


def split_signature(signature):
    """
    ``(v, r, s)`` of a 65-byte ``r ‖ s ‖ v`` signature.

    Raises
    ------
    ValueError
        If the signature is not 65 bytes.
    """
    if len(signature) != 65:
        raise ValueError("signature must be 65 bytes")
    return signature[64], int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:64], "big")


def join_signature(v, r, s):
    """The 65-byte ``r ‖ s ‖ v`` form of a signature."""
    return r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([v])


def recover_signer(digest, signature):
    """
    Address whose key signed ``digest``, or ``None`` when the signature does not recover.

    Only canonical signatures recover: ``v`` in {27, 28}, ``0 < r, s < n`` and low ``s``,
    as the protocol fixes (``docs/protocol.md``).

    Parameters
    ----------
    digest : bytes
        32 bytes.
    signature : bytes
        65 bytes ``r ‖ s ‖ v``.
    """
    v, r, s = split_signature(signature)
    if v not in (27, 28) or not (0 < r < SECP256K1_N) or not (0 < s <= SECP256K1_N // 2):
        return None
    try:
        public_key = keys.Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValidationError):
        return None
    return public_key.to_checksum_address()


def pow_value(digest, pow_nonce):
    """``uint256(keccak256(digest ‖ uint256(pow_nonce)))``; the proof holds when below the target."""
    return int.from_bytes(keccak(bytes(digest) + pow_nonce.to_bytes(32, "big")), "big")


def meets_target(digest, pow_nonce, target):
    """Whether ``pow_nonce`` proves the work for ``digest`` against ``target``."""
    return pow_value(digest, pow_nonce) < target


def expected_hashes(target):
    """Expected number of hashes to find a nonce below ``target``: ``2**256 // target``."""
    return 2**256 // target


def epoch_bounds(genesis, epoch):
    """``[start, stop)`` of an epoch [s]."""
    start = genesis + EPOCH_SECONDS * epoch
    return start, start + EPOCH_SECONDS


def as_hex(value):
    """Lower-case ``0x`` hex of bytes, or of a hex string with or without ``0x``."""
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()

