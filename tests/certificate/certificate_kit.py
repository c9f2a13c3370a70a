"""Certificate rows, their trees and the actors' places for the GreenCertificate tests.

Builds on ``rewards_kit`` (tests/rewards): the same miners, epochs and reward tables, so that
certificates are posted after a real RewardDistributor post. The twin of the contract's leaf
and tree is ``offchain.protocol.merkle`` (``certificate_leaf``, ``build``, ``proof``).
"""

import sys
from pathlib import Path

from eth_account import Account

from offchain.deploy import CERTIFICATE_PARAMS
from offchain.protocol import merkle
from offchain.protocol.enroll import send_application

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rewards"))
from rewards_kit import (  # noqa: E402 - the kit's folder joins sys.path just above
    CAPACITY_W,
    EPOCH_SECONDS,
    POST_DEADLINE,
    REGISTRY_PARAMS,
    REWARD_PARAMS,
    Miners,
    Table,
    commit_epoch,
    filler_rows,
    reveal_epoch,
)

__all__ = [
    "CAPACITY_W", "EPOCH_SECONDS", "POST_DEADLINE", "REGISTRY_PARAMS", "REWARD_PARAMS", "Miners", "Table",
    "commit_epoch", "filler_rows", "reveal_epoch", "SK", "FAR", "THRESHOLD", "WORLD_FACTOR", "MAX_MWH_PER_W",
    "WORLD_BOX", "MUNICH", "DENVER", "GERMANY", "US_WEST", "Certs", "certificate_rows", "admit",
]

SK = 0x5EC12E7 << 64  # the epochs' secret key (as tests/rewards)
FAR = 2**64  # a deadline that never expires [s]
THRESHOLD = CERTIFICATE_PARAMS["min_a_bps"]  # 9 000
WORLD_FACTOR = CERTIFICATE_PARAMS["default_factor_g_per_kwh"]  # region 0 (the world) [gCO2e/kWh]
MAX_MWH_PER_W = 3_000  # an hour of three times the capacity
WORLD_BOX = (-90_000_000, 90_000_000, -180_000_000, 180_000_000)  # south, north, west, east [µdeg]
MUNICH = (48_000_000, 11_000_000)  # where rewards_kit.Miners.admit places every device [µdeg]
DENVER = (39_742_000, -105_178_000)
# set_region arguments but the index: name, south, north, west, east, factor [g/kWh], source
GERMANY = ("Germany", 47_270_000, 55_060_000, 5_870_000, 15_040_000, 380, "UBA, Strommix 2023")
US_WEST = ("US West", 31_000_000, 49_000_000, -125_000_000, -102_000_000, 550, "EPA eGRID 2022")


class Certs:
    """An epoch's certificate rows ``(token_id, mwh)``, their Merkle tree and proofs."""

    def __init__(self, epoch, rows):
        self.epoch = epoch
        self.rows = [tuple(r) for r in rows]
        self.tree = merkle.build([merkle.certificate_leaf(epoch, t, mwh) for t, mwh in self.rows])
        self.total = sum(mwh for _, mwh in self.rows)

    @property
    def root(self):
        return self.tree.root

    def index(self, token_id):
        return next(i for i, r in enumerate(self.rows) if r[0] == token_id)

    def mwh(self, token_id):
        return self.rows[self.index(token_id)][1]

    def proof(self, token_id):
        return merkle.proof(self.tree, self.index(token_id))

    def issue_args(self, token_id):
        """Arguments of ``GreenCertificate.issue`` for a token's row."""
        return self.epoch, token_id, self.mwh(token_id), self.proof(token_id)


def certificate_rows(table, min_a_bps=THRESHOLD):
    """The certified rows ``(token_id, v_mwh)`` of a reward table: authenticity at the threshold or
    above, energy credited (the rule of ``offchain.oracle.certify``)."""
    return [(t, v) for t, _, a, _, v in table.rows if a >= min_a_bps and v > 0]


def admit(chain, sbt, owner, key, wallet, capacity_w=CAPACITY_W, place=MUNICH):
    """Apply with the device ``key`` (int) as ``wallet`` at ``place`` (lat, lon) and approve; the token id."""
    key = "0x%064x" % key
    send_application(chain, sbt, wallet, key, capacity_w, *place, "ipfs://miner")
    sbt.approve_application(sbt.application_count(), sender=owner)
    return sbt.token_of_device(Account.from_key(key).address)
