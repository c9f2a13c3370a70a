"""
The devices' health reports at the gateway (issue 13, "Faults"): a real device's faults (I2C errors
through the real INA219 driver on the fake bus, a reboot mid-hour, a clock that goes back) reach the
gateway over HTTP on 127.0.0.1 with the next batch, are kept in its store, served and shown by
`ape run gateway devices`; a report is optional, checked strictly (400 or 403 with one line), and a
refused one changes nothing already kept.
"""

import json

import pytest
import requests
from click.testing import CliRunner

from greenminer.miner import Miner
from greenminer.net import HttpNet
from greenminer.protocol import HEALTH_FIELDS
from greenminer.sensor import CALIBRATIONS, Sensor
from greenminer.store import Store
from offchain.gateway import Gateway, _parse_batch
from offchain.index import store
from offchain.protocol.batch import digest_of
from offchain.protocol.health import health_signer, sign_health
from scripts import gateway as gateway_command
from testbed.demo import BackgroundGateway
from testbed.fake_ina219 import FakeI2C, FakeINA219
from testbed.simulator import VirtualClock

SLOT, HOUR = 300, 3_600  # [s]
CLEAN = dict.fromkeys(HEALTH_FIELDS, 0) | {"boots": 1, "batches_built": 1, "uptime": 3_700}


def _queued(conn):
    return [(q.seq, q.status) for q in store.read_queue(conn, "pending")]


def _kept(conn):
    return [(r.device, r.seq, r.prev_seq, r.report) for r in store.read_health(conn)]


@pytest.fixture
def gateway(gateway_on, fake_chain):
    return gateway_on(fake_chain)


@pytest.fixture
def report(fake_chain):
    """``report(device, batch, key=None, **values)``: the batch with a health report signed for it."""

    def attach(device, batch, key=None, **values):
        digest = digest_of(fake_chain.separator, _parse_batch({k: v for k, v in batch.items() if k != "health"}))
        return {**batch, "health": sign_health(key or device.account.key, digest, {**CLEAN, **values})}

    return attach


# ----------------------------------------------------------------- a real device's faults, end to end


def set_mw(chip, power_mw):
    chip.set_state(10.0, power_mw / 10_000)  # even mW read exactly by the 32V_2A preset at 10 V


def sample(miner, clock, chip, stamps, power_mw=1_200):
    """The device ticks until idle at each time [s], the chip at ``power_mw``."""
    set_mw(chip, power_mw)
    for t in stamps:
        clock.now = t
        for _ in range(10_000):
            if miner.tick() > 0:
                break


def test_device_faults__reported_with_the_next_batch__kept_served_and_shown(
    gateway_on, fake_chain, eip712, chain, tmp_path
):
    path = tmp_path / "store.sqlite"
    conn = store.open_store(path)
    gateway = gateway_on(fake_chain, conn)
    secret = eip712.secret(3)
    device = eip712.address(secret)
    fake_chain.devices[device] = (3, 5_000, 1)
    genesis = fake_chain.genesis()
    chip = FakeINA219(shunt_ohms=CALIBRATIONS["32V_2A"][0])
    bus, clock, flash = FakeI2C(chip), VirtualClock(genesis), str(tmp_path / "flash")
    settings = {"CHAIN_ID": fake_chain.chain_id, "REGISTRY": fake_chain.address, "GENESIS": genesis,
                "POW_TARGET": fake_chain.target, "POW_SLICE": 64}
    served = BackgroundGateway(gateway)
    try:
        net = HttpNet(requests.Session(), served.url)

        def boot():
            return Miner(Sensor(bus, "32V_2A"), secret, clock, Store(flash), net, settings)

        miner = boot()
        sample(miner, clock, chip, [genesis + k * SLOT for k in range(12)])  # hour 0, no fault
        sample(miner, clock, chip, [genesis + HOUR + k * SLOT for k in range(4)])  # hour 0 posted; hour 1 begins
        bus.fail(3)  # slot 4: three reads fail, the fourth (30 s later) is read through the real driver
        sample(miner, clock, chip, [genesis + HOUR + 4 * SLOT + s for s in (0, 10, 20, 30)])
        miner = boot()  # the power goes during slot 5; back in slot 6
        sample(miner, clock, chip, [genesis + HOUR + 6 * SLOT + 5, genesis + HOUR + 2 * SLOT])  # then the clock goes back
        sample(miner, clock, chip, [genesis + HOUR + k * SLOT for k in range(7, 12)] + [genesis + 2 * HOUR])
        assert store.read_queue_counts(conn) == {"pending": 2}
        (status, listed), (status_one, one) = [
            (r.status_code, r.json()) for r in (requests.get(served.url + "/devices", timeout=10),
                                                 requests.get(f"{served.url}/devices/{device.lower()}", timeout=10))]
    finally:
        served.stop()
    assert status == status_one == 200 and listed == {"devices": [one]}
    health = one["health"]
    assert (one["device"], one["seq"], one["epoch"]) == (device, 1, 1)
    assert {k: health[k] for k in ("boots", "i2c_errors", "missed_samples", "clock_backs", "batches_built")} == {
        "boots": 2, "i2c_errors": 3, "missed_samples": 1, "clock_backs": 1, "batches_built": 2}
    assert one["previous"]["seq"] == 0 and one["previous"]["health"]["i2c_errors"] == 0
    assert one["grown"] == ["boots", "i2c_errors", "missed_samples", "clock_backs"]
    # what the gateway serves, anyone can check against the batch's digest (on chain once relayed)
    queued = store.read_queued(conn, one["batch_hash"])
    conn.close()
    assert (queued.seq, queued.epoch) == (1, 1)
    values = {k: health[k] for k in HEALTH_FIELDS}
    assert health_signer(bytes.fromhex(one["batch_hash"][2:]), values, bytes.fromhex(health["signature"][2:])) == device
    assert miner.status()["counters"]["batches_accepted"] == 2 and miner.status()["outbox"] == 0

    def command(*args):
        result = CliRunner().invoke(gateway_command.cli, ["devices", "--store", str(path), *args],
                                    catch_exceptions=False, obj={"provider": chain.provider})
        assert result.exit_code == 0, result.output
        return result.output

    table = command().splitlines()
    assert table[2].split()[:11] == [device, "1", "1", "2", str(health["uptime"]), "3", "0", "1", "1", "0", "0"]
    assert table[2].endswith("boots, i2c_errors, missed_samples, clock_backs")
    assert json.loads(command("--json"))["devices"] == [one]


# ----------------------------------------------------------------- optional, kept, served


def test_post__without_health__accepted_and_no_report_kept(gateway, http, fake_device, mem_store):
    (s1, a1), (s2, a2), (s3, a3) = http(gateway, [
        ("POST", "/batches", fake_device.sign(0)),  # a device from before the health report
        ("GET", "/devices", None),
        ("GET", f"/devices/{fake_device.address}", None),
    ])
    assert (s1, a1) == (202, {"digest": fake_device.prev, "status": "pending"})
    assert (s2, a2) == (200, {"devices": []})
    assert (s3, a3) == (404, {"error": "no health report from this device"})
    assert _queued(mem_store) == [(0, "pending")]


def test_post__reports_with_batches__latest_kept_with_the_previous_and_what_grew(
    gateway, http, fake_device, report, mem_store
):
    first = report(fake_device, fake_device.sign(0), i2c_errors=2)
    second = report(fake_device, fake_device.sign(1), i2c_errors=5, missed_samples=1, batches_built=2)
    third = report(fake_device, fake_device.sign(2), i2c_errors=5, missed_samples=1, batches_built=3)
    (s1, _), (s2, _), (s3, shown), (s4, _), (s5, _), (s6, after) = http(gateway, [
        ("POST", "/batches", first),
        ("POST", "/batches", {"batches": [second]}),
        ("GET", f"/devices/{fake_device.address.lower()}", None),
        ("POST", "/batches", first),  # a device retrying an old batch: a duplicate, its report older
        ("POST", "/batches", third),
        ("GET", "/devices", None),
    ])
    assert (s1, s2, s3, s4, s5, s6) == (202, 202, 200, 200, 202, 200)
    assert (shown["seq"], shown["epoch"], shown["previous"]["seq"]) == (1, 1, 0)
    assert shown["health"] == second["health"] and shown["previous"]["health"] == first["health"]
    assert shown["grown"] == ["i2c_errors", "missed_samples"]
    (latest,) = after["devices"]
    assert (latest["seq"], latest["previous"]["seq"], latest["grown"]) == (2, 1, [])
    assert latest["batch_hash"] == fake_device.prev and latest["health"] == third["health"]


def test_get_device__malformed_address__400(gateway, http):
    ((status, answer),) = http(gateway, [("GET", "/devices/0x1234", None)])
    assert (status, answer) == (400, {"error": "device: expected 0x and 40 hex digits"})


# ----------------------------------------------------------------- refused: nothing already kept is lost


@pytest.mark.parametrize("change, reason", [
    (lambda h: "fine", "health: expected an object"),
    (lambda h: [1, 2], "health: expected an object"),
    (lambda h: {k: v for k, v in h.items() if k != "uptime"}, "health.uptime: missing"),
    (lambda h: {**h, "temperature": 40}, "health.temperature: unknown field"),
    (lambda h: {**h, "x" * 100: 1}, "health." + "x" * 40 + ": unknown field"),
    (lambda h: {**h, "i2c_errors": -1}, "health.i2c_errors: out of range"),
    (lambda h: {**h, "missed_samples": 2**64}, "health.missed_samples: out of range"),
    (lambda h: {**h, "boots": "2"}, "health.boots: expected an integer"),
    (lambda h: {**h, "boots": 2.0}, "health.boots: expected an integer"),
    (lambda h: {**h, "clock_backs": True}, "health.clock_backs: expected an integer"),
    (lambda h: {**h, "uptime": None}, "health.uptime: expected an integer"),
    (lambda h: {**h, "signature": h["signature"][:-2]}, "health.signature: expected 0x and 130 hex digits"),
], ids=["string", "list", "missing", "unknown", "long-name", "negative", "above-uint64", "text", "float", "bool",
        "null", "short-signature"])
def test_post__malformed_health__400_and_the_queue_and_reports_unchanged(
    gateway, http, fake_device, report, mem_store, change, reason
):
    first = report(fake_device, fake_device.sign(0), i2c_errors=1)
    second = report(fake_device, fake_device.sign(1), i2c_errors=4)
    bad = {**second, "health": change(second["health"])}
    (s1, _), (s2, a2), (s3, a3) = http(gateway, [
        ("POST", "/batches", first),
        ("POST", "/batches", bad),
        ("POST", "/batches", {"batches": [second, bad]}),
    ])
    assert s1 == 202
    assert (s2, a2) == (400, {"error": reason})
    assert (s3, a3) == (400, {"error": f"batches[1].{reason}"})
    assert _queued(mem_store) == [(0, "pending")]
    assert _kept(mem_store) == [(fake_device.address, 0, None, first["health"])]


@pytest.mark.parametrize("forge", ["other-key", "other-batch", "changed-count", "high-s"])
def test_post__health_not_signed_by_the_device_for_this_batch__403_and_nothing_kept(
    gateway, http, fake_device, report, mem_store, eip712, forge
):
    first = report(fake_device, fake_device.sign(0), i2c_errors=1)
    second = report(fake_device, fake_device.sign(1), i2c_errors=4)
    health = second["health"]
    if forge == "other-key":
        health = report(fake_device, second, key=eip712.secret(99), i2c_errors=4)["health"]
    elif forge == "other-batch":
        health = first["health"]  # a true report, of another batch: it would hide the 3 new errors
    elif forge == "changed-count":
        health = {**health, "i2c_errors": 1}
    else:
        sig = bytes.fromhex(health["signature"][2:])
        n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
        high_s = (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
        health = {**health, "signature": "0x" + (sig[:32] + high_s + bytes([55 - sig[64]])).hex()}
    (s1, _), (s2, a2) = http(gateway, [("POST", "/batches", first), ("POST", "/batches", {**second, "health": health})])
    reason = "health.signature: invalid" if forge == "high-s" else "health.signature: not signed by device"
    assert s1 == 202 and (s2, a2) == (403, {"error": reason})
    assert _queued(mem_store) == [(0, "pending")]
    assert _kept(mem_store) == [(fake_device.address, 0, None, first["health"])]


def test_post__bad_batch_with_good_health__refused_for_the_batch_and_no_report_kept(
    gateway, http, fake_device, report, mem_store
):
    batch = report(fake_device, fake_device.sign(0, seq=3))
    ((status, answer),) = http(gateway, [("POST", "/batches", batch)])
    assert (status, answer) == (409, {"error": "seq: 3 skips ahead, next is 0"})
    assert _queued(mem_store) == [] and _kept(mem_store) == []


def test_restart__reports_kept_in_the_store(fake_chain, fake_device, report, http, tmp_path):
    path = tmp_path / "store.sqlite"
    conn = store.open_store(path)
    gw = Gateway(conn, fake_chain)
    http(gw, [("POST", "/batches", report(fake_device, fake_device.sign(0), missed_samples=7))])
    gw.close()
    conn.close()
    conn = store.open_store(path)
    gw = Gateway(conn, fake_chain)
    ((status, answer),) = http(gw, [("GET", "/devices", None)])
    gw.close()
    conn.close()
    assert status == 200 and [(d["seq"], d["health"]["missed_samples"]) for d in answer["devices"]] == [(0, 7)]
