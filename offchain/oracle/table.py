"""An epoch's table: its scoring inputs, building it (pure), its JSON, its file and its URI."""

import json
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np
from eth_utils import to_checksum_address

from offchain.oracle.errors import OracleError
from offchain.oracle.settlement import lottery, settle
from offchain.oracle.state import write_json_atomic
from offchain.scoring import authenticity, pogg

MAX_URI = 256  # [characters] RewardDistributor's String[256]
TABLE_FORMAT = "green-energy-miners/epoch-table/2"


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
            "shape": float(auth.shape[i]), "smooth": bool(auth.smooth[i]), "copy": bool(auth.copy[i]),
            "lone": bool(auth.lone[i]), "ratio": _finite(auth.ratio[i]), "residual": _finite(auth.residual[i])}


def to_hex(b):
    """``0x`` + the bytes in hex."""
    return "0x" + bytes(b).hex()


def to_hex32(x):
    """``0x`` + 64 hex digits of an integer."""
    return f"0x{int(x):064x}"


def table_json(table):
    """The table as the JSON object published (see the module's docstring)."""
    return {
        "format": TABLE_FORMAT,
        "epoch": table.epoch,
        "chain_id": table.chain_id,
        "epoch_keys": table.epoch_keys,
        "distributor": table.distributor,
        "sk": to_hex32(table.sk),
        "entropy": to_hex(table.entropy),
        "k": table.k,
        "window": table.window,
        "emission": str(table.emission),
        "params": table.params._asdict(),
        "params_hash": to_hex(authenticity.params_hash(table.params)),
        "root": to_hex(table.root),
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
                "point": [to_hex32(r.point[0]), to_hex32(r.point[1])],
                "seed": r.seed,
                "winner": r.winner,
                "amount": str(r.amount),
                "leaf": None if r.leaf is None else to_hex(r.leaf),
                "proof": [to_hex(p) for p in r.proof],
            }
            for r in table.rows
        ],
    }


def parse_bytes32(text, what):
    """32 bytes from ``0x`` + 64 hex digits; ``ValueError`` naming ``what`` otherwise."""
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
                int(m["amount"]), None if m["leaf"] is None else parse_bytes32(m["leaf"], "leaf"),
                [parse_bytes32(p, "proof") for p in m["proof"]],
            )
            for m in obj["miners"]
        ]
        return Table(
            int(obj["epoch"]), int(obj["chain_id"]), str(obj["epoch_keys"]), str(obj["distributor"]),
            int(obj["sk"], 16), parse_bytes32(obj["entropy"], "entropy"), int(obj["k"]), int(obj["window"]),
            int(obj["emission"]), authenticity.ScoringParams(**{f: int(obj["params"][f])
                                                                 for f in authenticity.ScoringParams._fields}),
            parse_bytes32(obj["root"], "root"), int(obj["total"]), rows,
        )
    except (KeyError, TypeError, IndexError, AttributeError) as e:
        raise ValueError(f"malformed table ({type(e).__name__}: {e})") from None


def _read_published(path, what, parse):
    """``parse`` of the JSON object in a file; a one-line ``OracleError`` when it is missing or malformed."""
    try:
        return parse(json.loads(Path(path).read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise OracleError(f"oracle: no {what} at {path}") from None
    except ValueError as e:
        raise OracleError(f"oracle: {path}: {e}") from None


def read_table(path):
    """
    The table in a file.

    Raises
    ------
    OracleError
        If it is missing or not a valid table.
    """
    return _read_published(path, "table", _parse_table)


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


def fetch_published(uri, what, parse, timeout=30):
    """``parse`` of the JSON object a posted URI points to (``file://`` or ``http(s)://``); a one-line
    ``OracleError`` naming the file (or URL) otherwise. ``what`` names it in the errors ("table")."""
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme == "file":
        return _read_published(urllib.request.url2pathname(parsed.path), what, parse)
    if parsed.scheme not in ("http", "https"):
        raise OracleError(f"oracle: cannot fetch {uri!r}; give the {what} file")
    try:
        with urllib.request.urlopen(uri, timeout=timeout) as answer:
            return parse(json.loads(answer.read().decode("utf-8")))
    except (OSError, ValueError) as e:
        raise OracleError(f"oracle: {uri}: {e}") from None


def get_table(uri, timeout=30):
    """The table a posted URI points to: ``file://`` or ``http(s)://``."""
    return fetch_published(uri, "table", _parse_table, timeout)
