"""Python twin of the registry's batch encoding (docs/protocol.md), for tests and bench.

Builds, proves (PoW) and signs a device batch exactly as a device would: the
EIP-712 digest through eth-account's ``encode_typed_data`` and the signature
through ``Account.unsafe_sign_hash``. ``fast_digest`` is the same digest by
hand, used while searching a nonce; every signed batch checks the two agree.
"""

from eth_abi import encode
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "GreenEnergyMiners"
DOMAIN_VERSION = "1"
EPOCH_SECONDS = 3_600
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

BATCH_TYPES = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Batch": [
        {"name": "device", "type": "address"},
        {"name": "epoch", "type": "uint64"},
        {"name": "seq", "type": "uint64"},
        {"name": "readingsHash", "type": "bytes32"},
        {"name": "prevBatch", "type": "bytes32"},
        {"name": "powNonce", "type": "uint256"},
    ],
}
BATCH_TYPEHASH = keccak(
    b"Batch(address device,uint64 epoch,uint64 seq,bytes32 readingsHash,bytes32 prevBatch,uint256 powNonce)"
)
DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
ZERO32 = b"\x00" * 32


def pack_reading(ts, power_mw, total_mwh):
    """One packed reading: ts [s] << 192 | power [mW] << 128 | total [mWh]."""
    return (ts << 192) | (power_mw << 128) | total_mwh


def unpack_reading(word):
    return word >> 192, (word >> 128) & (2**64 - 1), word & (2**128 - 1)


def readings_hash(readings):
    return keccak(b"".join(r.to_bytes(32, "big") for r in readings))


def domain_separator(chain_id, registry):
    return keccak(
        encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [DOMAIN_TYPEHASH, keccak(text=DOMAIN_NAME), keccak(text=DOMAIN_VERSION), chain_id, str(registry)],
        )
    )


def fast_digest(separator, device, epoch, seq, rhash, prev, nonce):
    struct_hash = keccak(
        encode(
            ["bytes32", "address", "uint64", "uint64", "bytes32", "bytes32", "uint256"],
            [BATCH_TYPEHASH, str(device), epoch, seq, rhash, prev, nonce],
        )
    )
    return keccak(b"\x19\x01" + separator + struct_hash)


def typed_digest(chain_id, registry, device, epoch, seq, readings, prev, nonce):
    """The digest through eth-account's EIP-712 encoder (the reference)."""
    message = {
        "types": BATCH_TYPES,
        "primaryType": "Batch",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": str(registry),
        },
        "message": {
            "device": str(device),
            "epoch": epoch,
            "seq": seq,
            "readingsHash": readings_hash(readings),
            "prevBatch": prev,
            "powNonce": nonce,
        },
    }
    return _hash_eip191_message(encode_typed_data(full_message=message))


def pow_hash(digest, nonce):
    return int.from_bytes(keccak(digest + nonce.to_bytes(32, "big")), "big")


def find_nonce(digest_of, target, start=0, weak=False):
    """First nonce from `start` whose proof is below target (or, if weak, not below)."""
    nonce = start
    while (pow_hash(digest_of(nonce), nonce) < target) == weak:
        nonce += 1
    return nonce


def expected_hashes(target):
    return 2**256 // target


def make_batch(
    key,
    epoch,
    seq,
    readings,
    *,
    chain_id,
    registry,
    target,
    prev=ZERO32,
    device=None,
    weak_pow=False,
    high_s=False,
):
    """A signed batch as the registry's `SignedBatch` dict, and its digest.

    `key` signs; `device` defaults to the key's address (give another one to
    forge). `weak_pow` picks a nonce whose proof fails; `high_s` flips the
    signature to its malleable twin (n - s, other v).
    """
    signer = Account.from_key(key)
    device = device or signer.address
    separator = domain_separator(chain_id, registry)
    rhash = readings_hash(readings)
    nonce = find_nonce(
        lambda n: fast_digest(separator, device, epoch, seq, rhash, prev, n), target, weak=weak_pow
    )
    digest = typed_digest(chain_id, registry, device, epoch, seq, readings, prev, nonce)
    assert digest == fast_digest(separator, device, epoch, seq, rhash, prev, nonce)
    sig = Account.unsafe_sign_hash(digest, key)
    v, r, s = sig.v, sig.r, sig.s
    if high_s:
        v, s = 55 - v, SECP256K1_N - s  # 27 <-> 28
    batch = {
        "device": device,
        "epoch": epoch,
        "seq": seq,
        "prev_batch": prev,
        "pow_nonce": nonce,
        "readings": list(readings),
        "v": v,
        "r": r.to_bytes(32, "big"),
        "s": s.to_bytes(32, "big"),
    }
    return batch, digest


def hour_readings(start, first_total, power_mw=3_000_000, count=12, step=300):
    """`count` readings every `step` s from `start` + step - 1, at constant power [mW].

    Returns packed readings and the last total [mWh].
    """
    readings = []
    total = first_total
    for i in range(count):
        ts = start + step * (i + 1) - 1
        total += power_mw * step // EPOCH_SECONDS
        readings.append(pack_reading(ts, power_mw, total))
    return readings, total
