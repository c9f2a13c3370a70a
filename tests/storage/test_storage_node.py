"""StorageNode: nodes, deliveries from two signed statements, energy requests and fills."""

import ape
import pytest
from conftest import ATTACKER_DEVICE_KEY, DEVICE_KEYS, METER_KEYS
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from storage_kit import DELIVERED_OUT, HOUR, NODE_CAPACITY, RECEIVED, SENT, address_of

from greenminer import meter as device_meter
from offchain.protocol import meter

CREDITED, REQUESTED, PAID = 1, 2, 3
OPEN, FILLED, CANCELLED = 1, 2, 3


# ---------------------------------------------------------------- statements

PARTY = address_of(DEVICE_KEYS[0])


@pytest.mark.parametrize("kind", [SENT, RECEIVED, DELIVERED_OUT])
def test_statement_digest__contract_device_and_eth_account__agree(market, chain, kind):
    args = (3, 2**64 - 1, PARTY, 1_750_000_000, 1_750_003_600, 2**128 - 1, kind)
    reference = encode_typed_data(full_message=meter.typed_data(chain.chain_id, market.storage.address, *args))
    expected = keccak(b"\x19\x01" + reference.header + reference.body)
    assert market.storage.statement_digest(*args) == expected
    assert device_meter.statement_digest(chain.chain_id, market.storage.address, *args) == expected


@pytest.mark.parametrize("field", ["node", "id", "party", "period_start", "period_end", "energy_mwh", "kind"])
def test_statement_digest__each_field__changes_the_digest(market, field):
    fields = dict(node=3, id=7, party=PARTY, period_start=10, period_end=20, energy_mwh=5, kind=RECEIVED)
    other = {**fields, field: address_of(ATTACKER_DEVICE_KEY) if field == "party" else fields[field] + 1}
    assert market.storage.statement_digest(*other.values()) != market.storage.statement_digest(*fields.values())


def test_sign_statement__recovers_to_the_signer(market, chain):
    s = device_meter.sign_statement(METER_KEYS[0], chain.chain_id, market.storage.address, 1, 7, PARTY, 10, 20, 5,
                                    RECEIVED)
    assert s["party"] == PARTY
    digest = device_meter.statement_digest(chain.chain_id, market.storage.address, 1, 7, PARTY, 10, 20, 5, RECEIVED)
    signer = Account._recover_hash(digest, signature=bytes.fromhex(s["signature"][2:]))
    assert signer.lower() == s["signer"]


# --------------------------------------------------------------------- nodes

def test_register_node__records_it_and_logs(market, owner):
    tx = market.storage.register_node(owner, 1_000, -33_900_000, 151_200_000, sender=owner)
    logs = tx.decode_logs(market.storage.NodeRegistered)
    assert len(logs) == 1 and logs[0].node == 1 and logs[0].capacity_mwh == 1_000
    n = market.storage.nodes(1)
    assert (n.meter, n.capacity_mwh, n.lat_udeg, n.lon_udeg, n.active) == (owner.address, 1_000, -33_900_000,
                                                                           151_200_000, True)
    assert market.storage.node_count() == 1 and market.storage.free_capacity_mwh(1) == 1_000


@pytest.mark.parametrize("meter_, capacity, lat, lon, reason", [
    ("0x" + "00" * 20, 1_000, 0, 0, "storage: zero meter"),
    (None, 0, 0, 0, "storage: bad capacity"),
    (None, 2**128, 0, 0, "storage: bad capacity"),
    (None, 1_000, 90_000_001, 0, "storage: bad location"),
    (None, 1_000, 0, -180_000_001, "storage: bad location"),
])
def test_register_node__bad_input__reverts(market, owner, meter_, capacity, lat, lon, reason):
    with ape.reverts(reason):
        market.storage.register_node(meter_ or owner, capacity, lat, lon, sender=owner)


@pytest.mark.parametrize("call", ["register_node", "set_node_active", "set_desk", "transfer_ownership"])
def test_dao_only_calls__by_a_stranger__revert(market, stranger, node, call):
    args = {"register_node": (stranger, 1, 0, 0), "set_node_active": (node, False), "set_desk": (stranger,),
            "transfer_ownership": (stranger,)}[call]
    with ape.reverts("storage: only the DAO"):
        getattr(market.storage, call)(*args, sender=stranger)


def test_set_node_active__suspends_and_reactivates(market, owner, node):
    tx = market.storage.set_node_active(node, False, sender=owner)
    assert [(e.node, e.active) for e in tx.decode_logs(market.storage.NodeStatusChanged)] == [(node, False)]
    with ape.reverts("storage: status unchanged"):
        market.storage.set_node_active(node, False, sender=owner)
    market.storage.set_node_active(node, True, sender=owner)
    assert market.storage.nodes(node).active
    with ape.reverts("storage: unknown node"):
        market.storage.set_node_active(node + 1, False, sender=owner)


@pytest.mark.parametrize("call", ["reserve", "release", "settle"])
def test_desk_only_calls__by_a_stranger__revert(market, stranger, call):
    args = {"reserve": ([1], 1, 0, 1), "release": ([1],), "settle": ([1],)}[call]
    with ape.reverts("storage: only the payment desk"):
        getattr(market.storage, call)(*args, sender=stranger)


# ---------------------------------------------------------------- deliveries

def test_record_delivery__credits_the_miner_and_stores_the_loss(market, token, node, stranger):
    args = market.delivery_args(token, node, 2_000_000, 1_900_000)
    tx = market.storage.record_delivery(*args, sender=stranger)  # anyone may relay the two statements
    logs = tx.decode_logs(market.storage.Delivered)
    assert len(logs) == 1
    e = logs[0]
    key = market.storage.delivery_key(node, 1)
    assert (e.key, e.node, e.token_id, e.delivery_id) == (key, node, token, 1)
    assert (e.sent_mwh, e.received_mwh, e.loss_mwh) == (2_000_000, 1_900_000, 100_000)
    d = market.storage.delivery(key)
    assert (d.node, d.delivery_id, d.token_id, d.period_start, d.period_end) == (node, 1, token, args[3], args[4])
    assert (d.sent_mwh, d.received_mwh, d.loss_mwh, d.status) == (2_000_000, 1_900_000, 100_000, CREDITED)
    assert market.storage.credit_of(token) == 1_900_000
    n = market.storage.nodes(node)
    assert (n.unpaid_mwh, n.tokenized_mwh) == (1_900_000, 0)
    assert market.storage.stored_mwh(node) == 1_900_000
    assert market.storage.free_capacity_mwh(node) == NODE_CAPACITY - 1_900_000


def test_delivery__unknown_key__reads_as_zero(market):
    d = market.storage.delivery(12345)
    assert (d.node, d.token_id, d.status, d.sent_mwh) == (0, 0, 0, 0)


def _bad_delivery(market, token, other_token, node, owner, case):
    """Arguments of a refused delivery for each case (and any state change it needs)."""
    now = market.chain.pending_timestamp
    if case == "unknown node":
        market.meter_key[node + 1] = METER_KEYS[0]
        return market.delivery_args(token, node + 1, 10, 10, delivery_id=1)
    if case == "node suspended":
        market.storage.set_node_active(node, False, sender=owner)
        return market.delivery_args(token, node, 10, 10)
    if case == "bad delivery id 0":
        return market.delivery_args(token, node, 10, 10, delivery_id=0)
    if case == "bad delivery id 2**64":
        return market.delivery_args(token, node, 10, 10, delivery_id=2**64)
    if case == "delivery recorded":
        market.deliver(token, node, 10, 10, sender=owner, delivery_id=5)
        return market.delivery_args(other_token, node, 20, 20, delivery_id=5)
    if case == "empty period":
        return market.delivery_args(token, node, 10, 10, start=now - 100, end=now - 100)
    if case == "period in the future":
        return market.delivery_args(token, node, 10, 10, start=now - 100, end=now + HOUR)
    if case == "nothing received":
        return market.delivery_args(token, node, 10, 0)
    if case == "received exceeds sent":
        return market.delivery_args(token, node, 10, 11)
    if case == "node full":
        return market.delivery_args(token, node, NODE_CAPACITY + 1, NODE_CAPACITY + 1)
    if case == "sent signed by a stranger":
        return market.delivery_args(token, node, 10, 10, device_priv=DEVICE_KEYS[2])
    if case == "miner suspended":
        market.sbt.set_hardware_status(token, 2, sender=owner)
        return market.delivery_args(token, node, 10, 10)
    if case == "received signed by another meter":
        return market.delivery_args(token, node, 10, 10, meter_priv=METER_KEYS[1])
    if case == "sent amount altered":
        args = list(market.delivery_args(token, node, 10, 10))
        args[5] = 11  # the device signed 10
        return tuple(args)
    if case == "received amount altered":
        args = list(market.delivery_args(token, node, 10, 9))
        args[7] = 8  # the meter signed 9
        return tuple(args)
    if case == "malformed signature":
        args = list(market.delivery_args(token, node, 10, 10))
        args[6] = args[6][:64] + bytes([29])
        return tuple(args)
    raise AssertionError(case)


@pytest.mark.parametrize("case, reason", [
    ("unknown node", "storage: unknown node"),
    ("node suspended", "storage: node suspended"),
    ("bad delivery id 0", "storage: bad delivery id"),
    ("bad delivery id 2**64", "storage: bad delivery id"),
    ("delivery recorded", "storage: delivery recorded"),
    ("empty period", "storage: bad period"),
    ("period in the future", "storage: bad period"),
    ("nothing received", "storage: nothing received"),
    ("received exceeds sent", "storage: received exceeds sent"),
    ("node full", "storage: node full"),
    ("sent signed by a stranger", "storage: sender not a miner's device"),
    ("miner suspended", "storage: miner not active"),
    ("received signed by another meter", "storage: not the node's meter"),
    ("sent amount altered", "storage: sent not signed by the device"),
    ("received amount altered", "storage: not the node's meter"),
    ("malformed signature", "storage: bad signature"),
])
def test_record_delivery__refused__reverts_and_keeps_what_was_accepted(
    market, token, other_token, node, owner, stranger, case, reason
):
    kept = market.deliver(token, node, 500, 400, sender=stranger, delivery_id=100)
    args = _bad_delivery(market, token, other_token, node, owner, case)
    before = (market.storage.nodes(node).unpaid_mwh, market.storage.credit_of(token))
    with ape.reverts(reason):
        market.storage.record_delivery(*args, sender=stranger)
    assert (market.storage.nodes(node).unpaid_mwh, market.storage.credit_of(token)) == before
    assert market.storage.delivery(kept).received_mwh == 400


def test_record_delivery__attackers_sent_with_the_victims_received__refused_and_the_pair_records_to_the_victim(
    market, token, attacker_token, node, attacker, stranger
):
    # The victim's genuine pair, signed but not yet submitted.
    victim = market.delivery_args(token, node, 2_000_000, 1_900_000)
    _, delivery_id, _, start, end, _, _, received, received_signature = victim
    # The attacker signs its own "sent" for the same node, delivery id and period, at zero loss,
    # and races the victim's "received" in first: the meter named the victim's device, not this one.
    own = address_of(ATTACKER_DEVICE_KEY)
    own_sent = market.sign(ATTACKER_DEVICE_KEY, node, delivery_id, own, start, end, received, SENT)
    with ape.reverts("storage: not the node's meter"):
        market.storage.record_delivery(node, delivery_id, own, start, end, received, own_sent, received,
                                       received_signature, sender=attacker)
    assert market.storage.credit_of(attacker_token) == 0
    tx = market.storage.record_delivery(*victim, sender=stranger)
    [e] = tx.decode_logs(market.storage.Delivered)
    assert (e.token_id, e.received_mwh) == (token, 1_900_000)
    assert market.storage.credit_of(token) == 1_900_000


def _stolen_delivery(market, genuine, other_node, other_storage, case):
    """Arguments of an attempt on the victim's delivery (``genuine``, not yet submitted) that reuses
    one of its statements, or one of the meter's, where it does not belong."""
    node, delivery_id, device, start, end, sent, sent_sig, received, received_sig = genuine
    own = address_of(ATTACKER_DEVICE_KEY)
    meter_key = market.meter_key[node]

    def own_sent(party=own, energy=received):
        return market.sign(ATTACKER_DEVICE_KEY, node, delivery_id, party, start, end, energy, SENT)

    def signed(priv, kind, party=device, node_=node, start_=start, energy=received, **domain):
        return market.sign(priv, node_, delivery_id, party, start_, end, energy, kind, **domain)

    victim_key = DEVICE_KEYS[0]
    other_chain = market.chain.chain_id + 1
    return {
        "another device's sent with the victim's received":
            (node, delivery_id, own, start, end, received, own_sent(), received, received_sig),
        "the victim's pair naming the attacker's device":
            (node, delivery_id, own, start, end, sent, sent_sig, received, received_sig),
        "the attacker's sent naming the victim's device":
            (node, delivery_id, device, start, end, received, own_sent(party=device), received, received_sig),
        "the victim's sent at another node":
            (other_node, delivery_id, device, start, end, sent, sent_sig, received,
             signed(market.meter_key[other_node], RECEIVED, node_=other_node)),
        "the victim's sent for another period":
            (node, delivery_id, device, start + 1, end, sent, sent_sig, received,
             signed(meter_key, RECEIVED, start_=start + 1)),
        "the victim's sent as its received":
            (node, delivery_id, device, start, end, sent, sent_sig, sent, sent_sig),
        "the victim's received as its sent":
            (node, delivery_id, device, start, end, received, received_sig, received, received_sig),
        "a delivered-out statement naming the attacker as received":
            (node, delivery_id, own, start, end, received, own_sent(), received,
             signed(meter_key, DELIVERED_OUT, party=own)),
        "the pair signed for another chain":
            (node, delivery_id, device, start, end, sent,
             signed(victim_key, SENT, energy=sent, chain_id=other_chain), received,
             signed(meter_key, RECEIVED, chain_id=other_chain)),
        "the received signed for another chain":
            (node, delivery_id, device, start, end, sent, sent_sig, received,
             signed(meter_key, RECEIVED, chain_id=other_chain)),
        "the pair signed for another StorageNode":
            (node, delivery_id, device, start, end, sent,
             signed(victim_key, SENT, energy=sent, storage=other_storage.address), received,
             signed(meter_key, RECEIVED, storage=other_storage.address)),
        "the received signed for another StorageNode":
            (node, delivery_id, device, start, end, sent, sent_sig, received,
             signed(meter_key, RECEIVED, storage=other_storage.address)),
    }[case]


@pytest.mark.parametrize("case, reason", [
    ("another device's sent with the victim's received", "storage: not the node's meter"),
    ("the victim's pair naming the attacker's device", "storage: sent not signed by the device"),
    ("the attacker's sent naming the victim's device", "storage: sent not signed by the device"),
    ("the victim's sent at another node", "storage: sent not signed by the device"),
    ("the victim's sent for another period", "storage: sent not signed by the device"),
    ("the victim's sent as its received", "storage: not the node's meter"),
    ("the victim's received as its sent", "storage: sent not signed by the device"),
    ("a delivered-out statement naming the attacker as received", "storage: not the node's meter"),
    ("the pair signed for another chain", "storage: sent not signed by the device"),
    ("the received signed for another chain", "storage: not the node's meter"),
    ("the pair signed for another StorageNode", "storage: sent not signed by the device"),
    ("the received signed for another StorageNode", "storage: not the node's meter"),
])
def test_record_delivery__statement_reused_out_of_its_pair__reverts_and_the_pair_records_to_the_victim(
    market, token, attacker_token, node, other_node, other_storage, attacker, stranger, case, reason
):
    genuine = market.delivery_args(token, node, 2_000_000, 1_900_000)
    args = _stolen_delivery(market, genuine, other_node, other_storage, case)
    with ape.reverts(reason):
        market.storage.record_delivery(*args, sender=attacker)
    assert market.storage.credit_of(attacker_token) == 0
    assert market.storage.stored_mwh(node) == 0 and market.storage.stored_mwh(other_node) == 0
    tx = market.storage.record_delivery(*genuine, sender=stranger)
    [e] = tx.decode_logs(market.storage.Delivered)
    assert (e.node, e.token_id, e.received_mwh) == (node, token, 1_900_000)
    assert market.storage.credit_of(token) == 1_900_000


def test_record_delivery__fills_the_node_exactly(market, token, node, stranger):
    market.deliver(token, node, NODE_CAPACITY, NODE_CAPACITY, sender=stranger)
    assert market.storage.free_capacity_mwh(node) == 0
    with ape.reverts("storage: node full"):
        market.storage.record_delivery(*market.delivery_args(token, node, 1, 1, delivery_id=2), sender=stranger)


# ------------------------------------------------------------ energy requests

def _buy(market, buyer, miner, amount):
    """The miner hands ENERGY to the buyer (as a sale would)."""
    market.energy.transfer(buyer, amount, sender=miner)
    market.energy.approve(market.storage, amount, sender=buyer)


def _lp_energy(market, miner):
    """Take the miner's energy out of the pool: remove every LP share."""
    shares = market.pool.balanceOf(miner)
    market.pool.remove_liquidity(shares, 0, 0, miner, market.chain.pending_timestamp + 60, sender=miner)
    return market.energy.balanceOf(miner)


def test_request_and_fill__burns_the_delivered_and_refunds_the_rest(market, tokenized, node, miner, buyer, stranger):
    held = _lp_energy(market, miner)
    assert held > 1_000_000
    _buy(market, buyer, miner, 1_000_000)
    supply = market.energy.totalSupply()
    tx = market.storage.request_energy(node, 1_000_000, market.chain.pending_timestamp + HOUR, sender=buyer)
    [req] = tx.decode_logs(market.storage.EnergyRequested)
    assert (req.request_id, req.node, req.buyer, req.amount_mwh) == (1, node, buyer.address, 1_000_000)
    assert market.energy.balanceOf(market.storage) == 1_000_000 and market.energy.balanceOf(buyer) == 0
    market.chain.pending_timestamp += 600
    tx = market.storage.fill(*market.fill_args(1, 950_000), sender=stranger)
    [fill] = tx.decode_logs(market.storage.EnergyFilled)
    assert (fill.delivered_mwh, fill.refunded_mwh) == (950_000, 50_000)
    assert market.energy.totalSupply() == supply - 950_000
    assert market.energy.balanceOf(buyer) == 50_000 and market.energy.balanceOf(market.storage) == 0
    r = market.storage.requests(1)
    assert (r.status, r.delivered_mwh) == (FILLED, 950_000)
    tokenized_sum, supply_now, per_node = market.parity()
    assert tokenized_sum == supply_now and per_node


def _open_request(market, tokenized, node, miner, buyer, amount=100_000, window=HOUR):
    _lp_energy(market, miner)
    _buy(market, buyer, miner, amount)
    market.storage.request_energy(node, amount, market.chain.pending_timestamp + window, sender=buyer)
    market.chain.pending_timestamp += 60
    return market.storage.request_count()


@pytest.mark.parametrize("amount, window, reason", [
    (0, HOUR, "storage: zero amount"),
    (10**12, HOUR, "storage: node holds less tokenized energy"),
    (1, 0, "storage: bad deadline"),
    (1, 31 * 86_400, "storage: bad deadline"),
])
def test_request_energy__bad_input__reverts(market, tokenized, node, buyer, amount, window, reason):
    with ape.reverts(reason):
        market.storage.request_energy(node, amount, market.chain.pending_timestamp + window, sender=buyer)


def test_request_energy__without_allowance__reverts_and_escrows_nothing(market, tokenized, node, miner, buyer):
    _lp_energy(market, miner)
    market.energy.transfer(buyer, 10, sender=miner)
    with ape.reverts("erc20: insufficient allowance"):
        market.storage.request_energy(node, 10, market.chain.pending_timestamp + HOUR, sender=buyer)
    assert market.storage.request_count() == 0 and market.energy.balanceOf(buyer) == 10


def test_request_energy__at_a_suspended_node__reverts(market, tokenized, node, owner, buyer):
    market.storage.set_node_active(node, False, sender=owner)
    with ape.reverts("storage: node suspended"):
        market.storage.request_energy(node, 1, market.chain.pending_timestamp + HOUR, sender=buyer)


def _bad_fill(market, request_id, owner, case, miner=None, buyer=None, stranger=None, other_storage=None):
    if case == "statement of a filled request replayed on another":
        # a second request by the same buyer at the same node, then a statement for the first
        # whose period also fits the second
        _buy(market, buyer, miner, 100_000)
        market.storage.request_energy(market.storage.requests(request_id).node, 100_000,
                                      market.chain.pending_timestamp + HOUR, sender=buyer)
        second = market.storage.request_count()
        market.chain.pending_timestamp += 60
        replayed = market.fill_args(request_id, 10, start=market.storage.requests(second).created)
        market.storage.fill(*replayed, sender=owner)
        return (second, *replayed[1:])
    if case == "naming another buyer":
        return market.fill_args(request_id, 10, buyer=stranger.address)
    if case == "a received statement as delivered out":
        r = market.storage.requests(request_id)
        start, end = r.created, market.chain.pending_timestamp - 1
        return (request_id, 10, start, end,
                market.sign(market.meter_key[r.node], r.node, request_id, r.buyer, start, end, 10, RECEIVED))
    if case in ("signed for another chain", "signed for another StorageNode"):
        r = market.storage.requests(request_id)
        start, end = r.created, market.chain.pending_timestamp - 1
        domain = ({"chain_id": market.chain.chain_id + 1} if case == "signed for another chain"
                  else {"storage": other_storage.address})
        return (request_id, 10, start, end, market.sign(market.meter_key[r.node], r.node, request_id, r.buyer,
                                                        start, end, 10, DELIVERED_OUT, **domain))
    if case == "over the request":
        return market.fill_args(request_id, 100_001)
    if case == "by another meter":
        return market.fill_args(request_id, 10, meter_priv=METER_KEYS[1])
    if case == "period before the request":
        r = market.storage.requests(request_id)
        return market.fill_args(request_id, 10, start=r.created - 1)
    if case == "period in the future":
        return market.fill_args(request_id, 10, end=market.chain.pending_timestamp + 100)
    if case == "amount altered":
        args = list(market.fill_args(request_id, 10))
        args[1] = 9
        return tuple(args)
    if case == "expired":
        args = market.fill_args(request_id, 10)
        market.chain.pending_timestamp += 2 * HOUR
        return args
    if case == "node suspended":
        market.storage.set_node_active(market.storage.requests(request_id).node, False, sender=owner)
        return market.fill_args(request_id, 10)
    if case == "filled twice":
        market.storage.fill(*market.fill_args(request_id, 10), sender=owner)
        return market.fill_args(request_id, 10)
    if case == "unknown request":
        return (request_id + 1, 10, 0, 1, bytes(65))
    raise AssertionError(case)


@pytest.mark.parametrize("case, reason", [
    ("over the request", "storage: delivered exceeds request"),
    ("by another meter", "storage: not the node's meter"),
    ("period before the request", "storage: bad period"),
    ("period in the future", "storage: bad period"),
    ("amount altered", "storage: not the node's meter"),
    ("expired", "storage: request expired"),
    ("node suspended", "storage: node suspended"),
    ("filled twice", "storage: request not open"),
    ("unknown request", "storage: request not open"),
    ("statement of a filled request replayed on another", "storage: not the node's meter"),
    ("naming another buyer", "storage: not the node's meter"),
    ("a received statement as delivered out", "storage: not the node's meter"),
    ("signed for another chain", "storage: not the node's meter"),
    ("signed for another StorageNode", "storage: not the node's meter"),
])
def test_fill__refused__reverts_and_keeps_the_escrow(market, tokenized, node, miner, buyer, owner, stranger,
                                                     other_storage, case, reason):
    request_id = _open_request(market, tokenized, node, miner, buyer)
    args = _bad_fill(market, request_id, owner, case, miner, buyer, stranger, other_storage)
    escrow = market.energy.balanceOf(market.storage)
    with ape.reverts(reason):
        market.storage.fill(*args, sender=stranger)
    assert market.energy.balanceOf(market.storage) == escrow


def test_fill__nothing_delivered__refunds_everything(market, tokenized, node, miner, buyer, stranger):
    request_id = _open_request(market, tokenized, node, miner, buyer)
    supply = market.energy.totalSupply()
    market.storage.fill(*market.fill_args(request_id, 0), sender=stranger)
    assert market.energy.balanceOf(buyer) == 100_000 and market.energy.totalSupply() == supply


def test_cancel_request__after_the_deadline__refunds(market, tokenized, node, miner, buyer, stranger):
    request_id = _open_request(market, tokenized, node, miner, buyer)
    with ape.reverts("storage: request still open"):
        market.storage.cancel_request(request_id, sender=buyer)
    market.chain.pending_timestamp += 2 * HOUR
    with ape.reverts("storage: not the buyer"):
        market.storage.cancel_request(request_id, sender=stranger)
    tx = market.storage.cancel_request(request_id, sender=buyer)
    assert [e.refunded_mwh for e in tx.decode_logs(market.storage.EnergyRequestCancelled)] == [100_000]
    assert market.energy.balanceOf(buyer) == 100_000 and market.storage.requests(request_id).status == CANCELLED
    with ape.reverts("storage: request not open"):
        market.storage.cancel_request(request_id, sender=buyer)


def test_cancel_request__at_a_suspended_node__refunds_at_once(market, tokenized, node, miner, buyer, owner):
    request_id = _open_request(market, tokenized, node, miner, buyer)
    market.storage.set_node_active(node, False, sender=owner)
    market.storage.cancel_request(request_id, sender=buyer)
    assert market.energy.balanceOf(buyer) == 100_000


def test_energy__burn_by_a_holder__reverts(market, tokenized, miner):
    _lp_energy(market, miner)
    with ape.reverts("energy: not a burner"):
        market.energy.burn(1, sender=miner)
