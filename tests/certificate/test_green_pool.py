"""The second LiquidityPool of the deployment: DECA against GEC ("DECA/GEC LP", DGLP).

The owner (standing in for the DAO) makes the first deposit, with DECA it mints (the deployer is
a DECA minter in a system not handed to the DAO) and GEC a miner was issued; a buyer then swaps
DECA for GEC and retires what it bought.
"""

import ape
import pytest
from certificate_kit import FAR, WORLD_FACTOR

from offchain.deploy import GREEN_POOL_NAMES, MARKET_PARAMS

pytestmark = pytest.mark.usefixtures("base")  # the module's state first, then each test's snapshot

SEED_DECA = 100 * 10**18  # DECA wei
SEED_GEC = 8_000_000  # mWh: 8 kWh, so 12.5 DECA per kWh
BUY_DECA = 10 * 10**18


@pytest.fixture
def green_pool(system):
    return system.green_pool


@pytest.fixture
def seeded(cert, deca, green_pool, post_certs, tokens, issue, owner, miner):
    """a's 10 kWh issued to the miner, 8 kWh of them given to the owner, who seeds the pool with 100 DECA."""
    certs, _ = post_certs(0, [(tokens.a, 10_000_000), (tokens.b, 5_000)])
    issue(certs, tokens.a)
    cert.transfer(owner, SEED_GEC, sender=miner)
    deca.mint(owner, SEED_DECA, sender=owner)
    deca.approve(green_pool, SEED_DECA, sender=owner)
    cert.approve(green_pool, SEED_GEC, sender=owner)
    green_pool.add_liquidity(SEED_DECA, SEED_GEC, SEED_DECA, SEED_GEC, owner, FAR, sender=owner)
    return green_pool


def test_green_pool__wiring(system, green_pool, cert, deca, owner):
    assert (green_pool.name(), green_pool.symbol(), green_pool.decimals()) == (*GREEN_POOL_NAMES, 18)
    assert GREEN_POOL_NAMES == ("DECA/GEC LP", "DGLP")
    assert green_pool.DECA() == deca
    assert green_pool.ENERGY() == cert  # the pool's second token is the certificate
    assert green_pool.owner() == owner
    assert (green_pool.fee_bps(), green_pool.vault_share_bps()) == (MARKET_PARAMS["fee_bps"], MARKET_PARAMS["vault_share_bps"])
    assert green_pool != system.pool and system.pool.ENERGY() == system.energy
    assert system.dao.modules("green_pool") == green_pool
    assert green_pool.reserves()[:2] == (0, 0) and green_pool.totalSupply() == 0


def test_green_pool__first_deposit__the_dao_only(cert, deca, green_pool, post_certs, tokens, issue, miner, owner):
    certs, _ = post_certs(0, [(tokens.a, 10_000_000), (tokens.b, 5_000)])
    issue(certs, tokens.a)
    deca.mint(miner, SEED_DECA, sender=owner)
    deca.approve(green_pool, SEED_DECA, sender=miner)
    cert.approve(green_pool, SEED_GEC, sender=miner)
    with ape.reverts("pool: the first deposit is the DAO's"):
        green_pool.add_liquidity(SEED_DECA, SEED_GEC, 0, 0, miner, FAR, sender=miner)


def test_green_pool__seeded__holds_deca_and_gec(cert, deca, seeded, owner, miner):
    assert seeded.reserves()[:2] == (SEED_DECA, SEED_GEC)
    assert cert.balanceOf(seeded) == SEED_GEC and deca.balanceOf(seeded) == SEED_DECA
    assert cert.balanceOf(miner) == 10_000_000 - SEED_GEC
    assert seeded.balanceOf(owner) > 0


def test_green_pool__buy_gec_with_deca__then_retire_it(cert, deca, seeded, owner, alice):
    deca.mint(alice, BUY_DECA, sender=owner)
    deca.approve(seeded, BUY_DECA, sender=alice)
    expected = seeded.get_amount_out(deca, BUY_DECA)
    assert 0 < expected < SEED_GEC * BUY_DECA // SEED_DECA  # below the spot: fee and slippage
    seeded.swap_exact_in(deca, BUY_DECA, expected, alice, FAR, sender=alice)
    assert cert.balanceOf(alice) == expected and deca.balanceOf(alice) == 0
    assert seeded.reserves()[:2] == (SEED_DECA + BUY_DECA, SEED_GEC - expected)
    live, supply = cert.live_co2_ug(), cert.totalSupply()
    assert live == 10_000_000 * WORLD_FACTOR
    tx = cert.retire(expected, "Alice's café", "2025 espresso machine", sender=alice)
    r = cert.retirements(0)
    assert (r.holder, r.mwh, r.co2_ug, r.beneficiary) == (alice, expected, expected * live // supply, "Alice's café")
    assert tx.decode_logs(cert.Retired)[0].holder == alice
    assert cert.balanceOf(alice) == 0
    assert cert.totalSupply() == supply - expected and cert.retired_mwh() == expected
    assert cert.balanceOf(seeded) == SEED_GEC - expected  # the pool's certificates are still live


def test_green_pool__sell_gec_for_deca(cert, deca, seeded, miner):
    sell = 1_000_000  # 1 kWh
    cert.approve(seeded, sell, sender=miner)
    expected = seeded.get_amount_out(cert, sell)
    seeded.swap_exact_in(cert, sell, expected, miner, FAR, sender=miner)
    assert deca.balanceOf(miner) == expected > 0
    assert seeded.reserves()[:2] == (SEED_DECA - expected, SEED_GEC + sell)
