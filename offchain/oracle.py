"""
The oracle operator's engine: commit, reveal, score, publish and post each epoch (DESIGN.md §5).

Each finished epoch goes through a persisted state machine::

    NEW -> COMMITTED -> REVEALED -> SCORED -> POSTED
                 \\-> EXPIRED (reveal window missed) -> SWEPT
    (an epoch not posted by the distributor's deadline is swept: -> SWEPT)

- **NEW**: the epoch's window (its end + the registry's grace period) is over. A fresh
  secp256k1 key is written to its own file (``oracle-keys/epoch-<e>.key``, created with
  ``O_CREAT | O_EXCL`` and mode 0o600) *before* ``EpochKeys.commit`` is sent, so a crash
  can never leave a committed key that is lost.
- **COMMITTED**: the chain holds the public key at block ``H``; no batch for the epoch is
  accepted any more. At block ``H + B`` the secret is revealed (until ``H + 256``).
- **REVEALED**: the chain holds ``SK_e`` and the entropy of blocks ``H .. H+B-1``.
- **SCORED**: the store was indexed past ``H``, the table computed and written atomically
  to ``epoch-<e>.json``.
- **POSTED**: ``RewardDistributor.post`` holds the root and total; the URI points to the
  table. **EXPIRED**: never revealed in time; after the posting deadline the whole emission
  goes to the vault with ``sweep`` (**SWEPT**), which also ends an epoch revealed but not
  posted in time.

Resumption. The chain is the authority, the state file a cache of it: before every
transaction the engine reads the epoch from the chain (``get_epoch_view``) and :func:`plan`
adopts what is already there. A commit sent just before a crash shows up as the chain's
commit of *our* key (the key file is still there) and is not sent again; a key on chain
that this oracle does not hold stops the epoch with one line. Reveal and post are adopted
the same way. Files are written atomically (temp file + rename), state after each step.

Files, all in one folder next to the store (by default the store file's folder):

- ``oracle-state.json`` — the deployment it belongs to and one record per epoch;
- ``oracle-keys/epoch-<e>.key`` — ``0x`` + 64 hex digits of ``SK_e``, mode 0o600;
- ``epoch-<e>.json`` — the published table (:func:`table_json`);
- ``oracle.lock`` — held while an engine runs (one oracle per folder).

The table. It names the scoring parameters it was made with (``params``, as the DAO set them
on the distributor, and their ``params_hash``, which the ``Posted`` event commits to). Rows
are the miners with ``N > 0`` in the epoch; every row carries the inputs and what follows
from them: ``owner``, ``n`` (legal readings), ``readings_window`` (``Σ min(N_e, 12)`` over
the window), ``energy_mwh`` (the epoch's booked energy), ``a`` (float) with the checks it is
the product of (``checks``: bound, scale, weather, shape, smooth, copy, lone, the yield
ratio and the weather residual; ``docs/authenticity.md``), ``a_bps``, ``q_bps``, ``v_mwh`` (credited energy), the ECDH point
``(px, py) = SK_e · PK_miner``, ``seed``, ``winner``, ``amount`` [DECA wei] and, for a
winner, its leaf and Merkle proof. 32-byte values are ``0x`` hex, amounts decimal strings
(they exceed 2**53). Only winners have leaves.

No winner (or no winner with a positive contribution): the oracle posts ``total = 0``
with ``root = bytes32(0)``, so the whole emission goes to the vault at once and no claim
can ever match (no leaf hashes to zero).

Pure steps (:func:`plan`, :func:`lottery`, :func:`settle`, :func:`build_table`,
:func:`check_table`) are apart from files (``read_*``/``write_*``) and chain calls
(``get_*`` reads; every transaction goes through :func:`send_tx`).
"""

import errno
import fcntl
import json
import logging
import os
import secrets
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
from eth_utils import to_checksum_address
from greenminer import secp256k1

from offchain import authenticity, indexer, merkle, pogg, store

# ----------------------------------------------------------------- constants

EPOCH_SECONDS = 3_600  # [s]
REVEAL_WINDOW = 256  # [blocks] blockhash(H) is readable until block H + 256
MAX_URI = 256  # [characters] RewardDistributor's String[256]
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
REVOKED = 3  # MinerSBT's hardware status of a revoked token
TABLE_FORMAT = "green-energy-miners/epoch-table/2"
STATE_FORMAT = 1

STATE_FILE = "oracle-state.json"
LOCK_FILE = "oracle.lock"
KEY_DIR = "oracle-keys"

NEW, COMMITTED, REVEALED, SCORED, POSTED = "NEW", "COMMITTED", "REVEALED", "SCORED", "POSTED"
EXPIRED, SWEPT = "EXPIRED", "SWEPT"
FINAL = (POSTED, SWEPT)

# what plan() asks the engine to do
COMMIT, REVEAL, SCORE, POST, SWEEP = "commit", "reveal", "score", "post", "sweep"
WAIT_BLOCKS, WAIT_TIME, DONE = "wait_blocks", "wait_time", "done"

log = logging.getLogger("oracle")


class OracleError(Exception):
    """Something the operator must look at; the message is one line."""


# ----------------------------------------------------------------- files


def state_path(folder):
    return Path(folder) / STATE_FILE


def key_path(folder, epoch):
    return Path(folder) / KEY_DIR / f"epoch-{int(epoch)}.key"


def table_path(folder, epoch):
    return Path(folder) / f"epoch-{int(epoch)}.json"


def folder_of_store(url):
    """The folder the oracle's files live in: the store file's own folder."""
    path = store.store_path(url)
    if path == ":memory:":
        raise OracleError("oracle: an in-memory store has no folder; give a store file or --folder")
    return Path(path).resolve().parent


def _fsync_dir(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path, obj):
    """Write JSON to ``path`` through a temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def new_state(chain_id, epoch_keys, distributor, from_epoch=0):
    """An empty state for a deployment: no epoch done yet, starting at ``from_epoch``."""
    return {
        "format": STATE_FORMAT,
        "chain_id": int(chain_id),
        "epoch_keys": to_checksum_address(epoch_keys),
        "distributor": to_checksum_address(distributor),
        "from_epoch": int(from_epoch),
        "epochs": {},
    }


def read_state(path):
    """The state file's content, or ``None`` when there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        state = json.loads(text)
    except ValueError as e:
        raise OracleError(f"oracle: {path} is not JSON ({e})") from None
    if state.get("format") != STATE_FORMAT:
        raise OracleError(f"oracle: {path} has format {state.get('format')!r}, this code reads {STATE_FORMAT}")
    return state


def write_state(path, state):
    """Save the state atomically."""
    write_json_atomic(path, state)


def check_state_deployment(state, chain_id, epoch_keys, distributor, path=STATE_FILE):
    """Refuse a state file written for another chain or other contracts."""
    mine = (int(chain_id), to_checksum_address(epoch_keys), to_checksum_address(distributor))
    theirs = (state["chain_id"], state["epoch_keys"], state["distributor"])
    if mine != theirs:
        raise OracleError(
            f"oracle: {path} belongs to chain {theirs[0]}, EpochKeys {theirs[1]}, distributor {theirs[2]};"
            f" this is chain {mine[0]}, EpochKeys {mine[1]}, distributor {mine[2]}"
        )


def epoch_record(state, epoch):
    """The record of an epoch in the state (created as NEW)."""
    return state["epochs"].setdefault(str(int(epoch)), {"state": NEW})


def new_secret():
    """A fresh epoch secret key, uniform in ``[1, n-1]``."""
    return secrets.randbelow(secp256k1.N - 1) + 1


def public_key(sk):
    """``SK · G`` as ``(x, y)``."""
    return secp256k1.decode_point(secp256k1.public_key(sk))


def write_key_file(path, sk):
    """
    Create the key file of an epoch, mode 0o600, failing if it exists.

    The folder is created with mode 0o700. The key is on disk (fsync) when this returns.

    Raises
    ------
    FileExistsError
        If the file exists (the caller reads it instead: it may already be committed).
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"0x{int(sk):064x}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def read_key_file(path):
    """
    The secret key in a key file, or ``None`` when there is no file.

    Raises
    ------
    OracleError
        If the file holds no valid key (a crash while creating it).
    """
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    try:
        sk = int(text, 16) if text.startswith("0x") and len(text) == 66 else 0
    except ValueError:
        sk = 0
    if not 0 < sk < secp256k1.N:
        raise OracleError(f"oracle: {path} holds no valid secret key")
    return sk


def ensure_key_file(path):
    """
    The epoch's secret key: the one in its file, or a new one written first.

    Only for an epoch the chain shows uncommitted: an unreadable file (left by a crash while
    it was created, before any commit could be sent) is then replaced.
    """
    try:
        sk = read_key_file(path)
    except OracleError:
        os.unlink(path)
        sk = None
    if sk is None:
        sk = new_secret()
        write_key_file(path, sk)
    return sk


class FolderLock:
    """``with FolderLock(folder):`` — one engine per folder (an advisory ``flock``)."""

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_FILE
        self.fd = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise OracleError(f"oracle: another oracle holds {self.path}") from None
            raise
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None
        return False


# ----------------------------------------------------------------- the state machine


class EpochView(NamedTuple):
    """What the chain says of one epoch (:func:`get_epoch_view`)."""

    epoch: int
    head: int  # latest block number
    now: int  # [s] timestamp of the latest block
    window_end: int  # [s] epoch end + grace period: a commit is possible from then on
    deadline: int  # [s] posting is possible until then; sweeping from then on
    committed_block: int  # H, 0 before the commit
    reveal_delay: int  # [blocks] B fixed by the commit, 0 before
    public_key: tuple  # (x, y) committed, (0, 0) before the commit and after the reveal
    revealed: bool
    secret: int  # SK_e once revealed, else 0
    posted: bool
    swept: bool


class Action(NamedTuple):
    """What to do next for an epoch, and the state its record holds meanwhile."""

    kind: str  # COMMIT, REVEAL, SCORE, POST, SWEEP, WAIT_BLOCKS, WAIT_TIME or DONE
    state: str
    wait: int = 0  # [blocks] for WAIT_BLOCKS, [s] for WAIT_TIME
    note: str = ""


_AFTER_COMMIT = (COMMITTED, REVEALED, SCORED, POSTED)


def plan(state, view, our_sk, has_table, reveal_window=REVEAL_WINDOW):
    """
    The next step of an epoch from its record and the chain (pure).

    A transaction sent now is assumed to land in block ``head + 1``.

    Parameters
    ----------
    state : str
        The record's state (what this oracle last saved).
    view : EpochView
    our_sk : int or None
        The secret key in the epoch's key file, ``None`` without one.
    has_table : bool
        Whether the epoch's table file is there and complete.
    reveal_window : int [blocks]
        The reveal is possible from block ``H + B`` until block ``H + reveal_window``.

    Returns
    -------
    Action

    Raises
    ------
    OracleError
        When the chain contradicts this oracle (a foreign key, a commit or post lost).
    """
    e = view.epoch
    if view.posted:
        return Action(DONE, POSTED)
    if view.swept:
        return Action(DONE, SWEPT)
    if state == POSTED:
        raise OracleError(f"oracle: epoch {e} is POSTED in the state file but not on chain (another chain?)")
    if view.committed_block == 0:
        if state in _AFTER_COMMIT:
            raise OracleError(f"oracle: epoch {e} is {state} in the state file but has no commit on chain")
        if view.now >= view.deadline:
            return Action(SWEEP, EXPIRED, note="never committed; the posting deadline is over")
        if view.now < view.window_end:
            return Action(WAIT_TIME, NEW, view.window_end - view.now, "epoch window still open")
        return Action(COMMIT, NEW)
    if our_sk is None:
        raise OracleError(f"oracle: epoch {e} was committed with a key this oracle does not hold (no key file)")
    if (view.secret != our_sk) if view.revealed else (public_key(our_sk) != tuple(view.public_key)):
        raise OracleError(f"oracle: epoch {e} was committed with a public key that is not this oracle's")
    if not view.revealed:
        if state in (REVEALED, SCORED):
            raise OracleError(f"oracle: epoch {e} is {state} in the state file but not revealed on chain")
        landing = view.head + 1
        first, last = view.committed_block + view.reveal_delay, view.committed_block + reveal_window
        if landing > last:
            if view.now >= view.deadline:
                return Action(SWEEP, EXPIRED, note="never revealed")
            return Action(WAIT_TIME, EXPIRED, view.deadline - view.now, "reveal window missed; sweep at the deadline")
        if landing < first:
            return Action(WAIT_BLOCKS, COMMITTED, first - landing, f"reveal from block {first}")
        return Action(REVEAL, COMMITTED)
    if view.now >= view.deadline:
        return Action(SWEEP, SCORED if has_table else REVEALED, note="not posted by the deadline")
    if not has_table:
        return Action(SCORE, REVEALED)
    return Action(POST, SCORED)


# ----------------------------------------------------------------- lottery, table, tree


class Lottery(NamedTuple):
    """The lottery of one epoch, one entry per miner."""

    points: list  # (px, py) = SK_e · PK_miner
    seeds: list  # int, in [0, k) (k may exceed int64)
    winners: np.ndarray  # bool


def lottery(sk, entropy, pubkeys, ns, k):
    """
    ECDH points, seeds and winners (the twin of ``EpochKeys.seed`` / ``is_winner``).

    Parameters
    ----------
    sk : int
        ``SK_e``.
    entropy : bytes
        ``entropy_e`` (32 bytes).
    pubkeys : sequence of bytes
        Device public keys, 64 bytes each.
    ns : sequence of int
        Legal readings of each miner in the epoch.
    k : int
        Lottery odds ``K``.

    Returns
    -------
    Lottery
    """
    points = [pogg.ecdh_point(sk, pk) for pk in pubkeys]
    seeds = [pogg.seed(p[0], n, entropy, k) for p, n in zip(points, ns)]
    winners = np.array([int(n) > 0 and s == 0 for n, s in zip(ns, seeds)], dtype=bool)
    return Lottery(points, seeds, winners)


class Settlement(NamedTuple):
    """Amounts, leaves and proofs of an epoch's rows, and the root and total to post."""

    amounts: list  # [DECA wei] per row, 0 for a non-winner
    leaves: list  # 32-byte leaf per winner row, None otherwise
    proofs: list  # list of 32-byte siblings per winner row, [] otherwise
    root: bytes  # bytes32(0) without a winner
    total: int  # [DECA wei] Σ amounts


def settle(epoch, token_ids, winners, a_bps, q_bps, v_mwh, emission, k, reference):
    """
    Split the emission among the winners and build the Merkle tree of their leaves (pure).

    Parameters
    ----------
    epoch : int
    token_ids : sequence of int, shape ``(M,)``
    winners : array_like of bool, shape ``(M,)``
    a_bps, q_bps : array_like of int, shape ``(M,)`` [bps]
    v_mwh : array_like of int, shape ``(M,)`` [mWh] credited energy
    emission : int [DECA wei]
    k : int
        Lottery odds (``pogg.split``).
    reference : int
        ``pogg.reference_units`` of the scoring parameters.

    Returns
    -------
    Settlement
        Without a winner: no leaf, ``root = bytes32(0)``, ``total = 0``.
    """
    m = len(token_ids)
    winners = np.asarray(winners, dtype=bool).reshape(m)
    if m == 0:
        return Settlement([], [], [], ZERO32, 0)
    amounts, _ = pogg.split(winners, pogg.contribution_units(a_bps, q_bps, v_mwh), emission, k, reference)
    amounts = [int(x) for x in amounts]
    rows = np.flatnonzero(winners)
    leaves = [None] * m
    proofs = [[] for _ in range(m)]
    if rows.size == 0:
        return Settlement(amounts, leaves, proofs, ZERO32, 0)
    for i in rows:
        leaves[i] = merkle.leaf(epoch, token_ids[i], amounts[i], a_bps[i], q_bps[i], v_mwh[i])
    tree = merkle.build([leaves[i] for i in rows])
    for j, i in enumerate(rows):
        proofs[i] = merkle.proof(tree, j)
    return Settlement(amounts, leaves, proofs, tree.root, sum(amounts))


class EpochData(NamedTuple):
    """What the store holds for scoring an epoch, one row per miner with ``N > 0`` in it."""

    epoch: int
    window: int  # [epochs] W
    devices: list  # checksummed addresses, sorted
    n: np.ndarray  # (M,) int64, legal readings in the epoch
    n_per_epoch: np.ndarray  # (M, W) int64, legal readings per epoch of the window (last = epoch)
    energy_mwh: np.ndarray  # (M, W) int64 [mWh] booked per epoch of the window (last = epoch)
    ts: np.ndarray  # (M, S) float [s], NaN for no reading
    power_mw: np.ndarray  # (M, S) float [mW], NaN for no reading


def shape_epoch(epoch, counts, readings, window=pogg.WINDOW):
    """
    The scoring inputs of an epoch from the store's arrays (pure).

    Parameters
    ----------
    epoch : int
    counts : store.EpochCounts
        Of the epochs ``[epoch - window + 1, epoch]``.
    readings : store.Readings
        Of the epoch.
    window : int [epochs]

    Returns
    -------
    EpochData
        Miners with ``N > 0`` in ``epoch``, sorted by device address.
    """
    first = epoch - window + 1
    in_epoch = (counts.epoch == epoch) & (counts.n > 0)
    devices = sorted(set(counts.device[in_epoch].tolist()))
    row = {d: i for i, d in enumerate(devices)}
    m = len(devices)
    n_per_epoch = np.zeros((m, window), dtype=np.int64)
    # int64: an epoch's energy is bounded by capacity (uint32 W) × margin × 1 h
    energy = np.zeros((m, window), dtype=np.int64)
    for d, e, n, mwh in zip(counts.device.tolist(), counts.epoch.tolist(), counts.n.tolist(),
                            counts.energy_mwh.tolist()):
        i = row.get(d)
        if i is not None and first <= e <= epoch:
            n_per_epoch[i, e - first] = n
            energy[i, e - first] = int(mwh)
    per_device = Counter(readings.device.tolist())
    samples = max([per_device[d] for d in devices], default=0)
    ts = np.full((m, samples), np.nan)
    power = np.full((m, samples), np.nan)
    fill = [0] * m
    for d, t, p in zip(readings.device.tolist(), readings.ts.tolist(), readings.power_mw.tolist()):
        i = row.get(d)
        if i is not None:
            ts[i, fill[i]], power[i, fill[i]] = t, p
            fill[i] += 1
    return EpochData(epoch, window, [to_checksum_address(d) for d in devices], n_per_epoch[:, -1].copy(),
                     n_per_epoch, energy, ts, power)


class DeviceInfo(NamedTuple):
    """A miner's device as its SBT declares it."""

    device: str
    token_id: int
    pubkey: bytes  # 64 bytes x ‖ y
    capacity_w: int  # [W]
    lat_udeg: int  # [µdeg]
    lon_udeg: int  # [µdeg]
    tilt_deg: int  # declared panel tilt [deg]
    azimuth_deg: int  # declared panel azimuth [deg clockwise from north]
    owner: str  # the token's owner (soulbound: it never changes), the zero address once revoked


class TableRow(NamedTuple):
    """One miner's row of a published table."""

    token_id: int
    device: str
    owner: str
    n: int  # legal readings in the epoch
    readings_window: int  # Σ min(N_e, 12) over the window
    energy_mwh: int  # [mWh] booked in the epoch
    a: float  # [1]
    checks: dict  # what a is the product of (authenticity.Authenticity, one row)
    a_bps: int  # [bps]
    q_bps: int  # [bps]
    v_mwh: int  # [mWh] credited energy of the epoch
    point: tuple  # (px, py) = SK_e · PK_miner
    seed: int
    winner: bool
    amount: int  # [DECA wei]
    leaf: bytes  # None for a non-winner
    proof: list  # 32-byte siblings, leaf to root


class Table(NamedTuple):
    """An epoch's published table."""

    epoch: int
    chain_id: int
    epoch_keys: str
    distributor: str
    sk: int
    entropy: bytes
    k: int
    window: int  # [epochs]
    emission: int  # [DECA wei]
    params: authenticity.ScoringParams
    root: bytes
    total: int  # [DECA wei]
    rows: list  # TableRow, by token id


def build_table(data, devices, sk, entropy, k, emission, deployment, params, cache=None, **bound_kwargs):
    """
    Score an epoch and build its table (pure: maths on the inputs given).

    Parameters
    ----------
    data : EpochData
    devices : dict
        ``{device address: DeviceInfo}`` for every device of ``data``.
    sk : int
    entropy : bytes
    k : int
        Lottery odds.
    emission : int [DECA wei]
    deployment : (int, str, str)
        Chain id, EpochKeys and RewardDistributor addresses (recorded in the table).
    params : authenticity.ScoringParams
        As the DAO set them on the distributor.
    cache : authenticity.ClearEnergyCache, optional
        The engine's, from one epoch to the next.
    **bound_kwargs
        Passed to ``pvbound.clear_sky_power`` (``grid_s``).

    Returns
    -------
    Table
    """
    info = [devices[d] for d in data.devices]
    draw = lottery(sk, entropy, [i.pubkey for i in info], data.n, k)
    inputs = pogg.EpochInputs(
        data.epoch, np.array([i.token_id for i in info], dtype=np.int64), [i.owner for i in info],
        np.array([i.lat_udeg / 1e6 for i in info]), np.array([i.lon_udeg / 1e6 for i in info]),
        np.array([i.capacity_w for i in info], dtype=float), np.array([i.tilt_deg for i in info], dtype=float),
        np.array([i.azimuth_deg for i in info], dtype=float), data.ts, data.power_mw, data.n_per_epoch,
        data.energy_mwh,
    )
    scores = pogg.score_inputs(inputs, draw.winners, emission, k, params, cache, **bound_kwargs)
    token_ids = [i.token_id for i in info]
    deal = settle(data.epoch, token_ids, draw.winners, scores.a_bps, scores.q_bps, scores.v_mwh, emission, k,
                  pogg.reference_units(params.reference_kwh))
    sums = np.minimum(data.n_per_epoch, pogg.MAX_READINGS).sum(axis=1)
    booked = data.energy_mwh[:, -1] if data.energy_mwh.size else np.zeros(len(info), dtype=np.int64)
    rows = [
        TableRow(token_ids[i], data.devices[i], info[i].owner, int(data.n[i]), int(sums[i]), int(booked[i]),
                 float(scores.auth.a[i]), checks_of(scores.auth, i), int(scores.a_bps[i]), int(scores.q_bps[i]),
                 int(scores.v_mwh[i]), tuple(draw.points[i]), int(draw.seeds[i]), bool(draw.winners[i]),
                 deal.amounts[i], deal.leaves[i], deal.proofs[i])
        for i in range(len(info))
    ]
    rows.sort(key=lambda r: r.token_id)
    chain_id, keys_address, distributor = deployment
    return Table(data.epoch, int(chain_id), to_checksum_address(keys_address), to_checksum_address(distributor),
                 int(sk), bytes(entropy), int(k), data.window, int(emission), params, deal.root, deal.total, rows)


def _finite(x):
    return None if not np.isfinite(x) else float(x)


def checks_of(auth, i):
    """Row ``i`` of an ``authenticity.Authenticity`` as the table's ``checks`` object."""
    return {"bound": bool(auth.bound[i]), "scale": float(auth.scale[i]), "weather": float(auth.weather[i]),
            "shape": float(auth.shape[i]), "smooth": bool(auth.smooth[i]), "copy": bool(auth.copy[i]), "lone": bool(auth.lone[i]), "ratio": _finite(auth.ratio[i]),
            "residual": _finite(auth.residual[i])}


def _hex(b):
    return "0x" + bytes(b).hex()


def _hex_int(x):
    return f"0x{int(x):064x}"


def table_json(table):
    """The table as the JSON object published (see the module's docstring)."""
    return {
        "format": TABLE_FORMAT,
        "epoch": table.epoch,
        "chain_id": table.chain_id,
        "epoch_keys": table.epoch_keys,
        "distributor": table.distributor,
        "sk": _hex_int(table.sk),
        "entropy": _hex(table.entropy),
        "k": table.k,
        "window": table.window,
        "emission": str(table.emission),
        "params": table.params._asdict(),
        "params_hash": _hex(authenticity.params_hash(table.params)),
        "root": _hex(table.root),
        "total": str(table.total),
        "miners": [
            {
                "token_id": r.token_id,
                "device": r.device,
                "owner": r.owner,
                "n": r.n,
                "readings_window": r.readings_window,
                "energy_mwh": r.energy_mwh,
                "a": r.a,
                "checks": r.checks,
                "a_bps": r.a_bps,
                "q_bps": r.q_bps,
                "v_mwh": r.v_mwh,
                "point": [_hex_int(r.point[0]), _hex_int(r.point[1])],
                "seed": r.seed,
                "winner": r.winner,
                "amount": str(r.amount),
                "leaf": None if r.leaf is None else _hex(r.leaf),
                "proof": [_hex(p) for p in r.proof],
            }
            for r in table.rows
        ],
    }


def _parse_bytes32(text, what):
    b = bytes.fromhex(text[2:]) if isinstance(text, str) and text.startswith("0x") else b""
    if len(b) != 32:
        raise ValueError(f"{what} is not 0x + 32 bytes")
    return b


def _parse_table(obj):
    """A :class:`Table` from its JSON object; ``ValueError`` when a field is missing or malformed."""
    try:
        if obj.get("format") != TABLE_FORMAT:
            raise ValueError(f"format {obj.get('format')!r}, expected {TABLE_FORMAT}")
        rows = [
            TableRow(
                int(m["token_id"]), str(m["device"]), str(m["owner"]), int(m["n"]), int(m["readings_window"]),
                int(m["energy_mwh"]), float(m["a"]), dict(m["checks"]), int(m["a_bps"]), int(m["q_bps"]),
                int(m["v_mwh"]),
                (int(m["point"][0], 16), int(m["point"][1], 16)), int(m["seed"]), bool(m["winner"]),
                int(m["amount"]), None if m["leaf"] is None else _parse_bytes32(m["leaf"], "leaf"),
                [_parse_bytes32(p, "proof") for p in m["proof"]],
            )
            for m in obj["miners"]
        ]
        return Table(
            int(obj["epoch"]), int(obj["chain_id"]), str(obj["epoch_keys"]), str(obj["distributor"]),
            int(obj["sk"], 16), _parse_bytes32(obj["entropy"], "entropy"), int(obj["k"]), int(obj["window"]),
            int(obj["emission"]), authenticity.ScoringParams(**{f: int(obj["params"][f])
                                                                 for f in authenticity.ScoringParams._fields}),
            _parse_bytes32(obj["root"], "root"), int(obj["total"]), rows,
        )
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(f"malformed table ({type(e).__name__}: {e})") from None


def read_table(path):
    """
    The table in a file.

    Raises
    ------
    OracleError
        If it is missing or not a valid table.
    """
    try:
        return _parse_table(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise OracleError(f"oracle: no table at {path}") from None
    except ValueError as e:
        raise OracleError(f"oracle: {path}: {e}") from None


def write_table(path, table):
    """Write a table atomically."""
    write_json_atomic(path, table_json(table))


def table_uri(path, base_url=None):
    """The URI posted for a table: ``<base_url>/<file name>``, else ``file://`` + absolute path."""
    path = Path(path)
    uri = f"{base_url.rstrip('/')}/{path.name}" if base_url else path.resolve().as_uri()
    if len(uri) > MAX_URI:
        raise OracleError(f"oracle: the table URI is {len(uri)} characters, the distributor takes {MAX_URI}")
    return uri


# ----------------------------------------------------------------- verification


class ChainFacts(NamedTuple):
    """What the chain says of a posted epoch, for :func:`check_table`."""

    epoch: int
    chain_id: int
    epoch_keys: str
    distributor: str
    sk: int  # revealed SK_e (0 if not revealed)
    entropy: bytes
    k: int
    emission: int  # [DECA wei] the epoch's emission
    posted: bool
    root: bytes
    total: int  # [DECA wei]
    params_hash: bytes  # the scoring parameters' hash the Posted event commits to (empty if not posted)
    counts: dict  # {token_id: N} for every token with N > 0 in the epoch
    devices: dict  # {token_id: device address}
    pubkeys: dict  # {token_id: 64-byte device key}


def check_table(table, facts):
    """
    Recompute an epoch's lottery, amounts and tree from chain facts and the table's inputs.

    From the chain: ``SK_e``, ``entropy_e``, ``K``, the emission, the posted root, total and
    scoring parameters' hash, each miner's legal count ``N`` and device key. From the table
    (the oracle's inputs): ``a``, ``readings_window``, ``energy_mwh`` and ``v_mwh``, from
    which ``a_bps`` and ``q_bps`` are recomputed and ``v_mwh ≤ energy_mwh`` checked. Then
    winners, amounts, leaves, root, total and every proof.

    Parameters
    ----------
    table : Table
    facts : ChainFacts

    Returns
    -------
    list of str
        One line per disagreement; empty when the table is the posted one and correct.
    """
    problems = []

    def differ(what, table_value, right, source="chain"):
        if table_value != right:
            problems.append(f"{what}: table {table_value!r}, {source} {right!r}")

    differ("epoch", table.epoch, facts.epoch)
    differ("chain id", table.chain_id, facts.chain_id)
    differ("EpochKeys", table.epoch_keys, facts.epoch_keys)
    differ("distributor", table.distributor, facts.distributor)
    if not facts.sk:
        problems.append(f"epoch {facts.epoch} is not revealed on chain")
    differ("sk", _hex_int(table.sk), _hex_int(facts.sk))
    differ("entropy", _hex(table.entropy), _hex(facts.entropy))
    differ("K", table.k, facts.k)
    differ("window", table.window, pogg.WINDOW, "protocol")
    differ("emission", table.emission, facts.emission)
    if not facts.posted:
        problems.append(f"epoch {facts.epoch} has no posted root on chain")
    else:
        differ("posted root", _hex(table.root), _hex(facts.root))
        differ("posted total", table.total, facts.total)
        differ("scoring parameters' hash", _hex(authenticity.params_hash(table.params)), _hex(facts.params_hash))

    listed = [r.token_id for r in table.rows]
    if len(set(listed)) != len(listed):
        problems.append("a token is listed twice")
    for t in sorted(set(facts.counts) - set(listed)):
        problems.append(f"token {t}: N = {facts.counts[t]} on chain, missing from the table")
    for t in sorted(set(listed) - set(facts.counts)):
        problems.append(f"token {t}: listed, but N = 0 on chain")
    if not facts.sk:
        return problems

    rows = [r for r in table.rows if r.token_id in facts.counts]
    for r in rows:
        differ(f"token {r.token_id} device", r.device, facts.devices[r.token_id])
        differ(f"token {r.token_id} N", r.n, facts.counts[r.token_id])
    a_bps = pogg.quantise_fraction([r.a for r in rows])
    q_bps = pogg.quantity_bps_of_sums([r.readings_window for r in rows], table.window)
    v_mwh = [r.v_mwh for r in rows]
    for r, a, q in zip(rows, a_bps, q_bps):
        differ(f"token {r.token_id} a_bps", r.a_bps, int(a), "recomputed")
        differ(f"token {r.token_id} q_bps", r.q_bps, int(q), "recomputed")
        if not 0 <= r.v_mwh <= r.energy_mwh:
            problems.append(f"token {r.token_id}: credits {r.v_mwh} mWh of the {r.energy_mwh} mWh booked")

    ns = [facts.counts[r.token_id] for r in rows]
    draw = lottery(facts.sk, facts.entropy, [facts.pubkeys[r.token_id] for r in rows], ns, facts.k)
    for r, point, s, w in zip(rows, draw.points, draw.seeds, draw.winners):
        differ(f"token {r.token_id} point", tuple(r.point), tuple(point), "recomputed")
        differ(f"token {r.token_id} seed", r.seed, int(s), "recomputed")
        differ(f"token {r.token_id} winner", r.winner, bool(w), "recomputed")

    # amounts and tree from the recomputed integers, not the table's
    token_ids = [r.token_id for r in rows]
    deal = settle(facts.epoch, token_ids, draw.winners, a_bps, q_bps, v_mwh, facts.emission, facts.k,
                  pogg.reference_units(table.params.reference_kwh))
    for r, amount, leaf, proof in zip(rows, deal.amounts, deal.leaves, deal.proofs):
        differ(f"token {r.token_id} amount", r.amount, amount, "recomputed")
        differ(f"token {r.token_id} leaf", None if r.leaf is None else _hex(r.leaf),
               None if leaf is None else _hex(leaf), "recomputed")
        if leaf is not None and not merkle.verify(r.proof, deal.root, leaf):
            problems.append(f"token {r.token_id}: its published proof does not reach the recomputed root")
    differ("root", _hex(table.root), _hex(deal.root), "recomputed")
    differ("total", table.total, deal.total, "recomputed")
    if facts.posted and deal.root != facts.root:
        problems.append(f"root: recomputed {_hex(deal.root)}, posted {_hex(facts.root)}")
    return problems


# ----------------------------------------------------------------- store


def read_epoch_data(conn, epoch, window=pogg.WINDOW):
    """The scoring inputs of ``epoch`` from the store (see :func:`shape_epoch`)."""
    counts = store.read_epoch_counts(conn, max(0, epoch - window + 1), epoch + 1)
    readings = store.read_readings(conn, epoch, epoch + 1)
    return shape_epoch(epoch, counts, readings, window)


def _parse_device_row(row):
    fields = ("pubkey", "capacity_w", "lat_udeg", "lon_udeg", "tilt_deg", "azimuth_deg", "owner")
    if any(row.get(f) is None for f in fields):
        return None
    return DeviceInfo(to_checksum_address(row["device"]), int(row["token_id"]), bytes.fromhex(row["pubkey"][2:]),
                      int(row["capacity_w"]), int(row["lat_udeg"]), int(row["lon_udeg"]), int(row["tilt_deg"]),
                      int(row["azimuth_deg"]), to_checksum_address(row["owner"]))


def read_device_info(conn):
    """``{device: DeviceInfo}`` of the devices whose SBT data the store holds in full."""
    out = {}
    for row in store.read_devices(conn):
        info = _parse_device_row(row)
        if info is not None:
            out[info.device] = info
    return out


def write_device_info(conn, infos):
    """Keep SBT data of devices in the store (it never changes once a token is minted)."""
    store.write_devices(conn, [
        {"device": i.device, "token_id": i.token_id, "capacity_w": i.capacity_w, "lat_udeg": i.lat_udeg,
         "lon_udeg": i.lon_udeg, "tilt_deg": i.tilt_deg, "azimuth_deg": i.azimuth_deg, "pubkey": _hex(i.pubkey),
         "owner": i.owner}
        for i in infos
    ])


# ----------------------------------------------------------------- chain


def send_tx(method, *args, sender):
    """Every transaction of the oracle goes through here: ``method(*args, sender=sender)``."""
    return method(*args, sender=sender)


def _revert_reason(exc):
    return str(getattr(exc, "revert_message", None) or getattr(exc, "message", None) or exc).splitlines()[0]


class Contracts(NamedTuple):
    """The contracts the oracle talks to (ape contract instances)."""

    keys: object  # EpochKeys
    distributor: object  # RewardDistributor
    registry: object  # MeasurementRegistry
    sbt: object  # MinerSBT


def get_epoch_view(c, epoch):
    """Read one epoch's progress from the chain (:class:`EpochView`)."""
    head = c.keys.chain_manager.blocks.head
    genesis, grace = int(c.registry.genesis()), int(c.registry.grace_period())
    pk = c.keys.public_key(epoch)
    revealed = bool(c.keys.revealed(epoch))
    settled = get_settlement(c.distributor, epoch)
    return EpochView(
        epoch=epoch,
        head=int(head.number),
        now=int(head.timestamp),
        window_end=genesis + EPOCH_SECONDS * (epoch + 1) + grace,
        deadline=int(c.distributor.deadline(epoch)),
        committed_block=int(c.keys.committed_block(epoch)),
        reveal_delay=int(c.keys.epoch_params(epoch)[0]),
        public_key=(int(pk[0]), int(pk[1])),
        revealed=revealed,
        secret=int(c.keys.secret(epoch)) if revealed else 0,
        posted=settled.status == POSTED,
        swept=settled.status == SWEPT,
    )


class Settled(NamedTuple):
    """How the distributor settled an epoch (``RewardDistributor.epoch_rewards``)."""

    status: str  # POSTED, SWEPT or None
    root: bytes  # posted root (bytes32(0) otherwise)
    total: int  # [DECA wei] posted total
    claimed: int  # [DECA wei] claimed so far


_STATUS = {0: None, 1: POSTED, 2: SWEPT}


def get_settlement(distributor, epoch):
    """The distributor's record of an epoch, as :class:`Settled`."""
    root, total, claimed, status = distributor.epoch_rewards(epoch)
    return Settled(_STATUS[int(status)], bytes(root), int(total), int(claimed))


def get_posted_event(distributor, epoch, start_block=0):
    """
    The epoch's ``Posted`` event: ``(uri, block, params_hash)``, or ``None``.

    Searched from ``start_block`` (the distributor's deployment, or the epoch's commit
    block: a post needs the reveal).
    """
    stop = distributor.chain_manager.blocks.height + 1
    posted = list(distributor.Posted.range(start_block, stop, search_topics={"epoch": epoch}))
    if not posted:
        return None
    return str(posted[-1].uri), int(posted[-1].block_number), bytes(posted[-1].params_hash)


def get_last_finished_epoch(c):
    """The last epoch whose window (end + grace period) is over at the head, or -1."""
    head = c.keys.chain_manager.blocks.head
    genesis, grace = int(c.registry.genesis()), int(c.registry.grace_period())
    return (int(head.timestamp) - grace - genesis) // EPOCH_SECONDS - 1


def get_device_info(sbt, token_id):
    """:class:`DeviceInfo` of a token from the SBT."""
    m = sbt.miners(token_id)
    owner = sbt.ownerOf(token_id) if int(m.status) != REVOKED else ZERO_ADDRESS
    tilt, azimuth = sbt.device_plane(m.device)
    return DeviceInfo(to_checksum_address(m.device), int(token_id), secp256k1.encode_point((int(m.pubkey_x),
                      int(m.pubkey_y))), int(m.capacity_w), int(m.lat_udeg), int(m.lon_udeg), int(tilt),
                      int(azimuth), to_checksum_address(owner))


def get_tokens(sbt):
    """``{token_id: device}`` of every token ever minted (revoked ones included), ids 1, 2, ..."""
    out, token_id = {}, 1
    while True:
        device = sbt.device_of(token_id)
        if int(device, 16) == 0:
            return out
        out[token_id] = to_checksum_address(device)
        token_id += 1


def get_legal_counts(registry, devices, epoch):
    """``[N]`` of each device from the registry's legal counts."""
    return [int(registry.legal_count(d, epoch)) for d in devices]


def get_chain_facts(c, epoch):
    """
    Everything :func:`check_table` needs from the chain (one call per token ever minted).

    The emission is read as it was in the block of the ``Posted`` event (the DAO may have
    changed it since). Legal counts are the registry's, exact for about 14 days after an
    epoch: an older epoch cannot be verified on chain.
    """
    tokens = get_tokens(c.sbt)
    counts = {t: n for t, n in zip(tokens, get_legal_counts(c.registry, tokens.values(), epoch)) if n > 0}
    revealed = bool(c.keys.revealed(epoch))
    settled = get_settlement(c.distributor, epoch)
    posted = settled.status == POSTED
    event = get_posted_event(c.distributor, epoch, int(c.keys.committed_block(epoch))) if posted else None
    return ChainFacts(
        epoch=epoch,
        chain_id=int(c.keys.chain_manager.chain_id),
        epoch_keys=to_checksum_address(c.keys.address),
        distributor=to_checksum_address(c.distributor.address),
        sk=int(c.keys.secret(epoch)) if revealed else 0,
        entropy=bytes(c.keys.entropy(epoch)) if revealed else ZERO32,
        k=int(c.keys.epoch_params(epoch)[1]),
        emission=int(c.distributor.emission(block_id=event[1]) if event else c.distributor.emission()),
        posted=posted,
        root=settled.root,
        total=settled.total,
        params_hash=event[2] if event else b"",
        counts=counts,
        devices={t: tokens[t] for t in counts},
        pubkeys={t: get_device_info(c.sbt, t).pubkey for t in counts},
    )


def verify_epoch(c, epoch, table):
    """
    Check a published table against the chain.

    Parameters
    ----------
    c : Contracts
    epoch : int
    table : Table or path
        The table, or its file.

    Returns
    -------
    list of str
        Empty when everything matches.
    """
    if not isinstance(table, Table):
        table = read_table(table)
    return check_table(table, get_chain_facts(c, epoch))


def get_table(uri, timeout=30):
    """The table a posted URI points to: ``file://`` or ``http(s)://``."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return read_table(urllib.request.url2pathname(parsed.path))
    if parsed.scheme not in ("http", "https"):
        raise OracleError(f"oracle: cannot fetch {uri!r}; give the table file")
    try:
        with urllib.request.urlopen(uri, timeout=timeout) as answer:
            return _parse_table(json.loads(answer.read().decode("utf-8")))
    except (OSError, ValueError) as e:
        raise OracleError(f"oracle: {uri}: {e}") from None


def get_start_epoch(c):
    """The first epoch the distributor pays (the one running at its deployment)."""
    return int(c.distributor.start_epoch())


# ----------------------------------------------------------------- the engine


class Oracle:
    """
    The operator's engine over contracts, an account, a store and a folder of files.

    Parameters
    ----------
    contracts : Contracts
    account : ape AccountAPI
        Holds the oracle role on EpochKeys and RewardDistributor.
    conn : sqlite3.Connection
        The store (:func:`offchain.store.open_store`); the engine indexes it up to the
        commit block before scoring.
    folder : path
        Where the state, key and table files live.
    base_url : str, optional
        Tables are published at ``<base_url>/epoch-<e>.json`` (default: ``file://`` URIs).
    from_epoch : int, optional
        First epoch to handle when the state file is new (default: the distributor's first).
    max_open : int
        At most this many epochs committed and not yet revealed (each must be revealed
        within 256 blocks of its commit).
    bound_kwargs : dict, optional
        Passed to ``pvbound.clear_sky_power`` (``grid_s``).
    """

    def __init__(self, contracts, account, conn, folder, base_url=None, from_epoch=None, max_open=8,
                 bound_kwargs=None):
        self.c, self.account, self.conn = contracts, account, conn
        self.folder, self.base_url, self.max_open = Path(folder), base_url, max_open
        self.bound_kwargs = bound_kwargs or {}
        self.clear_cache = authenticity.ClearEnergyCache()
        self.chain_id = int(contracts.keys.chain_manager.chain_id)
        self.state_file = state_path(self.folder)
        self.state = read_state(self.state_file)
        if self.state is None:
            if from_epoch is None:
                from_epoch = get_start_epoch(contracts)
            self.state = new_state(self.chain_id, contracts.keys.address, contracts.distributor.address, from_epoch)
            write_state(self.state_file, self.state)
        check_state_deployment(self.state, self.chain_id, contracts.keys.address, contracts.distributor.address,
                               self.state_file)

    # ---------------------------------------------------------- records

    def _record(self, epoch):
        return epoch_record(self.state, epoch)

    def _save(self, epoch, **fields):
        self._record(epoch).update(fields)
        write_state(self.state_file, self.state)

    def _has_table(self, epoch):
        record = self._record(epoch)
        if "root" not in record:
            return False
        try:
            table = read_table(table_path(self.folder, epoch))
        except OracleError:
            return False
        return _hex(table.root) == record["root"]

    # ---------------------------------------------------------- steps

    def advance(self, epoch, may_commit=True):
        """
        Do everything possible now for one epoch; return what it waits for.

        Returns
        -------
        Action
            DONE, WAIT_BLOCKS, WAIT_TIME, or COMMIT when ``may_commit`` is false.
        """
        failed = None  # (step, error) of a transaction that failed
        for _ in range(8):  # at most commit, reveal, score, post, sweep, and adoptions
            view = get_epoch_view(self.c, epoch)
            try:
                our_sk = read_key_file(key_path(self.folder, epoch))
            except OracleError:
                if view.committed_block:
                    raise
                our_sk = None  # a crash while creating it: replaced before the commit
            action = plan(self._record(epoch)["state"], view, our_sk, self._has_table(epoch))
            if failed is not None and failed[0] == action.kind:
                raise failed[1]  # not a race with a step already on chain: the operator must see it
            failed = None
            self._adopt(epoch, action.state, view)
            if action.kind in (DONE, WAIT_BLOCKS, WAIT_TIME) or (action.kind == COMMIT and not may_commit):
                return action
            try:
                getattr(self, "_" + action.kind)(epoch, view)
            except OracleError as e:
                failed = (action.kind, e)
        raise OracleError(f"oracle: epoch {epoch} makes no progress (state {self._record(epoch)['state']})")

    def _adopt(self, epoch, state, view):
        """Record the state the chain shows (e.g. a commit sent just before a crash)."""
        record = self._record(epoch)
        fields = {"state": state}
        if view.committed_block:
            fields["committed_block"] = view.committed_block
        if all(record.get(k) == v for k, v in fields.items()):
            return
        if state != record["state"]:
            log.info("epoch %d: %s (from the chain)", epoch, state)
        self._save(epoch, **fields)

    def _send(self, epoch, what, method, *args):
        try:
            receipt = send_tx(method, *args, sender=self.account)
        except Exception as e:  # noqa: BLE001 - ape raises many kinds; the reason is what counts
            if isinstance(e, OracleError):
                raise
            raise OracleError(f"oracle: epoch {epoch}: {what} failed: {_revert_reason(e)}") from None
        return getattr(receipt, "txn_hash", None)

    def _commit(self, epoch, view):
        sk = ensure_key_file(key_path(self.folder, epoch))  # on disk before the transaction
        x, y = public_key(sk)
        tx = self._send(epoch, "commit", self.c.keys.commit, epoch, x, y)
        self._save(epoch, state=COMMITTED, commit_tx=_tx(tx))
        log.info("epoch %d: committed its key (tx %s)", epoch, _tx(tx))

    def _reveal(self, epoch, view):
        sk = read_key_file(key_path(self.folder, epoch))
        tx = self._send(epoch, "reveal", self.c.keys.reveal, epoch, sk)
        self._save(epoch, state=REVEALED, reveal_tx=_tx(tx), entropy=_hex(self.c.keys.entropy(epoch)))
        log.info("epoch %d: revealed its key (tx %s)", epoch, _tx(tx))

    def _score(self, epoch, view):
        table = self.score(epoch, view.committed_block)
        path = table_path(self.folder, epoch)
        write_table(path, table)
        winners = sum(r.winner for r in table.rows)
        self._save(epoch, state=SCORED, root=_hex(table.root), total=str(table.total),
                   uri=table_uri(path, self.base_url), miners=len(table.rows), winners=winners)
        log.info("epoch %d: scored %d miners, %d winners, total %d", epoch, len(table.rows), winners, table.total)

    def _post(self, epoch, view):
        table = read_table(table_path(self.folder, epoch))
        emission = int(self.c.distributor.emission())
        params = authenticity.get_scoring_params(self.c.distributor)
        if emission != table.emission or params != table.params:  # the DAO changed them since the table was made
            log.info("epoch %d: emission or scoring parameters changed since scoring, scoring again", epoch)
            self._save(epoch, state=REVEALED, root=None)
            return
        uri = self._record(epoch)["uri"]
        tx = self._send(epoch, "post", self.c.distributor.post, epoch, table.root, table.total, uri)
        self._save(epoch, state=POSTED, post_tx=_tx(tx))
        log.info("epoch %d: posted root %s, total %d (tx %s)", epoch, _hex(table.root), table.total, _tx(tx))

    def _sweep(self, epoch, view):
        tx = self._send(epoch, "sweep", self.c.distributor.sweep, epoch)
        self._save(epoch, state=SWEPT, sweep_tx=_tx(tx))
        log.info("epoch %d: swept to the vault (tx %s)", epoch, _tx(tx))

    # ---------------------------------------------------------- scoring

    def score(self, epoch, committed_block):
        """Index the store past the commit, then compute the epoch's table (no file written)."""
        try:
            indexer.follow(self.c.registry, self.conn)
        except ValueError as e:  # the store indexes another registry
            raise OracleError(f"oracle: epoch {epoch}: {e}") from None
        indexed = int(store.read_meta(self.conn, indexer.KEY_LAST_BLOCK, -1))
        if indexed < committed_block:
            raise OracleError(f"oracle: epoch {epoch}: the store is indexed to block {indexed}, "
                              f"the commit is in block {committed_block}")
        data = read_epoch_data(self.conn, epoch)
        on_chain = get_legal_counts(self.c.registry, data.devices, epoch)
        for device, n, legal in zip(data.devices, data.n, on_chain):
            if legal != int(n):
                raise OracleError(f"oracle: epoch {epoch}: the store has N = {n} for {device}, the registry "
                                  f"{legal}; run `ape run index verify`")
        devices = read_device_info(self.conn)
        missing = [d for d in data.devices if d not in devices]
        if missing:
            fetched = [get_device_info(self.c.sbt, self.c.sbt.token_of_device(d)) for d in missing]
            write_device_info(self.conn, fetched)
            devices.update((i.device, i) for i in fetched)
        if not self.c.keys.revealed(epoch):
            raise OracleError(f"oracle: epoch {epoch} is not revealed")
        return build_table(
            data, devices, int(self.c.keys.secret(epoch)), bytes(self.c.keys.entropy(epoch)),
            int(self.c.keys.epoch_params(epoch)[1]), int(self.c.distributor.emission()),
            (self.chain_id, self.c.keys.address, self.c.distributor.address),
            authenticity.get_scoring_params(self.c.distributor), self.clear_cache, **self.bound_kwargs,
        )

    # ---------------------------------------------------------- all epochs

    def open_epochs(self):
        """Epochs from the first unsettled one to the first whose window is still open."""
        last = get_last_finished_epoch(self.c)
        first = int(self.state["from_epoch"])
        while self.state["epochs"].get(str(first), {}).get("state") in FINAL:
            first += 1
        if first != self.state["from_epoch"]:
            self.state["from_epoch"] = first
            write_state(self.state_file, self.state)
        return list(range(first, max(first + 1, last + 2)))  # the first one even before its window ends

    def advance_all(self):
        """
        Advance every open epoch as far as possible now, oldest first.

        Returns
        -------
        dict
            ``{epoch: Action}`` of the epochs still waiting (DONE ones left out).
        """
        waiting, open_commits = {}, 0
        for epoch in self.open_epochs():
            action = self.advance(epoch, may_commit=open_commits < self.max_open)
            if action.state == COMMITTED:
                open_commits += 1
            if action.kind != DONE:
                waiting[epoch] = action
        return waiting


def _tx(txn_hash):
    if txn_hash is None:
        return None
    return txn_hash if isinstance(txn_hash, str) else _hex(txn_hash)


def run(oracle, once=False, mine=None, sleep=time.sleep, poll=12.0):
    """
    Drive the engine: advance all epochs, wait, repeat.

    Parameters
    ----------
    oracle : Oracle
    once : bool
        Return as soon as every epoch waits for time (an epoch still running, a deadline)
        rather than for blocks.
    mine : callable, optional
        ``mine(n)`` mines ``n`` blocks (local chains); without it, block waits poll.
    sleep : callable
    poll : float [s]
        Longest sleep between rounds.

    Returns
    -------
    dict
        ``{epoch: Action}`` still waiting when ``once`` returns.

    Raises
    ------
    OracleError
        When another engine holds the folder, or an epoch needs the operator.
    """
    with FolderLock(oracle.folder):
        return _run(oracle, once, mine, sleep, poll)


def _run(oracle, once, mine, sleep, poll):
    while True:
        waiting = oracle.advance_all()
        blocks = [a.wait for a in waiting.values() if a.kind == WAIT_BLOCKS]
        if blocks and mine is not None:
            mine(min(blocks))
            continue
        if not blocks and once:
            return waiting
        seconds = [a.wait for a in waiting.values() if a.kind == WAIT_TIME]
        sleep(min([poll] + seconds) if seconds and not blocks else poll)
