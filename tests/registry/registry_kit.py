"""Signed batches for the registry tests and the gas bench, and a fleet of devices signing hour after hour.

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
from offchain.protocol.enroll import send_application

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


class Fleet:
    """Devices of one scenario on one contract, with their chain of batches."""

    def __init__(self, contract, keys, chain, genesis):
        self.contract = contract
        self.keys = keys
        self.chain = chain
        self.genesis = genesis
        self.seq = {k: 0 for k in keys}
        self.prev = {k: ZERO32 for k in keys}
        self.total = {k: 0 for k in keys}

    def batches(self, e):
        out = []
        for k in self.keys:
            readings, last = hour_readings(self.genesis + EPOCH_SECONDS * e, self.total[k])
            b, digest = make_batch(
                k,
                e,
                self.seq[k],
                readings,
                chain_id=self.chain.chain_id,
                registry=self.contract.address,
                target=POW_TARGET,
                prev=self.prev[k],
            )
            out.append(b)
            self.seq[k] += 1
            self.prev[k] = digest
            self.total[k] = last
        return out

    def submit(self, e, single, sender):
        batches = self.batches(e)
        if single:
            tx = self.contract.submit(batches[0], sender=sender, gas=2_000_000)
        else:
            tx = self.contract.submit_many(batches, sender=sender, gas=29_000_000)
        assert len(tx.decode_logs(self.contract.BatchAccepted)) == len(batches)
        self.fixed = fixed_gas(self.chain, tx) / len(batches)
        return tx.gas_used / len(batches)


def fixed_gas(chain, tx):
    """Gas the public shape fixes: the transaction's calldata and its logs' bytes and topics."""
    data = bytes(chain.provider.web3.eth.get_transaction(tx.txn_hash)["input"])
    zeros = data.count(0)
    calldata = 4 * zeros + 16 * (len(data) - zeros)
    logs = sum(375 + 375 * len(log["topics"]) + 8 * len(bytes(log["data"])) for log in tx.logs)
    return calldata + logs


def admit_all(chain, sbt, dao, miner, keys, genesis):
    for k in keys:  # enrolled at genesis: the first batch continues from there
        send_application(chain, sbt, miner, k, CAPACITY_W, 48_000_000, 11_000_000, "ipfs://bench", start_time=genesis)
        sbt.approve_application(sbt.application_count(), sender=dao)
