"""The system and the posted reward epochs the GreenCertificate tests start from (embedded chain).

Built once per test module (ape reverts every test's changes): the system as deployed for real
(``offchain.deploy``) with the deployer `owner` standing in for the DAO, as in tests/rewards,
four miners, and epochs 0 to 2 revealed with their reward tables posted on the distributor
(epoch 0 with real readings, as tests/rewards' ``posted``); epoch 3 is never posted.
"""

from types import SimpleNamespace

import pytest
from certificate_kit import (
    DENVER,
    REGISTRY_PARAMS,
    REWARD_PARAMS,
    SK,
    Certs,
    Miners,
    Table,
    admit,
    commit_epoch,
    filler_rows,
    reveal_epoch,
)

from offchain.deploy import deploy_system

POSTED_EPOCHS = (0, 1, 2)


@pytest.fixture(scope="module")
def genesis(chain):
    return chain.pending_timestamp - 1


@pytest.fixture(scope="module")
def system(project, chain, owner, oracle_account, genesis):
    """The whole system, `owner` standing in for the DAO (the DAO contract is the vault)."""
    return deploy_system(project, chain, owner, [owner], oracle_account, genesis=genesis, hand_to_dao=False,
                         registry_params=REGISTRY_PARAMS, reward_params=REWARD_PARAMS)


@pytest.fixture(scope="module")
def cert(system):
    return system.certificate


@pytest.fixture(scope="module")
def dist(system):
    return system.rewards


@pytest.fixture(scope="module")
def sbt(system):
    return system.sbt


@pytest.fixture(scope="module")
def deca(system):
    return system.deca


@pytest.fixture(scope="module")
def miners(chain, system, owner, relayer, genesis):
    """Admit devices and anchor their batches (rewards_kit.Miners)."""
    return Miners(chain, system.sbt, system.registry, owner, relayer, genesis)


@pytest.fixture(scope="module")
def tokens(chain, sbt, owner, miners, miner, other_miner):
    """a (miner) and b (other_miner) in Munich, 5 kWp, sending readings; small (miner, Munich, 1 W);
    far (other_miner, Denver, 5 kWp)."""
    return SimpleNamespace(
        a=miners.admit(0xA11CE, miner),
        b=miners.admit(0xB0B, other_miner),
        small=admit(chain, sbt, owner, 0x5A11, miner, capacity_w=1),
        far=admit(chain, sbt, owner, 0xFA7, other_miner, place=DENVER),
    )


@pytest.fixture(scope="module")
def tables(chain, system, owner, oracle_account, stranger, genesis, miners, tokens):
    """{epoch: reward Table} of epochs 0..2, revealed (K = 1) and posted on the distributor: in
    epoch 0 a sent 12 readings and b 5. Rows (token, amount, a_bps, q_bps, v_mwh): a and b
    certified (b at the threshold exactly), small below it, far credited no energy."""
    keys, dist = system.keys, system.rewards
    keys.set_lottery_k(1, sender=owner)
    t = tokens
    out = {}
    for e in POSTED_EPOCHS:
        if e == 0:
            miners.submit(e, {t.a: 12, t.b: 5})
        commit_epoch(chain, keys, oracle_account, genesis, e, SK)
        reveal_epoch(chain, keys, stranger, e, SK)
        rows = [(t.a, 3 * 10**18, 9_500, 6_000, 12_345), (t.b, 2 * 10**18, 9_000, 5_000, 5_000),
                (t.small, 10**18, 8_999, 5_000, 2_000), (t.far, 10**18, 9_800, 5_000, 0)] + filler_rows(12)
        table = Table(e, rows)
        dist.post(e, table.root, table.total, f"ipfs://table/{e}", sender=oracle_account)
        out[e] = table
    return out


@pytest.fixture(scope="module")
def post_certs(cert, oracle_account, tables):
    """Post the certificate rows [(token, mwh)] of epoch `e` (its reward table is posted): (Certs, receipt)."""

    def post_certs(e, rows, total=None, uri="ipfs://certificates"):
        certs = Certs(e, rows)
        tx = cert.post(e, certs.root, certs.total if total is None else total, uri, sender=oracle_account)
        return certs, tx

    return post_certs


@pytest.fixture(scope="module")
def issue(cert, stranger):
    """Issue `token`'s row of `certs` (by a stranger: anyone may), with `changes` to its arguments."""

    def issue(certs, token, sender=None, **changes):
        args = dict(zip(("epoch", "token_id", "mwh", "proof"), certs.issue_args(token)))
        args.update(changes)
        return cert.issue(*args.values(), sender=sender or stranger)

    return issue


@pytest.fixture(scope="module")
def set_region(cert, owner):
    """Set region `index` to `region` (name, south, north, west, east, factor, source) as the DAO."""

    def set_region(index, region, **changes):
        args = dict(zip(("name", "south", "north", "west", "east", "factor", "source"), region))
        args.update(changes)
        return cert.set_region(index, *args.values(), sender=owner)

    return set_region


@pytest.fixture(scope="module")
def base(cert, dist, sbt, deca, tables, post_certs, issue, set_region,
         owner, oracle_account, miner, other_miner, stranger, attacker, alice, bob):
    """Every module and session fixture the tests use, before the first test's snapshot (a test module
    marks it with ``pytest.mark.usefixtures("base")``): one first built inside a test, even an account,
    makes ape rebase its snapshots (InvalidIsolationWarning, seconds each time)."""
