"""`ape run oracle`: the operator settles every finished epoch; status and verify show them as the chain holds them."""

import json
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from cli_kit import alias, invoke, refused, run
from oracle_cli_kit import Device, current_epoch, finish, json_of, run_until_ctrl_c

from offchain import oracle
from offchain.governance import call
from scripts import oracle as oracle_cli
from testbed.localchain import pass_proposal


@pytest.fixture(scope="module")
def settled(system, chain, accounts, tmp_path_factory):
    """A miner's batch in epoch E, every epoch up to E finished, then `oracle run --once --mine --json`."""
    device = Device(chain, system, accounts[1:4], accounts[4], 1)
    epoch = current_epoch(chain, system)
    device.submit(epoch, accounts[6])
    finish(chain, system, epoch)
    folder = tmp_path_factory.mktemp("oracle")
    store = folder / "store.sqlite"
    out = json_of(oracle_cli.cli, "run", "--account", alias(accounts[7]), "--store", store, "--once", "--mine")
    return SimpleNamespace(system=system, device=device, epoch=epoch, folder=folder, store=store, out=out,
                           oracle=accounts[7])


def test_run__once_mine__settles_every_finished_epoch(settled):
    out, rewards, e = settled.out, settled.system.rewards, settled.epoch
    assert out["account"] == settled.oracle.address and out["folder"] == str(settled.folder)
    assert out["stopped"] is False
    assert [s["epoch"] for s in out["settled"]] == list(range(e + 1))
    for s in out["settled"]:
        on_chain = oracle.get_settlement(rewards, s["epoch"])
        assert s["state"] == "POSTED" and on_chain.status == oracle.POSTED
        assert s["root"] == "0x" + on_chain.root.hex() and int(s["total"]) == on_chain.total
        assert s["uri"] == (settled.folder / f"epoch-{s['epoch']}.json").as_uri()
    mine = out["settled"][-1]
    assert mine["miners"] == 1
    assert mine["winners"] == sum(r.winner for r in oracle.read_table(settled.folder / f"epoch-{e}.json").rows)
    assert [(w["epoch"], w["state"], w["waits_for"]) for w in out["waiting"]] == [(e + 1, "NEW", "time")]


def test_run__again__settles_nothing_and_sends_nothing(settled):
    nonce = settled.oracle.nonce
    out = run(oracle_cli.cli, "run", "--account", alias(settled.oracle), "--store", settled.store, "--once", "--mine")
    lines = out.splitlines()
    assert "no epoch settled" in lines and "waiting:" in lines
    waiting = lines[lines.index("waiting:") + 3]
    assert waiting.split()[:2] == [str(settled.epoch + 1), "NEW"] and waiting.endswith("epoch window still open")
    assert settled.oracle.nonce == nonce


def _locked(folder):
    """Whether this process (the command runs in it) holds the folder's oracle.lock: an open descriptor of the
    file with an flock on it, from /proc/self (the inode /proc/locks names is not always the one stat gives, as on
    overlay file systems)."""
    path = os.path.realpath(folder / oracle.LOCK_FILE)
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == path and "FLOCK" in Path(f"/proc/self/fdinfo/{fd}").read_text():
                return True
        except OSError:  # a descriptor closed while looking
            continue
    return False


@pytest.mark.skipif(not os.path.exists("/proc/self/fdinfo"), reason="needs Linux's /proc/self/fdinfo to see the engine run")
@pytest.mark.parametrize("as_json", [False, True])
def test_run__polling__stops_cleanly_on_ctrl_c(settled, as_json):
    nonce = settled.oracle.nonce
    result, _ = run_until_ctrl_c(oracle_cli.cli, "run", "--account", alias(settled.oracle), "--store", settled.store,
                                 "--poll", 0.2, *["--json"] * as_json, up=lambda: _locked(settled.folder))
    assert result.exit_code == 0, result.output + result.stderr
    if as_json:
        data = json.loads(result.stdout)
        assert (data["stopped"], data["settled"], data["waiting"]) == (True, [], [])
    else:
        assert result.stdout.splitlines() == ["no epoch settled", "oracle stopped; `run` resumes where it was"]
    assert not _locked(settled.folder) and settled.oracle.nonce == nonce


def test_status__json_and_text__the_state_file_as_the_chain_holds_it(settled):
    e = settled.epoch
    data = json_of(oracle_cli.cli, "status", "--store", settled.store)
    assert data["folder"] == str(settled.folder)
    assert data["first_unsettled"] == e + 1 and data["last_finished"] == e
    assert [r["epoch"] for r in data["epochs"]] == list(range(e + 2))
    waiting = data["epochs"][-1]
    assert (waiting["state"], waiting["committed_block"], waiting["posted"], waiting["miners"]) == ("NEW", 0, False, None)
    for row, posted in zip(data["epochs"], settled.out["settled"]):
        assert row["state"] == "POSTED" and row["posted"] is True and row["swept"] is False
        assert row["committed_block"] == settled.system.keys.committed_block(row["epoch"]) > 0
        assert (row["root"], row["total"], row["miners"]) == (posted["root"], posted["total"], posted["miners"])
    text = run(oracle_cli.cli, "status", "--folder", settled.folder).splitlines()
    assert text[0] == f"oracle folder {settled.folder}: first unsettled epoch {e + 1}; last finished epoch {e}"
    assert text[1].split() == ["epoch", "ends", "state", "chain", "miners", "winners", "total", "DECA"]
    mine, waiting = text[-2].split(), text[-1].split()
    assert mine[0] == str(e) and mine[4:7] == ["POSTED", "posted", "1"]
    assert waiting[0] == str(e + 1) and waiting[4:] == ["NEW", "-", "-", "-", "-"]
    assert len(text) == 3 + e + 2


def test_status__last__limits_the_epochs(settled):
    data = json_of(oracle_cli.cli, "status", "--store", settled.store, "--last", 1)
    assert [r["epoch"] for r in data["epochs"]] == [settled.epoch + 1]


def test_status__no_state_yet__says_so(settled, tmp_path):
    assert run(oracle_cli.cli, "status", "--folder", tmp_path).strip() == (
        f"no oracle state in {tmp_path}; `ape run oracle run` starts one")
    assert json_of(oracle_cli.cli, "status", "--folder", tmp_path)["epochs"] == []


def test_verify__posted_table__matches_the_chain(settled):
    e, rewards = settled.epoch, settled.system.rewards
    table = oracle.read_table(settled.folder / f"epoch-{e}.json")
    winners = sum(r.winner for r in table.rows)
    line = run(oracle_cli.cli, "verify", e).strip()
    assert line == (f"epoch {e}: the table matches the chain: 1 miners, {winners} winners, "
                    f"total {table.total / 10**18:g} DECA, root 0x{table.root.hex()}")
    data = json_of(oracle_cli.cli, "verify", e, "--table", settled.folder / f"epoch-{e}.json")
    on_chain = oracle.get_settlement(rewards, e)
    assert data["ok"] is True and data["differences"] == []
    assert data["root"] == "0x" + on_chain.root.hex() and int(data["total"]) == on_chain.total
    assert data["miners"] == 1 and data["winners"] == winners


def _altered(settled, tmp_path, change):
    path = tmp_path / "altered.json"
    obj = json.loads((settled.folder / f"epoch-{settled.epoch}.json").read_text())
    change(obj)
    path.write_text(json.dumps(obj))
    return path


def test_verify__altered_table__lists_the_differences_and_exits_1(settled, tmp_path):
    e = settled.epoch
    total = int(oracle.get_settlement(settled.system.rewards, e).total)
    path = _altered(settled, tmp_path, lambda t: t.update(total=str(total + 1)))
    result = invoke(oracle_cli.cli, "verify", e, "--table", path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["where", "difference"]
    assert f"posted total  table {total + 1}, chain {total}" in lines
    assert lines[-1] == f"epoch {e}: the table differs from the chain in {len(lines) - 3} point(s)"

    token = settled.device.token_id
    path = _altered(settled, tmp_path, lambda t: t["miners"][0].update(n=t["miners"][0]["n"] + 1))
    data = json_of(oracle_cli.cli, "verify", e, "--table", path, exit_code=1)
    assert data["ok"] is False and f"token {token} N: table 13, chain 12" in data["differences"]


def test_verify__bad_inputs__one_line(settled, tmp_path):
    e = settled.epoch
    notes = tmp_path / "table.json"
    notes.write_text("root: 0x00")
    assert refused(oracle_cli.cli, "verify", e, "--table", notes) == (
        f"Error: {notes} is not JSON (Expecting value: line 1 column 1 (char 0))")
    notes.write_text("{}")
    assert refused(oracle_cli.cli, "verify", e, "--table", notes) == (
        f"Error: {notes}: format None, expected {oracle.TABLE_FORMAT}")
    assert refused(oracle_cli.cli, "verify", e + 5) == f"Error: epoch {e + 5} is not posted on chain (not settled yet)"
    moved = settled.folder / f"epoch-{e}.json"
    shutil.move(moved, tmp_path / "moved.json")
    try:
        assert refused(oracle_cli.cli, "verify", e) == f"Error: no table at {moved}"
    finally:
        shutil.move(tmp_path / "moved.json", moved)


def test_run__account_without_the_oracle_role__refused_before_sending(settled, accounts, tmp_path):
    stranger = accounts[10]
    nonce = stranger.nonce
    line = refused(oracle_cli.cli, "run", "--account", alias(stranger), "--folder", tmp_path, "--store",
                   tmp_path / "store.sqlite", "--once", "--mine")
    assert line == (f"Error: {stranger.address} does not hold the oracle role on EpochKeys, RewardDistributor and "
                    "GreenCertificate; the DAO grants it by proposal (set_oracle)")
    assert stranger.nonce == nonce and list(tmp_path.iterdir()) == []


def test_run__account_with_one_role_or_no_ether__refused_before_sending(settled, chain, accounts, tmp_path):
    system, members, fresh = settled.system, accounts[1:4], accounts.generate_test_account()
    pass_proposal(chain, system.dao, members, [call(system.keys.set_oracle, fresh.address, True)], "keys role only")
    args = ["run", "--account", alias(fresh), "--folder", tmp_path, "--store", tmp_path / "store.sqlite", "--once"]
    assert refused(oracle_cli.cli, *args) == (f"Error: {fresh.address} does not hold the oracle role on "
                                              "RewardDistributor and GreenCertificate; the DAO grants it by proposal "
                                              "(set_oracle)")
    pass_proposal(chain, system.dao, members, [call(system.rewards.set_oracle, fresh.address, True),
                                               call(system.certificate.set_oracle, fresh.address, True)], "all roles")
    assert refused(oracle_cli.cli, *args) == f"Error: {fresh.address} has no ether to pay for the oracle's transactions"
    assert list(tmp_path.iterdir()) == []


def test_run__unknown_account__one_line(settled):
    assert refused(oracle_cli.cli, "run", "--account", "nobody", "--once") == (
        "Error: Invalid value for '--account': Account with alias 'nobody' not found.")


def test_run__folder_held_by_another_oracle__refused(settled, tmp_path):
    with oracle.FolderLock(settled.folder):
        line = refused(oracle_cli.cli, "run", "--account", alias(settled.oracle), "--store", settled.store, "--once")
    assert line == f"Error: another oracle holds {settled.folder / 'oracle.lock'}"


def test_state_of_another_deployment__refused(settled, chain, tmp_path):
    path = oracle.state_path(tmp_path)
    oracle.write_state(path, oracle.new_state(chain.chain_id, "0x" + "11" * 20, "0x" + "22" * 20))
    keys, rewards = settled.system.keys.address, settled.system.rewards.address
    expected = (f"Error: {path} belongs to chain {chain.chain_id}, EpochKeys {'0x' + '11' * 20}, distributor "
                f"{'0x' + '22' * 20}; this is chain {chain.chain_id}, EpochKeys {keys}, distributor {rewards}")
    assert refused(oracle_cli.cli, "status", "--folder", tmp_path) == expected
    nonce = settled.oracle.nonce
    assert refused(oracle_cli.cli, "run", "--account", alias(settled.oracle), "--folder", tmp_path, "--once") == expected
    assert settled.oracle.nonce == nonce
    path.write_text("{not json")
    assert refused(oracle_cli.cli, "status", "--folder", tmp_path).startswith(f"Error: {path} is not JSON (")


@pytest.mark.parametrize("args, expected", [
    (["--store", "http://example.com/store"],
     "Error: store: unsupported URL 'http://example.com/store' (only SQLite paths and sqlite:/// URLs)"),
    (["--store", ":memory:"], "Error: an in-memory store has no folder; give a store file or --folder"),
])
@pytest.mark.parametrize("command", ["run", "status"])
def test_bad_store__one_line(settled, command, args, expected):
    account = ["--account", alias(settled.oracle), "--once"] if command == "run" else []
    assert refused(oracle_cli.cli, command, *account, *args) == expected


def test_run__bad_base_url__refused(settled, tmp_path):
    line = refused(oracle_cli.cli, "run", "--account", alias(settled.oracle), "--folder", tmp_path,
                   "--base-url", "ftp://tables.example", "--once")
    assert line == "Error: Invalid value for '--base-url': 'ftp://tables.example' is not an http(s):// or file:// URL"


@pytest.mark.parametrize("args", [["run", "--account", "TEST::7", "--once"], ["verify", "0"], ["status"]])
def test_no_deployment__one_line(settled, tmp_path, monkeypatch, args):
    monkeypatch.setenv("GEM_DEPLOYMENTS", str(tmp_path / "nothing"))
    line = refused(oracle_cli.cli, *args, "--store" if args[0] != "verify" else "--table",
                   tmp_path / "store.sqlite" if args[0] != "verify" else settled.folder / "epoch-0.json")
    assert line.startswith("no deployment recorded for this network (") and line.endswith("run `ape run deploy` first")


def test_help__explains_each_command_and_option():
    assert "Commit, reveal, score and post" in run(oracle_cli.cli, "run", "--help")
    assert "it must hold the oracle role" in run(oracle_cli.cli, "run", "--help")
    for command, option in [("run", "--once"), ("run", "--mine"), ("run", "--base-url"), ("run", "--folder"),
                            ("verify", "--table"), ("status", "--last"), ("status", "--json")]:
        assert option in run(oracle_cli.cli, command, "--help")
