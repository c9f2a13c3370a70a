"""Actors, tokens and a LiquidityPool for the market tests (embedded chain).

The deployer owns DecaToken and EnergyToken (so it may mint, as a minter named by the
DAO would) and stands in for the TechnicalDAO as owner of the pool.
"""

import pytest
from market_kit import FAR, SEED_DECA, SEED_ENERGY, Kit


@pytest.fixture
def kit(project, owner, vault, alice):
    """Factory: `kit.deploy(fee_bps=30, vault_share_bps=1667)` -> fresh tokens and pool; alice
    stands in for the PaymentDesk, the seeder the DAO names for the first deposit."""
    return Kit(project, owner, vault, seeder=alice)


@pytest.fixture
def market(kit):
    """DECA, ENERGY and a pool with the default parameters (0.3 %, 1/6 to the vault)."""
    return kit.deploy()


@pytest.fixture
def deca(market):
    return market.deca


@pytest.fixture
def energy(market):
    return market.energy


@pytest.fixture
def pool(market):
    return market.pool


@pytest.fixture
def deadline():
    return FAR


@pytest.fixture
def seeded(market, alice):
    """The pool after alice's first deposit of 1 000 DECA and 500 kWh (2 DECA per kWh)."""
    market.fund(alice, 10**24, 10**10)
    market.pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, alice, FAR, sender=alice)
    return market.pool
