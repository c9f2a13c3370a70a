"""Helpers of the device tests: constants, a scripted network, eth-account's view of a batch and its health report.

Independent of greenminer on purpose: digests and signers here come from eth-account alone.
"""

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct, encode_typed_data
from eth_utils import keccak

from offchain.protocol.batch import typed_data
from offchain.protocol.health import health_message

GENESIS = 1_700_000_000 - 1_700_000_000 % 3600  # [s] an hour boundary
CHAIN_ID = 31337
REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
DEVICE_KEY = 0x4C0883A69102937D6231471B5DBB6204FE5129617082792AE468D01A3F362318
EASY_TARGET = 2**252  # about 16 hashes per batch


class ScriptedNet:
    """``post`` answering from ``script`` (``(status, body)`` or an exception), then 200.

    While ``down`` is true every post raises ``OSError``, as an unreachable gateway does.
    """

    def __init__(self, *script):
        self.script = list(script)
        self.posted = []
        self.down = False

    def post(self, batch):
        self.posted.append(batch)
        if self.down:
            raise OSError("gateway unreachable")
        answer = self.script.pop(0) if self.script else (200, "accepted")
        if isinstance(answer, Exception):
            raise answer
        return answer


def tick_until_idle(miner, limit=10_000):
    """Tick until the miner asks to wait; return that wait [s]."""
    for _ in range(limit):
        wait = miner.tick()
        if wait > 0:
            return wait
    raise AssertionError("miner never went idle")


def pack(reading):
    ts, power, total = reading
    return (ts << 192) | (power << 128) | total


def typed_batch(batch, chain_id=CHAIN_ID, registry=REGISTRY):
    """The batch as EIP-712 typed data, encoded by eth-account (independent of greenminer)."""
    readings = b"".join(pack(r).to_bytes(32, "big") for r in batch["readings"])
    return encode_typed_data(
        full_message=typed_data(
            chain_id, registry, batch["device"], batch["epoch"], batch["seq"], keccak(readings),
            bytes.fromhex(batch["prev_batch"][2:]), batch["pow_nonce"],
        )
    )


def batch_digest(batch, **domain):
    """The batch's EIP-712 digest as eth-account computes it."""
    return _hash_eip191_message(typed_batch(batch, **domain))


def health_signer(batch):
    """The address eth-account recovers from the batch's health report (EIP-191 over the report and the batch's digest)."""
    health = batch["health"]
    message = encode_defunct(primitive=health_message(batch_digest(batch), health))
    return Account.recover_message(message, signature=bytes.fromhex(health["signature"][2:]))
