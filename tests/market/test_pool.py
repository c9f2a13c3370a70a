"""LiquidityPool: LP token, adds, removes, swaps, vault share, TWAP, sync/skim, setters.

The reference for every amount is the twin ``testbed.amm``.
"""

from math import isqrt

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from market_kit import FAR, MAX, SEED_DECA, SEED_ENERGY

from offchain.deploy import ENERGY_POOL_NAMES
from testbed import amm

DEAD = "0x000000000000000000000000000000000000dEaD"
ZERO = "0x" + "00" * 20
SLOW = settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])


def past(chain):
    return chain.pending_timestamp - 1


# ------------------------------------------------------------ deployment

def test_deploy__defaults__lp_token_and_parameters(pool, deca, energy, vault, owner):
    assert pool.name() == "DECA/ENERGY LP"
    assert pool.symbol() == "DELP"
    assert pool.decimals() == 18
    assert pool.DECA() == deca.address
    assert pool.ENERGY() == energy.address
    assert pool.fee_bps() == 30
    assert pool.vault_share_bps() == 1_667
    assert pool.vault() == vault.address
    assert pool.owner() == owner.address
    assert pool.MINIMUM_LIQUIDITY() == 1_000
    assert pool.MAX_FEE_BPS() == 100
    assert pool.MAX_VAULT_SHARE_BPS() == 5_000
    assert pool.reserves() == (0, 0, 0)
    assert pool.totalSupply() == 0
    assert pool.spot_price() == 0
    assert pool.k_last() == 0


def test_deploy__lp_shares__not_mintable_or_burnable_by_anyone(pool):
    for name in ("mint", "set_minter", "is_minter", "burn", "burn_from", "renounce_ownership"):
        assert not hasattr(pool, name), name


@pytest.mark.parametrize(
    "fee, share, zero_vault, reason",
    [(101, 1_667, False, "pool: fee too high"), (30, 5_001, False, "pool: share too high"),
     (30, 1_667, True, "pool: zero address")],
)
def test_deploy__bad_parameter__reverts(project, owner, vault, fee, share, zero_vault, reason):
    deca = owner.deploy(project.DecaToken)
    energy = owner.deploy(project.EnergyToken)
    with ape.reverts(reason):
        owner.deploy(project.LiquidityPool, deca, energy, ZERO if zero_vault else vault, fee, share, *ENERGY_POOL_NAMES)


def test_deploy__same_token_twice__reverts(project, owner, vault):
    deca = owner.deploy(project.DecaToken)
    with ape.reverts("pool: bad token"):
        owner.deploy(project.LiquidityPool, deca, deca, vault, 30, 1_667, *ENERGY_POOL_NAMES)


def test_deploy__zero_token__reverts(project, owner, vault):
    deca = owner.deploy(project.DecaToken)
    with ape.reverts("pool: zero address"):
        owner.deploy(project.LiquidityPool, deca, ZERO, vault, 30, 1_667, *ENERGY_POOL_NAMES)


# ------------------------------------------------------------ add

def test_add_liquidity__first_deposit__locks_minimum_and_sets_ratio(market, pool, alice, chain):
    market.fund(alice, SEED_DECA, SEED_ENERGY)
    tx = pool.add_liquidity(SEED_DECA, SEED_ENERGY, SEED_DECA, SEED_ENERGY, alice, FAR, sender=alice)
    shares = isqrt(SEED_DECA * SEED_ENERGY) - 1_000
    assert pool.balanceOf(alice) == shares
    assert pool.balanceOf(DEAD) == 1_000
    assert pool.totalSupply() == shares + 1_000
    rd, re, ts = pool.reserves()
    assert (rd, re) == (SEED_DECA, SEED_ENERGY)
    assert ts == chain.blocks.head.timestamp
    assert pool.k_last() == SEED_DECA * SEED_ENERGY
    assert market.deca.balanceOf(pool) == SEED_DECA and market.energy.balanceOf(pool) == SEED_ENERGY
    logs = tx.decode_logs(pool.Mint)
    assert len(logs) == 1
    assert (logs[0].sender, logs[0].to) == (alice.address, alice.address)
    assert (logs[0].deca, logs[0].energy, logs[0].shares) == (SEED_DECA, SEED_ENERGY, shares)
    assert pool.spot_price() == SEED_DECA * 10**18 // SEED_ENERGY


@pytest.mark.parametrize("first", ["owner", "alice"])
def test_add_liquidity__first_deposit_by_the_dao_or_its_seeder__accepted(market, pool, owner, alice, first):
    account = {"owner": owner, "alice": alice}[first]
    market.fund(account, SEED_DECA, SEED_ENERGY)
    pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, account, FAR, sender=account)
    assert pool.balanceOf(account) == isqrt(SEED_DECA * SEED_ENERGY) - 1_000


def test_add_liquidity__first_deposit_by_a_stranger__reverts(market, pool, alice, stranger):
    """The donation attack starts with the first deposit (a stranger sets a tiny share and
    then donates, so a later depositor's shares round away): the first deposit is the DAO's."""
    market.fund(stranger, 10**24, 10**12)
    with ape.reverts("pool: the first deposit is the DAO's"):
        pool.add_liquidity(1_001, 1_001, 0, 0, stranger, FAR, sender=stranger)
    assert pool.totalSupply() == 0


def test_add_liquidity__stranger_after_the_dao_seeded__accepted(seeded, market, stranger):
    market.fund(stranger, 10**21, 10**9)
    seeded.add_liquidity(10**21, 10**9, 0, 0, stranger, FAR, sender=stranger)
    assert seeded.balanceOf(stranger) > 0


def test_donation__after_the_smallest_dao_seed__costs_a_later_depositor_almost_nothing(
    market, pool, alice, bob, stranger, owner
):
    """After the smallest seed the desk makes (1 Wh at 1 DECA/kWh), a donation of 10 000 DECA
    and 10 MWh, synced, moves a share's worth so that rounding costs a depositor of 1 DECA
    and 1 kWh less than 0.1 % of it; the donor's money goes to the LP holders."""
    market.fund(alice, 10**15, 1_000)
    pool.add_liquidity(10**15, 1_000, 0, 0, alice, FAR, sender=alice)  # 1 Wh, 0.001 DECA
    market.deca.mint(pool, 10_000 * 10**18, sender=owner)
    market.energy.mint(pool, 10**10, sender=owner)
    pool.sync(sender=stranger)
    market.fund(bob, 10**18, 10**6)
    pool.add_liquidity(10**18, 10**6, 0, 0, bob, FAR, sender=bob)
    d, e = pool.quote_remove(pool.balanceOf(bob))
    assert d * 1_000 >= 999 * 10**18 and e * 1_000 >= 999 * 10**6


def test_set_seeder__dao__names_and_logs(pool, owner, stranger):
    tx = pool.set_seeder(stranger, sender=owner)
    assert pool.seeder() == stranger.address
    assert [log.seeder for log in tx.decode_logs(pool.SeederChanged)] == [stranger.address]
    with ape.reverts("pool: only the DAO"):
        pool.set_seeder(stranger, sender=stranger)


def test_add_liquidity__first_deposit_below_minimum__reverts(market, pool, alice):
    market.fund(alice, 10**6, 10**6)
    with ape.reverts("pool: insufficient shares minted"):
        pool.add_liquidity(1_000, 1_000, 0, 0, alice, FAR, sender=alice)


def test_add_liquidity__for_another_address__mints_to_it(seeded, market, bob, carol):
    market.fund(bob, 10**21, 10**9)
    d, e, n = seeded.quote_add(10**20, 10**9)
    tx = seeded.add_liquidity(10**20, 10**9, 0, 0, carol, FAR, sender=bob)
    assert seeded.balanceOf(carol) == n and seeded.balanceOf(bob) == 0
    log = tx.decode_logs(seeded.Mint)[0]
    assert (log.sender, log.to, log.deca, log.energy, log.shares) == (bob.address, carol.address, d, e, n)


@pytest.mark.parametrize("energy_scarce", [False, True])
def test_add_liquidity__later__takes_optimal_pair(seeded, market, bob, energy_scarce):
    market.fund(bob, 10**22, 10**10)
    rd, re, supply, _ = market.state()
    d_des, e_des = (10**20, 10**7) if energy_scarce else (10**20, 10**9)
    d, e, n = amm.quote_add(d_des, e_des, rd, re, supply)  # no swap yet: no vault share
    assert (d < d_des) == energy_scarce and (e < e_des) == (not energy_scarce)
    before = market.deca.balanceOf(bob), market.energy.balanceOf(bob)
    seeded.add_liquidity(d_des, e_des, d, e, bob, FAR, sender=bob)
    assert seeded.balanceOf(bob) == n
    assert (before[0] - market.deca.balanceOf(bob), before[1] - market.energy.balanceOf(bob)) == (d, e)
    assert seeded.reserves()[:2] == (rd + d, re + e)


@pytest.mark.parametrize("which, reason", [("deca", "pool: insufficient deca"), ("energy", "pool: insufficient energy")])
def test_add_liquidity__below_minimum__reverts(seeded, market, bob, which, reason):
    market.fund(bob, 10**22, 10**10)
    if which == "deca":  # energy scarce: less DECA than desired is used
        d, _, _ = seeded.quote_add(10**20, 10**7)
        args = (10**20, 10**7, d + 1, 0)
    else:
        _, e, _ = seeded.quote_add(10**20, 10**9)
        args = (10**20, 10**9, 0, e + 1)
    with ape.reverts(reason):
        seeded.add_liquidity(*args, bob, FAR, sender=bob)


@pytest.mark.parametrize("amounts", [(0, 10**6), (10**18, 0)])
def test_add_liquidity__zero_amount__reverts(market, pool, alice, amounts):
    market.fund(alice, 10**18, 10**6)
    with ape.reverts("pool: zero amount"):
        pool.add_liquidity(*amounts, 0, 0, alice, FAR, sender=alice)


def test_add_liquidity__past_deadline__reverts(market, pool, alice, chain):
    market.fund(alice, 10**18, 10**6)
    with ape.reverts("pool: expired"):
        pool.add_liquidity(10**18, 10**6, 0, 0, alice, past(chain), sender=alice)


def test_add_liquidity__to_zero_address__reverts(market, pool, alice):
    market.fund(alice, 10**18, 10**6)
    with ape.reverts("pool: zero address"):
        pool.add_liquidity(10**18, 10**6, 0, 0, ZERO, FAR, sender=alice)


def test_add_liquidity__reserve_above_112_bits__reverts(market, pool, alice):
    market.fund(alice, 2**112, 10**6)
    with ape.reverts("pool: overflow"):
        pool.add_liquidity(2**112, 10**6, 0, 0, alice, FAR, sender=alice)


@pytest.fixture
def fresh(market, chain, alice, bob):
    """`market` with alice and bob funded, restored to that state before each hypothesis
    example; `fresh(setup)` runs `setup(market)` once first (one deployment in all)."""
    market.fund(alice, 10**30, 10**16)
    market.fund(bob, 2**112, 2**112)
    snap = []

    def restore(setup=None):
        if not snap:
            if setup:
                setup(market)
        else:
            chain.restore(snap.pop())
        snap.append(chain.snapshot())
        return market

    return restore


def seed_and_swap(m, alice):
    m.pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, alice, FAR, sender=alice)
    m.pool.swap_exact_in(m.deca, 10**20, 0, alice, FAR, sender=alice)  # a vault share is due


@SLOW
@given(d=st.integers(1, 10**27), e=st.integers(1, 10**13))
def test_quote_add__any_amounts__equals_twin_and_add(fresh, alice, bob, d, e):
    m = fresh(lambda m: seed_and_swap(m, alice))
    rd, re, supply, k_last = m.state()
    due = amm.vault_shares(rd, re, supply, k_last, 1_667)
    assert m.pool.pending_vault_shares() == due > 0
    want = amm.quote_add(d, e, rd, re, supply + due)
    assert m.pool.quote_add(d, e) == want
    if want[2] == 0:
        return
    before = m.pool.balanceOf(bob)
    m.pool.add_liquidity(d, e, want[0], want[1], bob, FAR, sender=bob)
    assert m.pool.balanceOf(bob) - before == want[2]
    assert m.pool.reserves()[:2] == (rd + want[0], re + want[1])


# ------------------------------------------------------------ remove

def test_remove_liquidity__half__pays_pro_rata(seeded, market, alice, bob):
    shares = seeded.balanceOf(alice) // 2
    rd, re, supply, _ = market.state()
    d, e = amm.quote_remove(shares, rd, re, supply)
    assert seeded.quote_remove(shares) == (d, e)
    tx = seeded.remove_liquidity(shares, d, e, bob, FAR, sender=alice)
    assert (market.deca.balanceOf(bob), market.energy.balanceOf(bob)) == (d, e)
    assert seeded.reserves()[:2] == (rd - d, re - e)
    assert seeded.totalSupply() == supply - shares
    assert seeded.k_last() == (rd - d) * (re - e)
    logs = tx.decode_logs(seeded.Burn)
    assert len(logs) == 1
    assert (logs[0].sender, logs[0].to, logs[0].deca, logs[0].energy, logs[0].shares) == (
        alice.address, bob.address, d, e, shares)


def test_remove_liquidity__everything__leaves_the_locked_minimum(seeded, market, alice):
    shares = seeded.balanceOf(alice)
    d, e = amm.quote_remove(shares, SEED_DECA, SEED_ENERGY, shares + 1_000)
    seeded.remove_liquidity(shares, 0, 0, alice, FAR, sender=alice)
    rd, re, supply, _ = market.state()
    assert supply == 1_000
    assert (rd, re) == (SEED_DECA - d, SEED_ENERGY - e)
    assert rd > 0 and re > 0  # rounding leaves the locked shares their part


@pytest.mark.parametrize("which, reason", [("deca", "pool: insufficient deca"), ("energy", "pool: insufficient energy")])
def test_remove_liquidity__below_minimum__reverts(seeded, alice, which, reason):
    d, e = seeded.quote_remove(10**12)
    mins = (d + 1, 0) if which == "deca" else (0, e + 1)
    with ape.reverts(reason):
        seeded.remove_liquidity(10**12, *mins, alice, FAR, sender=alice)


def test_remove_liquidity__more_than_held__reverts(seeded, alice, bob):
    seeded.transfer(bob, 10, sender=alice)
    with ape.reverts("pool: insufficient shares"):
        seeded.remove_liquidity(11, 0, 0, bob, FAR, sender=bob)


def test_remove_liquidity__dust_paying_nothing__reverts(seeded, alice):
    # 1 share of ~2.2e16 is worth 4.5e4 DECA wei but 0.02 mWh
    with ape.reverts("pool: insufficient liquidity burned"):
        seeded.remove_liquidity(1, 0, 0, alice, FAR, sender=alice)


def test_remove_liquidity__zero_shares__reverts(seeded, alice):
    with ape.reverts("pool: zero amount"):
        seeded.remove_liquidity(0, 0, 0, alice, FAR, sender=alice)


def test_remove_liquidity__past_deadline__reverts(seeded, alice, chain):
    with ape.reverts("pool: expired"):
        seeded.remove_liquidity(10**12, 0, 0, alice, past(chain), sender=alice)


def test_remove_liquidity__to_zero_address__reverts(seeded, alice):
    with ape.reverts("pool: zero address"):
        seeded.remove_liquidity(10**12, 0, 0, ZERO, FAR, sender=alice)


def test_lp_shares__transferred__redeemable_by_the_new_holder(seeded, market, alice, bob):
    seeded.transfer(bob, 10**14, sender=alice)
    d, e = seeded.quote_remove(10**14)
    seeded.remove_liquidity(10**14, d, e, bob, FAR, sender=bob)
    assert (market.deca.balanceOf(bob), market.energy.balanceOf(bob)) == (d, e)


# ------------------------------------------------------------ swaps

@pytest.mark.parametrize("deca_in", [True, False])
def test_swap_exact_in__either_direction__pays_twin_amount(seeded, market, bob, carol, deca_in):
    amount = 10**19 if deca_in else 10**7
    market.fund(bob, amount if deca_in else 0, 0 if deca_in else amount)
    rd, re, _, _ = market.state()
    r_in, r_out = (rd, re) if deca_in else (re, rd)
    out = amm.amount_out(amount, r_in, r_out, 30)
    token_in, token_out = market.token(deca_in), market.token(not deca_in)
    assert seeded.get_amount_out(token_in, amount) == out
    tx = seeded.swap_exact_in(token_in, amount, out, carol, FAR, sender=bob)
    assert token_out.balanceOf(carol) == out and token_in.balanceOf(bob) == 0
    new = (rd + amount, re - out) if deca_in else (rd - out, re + amount)
    assert seeded.reserves()[:2] == new
    assert new[0] * new[1] >= rd * re
    logs = tx.decode_logs(seeded.Swap)
    assert len(logs) == 1
    assert (logs[0].sender, logs[0].to, logs[0].token_in) == (bob.address, carol.address, token_in.address)
    assert (logs[0].amount_in, logs[0].amount_out) == (amount, out)


@pytest.mark.parametrize("deca_in", [True, False])
def test_swap_exact_out__either_direction__takes_twin_amount(seeded, market, bob, deca_in):
    want = 10**6 if deca_in else 10**18
    rd, re, _, _ = market.state()
    r_in, r_out = (rd, re) if deca_in else (re, rd)
    need = amm.amount_in(want, r_in, r_out, 30)
    token_in, token_out = market.token(deca_in), market.token(not deca_in)
    market.fund(bob, need if deca_in else 0, 0 if deca_in else need)
    assert seeded.get_amount_in(token_in, want) == need
    tx = seeded.swap_exact_out(token_in, want, need, bob, FAR, sender=bob)
    assert token_out.balanceOf(bob) == want and token_in.balanceOf(bob) == 0
    logs = tx.decode_logs(seeded.Swap)
    assert len(logs) == 1 and (logs[0].amount_in, logs[0].amount_out) == (need, want)


def test_swap_exact_in__below_min_out__reverts(seeded, market, bob):
    market.fund(bob, 10**19, 0)
    out = seeded.get_amount_out(market.deca, 10**19)
    with ape.reverts("pool: insufficient output"):
        seeded.swap_exact_in(market.deca, 10**19, out + 1, bob, FAR, sender=bob)


def test_swap_exact_in__dust_paying_nothing__reverts(seeded, market, bob):
    market.fund(bob, 10, 0)
    with ape.reverts("pool: insufficient output"):
        seeded.swap_exact_in(market.deca, 10, 0, bob, FAR, sender=bob)


def test_swap_exact_out__above_max_in__reverts(seeded, market, bob):
    need = seeded.get_amount_in(market.energy, 10**18)
    market.fund(bob, 0, need)
    with ape.reverts("pool: excessive input"):
        seeded.swap_exact_out(market.energy, 10**18, need - 1, bob, FAR, sender=bob)


def test_swap_exact_out__whole_reserve__reverts(seeded, market, bob):
    market.fund(bob, 10**24, 0)
    with ape.reverts("pool: insufficient liquidity"):
        seeded.swap_exact_out(market.deca, SEED_ENERGY, MAX, bob, FAR, sender=bob)


@pytest.mark.parametrize("exact_out", [False, True])
def test_swap__empty_pool__reverts(market, pool, bob, exact_out):
    market.fund(bob, 10**18, 0)
    with ape.reverts("pool: insufficient liquidity"):
        if exact_out:
            pool.swap_exact_out(market.deca, 1, MAX, bob, FAR, sender=bob)
        else:
            pool.swap_exact_in(market.deca, 10**18, 0, bob, FAR, sender=bob)


@pytest.mark.parametrize("exact_out", [False, True])
def test_swap__other_token__reverts(seeded, pool, bob, exact_out):
    fn = seeded.swap_exact_out if exact_out else seeded.swap_exact_in
    with ape.reverts("pool: bad token"):
        fn(pool, 10**6, MAX if exact_out else 0, bob, FAR, sender=bob)


@pytest.mark.parametrize("exact_out", [False, True])
def test_swap__zero_amount__reverts(seeded, market, bob, exact_out):
    fn = seeded.swap_exact_out if exact_out else seeded.swap_exact_in
    with ape.reverts("pool: zero amount"):
        fn(market.deca, 0, MAX if exact_out else 0, bob, FAR, sender=bob)


@pytest.mark.parametrize("exact_out", [False, True])
def test_swap__past_deadline__reverts(seeded, market, bob, chain, exact_out):
    market.fund(bob, 10**19, 0)
    fn = seeded.swap_exact_out if exact_out else seeded.swap_exact_in
    with ape.reverts("pool: expired"):
        fn(market.deca, 10**6, MAX if exact_out else 0, bob, past(chain), sender=bob)


@pytest.mark.parametrize("exact_out", [False, True])
def test_swap__to_zero_address__reverts(seeded, market, bob, exact_out):
    market.fund(bob, 10**19, 0)
    fn = seeded.swap_exact_out if exact_out else seeded.swap_exact_in
    with ape.reverts("pool: zero address"):
        fn(market.deca, 10**6, MAX if exact_out else 0, ZERO, FAR, sender=bob)


@SLOW
@given(deca_in=st.booleans(), exact_out=st.booleans(), fee=st.integers(0, 100),
       x=st.integers(1, 10**30), seed_d=st.integers(10**12, 10**26), seed_e=st.integers(10**6, 10**12))
def test_swap__any_amount__equals_twin_and_k_never_decreases(fresh, owner, alice, bob, deca_in, exact_out, fee, x,
                                                              seed_d, seed_e):
    m = fresh()
    if fee != 30:
        m.pool.set_fee_bps(fee, sender=owner)
    m.pool.add_liquidity(seed_d, seed_e, 0, 0, alice, FAR, sender=alice)
    r_in, r_out = (seed_d, seed_e) if deca_in else (seed_e, seed_d)
    token_in = m.token(deca_in)
    if exact_out:
        x = x % (r_out - 1) + 1
        a_in, a_out = amm.amount_in(x, r_in, r_out, fee), x
        assert m.pool.get_amount_in(token_in, x) == a_in
    else:
        a_in = x
        a_out = amm.amount_out(x, r_in, r_out, fee)
        assert m.pool.get_amount_out(token_in, x) == a_out
    if a_out == 0 or r_in + a_in > amm.MAX_RESERVE:
        return
    if exact_out:
        m.pool.swap_exact_out(token_in, a_out, a_in, bob, FAR, sender=bob)
    else:
        m.pool.swap_exact_in(token_in, a_in, a_out, bob, FAR, sender=bob)
    rd, re, _ = m.pool.reserves()
    assert (rd, re) == ((seed_d + a_in, seed_e - a_out) if deca_in else (seed_d - a_out, seed_e + a_in))
    assert rd * re >= seed_d * seed_e
    assert (m.deca.balanceOf(m.pool), m.energy.balanceOf(m.pool)) == (rd, re)


# ------------------------------------------------------------ vault share

def test_vault_share__after_swaps__minted_on_next_add_as_twin(seeded, market, alice, bob, vault):
    market.fund(bob, 10**22, 10**9)
    for _ in range(3):
        seeded.swap_exact_in(market.deca, 10**20, 0, bob, FAR, sender=bob)
        seeded.swap_exact_in(market.energy, 5 * 10**7, 0, bob, FAR, sender=bob)
    rd, re, supply, k_last = market.state()
    due = amm.vault_shares(rd, re, supply, k_last, 1_667)
    assert due > 0 and seeded.pending_vault_shares() == due
    assert seeded.balanceOf(vault) == 0  # swaps mint nothing
    tx = seeded.add_liquidity(10**18, 10**9, 0, 0, bob, FAR, sender=bob)
    assert seeded.balanceOf(vault) == due
    logs = tx.decode_logs(seeded.VaultShareMinted)
    assert len(logs) == 1 and (logs[0].vault, logs[0].shares) == (vault.address, due)
    assert seeded.pending_vault_shares() == 0
    rd, re, _, k_last = market.state()
    assert k_last == rd * re


def test_vault_share__one_sixth__about_a_sixth_of_the_fees(seeded, market, alice, bob, vault):
    """The vault's shares are worth about 1/6 of the fee growth of √k."""
    market.fund(bob, 10**23, 10**10)
    root_before = isqrt(SEED_DECA * SEED_ENERGY)
    for _ in range(5):
        seeded.swap_exact_in(market.deca, 10**20, 0, bob, FAR, sender=bob)
        seeded.swap_exact_in(market.energy, 5 * 10**7, 0, bob, FAR, sender=bob)
    rd, re, supply, _ = market.state()
    due = seeded.pending_vault_shares()
    growth = isqrt(rd * re) - root_before
    vault_value = isqrt(rd * re) * due // (supply + due)  # in √k units
    assert abs(vault_value - growth * 1_667 // 10_000) <= 1


def test_vault_share__off__mints_nothing_and_clears_k_last(kit, alice, bob, vault):
    m = kit.deploy(vault_share_bps=0)
    m.fund(alice, 10**24, 10**10)
    m.pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, alice, FAR, sender=alice)
    assert m.pool.k_last() == 0
    m.pool.swap_exact_in(m.deca, 10**20, 0, alice, FAR, sender=alice)
    assert m.pool.pending_vault_shares() == 0
    m.pool.remove_liquidity(10**14, 0, 0, alice, FAR, sender=alice)
    assert m.pool.balanceOf(vault) == 0 and m.pool.k_last() == 0


def test_set_vault_share_bps__with_share_due__mints_it_at_the_old_rate_first(seeded, market, owner, bob, vault):
    market.fund(bob, 10**21, 0)
    seeded.swap_exact_in(market.deca, 10**20, 0, bob, FAR, sender=bob)
    due = seeded.pending_vault_shares()
    assert due > 0
    tx = seeded.set_vault_share_bps(0, sender=owner)
    assert seeded.balanceOf(vault) == due
    assert seeded.k_last() == 0 and seeded.pending_vault_shares() == 0
    logs = tx.decode_logs(seeded.ParameterChanged)
    assert len(logs) == 1 and (logs[0].name, logs[0].value) == ("vault_share_bps", 0)


def test_set_vault__with_share_due__mints_it_to_the_old_vault(seeded, market, owner, bob, vault, carol):
    market.fund(bob, 10**21, 0)
    seeded.swap_exact_in(market.deca, 10**20, 0, bob, FAR, sender=bob)
    due = seeded.pending_vault_shares()
    tx = seeded.set_vault(carol, sender=owner)
    assert seeded.balanceOf(vault) == due and seeded.vault() == carol.address
    logs = tx.decode_logs(seeded.VaultChanged)
    assert len(logs) == 1 and logs[0].vault == carol.address


# ------------------------------------------------------------ TWAP, spot price

def test_cumulative_prices__over_a_window__twap_equals_twin_price(seeded, market, chain, bob):
    p_deca = amm.price(SEED_DECA, SEED_ENERGY)
    cd0, t0 = seeded.cumulative_prices()
    chain.pending_timestamp += 600
    chain.mine()
    cd1, t1 = seeded.cumulative_prices()  # extrapolated, no transaction
    assert t1 - t0 >= 600
    assert amm.twap(cd0, t0, cd1, t1) == p_deca
    # a swap folds the window into the stored sums at the old price
    market.fund(bob, 10**20, 0)
    t_seed = seeded.reserves()[2]
    tx = seeded.swap_exact_in(market.deca, 10**20, 0, bob, FAR, sender=bob)
    ts = chain.provider.get_block(tx.block_number).timestamp
    assert seeded.price_deca_cumulative() == p_deca * (ts - t_seed)
    rd, re, _ = seeded.reserves()
    chain.pending_timestamp += 3_600
    chain.mine()
    cd2, t2 = seeded.cumulative_prices()
    assert amm.twap(seeded.price_deca_cumulative(), ts, cd2, t2) == amm.price(rd, re)


def test_cumulative_prices__two_changes_in_one_window__time_weighted(kit, alice, chain):
    m = kit.deploy()
    m.fund(alice, 10**24, 10**10)
    tx = m.pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, alice, FAR, sender=alice)
    t0 = chain.provider.get_block(tx.block_number).timestamp
    model = amm.Pool()
    model.add(alice.address, SEED_DECA, SEED_ENERGY, t0)
    chain.pending_timestamp = t0 + 100
    tx = m.pool.swap_exact_in(m.deca, 10**20, 0, alice, FAR, sender=alice)
    model.swap_exact_in(True, 10**20, t0 + 100)
    chain.pending_timestamp = t0 + 400
    chain.mine()
    assert m.pool.cumulative_prices() == model.cumulative_prices(t0 + 400)
    # average over [t0, t0 + 400]: 100 s at the seed price, 300 s at the new one
    cd, _ = model.cumulative_prices(t0 + 400)
    want = (100 * amm.price(SEED_DECA, SEED_ENERGY) + 300 * amm.price(*model_reserves(model))) // 400
    assert amm.twap(0, t0, cd, t0 + 400) == want


def model_reserves(model):
    return model.reserve_deca, model.reserve_energy


def test_spot_price__seeded__deca_wei_per_mwh_scaled(seeded):
    # 2 DECA per kWh = 2e18 wei per 1e6 mWh = 2e12 wei per mWh
    assert seeded.spot_price() == 2 * 10**12 * 10**18


# ------------------------------------------------------------ donations

def test_skim__after_donation__sends_the_excess(seeded, market, owner, stranger, carol):
    market.deca.mint(stranger, 5, sender=owner)
    market.energy.mint(stranger, 7, sender=owner)
    market.deca.transfer(seeded, 5, sender=stranger)
    market.energy.transfer(seeded, 7, sender=stranger)
    seeded.skim(carol, sender=stranger)
    assert (market.deca.balanceOf(carol), market.energy.balanceOf(carol)) == (5, 7)
    assert seeded.reserves()[:2] == (SEED_DECA, SEED_ENERGY)


def test_skim__to_zero_address__reverts(seeded, stranger):
    with ape.reverts("pool: zero address"):
        seeded.skim(ZERO, sender=stranger)


def test_sync__after_donation__reserves_equal_balances(seeded, market, owner, stranger):
    market.energy.mint(seeded, 10**6, sender=owner)
    tx = seeded.sync(sender=stranger)
    assert seeded.reserves()[:2] == (SEED_DECA, SEED_ENERGY + 10**6)
    logs = tx.decode_logs(seeded.Sync)
    assert len(logs) == 1 and (logs[0].reserve_deca, logs[0].reserve_energy) == (SEED_DECA, SEED_ENERGY + 10**6)


def test_sync__balance_above_112_bits__reverts(seeded, market, owner, stranger):
    market.deca.mint(seeded, 2**112, sender=owner)
    with ape.reverts("pool: overflow"):
        seeded.sync(sender=stranger)


# ------------------------------------------------------------ owner

@pytest.mark.parametrize("setter, value", [("set_fee_bps", 10), ("set_vault_share_bps", 100), ("set_vault", None)])
def test_setter__not_the_dao__reverts(pool, stranger, setter, value):
    with ape.reverts("pool: only the DAO"):
        getattr(pool, setter)(stranger if value is None else value, sender=stranger)


def test_set_fee_bps__by_the_dao__changes_the_price(seeded, market, owner):
    tx = seeded.set_fee_bps(100, sender=owner)
    assert seeded.fee_bps() == 100
    logs = tx.decode_logs(seeded.ParameterChanged)
    assert len(logs) == 1 and (logs[0].name, logs[0].value) == ("fee_bps", 100)
    assert seeded.get_amount_out(market.deca, 10**18) == amm.amount_out(10**18, SEED_DECA, SEED_ENERGY, 100)


def test_set_fee_bps__above_one_percent__reverts(pool, owner):
    with ape.reverts("pool: fee too high"):
        pool.set_fee_bps(101, sender=owner)


def test_set_vault_share_bps__above_half__reverts(pool, owner):
    with ape.reverts("pool: share too high"):
        pool.set_vault_share_bps(5_001, sender=owner)


def test_set_vault__zero_address__reverts(pool, owner):
    with ape.reverts("pool: zero address"):
        pool.set_vault(ZERO, sender=owner)


def test_transfer_ownership__to_the_dao__only_the_dao_sets(pool, owner, accounts):
    dao = accounts[14]
    pool.transfer_ownership(dao, sender=owner)
    assert pool.owner() == dao.address
    pool.set_fee_bps(5, sender=dao)
    with ape.reverts("pool: only the DAO"):
        pool.set_fee_bps(6, sender=owner)


# ------------------------------------------------------------ reentrancy

@pytest.mark.parametrize("call", ["add", "swap"])
def test_token_callback__into_the_pool__is_refused(project, owner, vault, alice, call):
    """A token that calls `sync()` from inside its transfer: the pool's lock refuses it
    (Vyper's lock reverts without a reason, so the token records the failure)."""
    bad = owner.deploy(project.ReentrantToken)
    energy = owner.deploy(project.EnergyToken)
    pool = owner.deploy(project.LiquidityPool, bad, energy, vault, 30, 1_667, *ENERGY_POOL_NAMES)
    pool.set_seeder(alice, sender=owner)
    bad.mint(alice, 10**24, sender=alice)
    energy.mint(alice, 10**12, sender=owner)
    energy.approve(pool, MAX, sender=alice)
    if call == "swap":
        pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, alice, FAR, sender=alice)
    bad.arm(pool, sender=alice)
    bad.poke(sender=alice)
    assert (bad.tried(), bad.succeeded()) == (1, 1)  # outside a pool call, sync() is open
    if call == "add":
        pool.add_liquidity(SEED_DECA, SEED_ENERGY, 0, 0, alice, FAR, sender=alice)
    else:
        pool.swap_exact_in(bad, 10**18, 0, alice, FAR, sender=alice)
    assert (bad.tried(), bad.succeeded()) == (2, 1)
