"""Actors and the wired energy market for the StorageNode and PaymentDesk tests (embedded chain).

The deployer stands in for the TechnicalDAO as owner of every contract, as in tests/rewards.
"""

import pytest
from storage_kit import deploy_market

DEVICE_KEYS = [0xD1CE_0000 + i for i in range(1, 4)]
METER_KEYS = [0x3E7E_0000 + i for i in range(1, 3)]
ATTACKER_DEVICE_KEY = 0xBAD0_0001  # an admitted device in the attacker's hands


@pytest.fixture
def market(project, chain, owner):
    return deploy_market(project, chain, owner, chain.pending_timestamp - 1)


@pytest.fixture
def vault(market):
    """The DAO contract: the desk's share of each payment and the pool's fee share go there."""
    return market.vault


@pytest.fixture
def token(market, miner):
    """The miner's admitted token."""
    return market.admit(miner, DEVICE_KEYS[0])


@pytest.fixture
def other_token(market, other_miner):
    return market.admit(other_miner, DEVICE_KEYS[1])


@pytest.fixture
def attacker_token(market, attacker):
    """The attacker's own admitted token: any miner may turn against another."""
    return market.admit(attacker, ATTACKER_DEVICE_KEY)


@pytest.fixture
def node(market):
    return market.register_node(METER_KEYS[0])


@pytest.fixture
def other_node(market):
    return market.register_node(METER_KEYS[1], capacity=5_000_000)


@pytest.fixture
def other_storage(project, owner, market):
    """A second StorageNode on the same chain, SBT and ENERGY: another EIP-712 domain."""
    return owner.deploy(project.StorageNode, market.sbt, market.energy)


@pytest.fixture
def tokenized(market, token, node, miner):
    """The miner has delivered 10 kWh (9.6 kWh received) into the node and been paid: ENERGY exists."""
    key = market.deliver(token, node, 10_000_000, 9_600_000, sender=miner)
    market.pay(token, [key], sender=miner)
    return key
