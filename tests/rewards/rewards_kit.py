"""Miners, epochs and reward tables for the EpochKeys / RewardDistributor tests and gas bench.

Builds on ``registry_kit`` (tests/registry): the same signed, proven batches, so that the
registry holds real legal counts N. Python twins are the reference: ``offchain.scoring.pogg``
(ECDH point, SEED) and ``offchain.protocol.merkle`` (leaves, root, proofs).
"""

import sys
from pathlib import Path

from eth_account import Account

from greenminer import secp256k1
from offchain.protocol import merkle
from offchain.protocol.enroll import send_application
from offchain.scoring import pogg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from registry_kit import (  # noqa: E402 - the kit's folder joins sys.path just above
    CAPACITY_W,
    EPOCH_SECONDS,
    GRACE_PERIOD,
    MARGIN_BPS,
    POW_TARGET,
    SECP256K1_N,
    ZERO32,
    hour_readings,
    make_batch,
)

__all__ = [
    "CAPACITY_W", "EPOCH_SECONDS", "GRACE_PERIOD", "MARGIN_BPS", "POW_TARGET", "SECP256K1_N",
    "EMISSION", "POST_DEADLINE", "REVEAL_DELAY", "REGISTRY_PARAMS", "REWARD_PARAMS", "Miners", "Table",
    "epoch_key", "commit_epoch", "reveal_epoch", "move_to", "pubkey_of", "filler_rows", "ecdh",
]

EMISSION = 1_000 * 10**18  # DECA wei per epoch
POST_DEADLINE = 6 * 3_600  # s after an epoch's end
REVEAL_DELAY = 60  # blocks (the default B)


def pubkey_of(key):
    """64-byte public key ``x ‖ y`` of a private key (hex string or int)."""
    if isinstance(key, int):
        key = "0x%064x" % key
    return Account.from_key(key)._key_obj.public_key.to_bytes()


def epoch_key(sk):
    """``(sk, pk_x, pk_y)`` of an epoch secret key."""
    pk = secp256k1.public_key(sk)
    return sk, int.from_bytes(pk[:32], "big"), int.from_bytes(pk[32:], "big")


def move_to(chain, ts):
    """Move the next block's time forward to ``ts`` (never back)."""
    if chain.pending_timestamp < ts:
        chain.pending_timestamp = ts


# The registry and distributor as these tests deploy them (``offchain.deploy.deploy_system``)
REGISTRY_PARAMS = {"pow_target": POW_TARGET, "capacity_margin_bps": MARGIN_BPS, "grace_period": GRACE_PERIOD}
REWARD_PARAMS = {"emission": EMISSION, "post_deadline": POST_DEADLINE}


class Miners:
    """Admitted devices and their chains of batches on one registry."""

    def __init__(self, chain, sbt, registry, owner, relayer, genesis):
        self.chain, self.sbt, self.registry = chain, sbt, registry
        self.owner, self.gateway, self.genesis = owner, relayer, genesis
        self.key = {}  # token id -> private key (hex)
        self.seq, self.prev, self.total = {}, {}, {}

    def admit(self, key, wallet):
        """Apply with the device key as ``wallet`` and approve; returns the token id."""
        if isinstance(key, int):
            key = "0x%064x" % key
        acct = Account.from_key(key)
        send_application(self.chain, self.sbt, wallet, key, CAPACITY_W, 48_000_000, 11_000_000, "ipfs://miner")
        self.sbt.approve_application(self.sbt.application_count(), sender=self.owner)
        token_id = self.sbt.token_of_device(acct.address)
        self.key[token_id] = key
        self.seq[token_id], self.prev[token_id], self.total[token_id] = 0, ZERO32, 0
        return token_id

    def pubkey(self, token_id):
        return pubkey_of(self.key[token_id])

    def device(self, token_id):
        return Account.from_key(self.key[token_id]).address

    def submit(self, epoch, counts):
        """Submit one batch of ``counts[token]`` readings (1..12) per token for ``epoch``.

        Moves time just past the epoch's end (inside its grace period).
        """
        move_to(self.chain, self.genesis + EPOCH_SECONDS * (epoch + 1) + 1)
        for token_id, n in counts.items():
            readings, last = hour_readings(self.genesis + EPOCH_SECONDS * epoch, self.total[token_id], count=n)
            b, digest = make_batch(
                self.key[token_id], epoch, self.seq[token_id], readings,
                chain_id=self.chain.chain_id, registry=self.registry.address,
                target=POW_TARGET, prev=self.prev[token_id],
            )
            self.registry.submit(b, sender=self.gateway)
            self.seq[token_id] += 1
            self.prev[token_id] = digest
            self.total[token_id] = last


def commit_epoch(chain, keys, oracle_account, genesis, epoch, sk):
    """Move past the epoch's submission window and commit its key; returns the receipt."""
    _, x, y = epoch_key(sk)
    move_to(chain, genesis + EPOCH_SECONDS * (epoch + 1) + GRACE_PERIOD)
    return keys.commit(epoch, x, y, sender=oracle_account)


def reveal_epoch(chain, keys, sender, epoch, sk):
    """Mine up to block H + B − 1 and reveal in block H + B; returns the receipt."""
    h = keys.committed_block(epoch)
    delay, _ = keys.epoch_params(epoch)
    head = chain.blocks.head.number
    if head < h + delay - 1:
        chain.mine(h + delay - 1 - head)
    return keys.reveal(epoch, sk, sender=sender)


class Table:
    """An epoch's reward table: rows, their Merkle tree and proofs (offchain.protocol.merkle)."""

    def __init__(self, epoch, rows):
        """``rows``: list of ``(token_id, amount, a_bps, q_bps, v_mwh)``."""
        self.epoch = epoch
        self.rows = [tuple(r) for r in rows]
        self.leaves = [merkle.leaf(epoch, *r) for r in self.rows]
        self.tree = merkle.build(self.leaves)
        self.total = sum(r[1] for r in self.rows)

    @property
    def root(self):
        return self.tree.root

    def row(self, token_id):
        return next(r for r in self.rows if r[0] == token_id)

    def proof(self, token_id):
        i = next(i for i, r in enumerate(self.rows) if r[0] == token_id)
        return merkle.proof(self.tree, i)

    def claim_args(self, token_id, point):
        """Arguments of ``RewardDistributor.claim`` for a token's row and its ECDH point."""
        token_id, amount, a_bps, q_bps, v_mwh = self.row(token_id)
        return (self.epoch, token_id, amount, a_bps, q_bps, v_mwh, self.proof(token_id), point[0], point[1])


def filler_rows(count, first_token=10_000, amount=10**15):
    """Rows of tokens that do not exist, to give a table a realistic size."""
    return [(first_token + i, amount + i, 9_000 + i % 1_000, 5_000, 10_000 + i) for i in range(count)]


def ecdh(sk, pubkey64):
    """The lottery point ``sk · PK_device`` (offchain.scoring.pogg.ecdh_point)."""
    return pogg.ecdh_point(sk, pubkey64)
