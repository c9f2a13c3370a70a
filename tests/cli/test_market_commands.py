"""`ape run market`: the market's view and an ENERGY holder's commands, each checked against the chain; every
refusal one line, nothing sent."""

import json

import pytest
from cli_kit import FAST_DAO, alias, refused, refused_unsent, run
from dao_kit import ballot, build_market, fill

from offchain import market as market_math
from offchain.governance import call
from scripts import dao as dao_cli
from scripts import market as market_cli
from scripts._system import when
from testbed.localchain import advance


@pytest.fixture
def members(accounts):
    return [accounts[1], accounts[2], accounts[3]]


@pytest.fixture(scope="module")
def state(system, chain, accounts):
    """A miner paid once (ENERGY exists, the pool seeded), a second payment request pending, the buyer holding
    ENERGY."""
    return build_market(chain, system, [accounts[1], accounts[2], accounts[3]], accounts[4], accounts[14])




# ------------------------------------------------------------------ show

def test_show__before_any_node__an_empty_market(system):
    """First in the module: before `state` is built."""
    assert system.storage.node_count() == 0
    out = json.loads(run(market_cli.cli, "show", "--json"))
    assert out["nodes"] == [] and out["parity"] == {"tokenized_mwh": 0, "unpaid_mwh": 0, "supply_mwh": 0,
                                                    "holds": True}
    assert out["pool"]["deca_reserve"] == out["pool"]["energy_reserve"] == out["pool"]["last_update"] == 0
    assert (out["price"]["spot"], out["price"]["last_paid"]) == (0, 0)
    assert out["price"]["reference"] == system.desk.reference_price()
    text = run(market_cli.cli, "show")
    assert "last update never" in text
    assert "last paid none yet, reference 1.000000 DECA/kWh" in text
    assert "no storage nodes yet" in text
    assert text.splitlines()[-1] == "parity: Σ tokenized 0 mWh, ENERGY supply 0: holds"


def test_show__json_and_text__match_the_pool_and_the_nodes(system, state):
    pool, storage, energy, desk = system.pool, system.storage, system.energy, system.desk
    out = json.loads(run(market_cli.cli, "show", "--json"))
    rd, re, ts = pool.reserves()
    assert out["pool"] == {"deca_reserve": rd, "energy_reserve": re, "lp_supply": pool.totalSupply(),
                           "fee_bps": pool.fee_bps(), "vault_share_bps": pool.vault_share_bps(), "last_update": ts}
    assert re > 0 and rd > 0
    assert out["price"] == {"spot": pool.spot_price(), "last_paid": desk.last_price(),
                            "reference": desk.reference_price(), "band_bps": desk.price_band_bps()}
    node = storage.nodes(1)
    assert out["nodes"] == [{"node": 1, "meter": node.meter, "active": True, "capacity_mwh": node.capacity_mwh,
                             "stored_mwh": storage.stored_mwh(1), "tokenized_mwh": node.tokenized_mwh,
                             "unpaid_mwh": node.unpaid_mwh}]
    assert (node.tokenized_mwh, node.unpaid_mwh) == (960_000, 480_000)
    assert out["parity"] == {"tokenized_mwh": 960_000, "unpaid_mwh": 480_000, "supply_mwh": energy.totalSupply(),
                             "holds": True}
    lines = run(market_cli.cli, "show").splitlines()
    assert lines[0].startswith(f"pool: {rd / 1e18:.6f} DECA / {re} mWh of ENERGY, LP supply {pool.totalSupply()}")
    assert f"last paid {market_math.deca_per_kwh(desk.last_price()):.6f} DECA/kWh" in lines[1]
    assert lines[2].split() == ["node", "state", "capacity", "mWh", "stored", "mWh", "tokenized", "mWh", "unpaid", "mWh"]
    assert lines[4].split() == ["1", "active", "5000000", "1440000", "960000", "480000"]
    assert lines[-1] == f"parity: Σ tokenized 960000 mWh, ENERGY supply {energy.totalSupply()}: holds"


# ------------------------------------------------------------------ review

def test_review__pending_request__what_approval_would_do_and_the_call_to_vote(system, state):
    desk = system.desk
    r = desk.review(state.pending)
    out = json.loads(run(market_cli.cli, "review", state.pending, "--json"))
    assert (out["request_id"], out["token_id"], out["miner"], out["status"]) == (
        state.pending, state.token, r.miner, "pending")
    assert [d["key"] for d in out["deliveries"]] == [state.deliveries[1]]
    d = system.storage.delivery(state.deliveries[1])
    assert out["deliveries"][0] == {"key": state.deliveries[1], "node": 1, "delivery_id": 2,
                                    "period_start": d.period_start, "period_end": d.period_end,
                                         "sent_mwh": 500_000, "received_mwh": 480_000, "loss_mwh": 20_000}
    assert (out["sent_mwh"], out["received_mwh"], out["loss_mwh"], out["loss_bps"]) == (500_000, 480_000, 20_000, 400)
    assert (out["price"], out["energy_to_mint"], out["deca_to_mint"], out["dao_deca"]) == (
        r.price, r.energy_to_mint, r.deca_to_mint, r.dao_deca)
    assert out["hardware_status"] == "active"
    assert out["approve_call"] == f"desk.approve({state.pending}, {r.price})"
    text = run(market_cli.cli, "review", state.pending)
    assert text.splitlines()[0] == f"payment request {state.pending}: token {state.token} of {r.miner}, pending"
    assert "  total: sent 500000 mWh, received 480000 mWh, loss 20000 mWh (4.00 %)" in text
    assert f"  to vote it: --call \"desk.approve({state.pending}, {r.price})\"" in text
    assert "1         2" in text  # the delivery's row: node 1, delivery 2


def test_review__its_call_passes_a_ballot_through_the_dao_commands(system, chain, state, members):
    """The approval `review` prints, proposed, voted, queued and executed with `ape run dao`: ENERGY minted."""
    call_text = json.loads(run(market_cli.cli, "review", state.pending, "--json"))["approve_call"]
    supply = system.energy.totalSupply()
    pid = json.loads(run(dao_cli.cli, "propose", "--account", alias(members[0]), "--call", call_text, "-d",
                         "pay request 2", "--json"))["proposal_id"]
    advance(chain, FAST_DAO["--voting-delay"] + 1)
    for m in members:
        run(dao_cli.cli, "vote", pid, "for", "--account", alias(m))
    advance(chain, FAST_DAO["--voting-period"] + 1)
    run(dao_cli.cli, "queue", pid, "--account", alias(members[0]))
    advance(chain, FAST_DAO["--timelock-delay"] + 1)
    run(dao_cli.cli, "execute", pid, "--account", alias(members[0]))
    assert system.energy.totalSupply() == supply + 480_000
    out = json.loads(run(market_cli.cli, "review", state.pending, "--json"))
    assert (out["status"], out["approve_call"]) == ("approved", None)


def test_review__approved_request__no_call_to_vote(system, state):
    out = json.loads(run(market_cli.cli, "review", state.paid, "--json"))
    assert (out["status"], out["approve_call"], out["received_mwh"]) == ("approved", None, 960_000)
    assert "to vote it" not in run(market_cli.cli, "review", state.paid)


def test_review__unknown_request__one_line(system, state):
    assert refused(market_cli.cli, "review", 9) == "Error: no payment request 9 (there are 2)"
    assert refused(market_cli.cli, "review", 0) == (
        "Error: Invalid value for 'REQUEST_ID': 0 is not in the range x>=1.")


# ------------------------------------------------------------------ buy

def test_buy__json__escrows_the_energy(system, state, accounts):
    buyer, storage, energy = accounts[14], system.storage, system.energy
    held = energy.balanceOf(buyer)
    assert held > 100_000
    out = json.loads(run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 100_000,
                         "--hours", 2, "--json"))
    r = storage.requests(out["request_id"])
    assert out["request_id"] == storage.request_count() == 1
    assert (out["node"], out["buyer"], out["amount_mwh"], out["deadline"]) == (1, buyer.address, 100_000, r.deadline)
    assert r.deadline == r.created - 1 + 2 * 3_600  # two hours from the block before
    assert out["approve_tx"] is not None and out["tx"] != out["approve_tx"]
    assert (r.buyer, r.amount_mwh, r.status) == (buyer.address, 100_000, 1)
    assert energy.balanceOf(buyer) == held - 100_000
    assert energy.balanceOf(storage) == 100_000


def test_buy__text__with_the_allowance_already_given_one_transaction(system, state, accounts):
    buyer, energy, storage = accounts[14], system.energy, system.storage
    energy.approve(storage, 50_000, sender=buyer)
    nonce = buyer.nonce
    out = run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 50_000)
    r = storage.requests(1)
    assert out.strip() == f"energy request 1 at node 1: 50000 mWh escrowed until {when(r.deadline)}"
    assert buyer.nonce == nonce + 1


def test_buy__bad_input__one_line_and_nothing_sent(system, chain, state, accounts, members):
    buyer, stranger = accounts[14], accounts[10]
    held = system.energy.balanceOf(buyer)
    args = ["buy", "--account", alias(buyer), "--node"]
    assert refused_unsent(market_cli.cli, buyer, *args, 2, "--amount-mwh", 1) == "Error: no storage node 2 (there are 1)"
    assert refused_unsent(market_cli.cli, buyer, *args, 1, "--amount-mwh", 960_001) == (
        "Error: node 1 holds 960000 mWh of tokenized energy, less than 960001")
    assert refused_unsent(market_cli.cli, buyer, *args, 1, "--amount-mwh", held + 1) == (
        f"Error: {buyer.address} holds {held} mWh of ENERGY, less than {held + 1}")
    assert refused_unsent(market_cli.cli, stranger, "buy", "--account", alias(stranger), "--node", 1, "--amount-mwh", 10) == (
        f"Error: {stranger.address} holds 0 mWh of ENERGY, less than 10")
    assert refused_unsent(market_cli.cli, buyer, *args, 1, "--amount-mwh", 10, "--hours", 721) == (
        "Error: Invalid value for '--hours': 721 is not in the range 1<=x<=720.")
    assert refused_unsent(market_cli.cli, buyer, *args, 1, "--amount-mwh", 0) == (
        "Error: Invalid value for '--amount-mwh': 0 is not in the range x>=1.")
    ballot(chain, system, members, [call(system.storage.set_node_active, 1, False)], "suspend node 1")
    assert refused_unsent(market_cli.cli, buyer, *args, 1, "--amount-mwh", 10) == "Error: node 1 is suspended"
    assert system.storage.request_count() == 0


# ------------------------------------------------------------------ requests

def test_requests__table_and_json_with_filters(system, chain, state, accounts):
    buyer, miner = accounts[14], accounts[4]
    assert run(market_cli.cli, "requests").strip() == "no energy requests"
    run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 1_000)
    system.pool.remove_liquidity(system.pool.balanceOf(miner) // 2, 0, 0, miner, chain.pending_timestamp + 600,
                                 sender=miner)
    run(market_cli.cli, "buy", "--account", alias(miner), "--node", 1, "--amount-mwh", 2_000, "--hours", 1)
    advance(chain, 3_601 + 1)
    run(market_cli.cli, "cancel", 2, "--account", alias(miner))
    out = json.loads(run(market_cli.cli, "requests", "--json"))["requests"]
    first, second = system.storage.requests(1), system.storage.requests(2)
    assert out == [
        {"request_id": 1, "node": 1, "buyer": buyer.address, "amount_mwh": 1_000, "created": first.created,
         "deadline": first.deadline, "status": "open", "delivered_mwh": 0},
        {"request_id": 2, "node": 1, "buyer": miner.address, "amount_mwh": 2_000, "created": second.created,
         "deadline": second.deadline, "status": "cancelled", "delivered_mwh": 0},
    ]
    assert [r["request_id"] for r in json.loads(run(market_cli.cli, "requests", "--open", "--json"))["requests"]] == [1]
    mine = json.loads(run(market_cli.cli, "requests", "--buyer", miner.address.lower(), "--json"))["requests"]
    assert [r["request_id"] for r in mine] == [2]
    lines = run(market_cli.cli, "requests").splitlines()
    assert lines[0].split() == ["id", "node", "buyer", "amount", "mWh", "deadline", "status", "delivered", "mWh"]
    assert lines[2].split()[:4] == ["1", "1", buyer.address, "1000"]
    assert lines[2].split()[-2:] == ["open", "0"]
    assert lines[3].split()[-2:] == ["cancelled", "0"]
    assert refused(market_cli.cli, "requests", "--buyer", "0x12") == (
        "Error: Invalid value for --buyer: '0x12' is not an address (0x and 40 hex digits)")


# ------------------------------------------------------------------ cancel

def test_cancel__after_the_deadline__the_escrow_comes_back(system, chain, state, accounts):
    buyer, energy = accounts[14], system.energy
    held = energy.balanceOf(buyer)
    rid = json.loads(run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 30_000,
                         "--hours", 1, "--json"))["request_id"]
    deadline = system.storage.requests(rid).deadline
    assert refused_unsent(market_cli.cli, buyer, "cancel", rid, "--account", alias(buyer)) == (
        f"Error: node 1 may still fill request {rid} until {when(deadline)}")
    advance(chain, 3_601 + 1)
    out = json.loads(run(market_cli.cli, "cancel", rid, "--account", alias(buyer), "--json"))
    assert (out["request_id"], out["node"], out["refunded_mwh"], out["status"]) == (rid, 1, 30_000, "cancelled")
    assert energy.balanceOf(buyer) == held
    assert system.storage.requests(rid).status == 3
    assert refused_unsent(market_cli.cli, buyer, "cancel", rid, "--account", alias(buyer)) == (
        f"Error: energy request {rid} is cancelled, not open")


def test_cancel__text__at_once_when_the_node_is_suspended(system, chain, state, accounts, members):
    buyer = accounts[14]
    run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 5_000)
    ballot(chain, system, members, [call(system.storage.set_node_active, 1, False)], "suspend node 1")
    assert system.storage.requests(1).deadline > chain.pending_timestamp
    out = run(market_cli.cli, "cancel", 1, "--account", alias(buyer))
    assert out.strip() == "energy request 1 cancelled: 5000 mWh of ENERGY refunded"


def test_cancel__unknown_someone_elses_or_filled__refused(system, chain, state, accounts):
    buyer, stranger = accounts[14], accounts[10]
    assert refused_unsent(market_cli.cli, buyer, "cancel", 1, "--account", alias(buyer)) == (
        "Error: no energy request 1 (there are 0)")
    run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 4_000, "--hours", 1)
    advance(chain, 3_601 + 1)
    assert refused_unsent(market_cli.cli, stranger, "cancel", 1, "--account", alias(stranger)) == (
        f"Error: energy request 1 belongs to {buyer.address}")
    run(market_cli.cli, "buy", "--account", alias(buyer), "--node", 1, "--amount-mwh", 4_000)
    advance(chain, 600)
    fill(chain, system, 2, 4_000, sender=stranger)
    assert refused_unsent(market_cli.cli, buyer, "cancel", 2, "--account", alias(buyer)) == (
        "Error: energy request 2 is filled, not open")
