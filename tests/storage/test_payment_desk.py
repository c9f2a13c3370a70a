"""PaymentDesk: payment requests, the DAO's review, approval into the pool, rejection."""

import math

import ape
import pytest
from storage_kit import DAO_SHARE_BPS, HOUR, PRICE_BAND_BPS, REFERENCE_PRICE

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
    assert r.price == REFERENCE_PRICE and r.reason == ""  # the pool is empty: the DAO's reference
    assert (r.twap_price, r.spot_price, r.last_price) == (0, 0, 0)
    assert list(market.desk.deliveries_of(1)) == keys


def test_approve__first_payment__seeds_the_pool_at_the_reference_price(market, token, keys, node, other_node,
                                                                       miner, vault, owner):
    request_id = market.request_payment(token, keys, sender=miner)
    tx = market.desk.approve(request_id, REFERENCE_PRICE, sender=owner)
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
    assert market.desk.last_price() == REFERENCE_PRICE
    tokenized, supply, per_node = market.parity()
    assert tokenized == supply and per_node


def _buy_energy(market, owner, trader, deca_in):
    """`trader` swaps `deca_in` DECA wei for ENERGY (the owner mints it the DECA)."""
    market.deca.mint(trader, deca_in, sender=owner)
    market.deca.approve(market.pool, deca_in, sender=trader)
    return market.pool.swap_exact_in(market.deca, deca_in, 0, trader, market.chain.pending_timestamp + 60,
                                     sender=trader)


@pytest.fixture
def second_request(market, token, other_token, node, miner, other_miner):
    """The pool seeded by a first payment of 10 kWh at 1 DECA/kWh; another miner's 48 Wh filed."""
    market.pay(token, [market.deliver(token, node, 10_000_000, 10_000_000, sender=miner)], sender=miner)
    key = market.deliver(other_token, node, 48_000, 48_000, sender=other_miner)
    return market.request_payment(other_token, [key], sender=other_miner)


def test_approve__price_pumped_by_a_stranger_before_the_execution__reverts(
    market, second_request, owner, attacker
):
    """The attack: anyone may execute a ballot at its ETA, so a stranger buys ENERGY with 50x
    the pool's DECA just before, to make the payment mint far more DECA (about 2 850x the
    reviewed amount when the desk priced at a TWAP the stranger's `observe()` started). The DAO
    votes the price now, and a spot that far off it refuses the approval: nothing minted."""
    voted = market.desk.review(second_request).price
    assert voted == market.pool.spot_price() == REFERENCE_PRICE  # under an hour since filing: the spot
    _buy_energy(market, owner, attacker, market.pool.reserves()[0] * 50)
    market.chain.pending_timestamp += HOUR + 60
    supply = market.deca.totalSupply(), market.energy.totalSupply()
    with ape.reverts("desk: pool price off the voted price"):
        market.desk.approve(second_request, voted, sender=owner)
    assert (market.deca.totalSupply(), market.energy.totalSupply()) == supply
    assert market.desk.requests(second_request).status == PENDING  # to vote again, or to reject


@pytest.mark.parametrize("direction", ["buy", "sell"])
def test_approve__spot_just_outside_the_band__reverts(market, second_request, owner, attacker, direction):
    voted = market.pool.spot_price()
    rd, re, _ = market.pool.reserves()
    if direction == "buy":  # about +6 %: the price of ENERGY in DECA rises
        _buy_energy(market, owner, attacker, rd * 3 // 100)
    else:  # about -6 %
        market.energy.mint(attacker, re * 3 // 100, sender=owner)  # (the owner mints: a holder of ENERGY)
        market.energy.approve(market.pool, re, sender=attacker)
        market.pool.swap_exact_in(market.energy, re * 3 // 100, 0, attacker, market.chain.pending_timestamp + 60,
                                  sender=attacker)
    assert abs(market.pool.spot_price() - voted) * 10_000 > voted * PRICE_BAND_BPS
    with ape.reverts("desk: pool price off the voted price"):
        market.desk.approve(second_request, voted, sender=owner)


def test_approve__spot_moved_inside_the_band__mints_exactly_at_the_voted_price(
    market, second_request, other_miner, owner, attacker
):
    """Within the band a sandwich gains at most the band's worth of the added liquidity: the
    payment still mints ENERGY x the voted price and no more; what the pool's ratio leaves of
    the DECA is burned, the ENERGY it leaves goes to the miner."""
    voted = market.pool.spot_price()
    _buy_energy(market, owner, attacker, market.pool.reserves()[0] * 2 // 100)  # about +4 %
    supply = market.deca.totalSupply()
    tx = market.desk.approve(second_request, voted, sender=owner)
    [e] = tx.decode_logs(market.desk.PaymentApproved)
    assert e.price == voted and e.energy_mwh == 48_000
    assert e.deca_added == 48_000 * voted // PRICE_SCALE  # the pool, richer in DECA now, takes all the DECA
    assert e.energy_to_miner > 0 and market.energy.balanceOf(other_miner) == e.energy_to_miner
    assert market.deca.totalSupply() - supply == e.deca_added + e.dao_deca <= 48_000 * voted // PRICE_SCALE * 11 // 10


def test_review__an_hour_after_filing__suggests_the_time_weighted_price_since_filing(
    market, second_request, owner, attacker
):
    """The suggested price is the pool's TWAP from the request's filing: a swap just before the
    DAO reads the review moves it by its share of the window only."""
    filed = market.desk.requests(second_request).filed
    p0 = market.pool.spot_price()
    market.chain.pending_timestamp = filed + 3 * HOUR
    swap = _buy_energy(market, owner, attacker, market.pool.reserves()[0] * 414 // 1000)  # doubles the spot
    p1 = market.pool.spot_price()
    assert p1 > 19 * p0 // 10
    market.chain.pending_timestamp = swap.timestamp + HOUR
    market.chain.mine()
    now = market.chain.blocks.head.timestamp
    r = market.desk.review(second_request)
    twap = (p0 * (swap.timestamp - filed) + p1 * (now - swap.timestamp)) // (now - filed)
    assert abs(r.twap_price - twap) <= 1 + twap // 10**15  # the pool accumulates each price rounded down
    assert r.price == r.twap_price and p0 < r.price < p1
    assert (r.spot_price, r.last_price) == (p1, REFERENCE_PRICE)
    assert r.deca_to_mint == 48_000 * r.price // PRICE_SCALE


def test_review__filed_while_the_pool_was_empty__suggests_the_spot(market, token, other_token, keys, node, miner,
                                                                    other_miner, owner):
    """The TWAP of a request filed before the pool had liquidity would count the empty time as
    price 0: none is suggested; the spot once there is one."""
    empty_then = market.desk.request_count() + 1
    market.request_payment(other_token, [market.deliver(other_token, node, 5_000, 5_000, sender=other_miner)],
                           sender=other_miner)
    market.pay(token, keys, sender=miner)
    market.chain.pending_timestamp += 2 * HOUR
    market.chain.mine()
    r = market.desk.review(empty_then)
    assert r.twap_price == 0 and r.price == r.spot_price == market.pool.spot_price() > 0


def test_approve__zero_price__reverts(market, second_request, owner):
    with ape.reverts("desk: zero price"):
        market.desk.approve(second_request, 0, sender=owner)


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
    market.approve(corrected)
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


@pytest.mark.parametrize("call", ["approve", "reject", "set_reference_price", "set_dao_share_bps",
                                  "set_price_band_bps", "set_vault", "transfer_ownership"])
def test_dao_only_calls__by_a_stranger__revert(market, token, keys, miner, stranger, call):
    market.request_payment(token, keys, sender=miner)
    args = {"approve": (1, REFERENCE_PRICE), "reject": (1, "no"), "set_reference_price": (1,),
            "set_dao_share_bps": (1,), "set_price_band_bps": (1,), "set_vault": (stranger,),
            "transfer_ownership": (stranger,)}[call]
    with ape.reverts("desk: only the DAO"):
        getattr(market.desk, call)(*args, sender=stranger)


def test_approve_and_reject__settled_or_unknown_request__revert(market, token, keys, miner, owner):
    request_id = market.request_payment(token, keys, sender=miner)
    with ape.reverts("desk: unknown request"):
        market.desk.approve(request_id + 1, REFERENCE_PRICE, sender=owner)
    with ape.reverts("desk: reason required"):
        market.desk.reject(request_id, "", sender=owner)
    market.desk.approve(request_id, REFERENCE_PRICE, sender=owner)
    with ape.reverts("desk: request not pending"):
        market.desk.approve(request_id, REFERENCE_PRICE, sender=owner)
    with ape.reverts("desk: request not pending"):
        market.desk.reject(request_id, "too late", sender=owner)
    with ape.reverts("desk: unknown request"):
        market.desk.review(request_id + 1)


@pytest.mark.parametrize("setter, value, reason", [
    ("set_reference_price", 0, "desk: zero price"),
    ("set_dao_share_bps", 5_001, "desk: share too high"),
    ("set_price_band_bps", 0, "desk: bad price band"),
    ("set_price_band_bps", 5_001, "desk: bad price band"),
    ("set_vault", "0x" + "00" * 20, "desk: zero address"),
])
def test_setters__out_of_bounds__revert(market, owner, setter, value, reason):
    with ape.reverts(reason):
        getattr(market.desk, setter)(value, sender=owner)


def test_setters__in_bounds__log_the_change(market, owner):
    tx = market.desk.set_dao_share_bps(5_000, sender=owner)
    assert [(e.name, e.value) for e in tx.decode_logs(market.desk.ParameterChanged)] == [("dao_share_bps", 5_000)]
    market.desk.set_reference_price(7, sender=owner)
    assert market.desk.reference_price() == 7
    tx = market.desk.set_price_band_bps(5_000, sender=owner)
    assert market.desk.price_band_bps() == 5_000
    assert [(e.name, e.value) for e in tx.decode_logs(market.desk.ParameterChanged)] == [("price_band_bps", 5_000)]
