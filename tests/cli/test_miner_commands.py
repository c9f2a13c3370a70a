"""`ape run miner`: every command against the chain it reports on, and every refusal one line that sends nothing.

The device's files are signed by the device library (``greenminer``); ballots run through by moving the clock.
"""

import json

import pytest
from cli_kit import address_of, alias, refused, run
from miner_kit import (
    CAPACITY_W,
    HOUR,
    World,
    device_key,
    hour_readings,
    meter_key,
    write_json,
)

from offchain.governance import call
from offchain.protocol.enroll import send_application
from scripts._system import when
from scripts.miner import cli as miner_cli

SENT_MWH, RECEIVED_MWH = 600_000, 582_000  # a delivery of 600 Wh, 3 % lost on the line


@pytest.fixture(scope="module")
def world(chain, system, dao_members, tmp_path_factory):
    return World(chain, system, dao_members, tmp_path_factory.mktemp("miner"))


@pytest.fixture(scope="module")
def token(world, miner):
    """The miner's token: device 0, admitted by ballot."""
    return world.admit(miner, device_key(0))


@pytest.fixture(scope="module")
def node(world):
    """Storage node 1, metered by meter 0."""
    return world.register_node(meter_key(0))


@pytest.fixture(scope="module")
def credited(world, token, node, miner):
    """Delivery 1 of the miner's device into node 1, credited; its key."""
    return world.deliver(miner, device_key(0), node, 1, SENT_MWH, RECEIVED_MWH)


@pytest.fixture(scope="module")
def paid(world, token, node, miner):
    """Delivery 2 paid by ballot: the miner holds LP shares, the pool is seeded; the payment request id."""
    key = world.deliver(miner, device_key(0), node, 2, 2 * SENT_MWH, 2 * RECEIVED_MWH)
    request_id = world.request_payment(miner, token, [key])
    world.approve_payment(request_id)
    return request_id


@pytest.fixture(scope="module", autouse=True)
def market_state(paid, credited, miner, other_miner, stranger, relayer):
    """Every fixture of wider scope, made before the first test: ape's isolation then reverts each test's
    transactions (a wider fixture first made inside a test would be rebased, and the test's changes kept)."""


def _apply_args(account, enrollment, *extra, lat="39.742", lon="-105.178", uri="ipfs://panels"):
    return ["apply", "--account", alias(account), "--enrollment", enrollment, "--capacity-w", CAPACITY_W,
            "--lat", lat, "--lon", lon, "--tilt", 30, "--azimuth", 180, "--uri", uri, *extra]


def _json(*args):
    return json.loads(run(miner_cli, *args, "--json"))


# ------------------------------------------------------------------------------------------ apply


def test_apply__json__the_pending_application_on_chain(world, system, miner, chain):
    sbt, priv = system.sbt, device_key(10)
    path = world.enrollment(priv, miner, start_total=12_345)
    signed = json.loads(path.read_text())
    out = _json(*_apply_args(miner, path))
    app = sbt.applications(out["application_id"])
    assert out["application_id"] == sbt.application_count()
    assert out["device"] == app.device == address_of(priv)
    assert (out["applicant"], app.applicant) == (miner.address, miner.address)
    assert out["status"] == "pending" and app.status == 1
    assert (out["capacity_w"], out["lat_udeg"], out["lon_udeg"]) == (app.capacity_w, app.lat_udeg, app.lon_udeg)
    assert (app.capacity_w, app.lat_udeg, app.lon_udeg, app.uri) == (CAPACITY_W, 39_742_000, -105_178_000,
                                                                     "ipfs://panels")
    assert (out["tilt_deg"], out["azimuth_deg"], out["uri"]) == (30, 180, "ipfs://panels")
    assert sbt.device_plane(app.device) == (30, 180)
    assert (out["start_total_mwh"], out["start_time"]) == (12_345, signed["start_time"])
    assert tuple(sbt.device_start(app.device)) == (12_345, signed["start_time"])
    assert sbt.pending_application(app.device) == out["application_id"]
    assert chain.get_receipt(out["tx_hash"]).sender == miner.address


def test_apply__text__then_the_ballot_admits__status_shows_the_token(world, system, miner):
    sbt, priv = system.sbt, device_key(11)
    device = address_of(priv)
    out = run(miner_cli, *_apply_args(miner, world.enrollment(priv, miner)))
    app_id = sbt.pending_application(device)
    assert out.startswith(f"application {app_id} for device {device} (from 0.000 Wh at ")
    assert out.rstrip().endswith("pending the DAO's vote")
    pending = _json("status", "--account", alias(miner))
    assert {"application_id": app_id, "device": device, "status": "pending", "token_id": None,
            "reason": ""} in pending["applications"]

    world.ballot(call(sbt.approve_application, app_id))
    token = sbt.token_of_device(device)
    status = _json("status", "--account", alias(miner))
    assert {"application_id": app_id, "device": device, "status": "approved", "token_id": token,
            "reason": ""} in status["applications"]
    m = sbt.miners(token)
    assert {"token_id": token, "device": device, "status": "active", "capacity_w": CAPACITY_W,
            "lat_udeg": m.lat_udeg, "lon_udeg": m.lon_udeg, "online_hours": 0, "hashes": 0,
            "credit_mwh": 0} in status["tokens"]
    text = run(miner_cli, "status", "--account", alias(miner))
    assert [str(app_id), device, "approved", str(token)] in [line.split() for line in text.splitlines()]
    assert any(line.split()[:4] == [str(token), "active", str(CAPACITY_W), "39.742000,"]
               for line in text.splitlines())


def _tamper(path):
    obj = json.loads(path.read_text())
    obj["start_total_mwh"] += 1
    return write_json(path, obj)


@pytest.mark.parametrize("case", [
    "names another account", "expired", "from the future", "another chain", "another sbt", "not json",
    "not signed by the device", "latitude", "uri too long", "pending", "admitted", "no ether",
])
def test_apply__bad_input__one_line_and_nothing_sent(world, system, accounts, miner, other_miner, token, case):
    priv, now, account = device_key(12), world.now(), miner
    device = address_of(priv)
    args = dict(lat="39.742", uri="ipfs://panels")
    enrollment = world.enrollment(priv, miner)
    if case == "names another account":
        enrollment = world.enrollment(priv, other_miner)
        expected = (f"Error: the enrollment names {other_miner.address}, not {miner.address}: "
                    "set the device's APPLICANT to this account")
    elif case == "expired":
        enrollment = world.enrollment(priv, miner, start_time=now - 86_400 - 120)
        expected = "Error: the enrollment of "
    elif case == "from the future":
        enrollment = world.enrollment(priv, miner, start_time=now + HOUR)
        expected = "Error: the enrollment is dated "
    elif case == "another chain":
        enrollment = world.enrollment(priv, miner, chain_id=1)
        expected = f"Error: {enrollment}: enrollment: signed for chain 1, this is chain {world.chain.chain_id}"
    elif case == "another sbt":
        enrollment = world.enrollment(priv, miner, sbt=system.storage.address)
        expected = (f"Error: {enrollment}: enrollment: signed for the MinerSBT {system.storage.address}, "
                    f"this system's is {system.sbt.address}")
    elif case == "not json":
        enrollment.write_text("{not json")
        expected = f"Error: {enrollment}: not a readable JSON file"
    elif case == "not signed by the device":
        enrollment = _tamper(enrollment)
        expected = f"Error: {enrollment}: enrollment: not signed by the device"
    elif case == "latitude":
        args["lat"] = "91"
        expected = "Error: Invalid value for --lat: 91.0 is outside ±90°"
    elif case == "uri too long":
        args["uri"] = "x" * 257
        expected = "Error: Invalid value for --uri: 257 characters; at most 256"
    elif case == "pending":
        send_application(world.chain, system.sbt, miner, priv, CAPACITY_W, 0, 0, "")
        enrollment = world.enrollment(priv, miner)
        expected = f"Error: device {device} already has pending application {system.sbt.application_count()}"
    elif case == "admitted":
        enrollment = world.enrollment(device_key(0), miner)
        expected = f"Error: device {address_of(device_key(0))} already has token {token}"
    else:
        account = accounts.generate_test_account()  # one of no ether
        assert account.balance == 0
        enrollment = world.enrollment(priv, account)
        expected = f"Error: {account.address} has no ether to pay for the transaction"
    nonce = account.nonce
    line = refused(miner_cli, *_apply_args(account, enrollment, **args))
    assert line.startswith(expected), line
    assert account.nonce == nonce


# ----------------------------------------------------------------------------------------- status


def test_status__nobody__no_applications_and_empty_balances(stranger):
    lines = run(miner_cli, "status", "--account", alias(stranger)).splitlines()
    assert lines[0] == f"{stranger.address}: no applications"
    assert lines[-1] == "balances: 0.000000 DECA, 0 mWh of ENERGY, 0 LP shares"
    assert _json("status", "--account", alias(stranger)) == {
        "account": stranger.address, "applications": [], "tokens": [], "payment_requests": [],
        "balances": {"deca_wei": 0, "energy_mwh": 0, "lp_shares": 0}}


def test_status__paid_miner__its_payment_credit_and_balances(system, miner, token, paid, credited):
    desk, storage = system.desk, system.storage
    out = _json("status", "--account", alias(miner))
    r = desk.requests(paid)
    assert out["payment_requests"] == [{"request_id": paid, "token_id": token, "status": "approved", "deliveries": 1,
                                        "received_mwh": 2 * RECEIVED_MWH, "shares": r.shares, "reason": ""}]
    assert r.shares > 0
    assert [t["credit_mwh"] for t in out["tokens"] if t["token_id"] == token] == [RECEIVED_MWH]
    assert storage.credit_of(token) == RECEIVED_MWH
    assert out["balances"] == {"deca_wei": system.deca.balanceOf(miner), "energy_mwh": system.energy.balanceOf(miner),
                               "lp_shares": system.pool.balanceOf(miner)}
    assert out["balances"]["lp_shares"] == r.shares
    rows = [line.split() for line in run(miner_cli, "status", "--account", alias(miner)).splitlines()]
    assert [str(paid), str(token), "approved", "1", str(2 * RECEIVED_MWH), str(r.shares)] in rows


def test_status__rejected_application__shows_the_reason(world, system, other_miner):
    sbt, priv = system.sbt, device_key(13)
    send_application(world.chain, sbt, other_miner, priv, 900_000, 0, 0, "")
    app_id = sbt.application_count()
    world.ballot(call(sbt.reject_application, app_id, "900 kWp is not a rooftop"))
    out = _json("status", "--account", alias(other_miner))
    assert {"application_id": app_id, "device": address_of(priv), "status": "rejected", "token_id": None,
            "reason": "900 kWp is not a rooftop"} in out["applications"]
    text = run(miner_cli, "status", "--account", alias(other_miner))
    assert f"{address_of(priv)}  rejected  -      900 kWp is not a rooftop" in text


# --------------------------------------------------------------------------------------- readings


def test_readings__two_batches__json_and_text_as_anchored(world, system, miner, relayer, token):
    registry, device = system.registry, address_of(device_key(0))
    genesis = registry.genesis()
    first = (world.now() - genesis) // HOUR + 1
    prev, total, anchored = bytes(32), 0, []
    for seq, epoch in enumerate((first, first + 1)):
        rows, total = hour_readings(genesis + HOUR * epoch, total)
        world.wait_until(genesis + HOUR * (epoch + 1) + 60)
        prev = world.submit_batch(relayer, device_key(0), epoch, seq, rows, prev)
        anchored.append((epoch, seq, "0x" + prev.hex(), [list(r) for r in rows]))
    assert registry.device_state(device)[2] == 2  # next seq: both accepted

    out = _json("readings", "--account", alias(miner), "--all")
    (shown,) = out["tokens"]
    assert (shown["token_id"], shown["device"]) == (token, device)
    assert [(b["epoch"], b["seq"], b["batch_hash"], b["readings"]) for b in shown["batches"]] == anchored
    last = shown["batches"][-1]
    assert (last["count"], last["total_mwh"], last["peak_mw"]) == (12, total, 2_000_000)
    assert (last["first_ts"], last["last_ts"]) == (anchored[1][3][0][0], anchored[1][3][-1][0])
    assert world.chain.get_receipt(last["tx_hash"]).txn_hash == last["tx_hash"]

    latest = _json("readings", "--account", alias(miner), "--last", 1)["tokens"][0]["batches"]
    assert [b["seq"] for b in latest] == [1] and "readings" not in latest[0]

    lines = run(miner_cli, "readings", "--account", alias(miner)).splitlines()
    assert lines[0] == f"token {token}, device {device}: 2 batches shown"
    rows = [line.split() for line in lines[3:]]
    assert [r[:3] for r in rows] == [[str(first), "0", "12"], [str(first + 1), "1", "12"]]
    assert [r[-2:] for r in rows] == [[str(total // 2), "2000000"], [str(total), "2000000"]]
    every = run(miner_cli, "readings", "--account", alias(miner), "--all").splitlines()
    assert len(every) == 1 + 2 + 24 and every[-1].split()[-2:] == ["2000000", str(total)]


def test_readings__no_batches_yet(miner, token, system):
    out = run(miner_cli, "readings", "--account", alias(miner))
    assert out.splitlines() == [f"token {token}, device {address_of(device_key(0))}: 0 batches shown"]


@pytest.mark.parametrize("who, extra, expected", [
    ("stranger", [], "Error: {stranger} holds no miner token"),
    ("miner", ["--token", 2**64], "Error: Invalid value for '--token': 18446744073709551616 is not in the range "
                                  "1<=x<=18446744073709551615."),
    ("miner", ["--token", 99], "Error: there is no miner token 99"),
    ("other_miner", ["--token", 1], "Error: token 1 belongs to {miner}, not to {other_miner}"),
])
def test_readings__no_token_of_yours__one_line(request, miner, other_miner, stranger, token, who, extra, expected):
    account = request.getfixturevalue(who)
    line = refused(miner_cli, "readings", "--account", alias(account), *extra)
    assert line == expected.format(stranger=stranger.address, miner=miner.address, other_miner=other_miner.address)


# ------------------------------------------------------------------------------------------- sell


def test_sell__json__credited_to_the_token(world, system, miner, token, node, chain):
    storage = system.storage
    sent, received = world.delivery_files(device_key(0), node, 3, SENT_MWH, RECEIVED_MWH)
    unpaid, credit = storage.nodes(node).unpaid_mwh, storage.credit_of(token)
    out = _json("sell", "--account", alias(miner), "--sent", sent, "--received", received)
    statement = json.loads(sent.read_text())
    d = storage.delivery(out["delivery_key"])
    assert out["delivery_key"] == storage.delivery_key(node, 3)
    assert (d.node, d.delivery_id, d.token_id, d.sent_mwh, d.received_mwh, d.loss_mwh, d.status) == (
        node, 3, token, SENT_MWH, RECEIVED_MWH, SENT_MWH - RECEIVED_MWH, 1)
    assert out == {"delivery_key": out["delivery_key"], "node": node, "delivery_id": 3, "token_id": token,
                   "device": address_of(device_key(0)), "period_start": statement["period_start"],
                   "period_end": statement["period_end"], "sent_mwh": SENT_MWH, "received_mwh": RECEIVED_MWH,
                   "loss_mwh": SENT_MWH - RECEIVED_MWH, "status": "credited", "tx_hash": out["tx_hash"]}
    assert (d.period_start, d.period_end) == (statement["period_start"], statement["period_end"])
    assert storage.credit_of(token) == credit + RECEIVED_MWH
    assert storage.nodes(node).unpaid_mwh == unpaid + RECEIVED_MWH
    assert chain.get_receipt(out["tx_hash"]).sender == miner.address


def test_sell__text(world, system, miner, token, node):
    sent, received = world.delivery_files(device_key(0), node, 4, SENT_MWH, RECEIVED_MWH)
    out = run(miner_cli, "sell", "--account", alias(miner), "--sent", sent, "--received", received)
    key = system.storage.delivery_key(node, 4)
    assert out.strip() == (f"delivery 4 into node {node} credited to token {token}: sent {SENT_MWH} mWh, received "
                           f"{RECEIVED_MWH} mWh, loss {SENT_MWH - RECEIVED_MWH} mWh (key {key}; `request-payment` "
                           "asks the DAO to pay)")


def _edit(path, **fields):
    return write_json(path, {**json.loads(path.read_text()), **fields})


@pytest.mark.parametrize("case", [
    "not the same delivery", "other device", "received exceeds sent", "nothing received", "kind", "unknown node",
    "suspended node", "recorded", "not over", "node full", "no token", "not the owner", "suspended token",
    "device signature", "meter signature", "missing file", "delivery id 0", "empty period",
])
def test_sell__bad_input__one_line_and_nothing_sent(world, system, miner, other_miner, token, node, case):
    storage, sbt, dev = system.storage, system.sbt, device_key(0)
    device = address_of(dev)
    account = miner
    sent, received = world.delivery_files(dev, node, 5, SENT_MWH, RECEIVED_MWH)
    if case == "not the same delivery":
        received = world.delivery_files(dev, node, 6, SENT_MWH, RECEIVED_MWH)[1]
        expected = "the two statements are not for the same node, delivery id and period"
    elif case == "other device":
        other = address_of(device_key(1))
        end = json.loads(sent.read_text())["period_end"]
        received = world.statement(meter_key(0), node, 5, other, end - HOUR, end, RECEIVED_MWH, 1)
        expected = f"{received} names device {other}, {sent} device {device}"
    elif case == "received exceeds sent":
        sent, received = world.delivery_files(dev, node, 5, 1_000, 1_001)
        expected = "received 1001 mWh exceeds sent 1000 mWh"
    elif case == "nothing received":
        sent, received = world.delivery_files(dev, node, 5, 1_000, 0)
        expected = f"{received} states nothing received"
    elif case == "kind":
        received = sent
        expected = f"{sent}: meter: expected a 'received' statement, got 'sent'"
    elif case == "unknown node":
        sent, received = world.delivery_files(dev, 7, 5, SENT_MWH, RECEIVED_MWH)
        expected = f"there is no storage node 7 ({storage.node_count()} registered)"
    elif case == "suspended node":
        world.ballot(call(storage.set_node_active, node, False))
        expected = f"node {node} is suspended: it takes no deliveries"
    elif case == "recorded":
        run(miner_cli, "sell", "--account", alias(miner), "--sent", sent, "--received", received)
        expected = f"delivery 5 into node {node} is already recorded"
    elif case == "not over":
        end = world.now() + 600
        sent, received = world.delivery_files(dev, node, 5, SENT_MWH, RECEIVED_MWH, end=end)
        expected = f"the period ends at {when(end)}, after the chain's time"
    elif case == "node full":
        free = storage.free_capacity_mwh(node)
        sent, received = world.delivery_files(dev, node, 5, free + 1, free + 1)
        expected = f"node {node} has room for {free} mWh, not {free + 1}"
    elif case == "no token":
        sent, received = world.delivery_files(device_key(20), node, 5, SENT_MWH, RECEIVED_MWH)
        expected = f"device {address_of(device_key(20))} has no miner token"
    elif case == "not the owner":
        account = other_miner
        expected = f"device {device} is token {token}'s, owned by {miner.address}, not {other_miner.address}"
    elif case == "suspended token":
        world.ballot(call(sbt.set_hardware_status, token, 2))
        expected = f"token {token} is suspended: it cannot sell"
    elif case == "device signature":
        sent = _edit(sent, energy_mwh=SENT_MWH + 1)
        expected = f"{sent}: not signed by the device {device} (or not for this chain's StorageNode)"
    elif case == "meter signature":
        sent, received = world.delivery_files(dev, node, 5, SENT_MWH, RECEIVED_MWH, meter_priv=meter_key(9))
        meter = storage.nodes(node).meter
        expected = f"{received}: not signed by node {node}'s meter {meter} (or not for this chain's StorageNode)"
    elif case == "delivery id 0":
        sent, received = world.delivery_files(dev, node, 0, SENT_MWH, RECEIVED_MWH)
        expected = "delivery id 0 is out of range (1 .. 2**64 - 1)"
    elif case == "empty period":
        end = world.now() - 60
        sent, received = world.delivery_files(dev, node, 5, SENT_MWH, RECEIVED_MWH, start=end, end=end)
        expected = f"the period {end} .. {end} is empty"
    else:
        sent = sent.with_name("nothing-here.json")
        expected = f"{sent}: not a readable JSON file"
    nonce = account.nonce
    line = refused(miner_cli, "sell", "--account", alias(account), "--sent", sent, "--received", received)
    assert line.startswith(f"Error: {expected}"), line
    assert account.nonce == nonce


# -------------------------------------------------------------------------------- request-payment


def test_request_payment__json__the_request_on_chain(system, miner, token, credited, chain):
    desk, storage = system.desk, system.storage
    out = _json("request-payment", "--account", alias(miner))
    r = desk.requests(out["request_id"])
    assert out["request_id"] == desk.request_count()
    assert (out["token_id"], r.token_id, r.miner) == (token, token, miner.address)
    assert out["keys"] == [credited] and out["deliveries"] == 1 and out["left_over"] == 0
    assert (out["sent_mwh"], out["received_mwh"]) == (r.sent_mwh, r.received_mwh) == (SENT_MWH, RECEIVED_MWH)
    assert (out["period_start"], out["period_end"]) == (r.period_start, r.period_end)
    assert r.period_end - r.period_start == 30 * 86_400
    assert out["status"] == "pending" and r.status == 1
    assert storage.delivery(credited).status == 2  # reserved for the request
    assert chain.get_receipt(out["tx_hash"]).sender == miner.address


def test_request_payment__text__approved_by_ballot__status_shows_shares__withdraw_all(world, system, miner, token,
                                                                                      credited):
    desk, pool = system.desk, system.pool
    out = run(miner_cli, "request-payment", "--account", alias(miner), "--token", token, "--days", 7)
    request_id = desk.request_count()
    assert out.strip() == (f"payment request {request_id}: 1 deliveries, received {RECEIVED_MWH} mWh (sent {SENT_MWH}); "
                           f"the DAO votes on `desk.approve({request_id}, price)` (`ape run market review {request_id}` "
                           "suggests the price)")
    held = pool.balanceOf(miner)
    world.approve_payment(request_id)
    shares = desk.requests(request_id).shares
    status = _json("status", "--account", alias(miner))
    assert {"request_id": request_id, "token_id": token, "status": "approved", "deliveries": 1,
            "received_mwh": RECEIVED_MWH, "shares": shares, "reason": ""} in status["payment_requests"]
    assert status["balances"]["lp_shares"] == held + shares == pool.balanceOf(miner)
    deca, energy = pool.quote_remove(held + shares)
    line = run(miner_cli, "withdraw", "--account", alias(miner), "--shares", "all").strip()
    assert line == (f"redeemed {held + shares} LP shares for {deca / 1e18:.6f} DECA and {energy} mWh of ENERGY "
                    "(0 shares left)")
    assert pool.balanceOf(miner) == 0


@pytest.mark.parametrize("case", ["no token", "not the owner", "unknown token", "all excluded", "less than 1 Wh",
                                  "suspended", "nothing credited"])
def test_request_payment__bad_input__one_line_and_nothing_sent(world, system, miner, other_miner, stranger, token,
                                                               node, credited, case):
    account, extra = miner, []
    if case == "no token":
        account, expected = stranger, f"{stranger.address} holds no miner token"
    elif case == "not the owner":
        account, extra = other_miner, ["--token", token]
        expected = f"token {token} belongs to {miner.address}, not to {other_miner.address}"
    elif case == "unknown token":
        extra, expected = ["--token", 99], "there is no miner token 99"
    elif case == "all excluded":
        extra = ["--exclude", credited]
        expected = f"token {token} has no credited deliveries in the last 30 days besides the 1 excluded"
    elif case == "less than 1 Wh":
        world.deliver(miner, device_key(0), node, 9, 600, 500)
        extra = ["--exclude", credited]
        expected = "the deliveries received 500 mWh; the desk pays 1000 mWh (1 Wh) or more"
    elif case == "suspended":
        world.ballot(call(system.sbt.set_hardware_status, token, 2))
        expected = f"token {token} is suspended: the desk pays active miners only"
    else:
        account, other = other_miner, world.admit(other_miner, device_key(2))
        expected = f"token {other} has no credited deliveries in the last 30 days"
    nonce = account.nonce
    line = refused(miner_cli, "request-payment", "--account", alias(account), *extra)
    assert line == f"Error: {expected}"
    assert account.nonce == nonce


# --------------------------------------------------------------------------------------- withdraw


def test_withdraw__json__half_the_shares_out_of_the_pool(system, miner, paid, chain):
    pool, deca, energy = system.pool, system.deca, system.energy
    held = pool.balanceOf(miner)
    half = held // 2
    quote = pool.quote_remove(half)
    before = deca.balanceOf(miner), energy.balanceOf(miner)
    out = _json("withdraw", "--account", alias(miner), "--shares", half)
    assert (out["shares"], out["deca_wei"], out["energy_mwh"]) == (half, *quote)
    assert (out["min_deca_wei"], out["min_energy_mwh"]) == (quote[0] * 9_950 // 10_000, quote[1] * 9_950 // 10_000)
    assert out["shares_left"] == held - half == pool.balanceOf(miner)
    assert deca.balanceOf(miner) == before[0] + out["deca_wei"]
    assert energy.balanceOf(miner) == before[1] + out["energy_mwh"]
    assert chain.get_receipt(out["tx_hash"]).sender == miner.address


@pytest.mark.parametrize("shares, expected", [
    ("abc", "Error: Invalid value for --shares: 'abc': expected an integer or 'all'"),
    ("-5", "Error: Invalid value for --shares: '-5': expected an integer or 'all'"),
    ("0", "Error: {miner} holds {held} LP shares; cannot redeem 0"),
    ("more", "Error: {miner} holds {held} LP shares; cannot redeem {more}"),
    ("1", "Error: 1 LP shares redeem {one[0]} DECA wei and {one[1]} mWh: too few to withdraw"),
])
def test_withdraw__bad_shares__one_line_and_nothing_sent(system, miner, paid, shares, expected):
    held = system.pool.balanceOf(miner)
    shares = str(held + 1) if shares == "more" else shares
    nonce = miner.nonce
    line = refused(miner_cli, "withdraw", "--account", alias(miner), "--shares", shares)
    one = system.pool.quote_remove(1)
    assert 0 in one
    assert line == expected.format(miner=miner.address, held=held, more=held + 1, one=one)
    assert miner.nonce == nonce


def test_withdraw__no_shares__one_line(stranger):
    assert refused(miner_cli, "withdraw", "--account", alias(stranger), "--shares", "all") == (
        f"Error: {stranger.address} holds no LP shares")


# ------------------------------------------------------------------------------------------- swap


@pytest.fixture
def holder(system, miner, paid, chain):
    """The miner, having taken half its liquidity out: it holds DECA and ENERGY."""
    pool = system.pool
    pool.remove_liquidity(pool.balanceOf(miner) // 2, 1, 1, miner, chain.pending_timestamp + 600, sender=miner)
    return miner


def test_swap__json__energy_for_deca(system, holder, chain):
    pool, deca, energy = system.pool, system.deca, system.energy
    amount = energy.balanceOf(holder) // 2
    quote = pool.get_amount_out(energy, amount)
    before = deca.balanceOf(holder), energy.balanceOf(holder)
    out = _json("swap", "--account", alias(holder), "--sell", "energy", "--amount", amount)
    assert out["tx_hash"] and out["approve_tx_hash"] and out["approve_tx_hash"] != out["tx_hash"]
    assert {k: v for k, v in out.items() if "tx_hash" not in k} == {
        "sold": "energy", "amount_in": amount, "bought": "deca", "amount_out": quote, "quoted": quote,
        "min_out": quote * 9_950 // 10_000, "spot_price": pool.spot_price()}
    assert (deca.balanceOf(holder), energy.balanceOf(holder)) == (before[0] + quote, before[1] - amount)
    assert chain.get_receipt(out["tx_hash"]).sender == holder.address


def test_swap__text__deca_for_energy(system, holder):
    pool, deca, energy = system.pool, system.deca, system.energy
    amount = deca.balanceOf(holder) // 2
    quote = pool.get_amount_out(deca, amount)
    held = energy.balanceOf(holder)
    out = run(miner_cli, "swap", "--account", alias(holder), "--sell", "deca", "--amount", amount, "--slippage-bps", 0)
    assert out.startswith(f"sold {amount} deca base units for {quote} energy base units; price now ")
    assert out.rstrip().endswith(" DECA/kWh")
    assert energy.balanceOf(holder) == held + quote


@pytest.mark.parametrize("case", ["more than held", "nothing held", "buys nothing", "all slippage", "zero"])
def test_swap__bad_input__one_line_and_nothing_sent(system, holder, stranger, case):
    account, side, amount, extra = holder, "energy", 1_000, []
    if case == "more than held":
        amount = system.energy.balanceOf(holder) + 1
        expected = f"Error: {holder.address} holds {amount - 1} energy base units, less than {amount}"
    elif case == "nothing held":
        account, expected = stranger, f"Error: {stranger.address} holds 0 energy base units, less than 1000"
    elif case == "buys nothing":
        side, amount = "deca", 1
        expected = "Error: 1 deca base units buy nothing: sell more"
    elif case == "all slippage":
        extra = ["--slippage-bps", 10_000]
        expected = "Error: --slippage-bps 10000 accepts nothing in return; lower it"
    else:
        amount = 0
        expected = "Error: Invalid value for '--amount': 0 is not in the range x>=1."
    nonce = account.nonce
    line = refused(miner_cli, "swap", "--account", alias(account), "--sell", side, "--amount", amount, *extra)
    assert line == expected
    assert account.nonce == nonce
