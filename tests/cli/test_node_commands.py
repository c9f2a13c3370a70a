"""`ape run node`: every command against the chain it reports on, and every refusal one line that sends nothing.

Meter statements are signed by the device library (``greenminer.meter``), as a node's meter board signs them.
"""

import json

import pytest
from cli_kit import address_of, alias, refused, run
from miner_kit import (
    DELIVERED_OUT,
    HOUR,
    RECEIVED,
    World,
    device_key,
    meter_key,
)

from offchain.governance import call
from scripts._system import when
from scripts.node import cli as node_cli

ESCROW_MWH = 400_000  # the buyer's request: 400 Wh
NODE_CAPACITY_MWH = 50_000_000


@pytest.fixture(scope="module")
def world(chain, system, dao_members, tmp_path_factory):
    return World(chain, system, dao_members, tmp_path_factory.mktemp("node"))


@pytest.fixture(scope="module")
def nodes(world):
    """Nodes 1 and 2, metered by meters 0 and 1."""
    return world.register_node(meter_key(0)), world.register_node(meter_key(1), 2_000_000)


@pytest.fixture(scope="module")
def request_id(world, system, nodes, miner, buyer, chain):
    """The miner sells 1 kWh into node 1 and is paid; it withdraws its liquidity and gives its ENERGY to the
    buyer, who escrows 400 Wh of it for energy out of node 1 (request 1, open for six hours)."""
    token = world.admit(miner, device_key(0))
    key = world.deliver(miner, device_key(0), nodes[0], 1, 1_050_000, 1_000_000)
    world.approve_payment(world.request_payment(miner, token, [key]))
    pool = system.pool
    pool.remove_liquidity(pool.balanceOf(miner), 1, 1, miner, chain.pending_timestamp + 600, sender=miner)
    system.energy.transfer(buyer, system.energy.balanceOf(miner), sender=miner)
    request = world.request_energy(buyer, nodes[0], ESCROW_MWH)
    world.wait(2 * HOUR)  # the node delivers
    return request


@pytest.fixture(scope="module", autouse=True)
def market_state(request_id, dao_members, miner, stranger, buyer):
    """Every fixture of wider scope, made before the first test (so each test's transactions are reverted)."""


def _json(*args):
    return json.loads(run(node_cli, *args, "--json"))


def _delivered(world, request_id, energy_mwh=None, start=None, end=None, party=None, id_=None, priv=None,
               kind=DELIVERED_OUT):
    """The node meter's 'delivered out' statement for a request (by default: 97 % of it, since it was made)."""
    r = world.system.storage.requests(request_id)
    energy_mwh = r.amount_mwh * 97 // 100 if energy_mwh is None else energy_mwh
    start = r.created if start is None else start
    end = world.now() - 1 if end is None else end
    return world.statement(meter_key(r.node - 1) if priv is None else priv, r.node,
                           request_id if id_ is None else id_, r.buyer if party is None else party, start, end,
                           energy_mwh, kind)


# --------------------------------------------------------------------------------------- register


def test_register__json__the_proposal__then_the_ballot__list_shows_the_node(world, system, dao_members):
    dao, storage = system.dao, system.storage
    meter = address_of(meter_key(5))
    out = _json("register", "--account", alias(dao_members[0]), "--meter", meter.lower(), "--capacity-kwh", 12.5,
                "--lat", 39.7441, "--lon", -105.1763)
    pid = out["proposal_id"]
    assert pid == dao.proposal_count() and dao.proposals(pid).proposer == dao_members[0].address
    assert {k: v for k, v in out.items() if k != "tx_hash"} == {
        "proposal_id": pid, "description": f"register storage node: meter {meter}, 12.5 kWh at 39.7441, -105.1763",
        "meter": meter, "capacity_mwh": 12_500_000, "lat_udeg": 39_744_100, "lon_udeg": -105_176_300,
        "vote_start": dao.proposals(pid).vote_start, "vote_end": dao.proposals(pid).vote_end}
    (proposed,) = dao.calls(pid)
    assert proposed.target == storage.address
    assert bytes(proposed.data) == bytes(storage.register_node.encode_input(meter, 12_500_000, 39_744_100,
                                                                             -105_176_300))
    assert world.chain.get_receipt(out["tx_hash"]).sender == dao_members[0].address

    world.carry(pid)
    node = storage.node_count()
    listed = [n for n in _json("list")["nodes"] if n["node"] == node]
    assert listed == [{"node": node, "meter": meter, "capacity_mwh": 12_500_000, "lat_udeg": 39_744_100,
                       "lon_udeg": -105_176_300, "active": True, "stored_mwh": 0, "tokenized_mwh": 0,
                       "unpaid_mwh": 0, "status": "active", "free_mwh": 12_500_000}]


def test_register__text__with_a_description(system, dao_members):
    dao, meter = system.dao, address_of(meter_key(6))
    out = run(node_cli, "register", "--account", alias(dao_members[1]), "--meter", meter, "--capacity-kwh", 5,
              "--lat", 1, "--lon", 2, "-d", "the school's battery")
    pid = dao.proposal_count()
    assert out.strip() == (f"proposal {pid}: the school's battery; vote from {when(dao.proposals(pid).vote_start)} "
                           f"with `ape run dao vote {pid} for`")


@pytest.mark.parametrize("case, expected", [
    ("not a member", "Error: {miner} is not a DAO member: ask one to propose the node"),
    ("bad meter", "Error: Invalid value for --meter: '0x12' is not an address (0x and 40 hex digits)"),
    ("zero meter", "Error: Invalid value for --meter: the zero address cannot sign statements"),
    ("meter in use", "Error: meter {meter0} already signs for node 1"),
    ("latitude", "Error: Invalid value for '--lat': 91.0 is not in the range -90<=x<=90."),
    ("capacity", "Error: Invalid value for '--capacity-kwh': 0.0 is not in the range x>=0.001."),
])
def test_register__bad_input__one_line_and_nothing_sent(dao_members, miner, case, expected):
    account, meter, lat, capacity = dao_members[0], address_of(meter_key(7)), 10, 1
    if case == "not a member":
        account = miner
    elif case == "bad meter":
        meter = "0x12"
    elif case == "zero meter":
        meter = "0x" + "00" * 20
    elif case == "meter in use":
        meter = address_of(meter_key(0))
    elif case == "latitude":
        lat = 91
    else:
        capacity = 0
    nonce = account.nonce
    line = refused(node_cli, "register", "--account", alias(account), "--meter", meter, "--capacity-kwh", capacity,
                   "--lat", lat, "--lon", 0)
    assert line == expected.format(miner=miner.address, meter0=address_of(meter_key(0)))
    assert account.nonce == nonce


# ------------------------------------------------------------------------------------------- list


def test_list__json_and_text__every_node_and_the_parity(system, nodes):
    storage, energy = system.storage, system.energy
    out = _json("list")
    assert [n["node"] for n in out["nodes"]] == list(nodes)
    for n in out["nodes"]:
        chain_node = storage.nodes(n["node"])
        assert (n["meter"], n["capacity_mwh"], n["lat_udeg"], n["lon_udeg"], n["active"]) == (
            chain_node.meter, chain_node.capacity_mwh, chain_node.lat_udeg, chain_node.lon_udeg, True)
        assert (n["tokenized_mwh"], n["unpaid_mwh"]) == (chain_node.tokenized_mwh, chain_node.unpaid_mwh)
        assert n["stored_mwh"] == storage.stored_mwh(n["node"]) == n["tokenized_mwh"] + n["unpaid_mwh"]
        assert n["free_mwh"] == storage.free_capacity_mwh(n["node"])
    assert out["nodes"][0]["tokenized_mwh"] == 1_000_000  # paid for 1 kWh; nothing taken out yet
    assert out["energy_supply_mwh"] == energy.totalSupply() == out["tokenized_mwh"] == 1_000_000
    assert out["unpaid_mwh"] == 0 and out["parity"] is True
    lines = run(node_cli, "list").splitlines()
    assert lines[0].split()[:3] == ["node", "status", "meter"]
    assert lines[2].split()[:3] == ["1", "active", address_of(meter_key(0))]
    assert lines[2].split()[-5:] == ["50000000", "1000000", "1000000", "0", "49000000"]
    assert lines[-1] == "tokenized 1000000 mWh, ENERGY supply 1000000 mWh: parity holds"


def test_list__suspended_node_shown_as_such(world, system, nodes):
    world.ballot(call(system.storage.set_node_active, nodes[1], False))
    assert [n["status"] for n in _json("list")["nodes"]] == ["active", "suspended"]
    assert run(node_cli, "list").splitlines()[3].split()[:2] == ["2", "suspended"]


def test_list__no_nodes__says_so(accounts, monkeypatch, tmp_path):
    """A fresh deployment (recorded elsewhere, reverted after the test) has no nodes."""
    from scripts import deploy

    monkeypatch.setenv("GEM_DEPLOYMENTS", str(tmp_path))
    run(deploy.cli, "--account", alias(accounts[0]), "--oracle", accounts[7].address, "--member", accounts[1].address)
    assert run(node_cli, "list").splitlines() == ["no storage nodes registered",
                                                  "tokenized 0 mWh, ENERGY supply 0 mWh: parity holds"]
    assert _json("list") == {"nodes": [], "tokenized_mwh": 0, "unpaid_mwh": 0, "energy_supply_mwh": 0,
                             "parity": True}


# --------------------------------------------------------------------------------------- requests


def test_requests__json_and_text__as_on_chain(system, request_id, buyer, nodes):
    r = system.storage.requests(request_id)
    expected = {"request_id": request_id, "node": nodes[0], "buyer": buyer.address, "amount_mwh": ESCROW_MWH,
                "created": r.created, "deadline": r.deadline, "status": "open", "delivered_mwh": 0}
    assert _json("requests") == {"requests": [expected]}
    assert _json("requests", "--node", nodes[0], "--status", "open") == {"requests": [expected]}
    assert _json("requests", "--node", nodes[1]) == {"requests": []}
    assert _json("requests", "--status", "filled") == {"requests": []}
    lines = run(node_cli, "requests").splitlines()
    assert lines[2].split() == [str(request_id), str(nodes[0]), buyer.address, str(ESCROW_MWH), "open",
                                *when(r.deadline).split(), "-"]
    assert run(node_cli, "requests", "--status", "cancelled").strip() == "no energy requests"


def test_requests__after_fill__shows_it_filled(world, system, request_id, stranger):
    run(node_cli, "fill", request_id, "--statement", _delivered(world, request_id), "--account", alias(stranger))
    delivered = ESCROW_MWH * 97 // 100
    (shown,) = _json("requests", "--status", "filled")["requests"]
    assert (shown["request_id"], shown["status"], shown["delivered_mwh"]) == (request_id, "filled", delivered)
    assert run(node_cli, "requests").splitlines()[2].split()[-1] == str(delivered)


def test_requests__unknown_node__one_line(system):
    assert refused(node_cli, "requests", "--node", 9) == (
        f"Error: Invalid value for --node: there is no storage node 9 ({system.storage.node_count()} registered)")


# ------------------------------------------------------------------------------------------- fill


def test_fill__json__burned_and_refunded(world, system, request_id, buyer, stranger, nodes, chain):
    storage, energy = system.storage, system.energy
    statement = _delivered(world, request_id)
    signed = json.loads(statement.read_text())
    supply, held, tokenized = energy.totalSupply(), energy.balanceOf(buyer), storage.nodes(nodes[0]).tokenized_mwh
    delivered = ESCROW_MWH * 97 // 100
    out = _json("fill", request_id, "--statement", statement, "--account", alias(stranger))
    assert out == {"request_id": request_id, "node": nodes[0], "buyer": buyer.address, "delivered_mwh": delivered,
                   "refunded_mwh": ESCROW_MWH - delivered, "period_start": signed["period_start"],
                   "period_end": signed["period_end"], "status": "filled", "tx_hash": out["tx_hash"]}
    r = storage.requests(request_id)
    assert (r.status, r.delivered_mwh) == (2, delivered)
    assert energy.totalSupply() == supply - delivered
    assert energy.balanceOf(buyer) == held + ESCROW_MWH - delivered
    assert storage.nodes(nodes[0]).tokenized_mwh == tokenized - delivered
    assert chain.get_receipt(out["tx_hash"]).sender == stranger.address


def test_fill__text(world, request_id, buyer, stranger):
    out = run(node_cli, "fill", request_id, "--statement", _delivered(world, request_id, energy_mwh=ESCROW_MWH),
              "--account", alias(stranger))
    assert out.strip() == (f"request {request_id} filled: {ESCROW_MWH} mWh delivered (ENERGY burned), 0 mWh refunded "
                           f"to {buyer.address}")


@pytest.mark.parametrize("case", [
    "unknown request", "filled", "expired", "other request", "other buyer", "more than asked", "before the request",
    "not over", "other meter", "kind", "suspended node", "missing file",
])
def test_fill__bad_input__one_line_and_nothing_sent(world, system, request_id, buyer, stranger, nodes, case):
    storage = system.storage
    r = storage.requests(request_id)
    meter = storage.nodes(r.node).meter
    statement, number = _delivered(world, request_id), request_id
    if case == "unknown request":
        number, expected = 9, "there is no energy request 9 (1 made)"
    elif case == "filled":
        run(node_cli, "fill", request_id, "--statement", statement, "--account", alias(stranger))
        expected = f"request {request_id} is filled, not open"
    elif case == "expired":
        world.wait_until(r.deadline + 1)
        expected = f"request {request_id} expired at {when(r.deadline)}; the buyer may cancel it"
    elif case == "other request":
        statement = _delivered(world, request_id, id_=2)
        expected = f"{statement} is for request 2 at node 1, not request {request_id} at node 1"
    elif case == "other buyer":
        statement = _delivered(world, request_id, party=stranger.address)
        expected = f"{statement} names {stranger.address}, not the request's buyer {buyer.address}"
    elif case == "more than asked":
        statement = _delivered(world, request_id, energy_mwh=ESCROW_MWH + 1)
        expected = f"{statement} states {ESCROW_MWH + 1} mWh, more than the {ESCROW_MWH} requested"
    elif case == "before the request":
        statement = _delivered(world, request_id, start=r.created - 1)
        expected = f"{statement}: the period {when(r.created - 1)} .. "
    elif case == "not over":
        statement = _delivered(world, request_id, end=world.now() + 600)
        expected = f"{statement}: the period {when(r.created)} .. {when(world.now() + 600)} must start after"
    elif case == "other meter":
        statement = _delivered(world, request_id, priv=meter_key(1))
        expected = f"{statement}: not signed by node 1's meter {meter} (or not for this chain's StorageNode)"
    elif case == "kind":
        statement = _delivered(world, request_id, kind=RECEIVED)
        expected = f"{statement}: meter: expected a 'delivered out' statement, got 'received'"
    elif case == "suspended node":
        world.ballot(call(storage.set_node_active, nodes[0], False))
        expected = f"node {nodes[0]} is suspended: it fills nothing"
    else:
        statement = statement.with_name("missing.json")
        expected = f"{statement}: not a readable JSON file"
    nonce = stranger.nonce
    line = refused(node_cli, "fill", number, "--statement", statement, "--account", alias(stranger))
    assert line.startswith(f"Error: {expected}"), line
    assert stranger.nonce == nonce
