"""The SQLite store: idempotent ingest, round trips, numpy reads, the gateway's queue."""

import sqlite3

import numpy as np
import pytest

from offchain.index import store
from offchain.index.store import BatchRow, Outcome

GENESIS = 1_700_000_000
DEV_A = "0x" + "0A" * 20
DEV_B = "0x" + "0B" * 20


def _rows(device, token_id, epochs, start_total=0, block=1, power=1_200):
    """Consecutive batches of one device, 12 readings each, totals continuing."""
    rows, total, prev = [], start_total, "0x" + "00" * 32
    for seq, epoch in enumerate(epochs):
        readings = []
        for k in range(12):
            total += 100
            readings.append((GENESIS + 3_600 * epoch + 300 * k + 1, power + k, total))
        h = "0x" + f"{token_id:02x}{seq:062x}"
        rows.append(BatchRow(
            batch_hash=h, device=device, token_id=token_id, epoch=epoch, seq=seq, prev_batch=prev,
            pow_nonce=2**200 + seq, signature="0x" + "11" * 65, block_number=block + seq,
            tx_hash="0x" + f"{block + seq:064x}", log_index=token_id, readings=tuple(readings),
        ))
        prev = h
    return rows


def test_write_batches__same_batch_twice__stored_once(mem_store):
    rows = _rows(DEV_A, 1, [0, 1, 2])
    assert store.write_batches(mem_store, rows) == 3
    assert store.write_batches(mem_store, rows) == 0
    assert store.write_batches(mem_store, rows[:1] + rows[:1]) == 0
    assert store.read_batch_count(mem_store) == 3
    assert mem_store.execute("SELECT COUNT(*) FROM readings").fetchone()[0] == 36
    counts = store.read_epoch_counts(mem_store, 0, 3)
    assert counts.n.tolist() == [12, 12, 12]


def test_write_batches__duplicates_within_one_call__stored_once(mem_store):
    rows = _rows(DEV_A, 1, [0])
    assert store.write_batches(mem_store, rows + rows) == 1
    assert store.read_epoch_counts(mem_store, 0, 1).n.tolist() == [12]


def test_read_batches__round_trip(mem_store):
    rows = _rows(DEV_A, 1, [0, 1]) + _rows(DEV_B, 2, [1])
    store.write_batches(mem_store, rows)
    assert store.read_batches(mem_store) == sorted(rows, key=lambda r: (r.device, r.seq))
    assert store.read_batches(mem_store, DEV_B) == rows[2:]
    assert store.read_batches(mem_store, "0x" + "00" * 20) == []


def test_read_readings__window_of_all_devices__numpy_arrays(mem_store):
    store.write_batches(mem_store, _rows(DEV_A, 1, [0, 1, 2]) + _rows(DEV_B, 2, [1, 2]))
    r = store.read_readings(mem_store, 1, 2)
    assert r.ts.dtype == np.int64 and r.power_mw.dtype == np.int64 and r.total_mwh.dtype == np.int64
    assert r.device.tolist() == [DEV_A] * 12 + [DEV_B] * 12
    assert (r.epoch == 1).all()
    assert (np.diff(r.ts[:12]) == 300).all()
    assert r.total_mwh[:12].tolist() == list(range(1_300, 2_500, 100))
    empty = store.read_readings(mem_store, 10, 20)
    assert len(empty.ts) == 0 and len(empty.device) == 0


def test_read_epoch_counts__n_and_energy(mem_store):
    store.write_batches(mem_store, _rows(DEV_A, 1, [0, 2]) + _rows(DEV_B, 2, [0], start_total=5_000))
    c = store.read_epoch_counts(mem_store, 0, 168)
    assert list(zip(c.device.tolist(), c.epoch.tolist(), c.n.tolist(), c.energy_mwh.tolist())) == [
        (DEV_A, 0, 12, 1_100),  # seq 0 counts from its own first reading
        (DEV_A, 2, 12, 1_200),  # from the last total of the batch before
        (DEV_B, 0, 12, 1_100),  # whatever total it started from
    ]


def test_write_batches__first_batch_with_a_huge_total__books_only_its_own_hour(mem_store):
    """The index side of the first-batch attack: a device's first batch carries its whole
    cumulative total (here 5 000 kWh); only what it measured within the batch is booked."""
    store.write_batches(mem_store, _rows(DEV_A, 1, [912, 913], start_total=5_000_000_000))
    assert store.read_epoch_counts(mem_store, 900, 914).energy_mwh.tolist() == [1_100, 1_200]


def test_write_batches__later_call_continues_energy_from_the_stored_total(mem_store):
    rows = _rows(DEV_A, 1, [0, 1, 2])
    for row in rows:
        store.write_batches(mem_store, [row])
    assert store.read_epoch_counts(mem_store, 0, 3).energy_mwh.tolist() == [1_100, 1_200, 1_200]


def test_write_batches__totals_beyond_int64__kept_exactly(mem_store):
    big = 2**96 - 1_000_000
    rows = _rows(DEV_A, 1, [0], start_total=big)
    store.write_batches(mem_store, rows)
    assert store.read_batches(mem_store)[0] == rows[0]
    r = store.read_readings(mem_store, 0, 1)
    assert r.total_mwh.dtype == object and int(r.total_mwh[-1]) == big + 1_200
    assert store.read_epoch_counts(mem_store, 0, 1).energy_mwh.tolist() == [1_100]


def test_write_batches__meta_in_the_same_transaction(mem_store):
    store.write_batches(mem_store, _rows(DEV_A, 1, [0]), meta={"indexer.last_block": "41"})
    assert store.read_meta(mem_store, "indexer.last_block") == "41"
    with pytest.raises(sqlite3.IntegrityError):
        bad = _rows(DEV_A, 1, [0])[0]._replace(batch_hash="0x" + "ff" * 32)  # same device and seq
        store.write_batches(mem_store, [bad], meta={"indexer.last_block": "42"})
    assert store.read_meta(mem_store, "indexer.last_block") == "41"
    assert store.read_batch_count(mem_store) == 1


def test_open_store__file_and_url__reopen_keeps_data(tmp_path):
    path = tmp_path / "index.sqlite"
    conn = store.open_store(path)
    store.write_batches(conn, _rows(DEV_A, 1, [0]))
    conn.close()
    again = store.open_store(f"sqlite:///{path}")
    assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.read_batch_count(again) == 1
    again.close()


def test_open_store__other_sql_url__refused():
    with pytest.raises(ValueError, match="unsupported URL"):
        store.open_store("postgresql://localhost/gem")


def test_delete_index__keeps_the_gateway_queue(mem_store):
    store.write_batches(mem_store, _rows(DEV_A, 1, [0]), meta={"indexer.last_block": "7"})
    store.write_queued(mem_store, [("0x" + "aa" * 32, DEV_A, 1, 1, {"seq": 1})])
    store.delete_index(mem_store, ["indexer.last_block"])
    assert store.read_batch_count(mem_store) == 0
    assert store.read_devices(mem_store) == []
    assert store.read_meta(mem_store, "indexer.last_block") is None
    assert len(store.read_queue(mem_store)) == 1


def test_write_devices__completes_without_erasing(mem_store):
    store.write_devices(mem_store, [{"device": DEV_A, "token_id": 1, "capacity_w": 5_000, "pubkey": "0x12"}])
    store.write_devices(mem_store, [{"device": DEV_A, "token_id": 1, "lat_udeg": 48_856_600}])
    (d,) = store.read_devices(mem_store)
    assert (d["capacity_w"], d["lat_udeg"], d["pubkey"]) == (5_000, 48_856_600, "0x12")


def test_queue__pending_then_outcomes(mem_store):
    entries = [("0x" + f"{i:064x}", DEV_A, i, i, {"seq": i}) for i in range(3)]
    assert store.write_queued(mem_store, entries) == 3
    assert store.write_queued(mem_store, entries[:1]) == 0
    assert store.read_queue_tail(mem_store, DEV_A).seq == 2
    store.write_attempt(mem_store, [entries[0][0]], "node down")
    store.write_outcomes(mem_store, [
        Outcome(entries[0][0], "accepted", None, "0x" + "cd" * 32),
        Outcome(entries[2][0], "skipped", "registry: epoch closed", "0x" + "cd" * 32),
    ])
    assert [q.seq for q in store.read_queue(mem_store)] == [1]
    first = store.read_queued(mem_store, entries[0][0])
    assert (first.status, first.tx_hash, first.attempts, first.body) == ("accepted", "0x" + "cd" * 32, 1, {"seq": 0})
    assert store.read_queue_tail(mem_store, DEV_A).seq == 1
    assert store.read_queue_counts(mem_store) == {"accepted": 1, "pending": 1, "skipped": 1}
