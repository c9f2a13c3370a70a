"""Actors and contracts for the EpochKeys and RewardDistributor tests (embedded chain).

The deployer stands in for the TechnicalDAO as owner of every contract, as in
tests/registry (the DAO's own path is tested in tests/contracts).
"""

import pytest
from rewards_kit import (
    EPOCH_SECONDS,
    REGISTRY_PARAMS,
    REWARD_PARAMS,
    Miners,
    Table,
    commit_epoch,
    ecdh,
    move_to,
    reveal_epoch,
)

from offchain.deploy import deploy_system


@pytest.fixture
def genesis(chain):
    return chain.pending_timestamp - 1


@pytest.fixture
def system(project, chain, owner, oracle_account, genesis):
    """The whole system as deployed for real (``offchain.deploy``), with `owner` standing in for
    the DAO; the DAO contract is the vault."""
    return deploy_system(project, chain, owner, [owner], oracle_account, genesis=genesis, hand_to_dao=False,
                         registry_params=REGISTRY_PARAMS, reward_params=REWARD_PARAMS)


@pytest.fixture
def sbt(system):
    return system.sbt


@pytest.fixture
def registry(system):
    return system.registry


@pytest.fixture
def keys(system):
    return system.keys


@pytest.fixture
def deca(system):
    return system.deca


@pytest.fixture
def dist(system):
    return system.rewards


@pytest.fixture
def vault(system):
    """The DAO contract: the distributor pays it what winners do not take."""
    return system.dao


@pytest.fixture
def miners(chain, sbt, registry, owner, relayer, genesis):
    """Admit devices and anchor their batches (see rewards_kit.Miners)."""
    return Miners(chain, sbt, registry, owner, relayer, genesis)


@pytest.fixture
def at(chain, genesis):
    """Move time to `offset` seconds after the end of epoch `e` (only forward)."""

    def at(e, offset=0):
        ts = genesis + EPOCH_SECONDS * (e + 1) + offset
        move_to(chain, ts)
        return ts

    return at


@pytest.fixture
def commit(chain, keys, oracle_account, genesis):
    """Commit epoch `e`'s key `sk` once its window is over."""

    def commit(e, sk):
        return commit_epoch(chain, keys, oracle_account, genesis, e, sk)

    return commit


@pytest.fixture
def reveal(chain, keys, stranger):
    """Reveal epoch `e`'s key in block H + B (by a stranger: anyone may)."""

    def reveal(e, sk):
        return reveal_epoch(chain, keys, stranger, e, sk)

    return reveal


@pytest.fixture
def run_epoch(miners, commit, reveal):
    """Anchor `counts` {token: readings} for epoch `e`, commit and reveal `sk`."""

    def run_epoch(e, counts, sk):
        if counts:
            miners.submit(e, counts)
        commit(e, sk)
        reveal(e, sk)

    return run_epoch


@pytest.fixture
def point_of(miners):
    """The lottery point SK·PK_device of a token (offchain.scoring.pogg.ecdh_point)."""

    def point_of(sk, token_id):
        return ecdh(sk, miners.pubkey(token_id))

    return point_of


@pytest.fixture
def post_table(dist, oracle_account):
    """Post a table of `rows` [(token, amount, a_bps, q_bps, v_mwh)] for epoch `e`."""

    def post_table(e, rows, total=None, uri="ipfs://table"):
        table = Table(e, rows)
        tx = dist.post(e, table.root, table.total if total is None else total, uri, sender=oracle_account)
        return table, tx

    return post_table
