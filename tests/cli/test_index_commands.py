"""`ape run index`: the auditor follows the registry into a store, verifies it against the chain, rebuilds it."""

import json
import sqlite3
import time
from types import SimpleNamespace

import pytest
from cli_kit import invoke, refused, run
from oracle_cli_kit import Device, current_epoch, json_of, run_until_ctrl_c

from offchain.index import indexer, store
from scripts import index


@pytest.fixture(scope="module")
def fed(system, chain, accounts):
    """One admitted device with its batches of two epochs accepted by the registry."""
    device = Device(chain, system, accounts[1:4], accounts[4], 1)
    epoch = current_epoch(chain, system)
    digests = [device.submit(epoch, accounts[6]), device.submit(epoch + 1, accounts[6], count=6)]
    return SimpleNamespace(system=system, device=device, digests=digests)


def _stored(path):
    conn = store.open_store(path)
    try:
        return {r.batch_hash: r for r in store.read_batches(conn)}
    finally:
        conn.close()


def test_follow__json__stores_every_accepted_batch_and_resumes(fed, chain, tmp_path):
    path = tmp_path / "store.sqlite"
    out = json_of(index.cli, "follow", "--store", path)
    head = chain.blocks.height
    assert out["added"] == 2 and out["batches"] == 2
    assert out["last_block"] == head and out["head"] == head
    assert out["registry"] == fed.system.registry.address and out["store"] == str(path)
    stored = _stored(path)
    assert set(stored) == set(fed.digests)
    assert [len(stored[d].readings) for d in fed.digests] == [12, 6]
    assert {r.device for r in stored.values()} == {fed.device.address}
    again = run(index.cli, "follow", "--store", path)
    assert again.strip() == f"0 new batches; 2 in {path}, indexed to block {head} (head {head})"


def test_verify__after_follow__store_and_chain_agree(fed, chain, tmp_path):
    path = tmp_path / "store.sqlite"
    run(index.cli, "follow", "--store", path)
    out = run(index.cli, "verify", "--store", path)
    assert out.strip() == f"store and chain agree: 2 batches to block {chain.blocks.height}"
    data = json_of(index.cli, "verify", "--store", path)
    assert data["ok"] is True and data["differences"] == [] and data["batches"] == 2


def test_verify__altered_store__lists_differences_and_exits_1_until_rebuilt(fed, chain, tmp_path):
    path = tmp_path / "store.sqlite"
    run(index.cli, "follow", "--store", path)
    altered = fed.digests[0]
    nonce = _stored(path)[altered].pow_nonce
    conn = sqlite3.connect(path)
    conn.execute("UPDATE batches SET pow_nonce = pow_nonce + 1 WHERE batch_hash = ?", (altered,))
    conn.commit()
    conn.close()

    result = invoke(index.cli, "verify", "--store", path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].split() == ["kind", "batch", "detail"]
    assert any(line.startswith(f"mismatched  {altered}  pow_nonce: store {nonce + 1}, chain {nonce}") for line in lines)
    assert lines[-1] == (f"the store differs from the chain: {len(lines) - 3} difference(s); "
                         f"`ape run index rebuild --store {path}` reads it again")
    data = json_of(index.cli, "verify", "--store", path, exit_code=1)
    assert data["ok"] is False
    assert {"kind": "mismatched", "batch_hash": altered,
            "detail": f"pow_nonce: store {nonce + 1}, chain {nonce}"} in data["differences"]
    assert {d["batch_hash"] for d in data["differences"]} == {altered}

    rebuilt = json_of(index.cli, "rebuild", "--store", path)
    assert rebuilt["added"] == 2 and rebuilt["batches"] == 2 and rebuilt["last_block"] == chain.blocks.height
    assert _stored(path)[altered].pow_nonce == nonce
    assert run(index.cli, "verify", "--store", path).startswith("store and chain agree: 2 batches")


def test_rebuild__text__reads_from_the_deployment_block(fed, chain, tmp_path):
    path = tmp_path / "store.sqlite"
    out = run(index.cli, "rebuild", "--store", path)
    start = indexer.get_deployment_block(fed.system.registry)
    assert out.strip() == f"rebuilt {path}: 2 batches from block {start} to block {chain.blocks.height}"
    assert set(_stored(path)) == set(fed.digests)


@pytest.mark.parametrize("as_json", [False, True])
def test_follow__watch__keeps_following_until_ctrl_c(fed, chain, tmp_path, as_json):
    path = tmp_path / "store.sqlite"

    def indexed():
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT value FROM meta WHERE key = ?", (indexer.KEY_LAST_BLOCK,)).fetchone()
        finally:
            conn.close()

    # up once the first round has stored its block; Ctrl-C a second later, inside the round's 5 s wait
    result, _ = run_until_ctrl_c(index.cli, "follow", "--store", path, "--watch", 5, *["--json"] * as_json,
                                 up=indexed, then=lambda: time.sleep(1))
    assert result.exit_code == 0, result.output + result.stderr
    head, lines = chain.blocks.height, result.stdout.splitlines()
    if as_json:
        assert [json.loads(line) for line in lines] == [{"store": str(path), "registry": fed.system.registry.address,
                                                         "batches": 2, "last_block": head, "head": head, "added": 2}]
    else:
        assert lines == [f"2 new batches; 2 in {path}, indexed to block {head} (head {head})",
                         f"stopped following; {path} is indexed to block {head}"]


def test_follow__store_of_another_registry__refused(fed, tmp_path):
    path = tmp_path / "store.sqlite"
    conn = store.open_store(path)
    store.write_meta(conn, {indexer.KEY_REGISTRY: "0x" + "Ab" * 20})
    conn.close()
    line = refused(index.cli, "follow", "--store", path)
    assert line == (f"Error: the store {path} indexes registry {'0x' + 'Ab' * 20}, not this deployment's "
                    f"{fed.system.registry.address}; `ape run index rebuild --store {path}` reads it again")
    assert refused(index.cli, "verify", "--store", path) == line
    assert store.read_batch_count(store.open_store(path)) == 0


def test_follow__after_a_reorg__says_what_it_rolled_back(fed, chain, tmp_path):
    path = tmp_path / "store.sqlite"
    snapshot, forked = chain.snapshot(), chain.blocks.height
    chain.mine(3)
    run(index.cli, "follow", "--store", path)
    tip = chain.blocks.height
    chain.restore(snapshot)
    chain.pending_timestamp += 600  # other timestamps: other blocks at the same heights
    chain.mine(3)
    head = chain.blocks.height
    lines = run(index.cli, "follow", "--store", path).splitlines()
    assert lines == [f"reorg: rolled back blocks {forked + 1} to {tip} (0 batches) and read them again",
                     f"0 new batches; 2 in {path}, indexed to block {head} (head {head})"]
    assert run(index.cli, "verify", "--store", path).strip() == f"store and chain agree: 2 batches to block {head}"


def test_follow__reorg_deeper_than_the_kept_hashes__one_line_asking_for_rebuild(fed, chain, tmp_path):
    path = tmp_path / "store.sqlite"
    run(index.cli, "follow", "--store", path)
    conn = store.open_store(path)
    conn.execute("UPDATE blocks SET hash = ?", ("0x" + "ee" * 32,))  # as after a reorg below every kept block
    numbers = [n for n, _ in store.read_blocks(conn)]
    conn.close()
    assert refused(index.cli, "follow", "--store", path) == (
        f"Error: indexer: the chain reorganised below block {numbers[-1]}: none of the {len(numbers)} block hashes "
        f"the store keeps (blocks {numbers[-1]} to {numbers[0]}) is on the chain any more; rebuild the store: "
        f"`ape run index rebuild --store {path}`")
    assert len(_stored(path)) == 2  # untouched
    run(index.cli, "rebuild", "--store", path)
    assert run(index.cli, "follow", "--store", path).startswith("0 new batches; 2 in ")


@pytest.mark.parametrize("command", ["follow", "rebuild", "verify"])
def test_bad_store__one_line(fed, tmp_path, command):
    assert refused(index.cli, command, "--store", "http://example.com/store") == (
        "Error: store: unsupported URL 'http://example.com/store' (only SQLite paths and sqlite:/// URLs)")
    text = tmp_path / "notes.txt"
    text.write_text("not a database, " * 100)
    assert refused(index.cli, command, "--store", text) == f"Error: cannot open the store {text}: file is not a database"
    under_a_file = tmp_path / "notes.txt" / "store.sqlite"
    line = refused(index.cli, command, "--store", under_a_file)
    assert line.startswith(f"Error: {'no store at' if command == 'verify' else 'cannot open the store'} {under_a_file}")


def test_verify__no_store_or_an_empty_one__refused(fed, tmp_path):
    missing = tmp_path / "missing.sqlite"
    assert refused(index.cli, "verify", "--store", missing) == (
        f"Error: no store at {missing}; `ape run index follow --store {missing}` makes one")
    assert not missing.exists()
    empty = tmp_path / "empty.sqlite"
    store.open_store(empty).close()
    assert refused(index.cli, "verify", "--store", empty) == (
        f"Error: the store {empty} indexes nothing yet; `ape run index follow` fills it")


@pytest.mark.parametrize("command", ["follow", "rebuild", "verify"])
def test_no_deployment__one_line(fed, tmp_path, monkeypatch, command):
    monkeypatch.setenv("GEM_DEPLOYMENTS", str(tmp_path / "nothing"))
    line = refused(index.cli, command, "--store", tmp_path / "store.sqlite")
    assert line.startswith("no deployment recorded for this network (") and line.endswith("run `ape run deploy` first")


def test_help__explains_each_command_and_option():
    assert "Store the BatchAccepted events" in run(index.cli, "follow", "--help")
    for command, option in [("follow", "--watch"), ("follow", "--confirmations"), ("rebuild", "--store"),
                            ("verify", "--no-counts"), ("verify", "--json")]:
        assert option in run(index.cli, command, "--help")
