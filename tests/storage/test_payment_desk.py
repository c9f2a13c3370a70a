"""PaymentDesk: payment requests, the DAO's review, approval into the pool, rejection."""

import math

import ape
import pytest

from storage_kit import DAO_SHARE_BPS, HOUR, REFERENCE_PRICE

PENDING, APPROVED, REJECTED = 1, 2, 3
CREDITED, REQUESTED, PAID = 1, 2, 3
MINIMUM_LIQUIDITY = 1_000
PRICE_SCALE = 10**18


@pytest.fixture
def keys(market, token, node, other_node, miner):
    """Three credited deliveries of the miner: two into the node, one into the other node."""
    return [
        market.deliver(token, node, 2_000_000, 1_900_000, sender=miner),
        market.deliver(token, node, 3_000_000, 2_700_000, sender=miner),
        market.deliver(token, other_node, 1_000_000, 990_000, sender=miner),
    ]


def test_request_payment__reserves_the_deliveries_and_shows_the_review(market, token, keys, miner):
    end = market.chain.pending_timestamp
    tx = market.desk.request_payment(token, end - 30 * 86_400, end, keys, sender=miner)
    [e] = tx.decode_logs(market.desk.PaymentRequested)
    assert (e.request_id, e.token_id, e.miner, e.deliveries) == (1, token, miner.address, 3)
    assert (e.sent_mwh, e.received_mwh) == (6_000_000, 5_590_000)
    assert [market.storage.delivery(k).status for k in keys] == [REQUESTED] * 3
    r = market.desk.review(1)
    assert (r.token_id, r.miner, r.status, r.deliveries) == (token, miner.address, PENDING, 3)
    assert (r.sent_mwh, r.received_mwh, r.loss_mwh, r.loss_bps) == (6_000_000, 5_590_000, 410_000, 683)
    enrolled_at = market.sbt.device_start(market.sbt.device_of(token))[1]  # no batch yet: its enrollment
    assert (r.hardware_status, r.online_hours, r.last_seen) == (1, 0, enrolled_at)
    assert r.energy_to_mint == 5_590_000
    assert r.deca_to_mint == 5_590_000 * REFERENCE_PRICE // PRICE_SCALE
    assert r.dao_deca == r.deca_to_mint * DAO_SHARE_BPS // 10_000
    assert r.price == REFERENCE_PRICE and r.reason == ""
    assert list(market.desk.deliveries_of(1)) == keys


def test_approve__first_payment__seeds_the_pool_at_the_reference_price(market, token, keys, node, other_node,
                                                                       miner, vault, owner):
    request_id = market.request_payment(token, keys, sender=miner)
    tx = market.desk.approve(request_id, sender=owner)
    [e] = tx.decode_logs(market.desk.PaymentApproved)
    energy = 5_590_000
    deca = energy * REFERENCE_PRICE // PRICE_SCALE
    assert (e.energy_mwh, e.deca_added, e.energy_to_miner, e.price) == (energy, deca, 0, REFERENCE_PRICE)
    assert e.shares == math.isqrt(energy * deca) - MINIMUM_LIQUIDITY
    assert market.pool.balanceOf(miner) == e.shares
    assert e.dao_deca == deca * DAO_SHARE_BPS // 10_000 and market.deca.balanceOf(vault) == e.dao_deca
    assert market.pool.reserves()[:2] == (deca, energy)
    assert market.energy.totalSupply() == energy and market.deca.totalSupply() == deca + e.dao_deca
    assert [market.storage.delivery(k).status for k in keys] == [PAID] * 3
    assert market.storage.nodes(node).tokenized_mwh == 4_600_000
    assert market.storage.nodes(other_node).tokenized_mwh == 990_000
    assert market.storage.nodes(node).unpaid_mwh == 0 and market.storage.credit_of(token) == 0
    assert market.desk.requests(request_id).status == APPROVED
    tokenized, supply, per_node = market.parity()
    assert tokenized == supply and per_node


def test_approve__pool_moved__pays_at_the_twap_and_burns_what_the_pool_leaves(
    market, token, other_token, node, miner, other_miner, owner
):
    first = market.deliver(token, node, 10_000_000, 10_000_000, sender=miner)
    market.pay(token, [first], sender=miner)
    obs = market.desk.observe(sender=owner)  # the first observation once the pool has liquidity
    t_obs = obs.timestamp
    # a large swap doubles the spot price of ENERGY in DECA
    deca_in = market.pool.reserves()[0] * 414 // 1000
    market.deca.mint(owner, deca_in, sender=owner)
    market.deca.approve(market.pool, deca_in, sender=owner)
    p0 = market.pool.spot_price()
    market.chain.pending_timestamp = t_obs + 600  # ten minutes at p0 (Anvil may mine two blocks in one second)
    swap = market.pool.swap_exact_in(market.deca, deca_in, 0, owner, market.chain.pending_timestamp + 60,
                                     sender=owner)
    p1 = market.pool.spot_price()
    assert p1 > 19 * p0 // 10
    key = market.deliver(other_token, node, 1_000_000, 1_000_000, sender=other_miner)
    request_id = market.request_payment(other_token, [key], sender=other_miner)
    market.chain.pending_timestamp = t_obs + 2 * HOUR
    supply_before = market.deca.totalSupply()
    tx = market.desk.approve(request_id, sender=owner)
    [e] = tx.decode_logs(market.desk.PaymentApproved)
    twap = (p0 * (swap.timestamp - t_obs) + p1 * (tx.timestamp - swap.timestamp)) // (tx.timestamp - t_obs)
    assert abs(e.price - twap) <= 1 + twap // 10**15  # the pool accumulates each price rounded down
    assert p0 < e.price < p1
    # the pool took DECA and ENERGY at its spot ratio: all the offered DECA, less ENERGY
    assert e.deca_added == 1_000_000 * e.price // PRICE_SCALE
    assert e.energy_to_miner > 0 and market.energy.balanceOf(other_miner) == e.energy_to_miner
    assert market.deca.totalSupply() - supply_before == e.deca_added + e.dao_deca
    tokenized, supply, per_node = market.parity()
    assert tokenized == supply and per_node


def test_reject__records_the_reason_and_a_corrected_request_is_paid(market, token, keys, miner, owner):
    request_id = market.request_payment(token, keys, sender=miner)
    tx = market.desk.reject(request_id, "delivery 2 lost 10 %: meter check first", sender=owner)
    [e] = tx.decode_logs(market.desk.PaymentRejected)
    assert (e.request_id, e.token_id, e.reason) == (request_id, token, "delivery 2 lost 10 %: meter check first")
    r = market.desk.review(request_id)
    assert (r.status, r.reason) == (REJECTED, "delivery 2 lost 10 %: meter check first")
    assert [market.storage.delivery(k).status for k in keys] == [CREDITED] * 3
    assert market.storage.credit_of(token) == 5_590_000
    corrected = market.request_payment(token, [keys[0], keys[2]], sender=miner)
    market.desk.approve(corrected, sender=owner)
    assert market.energy.totalSupply() == 1_900_000 + 990_000
    assert market.storage.credit_of(token) == 2_700_000  # the left-out delivery is still unpaid credit
    assert market.storage.delivery(keys[1]).status == CREDITED
    tokenized, supply, per_node = market.parity()
    assert tokenized == supply and per_node


def _bad_request(market, token, other_token, keys, miner, other_miner, owner, case):
    end = market.chain.pending_timestamp
    month = (token, end - 30 * 86_400, end, keys)
    if case == "not the owner":
        return (token, end - 30 * 86_400, end, keys), other_miner
    if case == "miner suspended":
        market.sbt.set_hardware_status(token, 2, sender=owner)
        return month, miner
    if case == "empty period":
        return (token, end, end, keys), miner
    if case == "period over 92 days":
        return (token, end - 93 * 86_400, end, keys), miner
    if case == "no deliveries":
        return (token, end - 30 * 86_400, end, []), miner
    if case == "another miner's delivery":
        other = market.deliver(other_token, market.storage.delivery(keys[0]).node, 10, 10, sender=other_miner)
        return (token, end - 30 * 86_400, end, [keys[0], other]), miner
    if case == "delivery listed twice":
        return (token, end - 30 * 86_400, end, [keys[0], keys[0]]), miner
    if case == "delivery already requested":
        market.request_payment(token, [keys[0]], sender=miner)
        return month, miner
    if case == "delivery outside the period":
        return (token, end - 60, end, keys), miner
    if case == "less than 1 Wh":
        small = market.deliver(token, market.storage.delivery(keys[0]).node, 999, 999, sender=miner)
        return (token, end - 30 * 86_400, end, [small]), miner
    if case == "unknown delivery":
        return (token, end - 30 * 86_400, end, [keys[0] + 1000]), miner
    raise AssertionError(case)


@pytest.mark.parametrize("case, reason", [
    ("not the owner", "desk: not the token's owner"),
    ("miner suspended", "desk: miner not active"),
    ("empty period", "desk: bad period"),
    ("period over 92 days", "desk: bad period"),
    ("no deliveries", "desk: no deliveries"),
    ("another miner's delivery", "storage: not the miner's delivery"),
    ("delivery listed twice", "storage: delivery not payable"),
    ("delivery already requested", "storage: delivery not payable"),
    ("delivery outside the period", "storage: delivery outside the period"),
    ("unknown delivery", "storage: unknown delivery"),
    ("less than 1 Wh", "desk: less than 1 Wh to pay"),
])
def test_request_payment__refused__reverts_and_reserves_nothing(
    market, token, other_token, keys, miner, other_miner, owner, case, reason
):
    args, sender = _bad_request(market, token, other_token, keys, miner, other_miner, owner, case)
    statuses = [market.storage.delivery(k).status for k in keys]
    count = market.desk.request_count()
    with ape.reverts(reason):
        market.desk.request_payment(*args, sender=sender)
    assert [market.storage.delivery(k).status for k in keys] == statuses
    assert market.desk.request_count() == count


@pytest.mark.parametrize("call", ["approve", "reject", "set_reference_price", "set_dao_share_bps", "set_vault",
                                  "transfer_ownership"])
def test_dao_only_calls__by_a_stranger__revert(market, token, keys, miner, stranger, call):
    market.request_payment(token, keys, sender=miner)
    args = {"approve": (1,), "reject": (1, "no"), "set_reference_price": (1,), "set_dao_share_bps": (1,),
            "set_vault": (stranger,), "transfer_ownership": (stranger,)}[call]
    with ape.reverts("desk: only the DAO"):
        getattr(market.desk, call)(*args, sender=stranger)


def test_approve_and_reject__settled_or_unknown_request__revert(market, token, keys, miner, owner):
    request_id = market.request_payment(token, keys, sender=miner)
    with ape.reverts("desk: unknown request"):
        market.desk.approve(request_id + 1, sender=owner)
    with ape.reverts("desk: reason required"):
        market.desk.reject(request_id, "", sender=owner)
    market.desk.approve(request_id, sender=owner)
    with ape.reverts("desk: request not pending"):
        market.desk.approve(request_id, sender=owner)
    with ape.reverts("desk: request not pending"):
        market.desk.reject(request_id, "too late", sender=owner)
    with ape.reverts("desk: unknown request"):
        market.desk.review(request_id + 1)


@pytest.mark.parametrize("setter, value, reason", [
    ("set_reference_price", 0, "desk: zero price"),
    ("set_dao_share_bps", 5_001, "desk: share too high"),
    ("set_vault", "0x" + "00" * 20, "desk: zero address"),
])
def test_setters__out_of_bounds__revert(market, owner, setter, value, reason):
    with ape.reverts(reason):
        getattr(market.desk, setter)(value, sender=owner)


def test_setters__in_bounds__log_the_change(market, owner):
    tx = market.desk.set_dao_share_bps(5_000, sender=owner)
    assert [(e.name, e.value) for e in tx.decode_logs(market.desk.ParameterChanged)] == [("dao_share_bps", 5_000)]
    market.desk.set_reference_price(7, sender=owner)
    assert market.desk.reference_price() == 7 and market.desk.price() == 7
