"""The multichain auditor: device-hours anchored on two chains, found in real stores written by the store's own
functions, and `ape run index overlap` on them."""

import json

import pytest
from click.testing import CliRunner

from offchain.index import indexer, overlap, store
from offchain.index.store import BatchRow
from scripts import index

HOUR = 3_600
GENESIS_A = 1_700_000_000  # 800 s past a clock hour
GENESIS_B = 1_700_001_800  # half an hour later: chain B's epochs straddle chain A's
REGISTRY_A = "0x" + "A1" * 20
REGISTRY_B = "0x" + "B2" * 20
DEVICE = "0x" + "0D" * 20
OTHER = "0x" + "0E" * 20


def _batch(device, seq, epoch, times, chain_tag):
    """A batch of ``device`` with readings at ``times`` [s]; hashes unique per chain."""
    readings = tuple((ts, 1_000, 100 * (k + 1 + 12 * seq)) for k, ts in enumerate(times))
    tag = f"{chain_tag:02x}{int(device, 16) % 256:02x}{seq:060x}"
    return BatchRow(batch_hash="0x" + tag, device=device, token_id=1, epoch=epoch, seq=seq, prev_batch="0x" + "00" * 32,
                    pow_nonce=seq, signature="0x" + "11" * 65, block_number=10 + seq, tx_hash="0x" + tag[::-1],
                    log_index=0, readings=readings)


def _hour_of(genesis, epoch):
    """Twelve 5-minute readings of epoch ``epoch`` of a chain with ``genesis``."""
    start = genesis + HOUR * epoch
    return [start + 300 * k + 1 for k in range(12)]


def _store(path, chain_id, registry, rows):
    """A store as `index follow` leaves it: the batches and the chain and registry it indexes."""
    conn = store.open_store(path)
    store.write_batches(conn, rows, meta={indexer.KEY_CHAIN: str(chain_id), indexer.KEY_REGISTRY: registry,
                                          indexer.KEY_LAST_BLOCK: "100"})
    conn.close()
    return str(path)


@pytest.fixture
def stores(tmp_path):
    """Chain A: the device's epochs 0-2, another device's 0-2. Chain B: the device moved there after its last
    reading on A, in the same clock hour (clean), and a planted batch whose readings fall inside A's epoch 0."""
    a = [_batch(DEVICE, s, s, _hour_of(GENESIS_A, s), 0xA) for s in range(3)]
    a += [_batch(OTHER, s, s, _hour_of(GENESIS_A, s), 0xA) for s in range(3)]
    later = [_batch(DEVICE, s, s + 3, _hour_of(GENESIS_B, s + 3), 0xB) for s in range(2)]
    planted = _batch(DEVICE, 2, 0, [GENESIS_B + 60 * k for k in range(1, 6)], 0xB)
    return {"a": _store(tmp_path / "a.sqlite", 31338, REGISTRY_A, a),
            "b_clean": _store(tmp_path / "b.sqlite", 31339, REGISTRY_B, later),
            "b_planted": _store(tmp_path / "b2.sqlite", 31339, REGISTRY_B, later + [planted]),
            "planted": planted, "a_rows": a}


def _sources(*paths):
    out = []
    for path in paths:
        conn = store.open_store(path)
        out.append(overlap.read_source(conn, path))
        conn.close()
    return out


def test_read_batch_spans__first_and_last_reading_of_each_batch(stores):
    conn = store.open_store(stores["a"])
    spans = store.read_batch_spans(conn)
    conn.close()
    first = stores["a_rows"][0]
    assert spans[0] == (DEVICE, GENESIS_A + 1, GENESIS_A + 3_301, first.batch_hash, first.tx_hash, 0)
    assert [d for d, *_ in spans] == [DEVICE] * 3 + [OTHER] * 3


def test_find_overlaps__moved_between_readings_of_one_clock_hour__none(stores):
    a_last, b_first = stores["a_rows"][2].readings[-1][0], GENESIS_B + 3 * HOUR + 1
    assert a_last // HOUR == b_first // HOUR  # the same clock hour, on two chains, one after the other
    assert overlap.find_overlaps(_sources(stores["a"], stores["b_clean"])) == []


def test_find_overlaps__planted_double_anchor__found_with_both_chains_batches(stores):
    found = overlap.find_overlaps(_sources(stores["a"], stores["b_planted"]))
    planted, hour = stores["planted"], GENESIS_B - GENESIS_B % HOUR
    a_epoch_0 = stores["a_rows"][0]
    assert [(o.device, o.hour) for o in found] == [(DEVICE, hour)]
    assert found[0].anchors == (
        overlap.Anchor(31338, REGISTRY_A, stores["a"], a_epoch_0.batch_hash, a_epoch_0.tx_hash, 0),
        overlap.Anchor(31339, REGISTRY_B, stores["b_planted"], planted.batch_hash, planted.tx_hash, 0))


def test_find_overlaps__one_store__none(stores):
    assert overlap.find_overlaps(_sources(stores["b_planted"])) == []


def test_read_source__store_that_indexes_nothing__one_line(tmp_path):
    path = str(tmp_path / "empty.sqlite")
    conn = store.open_store(path)
    with pytest.raises(ValueError, match=r"^the store .*empty.sqlite indexes no registry yet; `ape run index follow"):
        overlap.read_source(conn, path)
    conn.close()


# ----------------------------------------------------------------- the command


def _overlap(*args):
    return CliRunner().invoke(index.cli, ["overlap", *map(str, args)], catch_exceptions=False)


def test_overlap_command__planted__table_and_exit_1(stores):
    result = _overlap("--store", stores["a"], "--store", stores["b_planted"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["device", "hour", "chain", "epoch", "batch", "tx"]
    cells = [line.split() for line in lines[2:4]]
    assert [c[:7] for c in cells] == [
        [DEVICE, "2023-11-14", "22:00:00", "UTC", "31338", "0", stores["a_rows"][0].batch_hash],
        [DEVICE, "2023-11-14", "22:00:00", "UTC", "31339", "0", stores["planted"].batch_hash]]
    assert lines[-1] == ("1 device-hour(s) anchored on more than one chain "
                         "(chain 31338: 6 batches, chain 31339: 3 batches)")


def test_overlap_command__planted__json(stores):
    result = _overlap("--store", stores["a"], "--store", stores["b_planted"], "--json")
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert data["ok"] is False
    [found] = data["overlaps"]
    assert found["device"] == DEVICE and found["hour"] == GENESIS_B - GENESIS_B % HOUR
    assert [(a["chain_id"], a["batch_hash"]) for a in found["anchors"]] == [
        (31338, stores["a_rows"][0].batch_hash), (31339, stores["planted"].batch_hash)]
    assert [s["chain_id"] for s in data["stores"]] == [31338, 31339]


def test_overlap_command__clean__exit_0(stores):
    result = _overlap("--store", stores["a"], "--store", stores["b_clean"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == ("no device-hour anchored on two chains "
                                     "(chain 31338: 6 batches, chain 31339: 2 batches)")
    data = json.loads(_overlap("--store", stores["a"], "--store", stores["b_clean"], "--json").output)
    assert data["ok"] is True and data["overlaps"] == []


def test_overlap_command__same_chain_twice_or_no_store__one_line(stores, tmp_path):
    same = _overlap("--store", stores["b_clean"], "--store", stores["b_planted"])
    assert same.exit_code != 0
    assert same.output.strip() == (f"Error: the stores {stores['b_clean']} and {stores['b_planted']} both index "
                                   f"registry {REGISTRY_B} of chain 31339; give one store per chain")
    missing = tmp_path / "missing.sqlite"
    result = _overlap("--store", stores["a"], "--store", missing)
    assert result.exit_code != 0
    assert result.output.strip() == f"Error: no store at {missing}; `ape run index follow --store {missing}` makes one"
