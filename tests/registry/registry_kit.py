"""Signed batches for the registry tests and the gas bench.

Builds, proves (PoW) and signs a device batch as a device would, with the off-chain
encoder (`offchain.protocol.batch`) while searching a nonce and eth-account's ``encode_typed_data``
as the reference digest; every signed batch checks the two agree.
"""

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data

from offchain.protocol.batch import (
    EPOCH_SECONDS,
    batch_digest,
    domain_separator,
    pack_reading,
    pow_value,
    readings_hash,
    typed_data,
)
from offchain.protocol.batch import (
    ZERO_HASH as ZERO32,
)

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# The settings the registry tests and the gas bench deploy with
POW_TARGET = 2**248  # about 256 expected hashes
CAPACITY_W = 5_000  # 5 kWp
MARGIN_BPS = 12_000  # 120 %
GRACE_PERIOD = 600  # s
DEVICE_KEY = "0x" + "11" * 32
OTHER_DEVICE_KEY = "0x" + "22" * 32
ATTACKER_KEY = "0x" + "66" * 32

def typed_digest(chain_id, registry, device, epoch, seq, readings, prev, nonce):
    """The digest through eth-account's EIP-712 encoder (the reference)."""
    message = typed_data(chain_id, registry, device, epoch, seq, readings_hash(readings), prev, nonce)
    return _hash_eip191_message(encode_typed_data(full_message=message))


def find_nonce(digest_of, target, start=0, weak=False):
    """First nonce from `start` whose proof is below target (or, if weak, not below)."""
    nonce = start
    while (pow_value(digest_of(nonce), nonce) < target) == weak:
        nonce += 1
    return nonce


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
    nonce = find_nonce(
        lambda n: batch_digest(separator, device, epoch, seq, readings, prev, n), target, weak=weak_pow
    )
    digest = typed_digest(chain_id, registry, device, epoch, seq, readings, prev, nonce)
    assert digest == batch_digest(separator, device, epoch, seq, readings, prev, nonce)
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
