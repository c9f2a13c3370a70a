"""
Ingest rate of the off-chain store: readings per second written into SQLite.

Compares ``offchain.index.store.write_batches`` (executemany inside one transaction, WAL)
with a naive baseline that inserts one reading per statement and commits each one,
on a database file in a temporary directory. Prints a markdown table.

    python bench/bench_store_ingest.py [--devices 500] [--epochs 24] [--baseline 2000]
"""

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from offchain.index.store import BatchRow, open_store, read_batch_count, write_batches

GENESIS = 1_700_000_000  # s
TARGET = 100_000  # readings/s


def make_batches(n_devices, n_epochs):
    """
    Synthetic accepted batches in chain order (epoch by epoch, every device once per
    epoch): 12 readings each, 5 minutes apart, totals continuing.
    """
    rows, totals = [], [0] * n_devices
    for e in range(n_epochs):
        for d in range(n_devices):
            readings = []
            for k in range(12):
                power = 1_000 + (d * 7 + e * 13 + k * 31) % 5_000  # mW
                totals[d] += power * 300 // 3_600  # 5 minutes at that power [mWh]
                readings.append((GENESIS + 3_600 * e + 300 * k + 1, power, totals[d]))
            rows.append(BatchRow(
                batch_hash="0x" + f"{d:032x}{e:032x}",
                device="0x" + f"{d + 1:040x}", token_id=d + 1, epoch=e, seq=e,
                prev_batch="0x" + "00" * 32, pow_nonce=417, signature="0x" + "11" * 65,
                block_number=e + 1, tx_hash="0x" + f"{e:064x}", log_index=d,
                readings=tuple(readings),
            ))
    return rows


def run_store(path, rows, chunk):
    """Ingest through write_batches, ``chunk`` batches per call (the indexer writes one call per block range)."""
    conn = open_store(path)
    start = time.perf_counter()
    for i in range(0, len(rows), chunk):
        write_batches(conn, rows[i:i + chunk], meta={"indexer.last_block": str(i)})
    elapsed = time.perf_counter() - start
    assert read_batch_count(conn) == len(rows)
    conn.close()
    return elapsed


def run_naive(path, rows):
    """The naive way: one INSERT per reading, each committed on its own (default rollback journal)."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE readings (device TEXT, ts INTEGER, epoch INTEGER, power_mw INTEGER,"
        " total_mwh INTEGER, batch_hash TEXT, PRIMARY KEY (device, ts))"
    )
    conn.commit()
    start = time.perf_counter()
    for r in rows:
        for ts, power, total in r.readings:
            conn.execute(
                "INSERT INTO readings VALUES (?,?,?,?,?,?)", (r.device, ts, r.epoch, power, total, r.batch_hash)
            )
            conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--chunk", type=int, default=500, help="batches per write_batches call")
    parser.add_argument("--baseline", type=int, default=2_000, help="readings for the naive baseline")
    args = parser.parse_args()

    rows = make_batches(args.devices, args.epochs)
    n_readings = sum(len(r.readings) for r in rows)
    base_rows = make_batches(max(1, args.baseline // (12 * args.epochs)), args.epochs)
    base_readings = sum(len(r.readings) for r in base_rows)

    with tempfile.TemporaryDirectory() as tmp:
        t_store = run_store(str(Path(tmp) / "store.sqlite"), rows, args.chunk)
        t_naive = run_naive(str(Path(tmp) / "naive.sqlite"), base_rows)

    store_rate = n_readings / t_store
    naive_rate = base_readings / t_naive
    print("| method | readings | seconds | readings/s |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| write_batches (executemany, one transaction per {args.chunk} batches, WAL) "
          f"| {n_readings:,} | {t_store:.2f} | {store_rate:,.0f} |")
    print(f"| naive (one INSERT + COMMIT per reading) | {base_readings:,} | {t_naive:.2f} | {naive_rate:,.0f} |")
    print()
    print(f"speed-up {store_rate / naive_rate:,.0f}x; target {TARGET:,} readings/s: "
          f"{'met' if store_rate >= TARGET else 'NOT met'}")


if __name__ == "__main__":
    main()
