"""
The off-chain index: SQLite tables rebuilt from the registry's events, plus the gateway's queue
and the devices' latest health reports.

The chain's logs are the database; this store is an index of them that can always be
wiped and rebuilt (:func:`offchain.index.indexer.rebuild`). Units as in the design: time [s],
power [mW], energy [mWh]. Hashes and signatures are stored as ``0x`` hex text, addresses
as checksummed text.

Integers the chain's types allow beyond SQLite's signed 64 bits (a ``uint128`` total, a
``uint256`` proof-of-work nonce) are stored in columns without type affinity: as an
INTEGER when they fit, as decimal TEXT when they do not, and always read back as ``int``.
(The registry keeps totals below 2**96 mWh; nonces are often large.)
"""

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

SCHEMA_VERSION = 3  # 2: devices' owner and panel plane; 3: hashes of the newest indexed blocks
_INT64_MAX = 2**63 - 1
_IN_CHUNK = 500  # host parameters per IN (...) query

SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    device      TEXT PRIMARY KEY,
    token_id    INTEGER NOT NULL,
    last_ts     INTEGER,            -- s, of the latest stored reading
    last_total,                     -- mWh, of the latest stored reading
    capacity_w  INTEGER,            -- W peak
    lat_udeg    INTEGER,            -- micro-degrees
    lon_udeg    INTEGER,            -- micro-degrees
    pubkey      TEXT,               -- 0x, 64 bytes x ‖ y
    tilt_deg    INTEGER,            -- declared panel tilt
    azimuth_deg INTEGER,            -- declared panel azimuth, clockwise from north
    owner       TEXT                -- 0x, the token's owner (soulbound)
);
CREATE TABLE IF NOT EXISTS batches (
    batch_hash   TEXT PRIMARY KEY,  -- EIP-712 digest
    device       TEXT NOT NULL,
    token_id     INTEGER NOT NULL,
    epoch        INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    prev_batch   TEXT NOT NULL,
    pow_nonce    NOT NULL,          -- uint256: INTEGER or decimal TEXT
    signature    TEXT NOT NULL,     -- 65 bytes r ‖ s ‖ v
    block_number INTEGER NOT NULL,
    tx_hash      TEXT NOT NULL,
    log_index    INTEGER NOT NULL,
    UNIQUE (device, seq)
);
CREATE INDEX IF NOT EXISTS batches_epoch ON batches (epoch);
CREATE INDEX IF NOT EXISTS batches_block ON batches (block_number);
-- clustered by epoch: the chain delivers epochs in order, so inserts append, and an
-- epoch window is one range scan
CREATE TABLE IF NOT EXISTS readings (
    epoch      INTEGER NOT NULL,
    device     TEXT NOT NULL,
    ts         INTEGER NOT NULL,    -- s
    power_mw   INTEGER NOT NULL,    -- mW
    total_mwh  NOT NULL,            -- mWh, uint128: INTEGER or decimal TEXT
    batch_hash TEXT NOT NULL,
    PRIMARY KEY (epoch, device, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS epochs (
    epoch      INTEGER NOT NULL,
    device     TEXT NOT NULL,
    n          INTEGER NOT NULL,    -- legal readings
    energy_mwh NOT NULL,            -- mWh generated in the epoch
    PRIMARY KEY (epoch, device)
) WITHOUT ROWID;
-- the newest blocks the indexer read, with their hashes then: a reorg changes a hash
CREATE TABLE IF NOT EXISTS blocks (
    number INTEGER PRIMARY KEY,
    hash   TEXT NOT NULL            -- 0x, 32 bytes
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gateway_queue (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_hash  TEXT NOT NULL UNIQUE,
    device      TEXT NOT NULL,
    epoch       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    body        TEXT NOT NULL,      -- the batch as JSON, as the device sent it
    status      TEXT NOT NULL,      -- pending | accepted | skipped | failed
    reason      TEXT,
    tx_hash     TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    received_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS gateway_queue_status ON gateway_queue (status, id);
CREATE INDEX IF NOT EXISTS gateway_queue_device ON gateway_queue (device, seq);
-- each device's latest health report and the one before it (added to schema 3 as it stands: a
-- store without it gains it empty, and code without it reads the store as before)
CREATE TABLE IF NOT EXISTS gateway_health (
    device      TEXT PRIMARY KEY,
    seq         INTEGER NOT NULL,   -- of the batch the report came with
    epoch       INTEGER NOT NULL,
    batch_hash  TEXT NOT NULL,      -- that batch's digest, which the report's signature covers
    report      TEXT NOT NULL,      -- JSON: counters, uptime and signature, as the device sent them
    received_at INTEGER NOT NULL,
    prev_seq    INTEGER,            -- the report before it, from an earlier batch
    prev_report TEXT
);
"""

# Tables that hold only what the chain says; `rebuild` empties them.
INDEX_TABLES = ("readings", "epochs", "batches", "devices", "blocks")


class BatchRow(NamedTuple):
    """One accepted batch as the index keeps it; ``readings`` are ``(ts, power_mw, total_mwh)``."""

    batch_hash: str
    device: str
    token_id: int
    epoch: int
    seq: int
    prev_batch: str
    pow_nonce: int
    signature: str
    block_number: int
    tx_hash: str
    log_index: int
    readings: tuple


class Readings(NamedTuple):
    """Readings of many devices, one array element per reading, sorted by device then time."""

    device: np.ndarray  # str
    epoch: np.ndarray  # int64
    ts: np.ndarray  # int64 [s]
    power_mw: np.ndarray  # int64 [mW]
    total_mwh: np.ndarray  # int64 [mWh] (object when a total exceeds int64)


class EpochCounts(NamedTuple):
    """Per device and epoch: legal readings ``n`` and energy [mWh], sorted by device then epoch."""

    device: np.ndarray  # str
    epoch: np.ndarray  # int64
    n: np.ndarray  # int64
    energy_mwh: np.ndarray  # int64 [mWh] (object when beyond int64)


class QueuedBatch(NamedTuple):
    """One entry of the gateway's queue."""

    batch_hash: str
    device: str
    epoch: int
    seq: int
    body: dict
    status: str
    reason: str
    tx_hash: str
    attempts: int


class HealthReport(NamedTuple):
    """A device's latest health report (``report``: ``{name: int, "signature": "0x…"}``), the batch it came
    with, and the report of an earlier batch before it (``None``, ``None`` when there was none)."""

    device: str
    seq: int
    epoch: int
    batch_hash: str
    report: dict
    received_at: int
    prev_seq: int
    prev_report: dict


class Outcome(NamedTuple):
    """What became of a queued batch: ``status`` accepted, skipped or failed."""

    batch_hash: str
    status: str
    reason: str = None
    tx_hash: str = None


DEFAULT_URL = "var/store.sqlite"  # relative to the working directory (the project root)

# ----------------------------------------------------------------- connection


def read_store_url():
    """The store URL from the environment: ``GEM_STORE``, default ``var/store.sqlite``."""
    return os.environ.get("GEM_STORE", DEFAULT_URL)


def store_path(url):
    """SQLite file path of a store URL: a path, ``sqlite:///path`` or ``:memory:``."""
    url = str(url)
    if url in (":memory:", "sqlite://", "sqlite:///:memory:"):
        return ":memory:"
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    if "://" in url:
        raise ValueError(f"store: unsupported URL {url!r} (only SQLite paths and sqlite:/// URLs)")
    return url


def open_store(url=":memory:"):
    """
    Open (and create if needed) a store.

    Parameters
    ----------
    url : str or path
        A file path, a ``sqlite:///path`` URL, or ``:memory:``.

    Returns
    -------
    sqlite3.Connection
        In WAL mode, with the schema in place. Usable from one thread at a time
        (the gateway keeps it on its event loop).
    """
    path = store_path(url)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at checkpoints, never corrupt
    conn.execute("PRAGMA foreign_keys = ON")
    conn.executescript(SCHEMA)
    version = read_meta(conn, "schema_version")
    if version == "1":  # a store of schema 1 gains the devices' owner and plane (filled from the SBT when needed)
        for column in ("tilt_deg INTEGER", "azimuth_deg INTEGER", "owner TEXT"):
            conn.execute(f"ALTER TABLE devices ADD COLUMN {column}")
        version = "2"
    if version == "2":  # schema 2 gains the blocks table and its index (made above, empty: the next follow fills it)
        version = None
    if version is None:
        write_meta(conn, {"schema_version": str(SCHEMA_VERSION)})
    elif int(version) != SCHEMA_VERSION:
        raise ValueError(f"store: schema version {version}, this code reads {SCHEMA_VERSION}")
    return conn


class _Transaction:
    """``with _Transaction(conn):`` — one BEGIN ... COMMIT, rolled back on error."""

    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        return False


def _to_sql(value):
    """An int as SQLite stores it: INTEGER when it fits in 64 bits, else decimal TEXT."""
    return value if -_INT64_MAX - 1 <= value <= _INT64_MAX else str(value)


def _ints(values):
    """A numpy integer array of SQL values; object dtype when one exceeds int64."""
    values = [int(v) for v in values]
    try:
        return np.array(values, dtype=np.int64)
    except OverflowError:
        return np.array(values, dtype=object)


# ----------------------------------------------------------------- key / value


def read_meta(conn, key, default=None):
    """The value of a progress key, or ``default``."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else row[0]


def write_meta(conn, values):
    """Set progress keys (``{key: str}``) in one transaction."""
    with _Transaction(conn):
        _write_meta(conn, values)


def _write_meta(conn, values):
    conn.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [(k, str(v)) for k, v in values.items()],
    )


def delete_meta(conn, keys):
    """Remove progress keys."""
    with _Transaction(conn):
        conn.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in keys])


# ----------------------------------------------------------------- batches


def _known_hashes(conn, hashes):
    known = set()
    hashes = list(hashes)
    for i in range(0, len(hashes), _IN_CHUNK):
        chunk = hashes[i:i + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        known.update(r[0] for r in conn.execute(f"SELECT batch_hash FROM batches WHERE batch_hash IN ({marks})", chunk))
    return known


def _last_total(conn, device, epoch, before_ts):
    """Total of the device's last stored reading before ``before_ts`` (slow: for out-of-order ingest)."""
    row = conn.execute(
        "SELECT total_mwh FROM readings WHERE epoch <= ? AND device = ? AND ts < ?"
        " ORDER BY epoch DESC, ts DESC LIMIT 1",
        (epoch, device, before_ts),
    ).fetchone()
    return None if row is None else int(row[0])


def _latest(conn, devices):
    """``{device: (last_ts, last_total)}`` of the devices' latest stored readings."""
    latest = {}
    devices = list(devices)
    for i in range(0, len(devices), _IN_CHUNK):
        chunk = devices[i:i + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        for device, ts, total in conn.execute(
            f"SELECT device, last_ts, last_total FROM devices WHERE device IN ({marks}) AND last_ts IS NOT NULL",
            chunk,
        ):
            latest[device] = (ts, int(total))
    return latest


def write_batches(conn, rows, meta=None, blocks=None, keep_blocks=None):
    """
    Ingest accepted batches, idempotently, in one transaction.

    A batch already stored (same ``batch_hash``) is left as it is. Readings go to
    ``readings``; ``epochs`` gains each batch's reading count and energy, the energy of a
    batch being its last total minus the device's total just before it. A device's first
    batch (seq 0), and a batch whose predecessors the store misses, count from their own
    first reading: what the device measured before its first anchored reading was measured
    before its admission, and is booked nowhere.

    Parameters
    ----------
    conn : sqlite3.Connection
    rows : iterable of BatchRow
    meta : dict, optional
        Progress keys written in the same transaction (the indexer's last block), so a
        crash leaves either both or neither.
    blocks : dict, optional
        ``{block_number: 0x hash}`` of blocks read, recorded in the same transaction.
    keep_blocks : int, optional
        Keep only the newest ``keep_blocks`` recorded blocks (default: all).

    Returns
    -------
    int
        Number of batches newly stored.
    """
    rows = list(rows)
    with _Transaction(conn):
        seen = _known_hashes(conn, {r.batch_hash for r in rows})
        fresh = []
        for r in rows:
            if r.batch_hash not in seen:
                seen.add(r.batch_hash)
                fresh.append(r)
        fresh.sort(key=lambda r: (r.device, r.seq))
        latest = _latest(conn, {r.device for r in fresh})

        batch_params, reading_params, devices = [], [], {}
        epoch_add = {}
        for r in fresh:
            batch_params.append((
                r.batch_hash, r.device, r.token_id, r.epoch, r.seq, r.prev_batch, _to_sql(r.pow_nonce),
                r.signature, r.block_number, r.tx_hash, r.log_index,
            ))
            for ts, power, total in r.readings:
                reading_params.append((r.device, ts, r.epoch, power, _to_sql(total), r.batch_hash))
            if not r.readings:
                devices.setdefault(r.device, (r.token_id, None, None))
                continue
            first_ts, last = r.readings[0][0], r.readings[-1]
            known = latest.get(r.device)
            if known is None:
                base = None  # the device's first readings in the store
            elif known[0] < first_ts:
                base = known[1]  # in order: continues the device's latest reading
            else:
                base = _last_total(conn, r.device, r.epoch, first_ts)  # out of order
            if base is None:  # the device's first batch, or its predecessors are missing
                base = r.readings[0][2]
            n, energy = epoch_add.get((r.device, r.epoch), (0, 0))
            epoch_add[(r.device, r.epoch)] = (n + len(r.readings), energy + last[2] - base)
            if known is None or last[0] > known[0]:
                latest[r.device] = (last[0], last[2])
            devices[r.device] = (r.token_id, *latest[r.device])

        conn.executemany(
            "INSERT INTO devices (device, token_id, last_ts, last_total) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (device) DO UPDATE SET token_id = excluded.token_id,"
            " last_ts = COALESCE(excluded.last_ts, last_ts), last_total = COALESCE(excluded.last_total, last_total)",
            [(d, t, ts, None if total is None else _to_sql(total)) for d, (t, ts, total) in devices.items()],
        )
        conn.executemany(
            "INSERT INTO batches (batch_hash, device, token_id, epoch, seq, prev_batch, pow_nonce,"
            " signature, block_number, tx_hash, log_index) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            batch_params,
        )
        conn.executemany(
            "INSERT OR IGNORE INTO readings (device, ts, epoch, power_mw, total_mwh, batch_hash)"
            " VALUES (?,?,?,?,?,?)",
            reading_params,
        )
        if epoch_add:
            _add_epochs(conn, epoch_add)
        if meta:
            _write_meta(conn, meta)
        if blocks:
            _write_blocks(conn, blocks, keep_blocks)
    return len(fresh)


def _add_epochs(conn, epoch_add):
    """Add ``{(device, epoch): (n, energy)}`` to the epochs table (Python ints: no overflow)."""
    keys = list(epoch_add)
    current = {}
    for i in range(0, len(keys), _IN_CHUNK):
        chunk = keys[i:i + _IN_CHUNK]
        values = ",".join(["(?,?)"] * len(chunk))
        params = [x for device, epoch in chunk for x in (epoch, device)]
        for device, epoch, n, energy in conn.execute(
            f"WITH k (epoch, device) AS (VALUES {values})"
            " SELECT e.device, e.epoch, e.n, e.energy_mwh FROM epochs e JOIN k USING (epoch, device)",
            params,
        ):
            current[(device, epoch)] = (n, int(energy))
    params = []
    for (device, epoch), (n, energy) in epoch_add.items():
        n0, e0 = current.get((device, epoch), (0, 0))
        params.append((device, epoch, n0 + n, _to_sql(e0 + energy)))
    conn.executemany(
        "INSERT INTO epochs (device, epoch, n, energy_mwh) VALUES (?,?,?,?)"
        " ON CONFLICT (epoch, device) DO UPDATE SET n = excluded.n, energy_mwh = excluded.energy_mwh",
        params,
    )


# ----------------------------------------------------------------- blocks (reorgs)


def _write_blocks(conn, blocks, keep=None):
    conn.executemany(
        "INSERT INTO blocks (number, hash) VALUES (?, ?) ON CONFLICT (number) DO UPDATE SET hash = excluded.hash",
        sorted(blocks.items()),
    )
    if keep is not None:
        conn.execute("DELETE FROM blocks WHERE number <= (SELECT MAX(number) FROM blocks) - ?", (keep,))


def read_blocks(conn):
    """
    The recorded blocks, newest first.

    Returns
    -------
    list of (int, str)
        Block number and its ``0x`` hash when it was read.
    """
    return conn.execute("SELECT number, hash FROM blocks ORDER BY number DESC").fetchall()


def _recount_epoch(conn, device, epoch):
    """
    ``(n, energy [mWh])`` of a device's epoch from its stored readings, booked as
    :func:`write_batches` books them in chain order; ``None`` when none is left.
    """
    totals = conn.execute(
        "SELECT ts, total_mwh FROM readings WHERE epoch = ? AND device = ? ORDER BY ts", (epoch, device)
    ).fetchall()
    if not totals:
        return None
    base = _last_total(conn, device, epoch, totals[0][0])  # the reading before the epoch's first
    if base is None:  # the device's first readings in the store count from their own first
        base = int(totals[0][1])
    return len(totals), int(totals[-1][1]) - base


def delete_after_block(conn, block_number, meta=None):
    """
    Undo everything the index took from blocks after ``block_number`` (a reorg's fork
    point), in one transaction.

    Their batches and readings go; each (device, epoch) they touched is counted again from
    the readings left (removed when none is); each device's latest reading becomes its
    latest one left; recorded blocks after ``block_number`` are forgotten. Devices
    themselves stay (the SBT, not a block, admitted them); so does the gateway's queue.

    Parameters
    ----------
    meta : dict, optional
        Progress keys written in the same transaction (the indexer's last block).

    Returns
    -------
    list of str
        Hashes of the removed batches, in chain order.
    """
    with _Transaction(conn):
        gone = conn.execute(
            "SELECT batch_hash, device, epoch FROM batches WHERE block_number > ? ORDER BY block_number, log_index",
            (block_number,),
        ).fetchall()
        conn.executemany("DELETE FROM readings WHERE epoch = ? AND device = ? AND batch_hash = ?",
                         [(e, d, h) for h, d, e in gone])
        conn.executemany("DELETE FROM batches WHERE batch_hash = ?", [(h,) for h, _, _ in gone])
        touched = sorted({(d, e) for _, d, e in gone})
        for device, epoch in touched:
            counted = _recount_epoch(conn, device, epoch)
            if counted is None:
                conn.execute("DELETE FROM epochs WHERE epoch = ? AND device = ?", (epoch, device))
            else:
                conn.execute("UPDATE epochs SET n = ?, energy_mwh = ? WHERE epoch = ? AND device = ?",
                             (counted[0], _to_sql(counted[1]), epoch, device))
        # the removed batches are each device's newest (a device's batches reach the chain in seq
        # order), so its latest reading left is in its newest touched epoch or before
        newest = dict(touched)  # sorted: a device's newest touched epoch comes last
        for device, epoch in newest.items():
            row = conn.execute(
                "SELECT ts, total_mwh FROM readings WHERE epoch <= ? AND device = ? ORDER BY epoch DESC, ts DESC LIMIT 1",
                (epoch, device),
            ).fetchone()
            conn.execute("UPDATE devices SET last_ts = ?, last_total = ? WHERE device = ?",
                         (None, None, device) if row is None else (*row, device))
        conn.execute("DELETE FROM blocks WHERE number > ?", (block_number,))
        if meta:
            _write_meta(conn, meta)
    return [h for h, _, _ in gone]


def delete_index(conn, meta_keys=()):
    """Empty the tables rebuilt from the chain (not the gateway's queue) and drop progress keys."""
    with _Transaction(conn):
        for table in INDEX_TABLES:
            conn.execute(f"DELETE FROM {table}")
        conn.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in meta_keys])


def _batch_rows(conn, where, params):
    batches = conn.execute(
        "SELECT batch_hash, device, token_id, epoch, seq, prev_batch, pow_nonce, signature,"
        f" block_number, tx_hash, log_index FROM batches {where} ORDER BY device, seq",
        params,
    ).fetchall()
    out = []
    for b in batches:
        readings = tuple(
            (ts, power, int(total))
            for ts, power, total in conn.execute(
                "SELECT ts, power_mw, total_mwh FROM readings WHERE epoch = ? AND device = ? AND batch_hash = ?"
                " ORDER BY ts",
                (b[3], b[1], b[0]),
            )
        )
        out.append(BatchRow(*b[:6], int(b[6]), *b[7:], readings))
    return out


def read_batches(conn, device=None):
    """
    Stored batches with their readings, by device then seq.

    Parameters
    ----------
    device : str, optional
        Only this device's batches.

    Returns
    -------
    list of BatchRow
    """
    if device is None:
        return _batch_rows(conn, "", ())
    return _batch_rows(conn, "WHERE device = ?", (device,))


def read_batch_count(conn):
    """Number of stored batches."""
    return conn.execute("SELECT COUNT(*) FROM batches").fetchone()[0]


def read_batch_spans(conn):
    """
    Each stored batch's time span: the timestamps of its first and last readings.

    Returns
    -------
    list of (device, first_ts [s], last_ts [s], batch_hash, tx_hash, epoch)
        By device then first reading; a batch without readings has no span and is left out.
    """
    return conn.execute(
        "SELECT r.device, MIN(r.ts), MAX(r.ts), b.batch_hash, b.tx_hash, b.epoch"
        " FROM readings r JOIN batches b ON b.batch_hash = r.batch_hash"
        " GROUP BY b.batch_hash ORDER BY r.device, MIN(r.ts), b.batch_hash"
    ).fetchall()


def read_readings(conn, epoch_start, epoch_stop):
    """
    Readings of all devices in the epochs ``[epoch_start, epoch_stop)``.

    Returns
    -------
    Readings
        Arrays sorted by device then timestamp: device, epoch, ts [s], power_mw [mW],
        total_mwh [mWh].
    """
    rows = conn.execute(
        "SELECT device, epoch, ts, power_mw, total_mwh FROM readings"
        " WHERE epoch >= ? AND epoch < ? ORDER BY device, ts",
        (epoch_start, epoch_stop),
    ).fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return Readings(np.zeros(0, dtype=str), empty, empty.copy(), empty.copy(), empty.copy())
    device, epoch, ts, power, total = zip(*rows)
    return Readings(
        np.array(device, dtype=str),
        np.array(epoch, dtype=np.int64),
        np.array(ts, dtype=np.int64),
        np.array(power, dtype=np.int64),
        _ints(total),
    )


def read_epoch_counts(conn, epoch_start, epoch_stop):
    """
    Legal reading count ``N`` and energy [mWh] per device and epoch in ``[epoch_start, epoch_stop)``.

    Returns
    -------
    EpochCounts
        Arrays sorted by device then epoch; a (device, epoch) without readings is absent.
    """
    rows = conn.execute(
        "SELECT device, epoch, n, energy_mwh FROM epochs WHERE epoch >= ? AND epoch < ? ORDER BY device, epoch",
        (epoch_start, epoch_stop),
    ).fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return EpochCounts(np.zeros(0, dtype=str), empty, empty.copy(), empty.copy())
    device, epoch, n, energy = zip(*rows)
    return EpochCounts(
        np.array(device, dtype=str), np.array(epoch, dtype=np.int64), np.array(n, dtype=np.int64), _ints(energy)
    )


def read_devices(conn):
    """Known devices: dicts with device, token_id, capacity_w, lat_udeg, lon_udeg, pubkey, tilt_deg,
    azimuth_deg and owner."""
    cur = conn.execute("SELECT device, token_id, capacity_w, lat_udeg, lon_udeg, pubkey, tilt_deg, azimuth_deg, owner"
                       " FROM devices ORDER BY device")
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row)) for row in cur]


def write_devices(conn, devices):
    """
    Insert or complete device records (from the SBT).

    Parameters
    ----------
    devices : iterable of dict
        Keys device and token_id, optionally capacity_w [W], lat_udeg, lon_udeg
        [micro-degrees], pubkey (0x hex, 64 bytes), tilt_deg, azimuth_deg [deg] and owner (0x address).
    """
    params = [
        (d["device"], d["token_id"], d.get("capacity_w"), d.get("lat_udeg"), d.get("lon_udeg"), d.get("pubkey"),
         d.get("tilt_deg"), d.get("azimuth_deg"), d.get("owner"))
        for d in devices
    ]
    with _Transaction(conn):
        conn.executemany(
            "INSERT INTO devices (device, token_id, capacity_w, lat_udeg, lon_udeg, pubkey, tilt_deg, azimuth_deg,"
            " owner) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (device) DO UPDATE SET token_id = excluded.token_id,"
            " capacity_w = COALESCE(excluded.capacity_w, capacity_w),"
            " lat_udeg = COALESCE(excluded.lat_udeg, lat_udeg),"
            " lon_udeg = COALESCE(excluded.lon_udeg, lon_udeg),"
            " pubkey = COALESCE(excluded.pubkey, pubkey),"
            " tilt_deg = COALESCE(excluded.tilt_deg, tilt_deg),"
            " azimuth_deg = COALESCE(excluded.azimuth_deg, azimuth_deg),"
            " owner = COALESCE(excluded.owner, owner)",
            params,
        )


# ----------------------------------------------------------------- gateway queue

_QUEUE_COLUMNS = "batch_hash, device, epoch, seq, body, status, reason, tx_hash, attempts"


def _queued(row):
    return QueuedBatch(row[0], row[1], row[2], row[3], json.loads(row[4]), *row[5:])


def _json(obj):
    return json.dumps(obj, separators=(",", ":"))


def write_queued(conn, entries, reports=()):
    """
    Add batches to the gateway's queue as pending, and the health reports they came with, in one transaction.

    Parameters
    ----------
    entries : iterable of (batch_hash, device, epoch, seq, body)
        ``body`` is the batch as a JSON-serialisable dict.
    reports : iterable of (device, seq, epoch, batch_hash, report)
        In seq order per device. A report becomes the device's latest unless that one came with a later
        batch; when it comes with a later batch than the latest, the latest becomes its previous report.

    Returns
    -------
    int
        Number newly queued (a batch already queued is left as it is).
    """
    now = int(time.time())
    params = [(h, d, e, s, _json(body), "pending", now, now) for h, d, e, s, body in entries]
    with _Transaction(conn):
        before = conn.total_changes
        conn.executemany(
            "INSERT OR IGNORE INTO gateway_queue (batch_hash, device, epoch, seq, body, status, received_at,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?)",
            params,
        )
        queued = conn.total_changes - before
        conn.executemany(
            "INSERT INTO gateway_health (device, seq, epoch, batch_hash, report, received_at) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT (device) DO UPDATE SET"
            " prev_seq = CASE WHEN excluded.seq > seq THEN seq ELSE prev_seq END,"
            " prev_report = CASE WHEN excluded.seq > seq THEN report ELSE prev_report END,"
            " seq = excluded.seq, epoch = excluded.epoch, batch_hash = excluded.batch_hash,"
            " report = excluded.report, received_at = excluded.received_at"
            " WHERE excluded.seq >= seq",
            [(d, s, e, h, _json(report), now) for d, s, e, h, report in reports],
        )
        return queued


def read_queued(conn, batch_hash):
    """The queue entry of a batch, or ``None``."""
    row = conn.execute(f"SELECT {_QUEUE_COLUMNS} FROM gateway_queue WHERE batch_hash = ?", (batch_hash,)).fetchone()
    return None if row is None else _queued(row)


def read_queue(conn, status="pending", limit=None):
    """Queue entries with a status, oldest first."""
    sql = f"SELECT {_QUEUE_COLUMNS} FROM gateway_queue WHERE status = ? ORDER BY id"
    params = (status,)
    if limit is not None:
        sql += " LIMIT ?"
        params += (limit,)
    return [_queued(r) for r in conn.execute(sql, params)]


def read_queue_tail(conn, device):
    """The device's pending entry with the highest seq, or ``None``."""
    row = conn.execute(
        f"SELECT {_QUEUE_COLUMNS} FROM gateway_queue WHERE device = ? AND status = 'pending'"
        " ORDER BY seq DESC LIMIT 1",
        (device,),
    ).fetchone()
    return None if row is None else _queued(row)


def read_queue_counts(conn):
    """``{status: count}`` over the queue."""
    return dict(conn.execute("SELECT status, COUNT(*) FROM gateway_queue GROUP BY status").fetchall())


def read_health(conn, device=None):
    """The devices' latest health reports (:class:`HealthReport`), by device; only ``device``'s when given."""
    sql = ("SELECT device, seq, epoch, batch_hash, report, received_at, prev_seq, prev_report FROM gateway_health"
           + ("" if device is None else " WHERE device = ?") + " ORDER BY device")
    return [HealthReport(*row[:4], json.loads(row[4]), row[5], row[6], None if row[7] is None else json.loads(row[7]))
            for row in conn.execute(sql, () if device is None else (device,))]


def write_outcomes(conn, outcomes):
    """Record what became of queued batches (an iterable of :class:`Outcome`)."""
    now = int(time.time())
    with _Transaction(conn):
        conn.executemany(
            "UPDATE gateway_queue SET status = ?, reason = ?, tx_hash = ?, updated_at = ? WHERE batch_hash = ?",
            [(o.status, o.reason, o.tx_hash, now, o.batch_hash) for o in outcomes],
        )


def write_attempt(conn, batch_hashes, reason):
    """Count a failed relay attempt (the batches stay pending) and keep its reason."""
    now = int(time.time())
    with _Transaction(conn):
        conn.executemany(
            "UPDATE gateway_queue SET attempts = attempts + 1, reason = ?, updated_at = ? WHERE batch_hash = ?",
            [(reason, now, h) for h in batch_hashes],
        )
