"""`ape run gateway`: the server started for real on a free loopback port, a device's batch posted over HTTP and
relayed to the registry, then stopped with Ctrl-C (SIGINT); its refusals before it listens."""

import socket
import time

import pytest
import requests
from cli_kit import alias, refused, run
from oracle_cli_kit import EPOCH_SECONDS, Device, as_json, current_epoch, run_until_ctrl_c

from offchain.index import store
from scripts import gateway
from testbed.localchain import advance_to


@pytest.fixture(scope="module")
def device(system, chain, accounts):
    return Device(chain, system, accounts[1:4], accounts[4], 1)


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

    result, answers = run_until_ctrl_c(gateway.cli, "--account", alias(relayer), "--store", path, "--interval", 0.1,
                                       "--port", url.rsplit(":", 1)[1],
                                       up=lambda: requests.get(url + "/health", timeout=5).ok, then=talk)
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"gateway listening on {url}: POST /batches, GET /batches/<digest>, "
                        "GET /health; Ctrl-C stops")
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
        line = refused(gateway.cli, "--account", alias(accounts[6]), "--store", tmp_path / "store.sqlite",
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
    line = refused(gateway.cli, "--account", alias(accounts[6]), "--store", store_arg, "--port", _free_port())
    assert line == expected.format(tmp=tmp_path)


def test_gateway__bad_port_variable__one_line(system, accounts, tmp_path, monkeypatch):
    monkeypatch.setenv("GEM_GATEWAY_PORT", "eighty")
    line = refused(gateway.cli, "--account", alias(accounts[6]), "--store", tmp_path / "store.sqlite")
    assert line == "Error: GEM_GATEWAY_PORT is not a TCP port (0 to 65535)"
    assert refused(gateway.cli, "--account", alias(accounts[6]), "--port", 70_000) == (
        "Error: Invalid value for '--port': 70000 is not in the range 0<=x<=65535.")


def test_gateway__account_without_ether_or_unknown__one_line(system, accounts, tmp_path):
    fresh = accounts.generate_test_account()
    line = refused(gateway.cli, "--account", alias(fresh), "--store", tmp_path / "store.sqlite", "--port", 0)
    assert line == f"Error: {fresh.address} has no ether to pay for the relay's transactions"
    assert not (tmp_path / "store.sqlite").exists()
    assert refused(gateway.cli, "--account", "nobody", "--port", 0) == (
        "Error: Invalid value for '--account': Account with alias 'nobody' not found.")


def test_gateway__no_deployment__one_line(system, accounts, tmp_path, monkeypatch):
    monkeypatch.setenv("GEM_DEPLOYMENTS", str(tmp_path / "nothing"))
    line = refused(gateway.cli, "--account", alias(accounts[6]), "--store", tmp_path / "store.sqlite")
    assert line.startswith("no deployment recorded for this network (") and line.endswith("run `ape run deploy` first")


def test_gateway__help__explains_it_and_each_option():
    out = run(gateway.cli, "--help")
    assert "Serve POST /batches, GET /batches/<digest> and GET /health" in out
    assert "it pays for submit_many" in out
    for option in ("--host", "--port", "--store", "--interval", "--account"):
        assert option in out
