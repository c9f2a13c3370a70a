"""`ape run gateway serve`: the server started for real on a free loopback port, a device's batch posted over HTTP
and relayed to the registry, then stopped with Ctrl-C (SIGINT); its refusals before it listens. `ape run gateway
devices`: the health reports devices posted with their batches, as a table and as JSON."""

import json
import socket
import time

import pytest
import requests
from cli_kit import alias, refused, run
from oracle_cli_kit import EPOCH_SECONDS, Device, as_json, current_epoch, run_until_ctrl_c

from greenminer.protocol import HEALTH_FIELDS
from offchain.index import store
from offchain.protocol.health import sign_health
from scripts import gateway
from testbed.localchain import advance_to


@pytest.fixture(scope="module")
def device(system, chain, accounts):
    return Device(chain, system, accounts[1:4], accounts[4], 1)


@pytest.fixture(scope="module")
def reporting_device(system, chain, accounts):
    return Device(chain, system, accounts[1:4], accounts[5], 2)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gateway__listens_relays_a_posted_batch_and_stops_on_ctrl_c(system, device, chain, accounts, tmp_path):
    registry, relayer = system.registry, accounts[6]
    epoch = current_epoch(chain, system)
    batch, digest = device.sign(epoch)
    digest = "0x" + digest.hex()
    advance_to(chain, int(registry.genesis()) + EPOCH_SECONDS * (epoch + 1) + 60)  # the epoch is over
    path = tmp_path / "store.sqlite"

    url = f"http://127.0.0.1:{_free_port()}"

    def talk():
        answers = {"health": requests.get(url + "/health", timeout=10).json()}
        posted = requests.post(url + "/batches", json=as_json(batch), timeout=30)
        answers["posted"] = (posted.status_code, posted.json())
        bad = requests.post(url + "/batches", data=b"{not json", timeout=10)
        answers["bad"] = (bad.status_code, bad.json())
        for _ in range(600):  # the relay runs every --interval
            state = requests.get(f"{url}/batches/{digest}", timeout=10).json()
            if state["status"] != "pending":
                break
            time.sleep(0.05)
        answers["state"] = state
        answers["after"] = requests.get(url + "/health", timeout=10).json()
        return answers

    result, answers = run_until_ctrl_c(gateway.cli, "serve", "--account", alias(relayer), "--store", path, "--interval", 0.1,
                                       "--port", url.rsplit(":", 1)[1],
                                       up=lambda: requests.get(url + "/health", timeout=5).ok, then=talk)
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"gateway listening on {url}: POST /batches, GET /batches/<digest>, "
                        "GET /health, GET /devices; Ctrl-C stops")
    assert lines[1] == (f"relaying to MeasurementRegistry {registry.address} on chain {chain.chain_id} as "
                        f"{relayer.address}; queue in {path} (0 pending)")
    assert lines[-1] == f"gateway stopped; 0 pending batches stay queued in {path} for the next start"
    assert answers["health"] == {"ok": True, "queue": {}}
    assert answers["posted"] == (202, {"digest": digest, "status": "pending"})
    assert answers["bad"] == (400, {"error": "body is not valid JSON"})
    assert answers["state"]["status"] == "accepted" and answers["state"]["seq"] == 0
    assert answers["after"] == {"ok": True, "queue": {"accepted": 1}}
    # the chain holds it: the device's next seq and last batch, from the relayer's transaction
    _, _, next_seq, last_hash = registry.device_state(device.address)
    assert (int(next_seq), "0x" + bytes(last_hash).hex()) == (1, digest)
    receipt = chain.provider.get_receipt(answers["state"]["tx_hash"])
    assert receipt.sender == relayer.address
    conn = store.open_store(path)
    assert store.read_queued(conn, digest).status == "accepted"
    conn.close()


def test_gateway__port_in_use__one_line(system, accounts, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = refused(gateway.cli, "serve", "--account", alias(accounts[6]), "--store", tmp_path / "store.sqlite",
                       "--port", port)
    assert line == f"Error: cannot listen on 127.0.0.1:{port}: the port is in use"


@pytest.mark.parametrize("store_arg, expected", [
    ("http://example.com/store", "Error: store: unsupported URL 'http://example.com/store' (only SQLite paths and "
                                 "sqlite:/// URLs)"),
    ("notes.txt", "Error: cannot open the store {tmp}/notes.txt: file is not a database"),
])
def test_gateway__bad_store__one_line(system, accounts, tmp_path, store_arg, expected):
    (tmp_path / "notes.txt").write_text("not a database, " * 100)
    store_arg = str(tmp_path / store_arg) if store_arg == "notes.txt" else store_arg
    line = refused(gateway.cli, "serve", "--account", alias(accounts[6]), "--store", store_arg, "--port", _free_port())
    assert line == expected.format(tmp=tmp_path)


def test_gateway__bad_port_variable__one_line(system, accounts, tmp_path, monkeypatch):
    monkeypatch.setenv("GEM_GATEWAY_PORT", "eighty")
    line = refused(gateway.cli, "serve", "--account", alias(accounts[6]), "--store", tmp_path / "store.sqlite")
    assert line == "Error: GEM_GATEWAY_PORT is not a TCP port (0 to 65535)"
    assert refused(gateway.cli, "serve", "--account", alias(accounts[6]), "--port", 70_000) == (
        "Error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535.")


def test_gateway__account_without_ether_or_unknown__one_line(system, accounts, tmp_path):
    fresh = accounts.generate_test_account()
    line = refused(gateway.cli, "serve", "--account", alias(fresh), "--store", tmp_path / "store.sqlite", "--port", 0)
    assert line == f"Error: {fresh.address} has no ether to pay for the relay's transactions"
    assert not (tmp_path / "store.sqlite").exists()
    assert refused(gateway.cli, "serve", "--account", "nobody", "--port", 0) == (
        "Error: Invalid value for '--account': Account with alias 'nobody' not found.")


def test_gateway__no_deployment__one_line(system, accounts, tmp_path, monkeypatch):
    monkeypatch.setenv("GEM_DEPLOYMENTS", str(tmp_path / "nothing"))
    line = refused(gateway.cli, "serve", "--account", alias(accounts[6]), "--store", tmp_path / "store.sqlite")
    assert line.startswith("no deployment recorded for this network (") and line.endswith("run `ape run deploy` first")


def test_gateway__help__explains_it_and_each_option():
    out = run(gateway.cli, "serve", "--help")
    assert "Serve POST /batches, GET /batches/<digest>, GET /health and GET /devices" in out
    assert "it pays for submit_many" in out
    for option in ("--host", "--port", "--store", "--interval", "--account"):
        assert option in out


def test_gateway_devices__faults_reported_with_the_batches__table_and_json(system, reporting_device, chain, accounts,
                                                                          tmp_path):
    epoch = current_epoch(chain, system)
    clean = dict.fromkeys(HEALTH_FIELDS, 0) | {"boots": 1, "batches_built": 1, "uptime": 3_600}
    faulty = clean | {"boots": 2, "i2c_errors": 3, "missed_samples": 1, "clock_backs": 1, "batches_built": 2,
                      "batches_accepted": 1, "uptime": 1_500}
    posts = []
    for e, values in ((epoch, clean), (epoch + 1, faulty)):
        batch, digest = reporting_device.sign(e)
        posts.append({**as_json(batch), "health": sign_health(reporting_device.key, digest, values)})
    path, url = tmp_path / "store.sqlite", f"http://127.0.0.1:{_free_port()}"

    def post():
        return [requests.post(url + "/batches", json=p, timeout=30).status_code for p in posts] + [
            requests.get(f"{url}/devices/{reporting_device.address}", timeout=10).json()]

    result, (*statuses, shown) = run_until_ctrl_c(
        gateway.cli, "serve", "--account", alias(accounts[6]), "--store", path, "--port", url.rsplit(":", 1)[1],
        up=lambda: requests.get(url + "/health", timeout=5).ok, then=post)
    assert result.exit_code == 0, result.output + result.stderr
    assert statuses == [202, 202] and shown["grown"] == ["boots", "i2c_errors", "missed_samples", "clock_backs"]

    lines = run(gateway.cli, "devices", "--store", path).splitlines()
    assert lines[0].split() == ["device", "seq", "epoch", "boots", "uptime", "s", "i2c", "errors", "overflows", "missed",
                                "clock", "back", "posts", "failed", "rejected", "reported", "grown", "since", "the",
                                "previous", "report"]
    row = lines[2].split()
    assert row[:11] == [reporting_device.address, "1", str(epoch + 1), "2", "1500", "3", "0", "1", "1", "0", "0"]
    assert lines[2].endswith("UTC  boots, i2c_errors, missed_samples, clock_backs")
    assert lines[-1] == f"1 device(s) reported to {path}; 1 with faults grown since their previous report"

    data = json.loads(run(gateway.cli, "devices", "--store", path, "--json"))
    assert data["store"] == str(path) and data["flagged"] == 1
    (report,) = data["devices"]
    assert report == shown
    assert (report["device"], report["seq"], report["epoch"]) == (reporting_device.address, 1, epoch + 1)
    assert report["health"] == posts[1]["health"] and report["previous"] == {"seq": 0, "health": posts[0]["health"]}


def test_gateway_devices__empty_or_missing_store(system, tmp_path):
    store.open_store(tmp_path / "empty.sqlite").close()
    assert run(gateway.cli, "devices", "--store", tmp_path / "empty.sqlite").splitlines() == [
        f"no health reports in {tmp_path / 'empty.sqlite'} yet: devices send them with their batches"]
    assert json.loads(run(gateway.cli, "devices", "--store", tmp_path / "empty.sqlite", "--json")) == {
        "store": str(tmp_path / "empty.sqlite"), "devices": [], "flagged": 0}
    missing = tmp_path / "none.sqlite"
    assert refused(gateway.cli, "devices", "--store", missing) == (
        f"Error: no store at {missing}; `ape run gateway serve --store {missing}` makes one")
    assert not missing.exists()
