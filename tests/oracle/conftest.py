"""
Fixtures of the oracle tests: synthetic epochs for the pure steps (no chain), and the
whole reward path on ape's embedded chain (SBT, registry, EpochKeys, RewardDistributor,
DECA, deployed by ``offchain.deploy`` and left with the deployer standing in for the DAO) fed with real signed batches.
"""

import pytest
from oracle_kit import (
    DEPLOYMENT,
    EMISSION,
    EPOCH_SECONDS,
    FLEET,
    GRACE_PERIOD,
    MARGIN_BPS,
    POST_DEADLINE,
    POW_TARGET,
    REVEAL_DELAY,
    Crash,
    Fleet,
    device_info,
    noon_longitude,
    synthetic_epoch,
)

from offchain import oracle
from offchain.deploy import deploy_system
from offchain.index import indexer, store
from offchain.scoring import authenticity

# ================================================================== synthetic epochs


@pytest.fixture
def miners():
    return [device_info(i) for i in range(1, 7)]


@pytest.fixture
def make_table(miners):
    """Factory: a table of a synthetic epoch (K = 2: some winners)."""

    def make_table(epoch=7, k=2, sk=0x1234_5678, entropy=b"\x5a" * 32, ns=None, emission=EMISSION, who=None):
        chosen = miners if who is None else [miners[i] for i in who]
        data = synthetic_epoch(epoch, chosen, ns)
        return oracle.build_table(data, {m.device: m for m in chosen}, sk, entropy, k, emission, DEPLOYMENT,
                                  authenticity.ScoringParams())

    return make_table


@pytest.fixture
def facts_of():
    """Factory: the ChainFacts an honest chain would show for a table, with `changes`."""

    def facts_of(table, miners, **changes):
        by_token = {m.token_id: m for m in miners}
        facts = oracle.ChainFacts(
            epoch=table.epoch, chain_id=table.chain_id, epoch_keys=table.epoch_keys,
            distributor=table.distributor, sk=table.sk, entropy=table.entropy, k=table.k,
            emission=table.emission, posted=True, root=table.root, total=table.total,
            params_hash=authenticity.params_hash(table.params),
            counts={r.token_id: r.n for r in table.rows},
            devices={r.token_id: by_token[r.token_id].device for r in table.rows},
            pubkeys={r.token_id: by_token[r.token_id].pubkey for r in table.rows},
        )
        return facts._replace(**changes)

    return facts_of


# ================================================================== on the embedded chain


@pytest.fixture
def genesis(chain):
    """Start of epoch 0: the start of the current hour [s], at least 10 minutes before its end
    (the distributor pays from the epoch it is deployed in: that must be epoch 0)."""
    if chain.pending_timestamp % EPOCH_SECONDS > EPOCH_SECONDS - 600:
        chain.pending_timestamp += EPOCH_SECONDS - chain.pending_timestamp % EPOCH_SECONDS
    return chain.pending_timestamp // EPOCH_SECONDS * EPOCH_SECONDS


@pytest.fixture
def system(project, chain, owner, oracle_account, genesis):
    """The whole system as deployed for real (``offchain.deploy``), left with `owner` standing
    in for the DAO; the DAO is the vault."""
    s = deploy_system(project, chain, owner, [owner], oracle_account, genesis=genesis, hand_to_dao=False,
                      registry_params={"pow_target": POW_TARGET, "capacity_margin_bps": MARGIN_BPS,
                                       "grace_period": GRACE_PERIOD},
                      reward_params={"emission": EMISSION, "post_deadline": POST_DEADLINE})
    s.keys.set_reveal_delay(REVEAL_DELAY, sender=owner)
    s.keys.set_lottery_k(2, sender=owner)
    return s


@pytest.fixture
def contracts(system):
    return system


@pytest.fixture
def deca(system):
    return system.deca


@pytest.fixture
def vault(system):
    return system.dao


@pytest.fixture
def fleet(chain, contracts, owner, relayer, genesis, accounts):
    """Four admitted devices around local noon of epoch 0, owned by accounts 10..13."""
    lon = noon_longitude(genesis + EPOCH_SECONDS // 2)
    return Fleet(chain, contracts, owner, relayer, genesis, lon, [accounts[10 + i] for i in range(FLEET)])


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "store.sqlite"


@pytest.fixture
def indexed(contracts, store_path):
    """``indexed()``: follow the registry's events into the store file."""

    def follow():
        conn = store.open_store(store_path)
        try:
            return indexer.follow(contracts.registry, conn)
        finally:
            conn.close()

    return follow


@pytest.fixture
def make_oracle(contracts, oracle_account, store_path):
    """Factory: a fresh engine on the same files (as after a restart)."""
    opened = []

    def make(**kwargs):
        conn = store.open_store(store_path)
        opened.append(conn)
        return oracle.Oracle(contracts, oracle_account, conn, store_path.parent, **kwargs)

    yield make
    for conn in opened:
        conn.close()


@pytest.fixture
def run_oracle(chain):
    """``run_oracle(engine)``: one pass to the end on the embedded chain, mining the B blocks itself."""

    def run(engine):
        return oracle.run(engine, once=True, mine=lambda n: chain.mine(n))

    return run


@pytest.fixture
def crash_after(monkeypatch):
    """``crash_after("commit")``: the next such transaction is sent, then the oracle dies."""

    def arm(name):
        real = oracle.send_tx
        fired = []

        def send_then_crash(method, *args, sender):
            receipt = real(method, *args, sender=sender)
            if method.abis[0].name == name and not fired:
                fired.append(receipt)
                raise Crash(f"crashed after {name}")
            return receipt

        monkeypatch.setattr(oracle.engine, "send_tx", send_then_crash)
        return fired

    return arm
