"""Authenticity and credited energy of an epoch's miners: what PoGG believes was generated.

All maths, no I/O: numpy arrays in, numpy arrays out, one row per miner. Units: time [s],
power [mW], energy [mWh], capacity [W], specific yield [mWh/W] (= Wh/kWp). The maths, why
each kind of fake fails and what remains trusted: ``docs/authenticity.md``.

- **credited energy**: ``min(E_epoch, margin · clear-sky energy of the declared plane)``,
  the clear sky taken within ``skew_s`` of each slot; 0 at night (``credited_energy``);
- **bound**: every reading under ``margin · clear + floor · capacity`` on a sun-facing
  plane (``bound_ok``);
- over the last ``check_epochs`` epochs, each miner's **clear-sky index** ``k_e = E_e / Ê_e``
  (``clear_energy`` of its declared plane), and its **vouchers**: neighbours of other
  owners, not copies, of record, one per owner, older than it (the oldest: the younger
  ones that passed) (``vouchers``); their **consensus** is the median index of the nearest
  six (``consensus``);
- the checks, each a factor of ``a``: **scale** (energy over what the consensus sky gives
  the declared roof), **weather** (roughness of the log-ratio to the consensus), **shape**
  (correlation with the clear-sky curve), **smooth** (no weather in its own index),
  **copy** (an older neighbour's series up to a scale, ``copies``), **lone** (no voucher).

``authenticate`` runs them all for one epoch.
"""

from typing import NamedTuple

import numpy as np

from greenminer.protocol import EPOCH_SECONDS, MAX_READINGS, SAMPLE_SECONDS
from offchain.scoring import pvbound
from offchain.views import call_view

COPY_CANDIDATES = 4  # older neighbours a series is compared with for copying, the nearest
CONSENSUS_VOUCHERS = 6  # vouchers a consensus takes, the nearest


class ScoringParams(NamedTuple):
    """The parameters of PoGG's scoring, in integers, as the DAO sets them on chain
    (``RewardDistributor.scoring_params``) and each epoch's table publishes them."""

    radius_m: int = 25_000  # [m] neighbours share the weather within a few tens of km
    neighbours: int = 10  # at most this many
    margin_bps: int = 15_000  # [bps] of clear sky: cloud-edge enhancement
    floor_bps: int = 100  # [bps] of capacity: sensor offset
    skew_s: int = 600  # [s] clock tolerance of the bound
    check_epochs: int = 48  # [epochs] span of the scale, weather, shape and copy checks
    yield_tolerance_bps: int = 5_000  # [bps] clear-sky index above the consensus without loss
    yield_limit_bps: int = 15_000  # [bps] ... and from which authenticity is 0
    weather_tolerance_bps: int = 3_500  # [bps] roughness of the log-ratio to the consensus without loss
    weather_limit_bps: int = 8_000  # [bps] ... and from which authenticity is 0
    shape_tolerance_bps: int = 3_000  # [bps] 1 − correlation with the clear-sky curve without loss
    shape_limit_bps: int = 7_000  # [bps] ... and from which authenticity is 0
    smooth_bps: int = 300  # [bps] roughness of its own clear-sky index under which a series has no weather in it
    copy_residual_bps: int = 250  # [bps] RMS log-ratio residual under which a series is a copy
    copy_weather_bps: int = 0  # [bps] weather the older series must show for a copy to be called
    lone_bps: int = 2_500  # [bps] authenticity of a miner no neighbour can vouch for
    reference_kwh: int = 1_000  # [kWh] credited energy of an epoch (at full scores) that earns its whole emission


def _bps(x):
    return x / 10_000.0


# ----------------------------------------------------------------------------
# Clear sky, bound and credited energy
# ----------------------------------------------------------------------------


def tolerant_clear_sky(lat, lon, capacity_w, epoch_start, skew_s, **kwargs):
    """Clear-sky power of the declared capacity through an epoch, the largest within
    ``skew_s`` of each time (a clock a few minutes off is no fraud).

    Evaluated on the epoch's grid of slot boundaries, ``epoch_start + 300 s · j`` from
    ``skew_s`` before the epoch to ``skew_s`` after it, then the largest value over
    ``±skew_s`` around each grid time. A time between two grid times takes the larger of
    their two values (:func:`at_times`): at least the largest clear sky within ``skew_s``
    of it, at most that within ``skew_s + 300 s``.

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
    capacity_w : array_like, shape ``(M,)`` [W]
    epoch_start : float [s]
    skew_s : float [s]
    **kwargs
        Of ``pvbound.clear_sky_power``.

    Returns
    -------
    ndarray of float, shape ``(M, MAX_READINGS + 1)`` [mW]
        At the slot boundaries ``epoch_start + 300 s · j``, ``j = 0 .. MAX_READINGS``.
    """
    h = int(np.ceil(skew_s / SAMPLE_SECONDS))
    grid = epoch_start + SAMPLE_SECONDS * np.arange(-h, MAX_READINGS + 1 + h, dtype=float)
    clear = pvbound.clear_sky_power(lat, lon, capacity_w, grid, **kwargs)
    out = clear[:, h:h + MAX_READINGS + 1].copy()
    for d in range(1, h + 1):
        out = np.fmax(out, np.fmax(clear[:, h - d:h - d + MAX_READINGS + 1], clear[:, h + d:h + d + MAX_READINGS + 1]))
    return out


def at_times(tolerant, ts, epoch_start):
    """Tolerant clear sky at times inside the epoch: the larger value of the two grid
    times around each.

    Parameters
    ----------
    tolerant : ndarray, shape ``(M, MAX_READINGS + 1)`` [mW]
        ``tolerant_clear_sky``.
    ts : ndarray, shape ``(M, S)`` [s]
        NaN for none.
    epoch_start : float [s]

    Returns
    -------
    ndarray, shape ``(M, S)`` [mW]
        NaN where ``ts`` is NaN.
    """
    slot = np.floor((np.nan_to_num(ts, nan=epoch_start) - epoch_start) / SAMPLE_SECONDS)
    g = np.clip(slot, 0, MAX_READINGS - 1).astype(np.int64)
    value = np.fmax(np.take_along_axis(tolerant, g, axis=1), np.take_along_axis(tolerant, g + 1, axis=1))
    return np.where(np.isfinite(ts), value, np.nan)


def credited_energy(energy_mwh, tolerant_mw, margin):
    """Energy of the epoch that PoGG credits: at most ``margin`` × the clear-sky energy.

    Parameters
    ----------
    energy_mwh : array_like of int, shape ``(M,)`` [mWh]
        Booked energy of the epoch (the index's).
    tolerant_mw : ndarray, shape ``(M, MAX_READINGS + 1)`` [mW]
        ``tolerant_clear_sky`` at the slot boundaries; each slot counts the larger of its
        two ends.
    margin : float [1]

    Returns
    -------
    ndarray of int64, shape ``(M,)`` [mWh]
        ``min(E, floor(margin · Σ_slots clear · 300 s / 3600 s/h))``; 0 for negative energy.
    """
    e = np.clip(np.asarray(energy_mwh, dtype=np.int64), 0, None)
    slots = np.fmax(tolerant_mw[:, :-1], tolerant_mw[:, 1:])
    cap = np.floor(margin * np.nansum(slots, axis=1) * (SAMPLE_SECONDS / EPOCH_SECONDS)).astype(np.int64)
    return np.minimum(e, cap)


def clear_energy(lat, lon, capacity_w, tilt, azimuth, epoch_starts, **kwargs):
    """Clear-sky energy of each epoch on the declared plane, from two samples an epoch.

    ``(clear(start + 900 s) + clear(start + 2 700 s)) / 2 × 1 h``: the midpoint rule on two
    half-hours, close enough for comparing neighbours (their errors are alike) and cheap.

    Parameters
    ----------
    lat, lon, capacity_w, tilt, azimuth : array_like, shape ``(M,)``
        [deg], [deg], [W], [deg], [deg].
    epoch_starts : array_like, shape ``(E,)`` [s]
    **kwargs
        Of ``pvbound.clear_sky_power``.

    Returns
    -------
    ndarray of float, shape ``(M, E)`` [mWh]
    """
    starts = np.asarray(epoch_starts, dtype=float)
    times = np.stack([starts + EPOCH_SECONDS / 4, starts + 3 * EPOCH_SECONDS / 4], axis=1).ravel()
    power = pvbound.clear_sky_power(lat, lon, capacity_w, times, tilt=tilt, azimuth=azimuth, **kwargs)
    return power.reshape(power.shape[0], starts.shape[0], 2).mean(axis=2)


class ClearEnergyCache:
    """``clear_energy`` remembered per epoch and miner (its place, capacity and plane), so
    that scoring epoch after epoch computes only the newest epoch's column.

    The values are the function's own: a hit returns what a fresh call would (one cache
    serves one set of ``clear_energy`` keyword arguments). Epochs more than ``keep`` before
    the newest one asked for are forgotten.
    """

    def __init__(self, keep=2 * 168):
        self.keep = keep
        self.known = np.empty(0, dtype=np.uint64)  # sorted keys of the miners seen
        self.epochs = {}  # epoch start [s] -> values [mWh] aligned with ``known`` (NaN: not computed)

    @staticmethod
    def keys(lat, lon, capacity_w, tilt, azimuth):
        """One 64-bit key per miner from its declarations (their float64 bits, mixed)."""
        parts = np.stack([np.asarray(x, dtype=np.float64) for x in (lat, lon, capacity_w, tilt, azimuth)])
        key = np.zeros(parts.shape[1], dtype=np.uint64)
        with np.errstate(over="ignore"):
            for b in parts.view(np.uint64):
                key = (key ^ b) * np.uint64(0x100000001B3) + np.uint64(0x9E3779B97F4A7C15)
        return key

    def _place(self, key):
        """Positions of ``key`` in ``known``, adding the keys not seen yet."""
        pos = np.searchsorted(self.known, key)
        seen = self.known.size and (np.take(self.known, pos, mode="clip") == key).all()
        if pos.size and not seen:
            merged = np.union1d(self.known, key)
            moved = np.searchsorted(merged, self.known)
            for start, values in self.epochs.items():
                grown = np.full(merged.shape[0], np.nan)
                grown[moved] = values
                self.epochs[start] = grown
            self.known = merged
            pos = np.searchsorted(self.known, key)
        return pos

    def get(self, lat, lon, capacity_w, tilt, azimuth, epoch_starts, **kwargs):
        """``clear_energy(...)``, from memory where it can."""
        starts = [float(x) for x in np.asarray(epoch_starts, dtype=float)]
        pos = self._place(self.keys(lat, lon, capacity_w, tilt, azimuth))
        for start in starts:
            self.epochs.setdefault(start, np.full(self.known.shape[0], np.nan))
        out = np.stack([self.epochs[start][pos] for start in starts], axis=1)
        missing = np.isnan(out)
        if missing.any():
            rows, cols = np.flatnonzero(missing.any(axis=1)), np.flatnonzero(missing.any(axis=0))
            fresh = clear_energy(*(np.asarray(x)[rows] for x in (lat, lon, capacity_w, tilt, azimuth)),
                                 [starts[c] for c in cols], **kwargs)
            out[np.ix_(rows, cols)] = fresh
            for n, c in enumerate(cols):
                self.epochs[starts[c]][pos[rows]] = fresh[:, n]
        newest = max(starts, default=0.0)
        for start in [s for s in self.epochs if s < newest - self.keep * EPOCH_SECONDS]:
            del self.epochs[start]
        return out


def bound_ok(power_mw, clear_mw, capacity_w, margin, floor):
    """Whether every reading stays below ``margin · clear + floor · capacity``.

    Parameters
    ----------
    power_mw, clear_mw : ndarray, shape ``(M, S)`` [mW]
        Readings (NaN for none) and tolerant clear sky at their times.
    capacity_w : array_like, shape ``(M,)`` [W]
    margin, floor : float [1]

    Returns
    -------
    ndarray of bool, shape ``(M,)``
    """
    cap_mw = np.asarray(capacity_w, dtype=float)[:, None] * pvbound.MW_PER_W
    bound = margin * np.nan_to_num(clear_mw) + floor * cap_mw
    over = np.asarray(power_mw, dtype=float) > bound
    return ~over.any(axis=1)


# ----------------------------------------------------------------------------
# Neighbours' consensus
# ----------------------------------------------------------------------------


def record(n_per_epoch):
    """Share of the statistics window in which a miner anchored readings.

    Parameters
    ----------
    n_per_epoch : array_like of int, shape ``(M, W)``

    Returns
    -------
    ndarray of float, shape ``(M,)`` [1]
    """
    n = np.asarray(n_per_epoch)
    return (n > 0).mean(axis=1) if n.shape[1] else np.zeros(n.shape[0])


def vouchers(near, owner_codes, rec, copy):
    """Which neighbours vouch for each miner (take part in its consensus).

    A neighbour of another owner, not a copy, whose record is at least half the best
    record among the miner's neighbours (a cluster of fresh tokens cannot outvote
    neighbours of record; in a young network every record is short and all count), and
    for each owner only its nearest token (an owner vouches once).

    Parameters
    ----------
    near : ndarray of int, shape ``(M, k)``
        Neighbour indices, nearest first, -1 for none.
    owner_codes : ndarray of int, shape ``(M,)``
        One code per distinct owner.
    rec : ndarray of float, shape ``(M,)`` [1]
        ``record``.
    copy : ndarray of bool, shape ``(M,)``
        Miners found copying an older one.

    Returns
    -------
    ndarray of bool, shape ``(M, k)``
    """
    has = near >= 0
    j = np.where(has, near, 0)
    own = owner_codes[j]
    ok = has & (own != owner_codes[:, None]) & ~copy[j]
    best = np.where(ok, rec[j], 0.0).max(axis=1, initial=0.0)
    ok &= rec[j] >= 0.5 * best[:, None]
    k = near.shape[1]
    for c in range(1, k):  # a nearer token of the same owner already vouches
        earlier = ok[:, :c] & (own[:, :c] == own[:, c:c + 1])
        ok[:, c] &= ~earlier.any(axis=1)
    return ok


def median_of_columns(values):
    """Median along the first axis of a ``(k, ...)`` array, NaN values left out (NaN if none).

    A sorting network of compare-exchanges on whole columns (``k`` is small): one
    vectorised min and max per comparator instead of a sort per row.
    """
    v = np.where(np.isnan(values), np.asarray(np.inf, dtype=values.dtype), values)  # C order: rows contiguous
    cols = list(v)
    for a, b in _network(len(cols)):
        cols[a], cols[b] = np.minimum(cols[a], cols[b]), np.maximum(cols[a], cols[b])
    n = np.isfinite(v).sum(axis=0, dtype=np.int16)
    lower = np.choose(np.maximum(n - 1, 0) // 2, cols)
    upper = np.choose(np.minimum(n // 2, len(cols) - 1), cols)
    return np.where(n > 0, 0.5 * (lower + np.where(n > 1, upper, lower)), np.nan)


def _network(n):
    """Comparators ``(a, b)``, ``a < b``, of Batcher's merge-exchange sorting network for
    ``n`` inputs (Knuth, TAOCP 5.2.2, algorithm M)."""
    out, t = [], max(1, (n - 1).bit_length())
    p = 1 << (t - 1)
    while p > 0:
        q, r, d = 1 << (t - 1), 0, p
        while d > 0:
            out += [(i, i + d) for i in range(n - d) if i & p == r]
            d, q, r = q - p, q >> 1, p
        p >>= 1
    return out


def consensus(y, counted, near, vouch, need):
    """Each miner's neighbours' consensus, in the epochs where it is needed.

    Parameters
    ----------
    y : ndarray, shape ``(M, E)``
        A per-epoch value of each miner (its clear-sky index).
    counted : ndarray of bool, shape ``(M, E)``
        Whether the miner's epoch counts for a consensus (all its readings anchored: an
        hour half measured holds half the energy).
    near : ndarray of int, shape ``(M, k)``
    vouch : ndarray of bool, shape ``(M, k)``
        ``vouchers``.
    need : ndarray of bool, shape ``(R, E)``
        The epochs of the miners asked about (``R = M``, or the miners ``rows`` picks)
        where a consensus is wanted (the miner's own sunny epochs): only those are computed.

    Returns
    -------
    ndarray of float, shape ``(R, E)``
        Median over the nearest ``CONSENSUS_VOUCHERS`` vouching neighbours whose epoch
        counts; NaN where none does or where not needed.
    """
    m, n_epochs = y.shape
    # the values flat, then one row of NaN that stands for "no voucher"
    values = np.concatenate([np.where(counted, y, np.nan).ravel(), np.full(n_epochs, np.nan, dtype=y.dtype)])
    # the nearest CONSENSUS_VOUCHERS of the vouchers (neighbours come nearest first)
    first = np.argsort(~vouch, axis=1, kind="stable")[:, :CONSENSUS_VOUCHERS]
    near, vouch = np.take_along_axis(near, first, axis=1), np.take_along_axis(vouch, first, axis=1)
    row_start = np.where(vouch & (near >= 0), near * n_epochs, m * n_epochs)  # (R, k)
    i, e = np.nonzero(need)
    picked = values.take(np.ascontiguousarray(row_start.T)[:, i] + e)  # (k, P), each voucher a contiguous row
    out = np.full(need.shape, np.nan, dtype=values.dtype)
    out[i, e] = median_of_columns(picked)
    return out


# ----------------------------------------------------------------------------
# Checks against the consensus
# ----------------------------------------------------------------------------


def ramp(x, tolerance, limit):
    """1 up to ``tolerance``, 0 from ``limit``, linear between (NaN counts as 1)."""
    x = np.nan_to_num(np.asarray(x, dtype=float), nan=0.0)
    return np.clip((limit - x) / (limit - tolerance), 0.0, 1.0)


def lit_epochs(series, active):
    """Epochs in which a series saw the sun: above 2 % of its largest value of the span."""
    top = np.max(np.where(active & np.isfinite(series), series, 0.0), axis=1, initial=0.0)
    return active & np.isfinite(series) & (series > 0.02 * top[:, None]) & (top[:, None] > 0)


def yield_ratio(y, yhat, mask):
    """``r = Σ y / Σ ŷ`` over the masked epochs; NaN without any."""
    num = np.where(mask, y, 0.0).sum(axis=1)
    den = np.where(mask, yhat, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def roughness(log_series, weight):
    """How far a log-series departs from a smooth curve, hour by hour.

    The weighted RMS of its second differences over runs of three consecutive counted
    epochs, divided by √6 (white noise of RMS σ gives σ): a clear day's arc, or the
    smooth ratio of two orientations, has next to none; clouds one of two neighbours does
    not share, or a day replayed on another, give plenty.

    Parameters
    ----------
    log_series : ndarray, shape ``(M, E)`` [1]
        NaN where not defined.
    weight : ndarray, shape ``(M, E)`` [any]
        0 where not counted; a second difference weighs its middle epoch's weight.

    Returns
    -------
    ndarray of float, shape ``(M,)`` [1]
        NaN for a miner without one run of three counted epochs.
    """
    x = np.nan_to_num(log_series)
    w = np.where(np.isfinite(log_series), weight, 0.0)
    d2 = x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2]
    w2 = np.where((w[:, 2:] > 0) & (w[:, :-2] > 0), w[:, 1:-1], 0.0)
    total = w2.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, np.sqrt((w2 * d2 * d2).sum(axis=1) / total / 6.0), np.nan)


def copies(y, active, near, token_id, owner_codes, residual, weathered):
    """Miners whose series is, up to a constant scale, an older neighbour's.

    Over the epochs both were active and the older one saw the sun, the log-ratio of the
    two series minus its weighted mean has an RMS under ``residual``, while the older
    one's own series has weather in it (``weathered``: on a clear day honest neighbours of
    one orientation are alike too). Only pairs of different owners count, and of each miner
    its ``COPY_CANDIDATES`` nearest older neighbours.

    Parameters
    ----------
    y : ndarray, shape ``(M, E)`` [mWh/W]
    active : ndarray of bool, shape ``(M, E)``
    near : ndarray of int, shape ``(M, k)``
    token_id : ndarray of int, shape ``(M,)``
    owner_codes : ndarray of int, shape ``(M,)``
    residual : float [1]
    weathered : ndarray of bool, shape ``(M,)``

    Returns
    -------
    ndarray of bool, shape ``(M,)``
    """
    j = np.where(near >= 0, near, 0)
    candidate = (near >= 0) & (token_id[j] < token_id[:, None]) & (owner_codes[j] != owner_codes[:, None])
    candidate &= weathered[j]
    if not candidate.any():
        return np.zeros(near.shape[0], dtype=bool)
    rows = np.flatnonzero(candidate.any(axis=1))  # only miners with an older weathered neighbour
    # the nearest COPY_CANDIDATES of them (neighbours come nearest first)
    first = np.argsort(~candidate[rows], axis=1, kind="stable")[:, :COPY_CANDIDATES]
    candidate = np.take_along_axis(candidate[rows], first, axis=1)
    jr = np.take_along_axis(j[rows], first, axis=1)
    lit = lit_epochs(y, active)
    yf = y.astype(np.float32)
    top = np.max(np.where(active, yf, 0), axis=1, initial=0.0)
    logs = np.log(yf + (0.02 * top + 1e-9)[:, None])  # (M, E): a rescaled copy differs by a constant
    both = lit[rows][:, None, :] & lit[jr]  # (R, k, E)
    lr = logs[rows][:, None, :] - logs[jr]
    w = np.where(both, yf[jr], 0)
    wl = w * lr
    s0, s1, s2 = w.sum(axis=2), wl.sum(axis=2), (wl * lr).sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(np.clip(s2 / s0 - (s1 / s0) ** 2, 0, None))
    found = (candidate & (both.sum(axis=2) >= 4) & (rms < residual)).any(axis=1)
    out = np.zeros(near.shape[0], dtype=bool)
    out[rows] = found
    return out


def follows_the_sun(y, expected, active):
    """Correlation of a miner's hourly yield with its clear-sky energy over the span.

    Clouds lower an honest curve but it still rises and sets with the sun; flat output, or
    output at night, does not. Over the epochs the miner was active; 0 for a constant
    series, NaN without two epochs.

    Parameters
    ----------
    y : ndarray, shape ``(M, E)`` [mWh/W]
    expected : ndarray, shape ``(M, E)`` [mWh]
        Clear-sky energy on the declared plane (``clear_energy``).
    active : ndarray of bool, shape ``(M, E)``

    Returns
    -------
    ndarray of float, shape ``(M,)`` [1]
    """
    w = active.astype(np.float32)
    n = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (w * y).sum(axis=1) / n
        me = (w * expected).sum(axis=1) / n
        dx = (y - mx[:, None]) * w
        de = (expected - me[:, None]) * w
        corr = (dx * de).sum(axis=1) / np.sqrt((dx * dx).sum(axis=1) * (de * de).sum(axis=1))
    # a constant series does not follow the sun: no correlation, not an unknown one
    return np.where(n >= 2, np.nan_to_num(corr, nan=0.0), np.nan)


class Against(NamedTuple):
    """A miner checked against its vouchers' consensus."""

    ratio: np.ndarray  # (M,) [1] energy over what the consensus clear-sky index gives, NaN if none
    residual: np.ndarray  # (M,) [1] roughness of the log-ratio to the consensus, NaN if none
    lone: np.ndarray  # (M,) bool, no voucher shared a sunny epoch with it
    scale: np.ndarray  # (M,) [1]
    weather: np.ndarray  # (M,) [1]


def _against(kt, expected, active, counted, near, vouch, p, rows=None):
    """Consensus of the vouchers' clear-sky index, and the scale and weather checks, for every
    miner or only ``rows``."""
    own_kt, own_expected, own_active = (x if rows is None else x[rows] for x in (kt, expected, active))
    sub_near, sub_vouch = (near, vouch) if rows is None else (near[rows], vouch[rows])
    kt_hat = consensus(kt, counted, sub_near, sub_vouch, own_active & np.isfinite(own_kt))
    kt, expected, active = own_kt, own_expected, own_active
    # epochs in which the neighbours saw at least a tenth of clear sky (not under snow, not
    # in a storm: there one honest roof may make many times another)
    lit = active & np.isfinite(kt) & np.isfinite(kt_hat) & (kt_hat > 0.1)
    energy = np.where(lit, kt * expected, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = energy.sum(axis=1) / np.where(lit, kt_hat * expected, 0.0).sum(axis=1)
        log_ratio = np.log((np.clip(np.nan_to_num(kt), 0, None) + 0.02) / (np.nan_to_num(kt_hat) + 0.02))
    residual = roughness(np.where(lit, log_ratio, np.nan), np.where(lit, expected, 0.0))
    # lone: no voucher shared a sunny epoch with it; a consensus that saw only dim hours
    # (snow, storm) gives no evidence either way, and no penalty
    lone = ~(active & np.isfinite(kt) & np.isfinite(kt_hat)).any(axis=1)
    ratio = np.where(lit.any(axis=1), ratio, np.nan)
    scale = np.where(lone, 1.0, ramp(ratio - 1.0, _bps(p.yield_tolerance_bps), _bps(p.yield_limit_bps)))
    weather = np.where(lone, 1.0, ramp(residual, _bps(p.weather_tolerance_bps), _bps(p.weather_limit_bps)))
    return Against(ratio, residual, lone, scale, weather)


# ----------------------------------------------------------------------------
# One epoch
# ----------------------------------------------------------------------------


class Authenticity(NamedTuple):
    """What ``authenticate`` finds, one row per miner."""

    credited_mwh: np.ndarray  # (M,) int64 [mWh] energy of the epoch PoGG credits
    a: np.ndarray  # (M,) [1] product of the factors below
    bound: np.ndarray  # (M,) bool, every reading under the physical bound
    scale: np.ndarray  # (M,) [1]
    weather: np.ndarray  # (M,) [1]
    shape: np.ndarray  # (M,) [1]
    smooth: np.ndarray  # (M,) bool, no weather in its own series: drawn, not measured
    copy: np.ndarray  # (M,) bool, copies an older neighbour
    lone: np.ndarray  # (M,) bool, no neighbour vouches for it
    ratio: np.ndarray  # (M,) [1] specific yield / consensus over the check span, NaN if none
    residual: np.ndarray  # (M,) [1] weather RMS, NaN if none
    neighbours: np.ndarray  # (M, k) int, -1 for none


def authenticate(inputs, params=ScoringParams(), near=None, cache=None, **bound_kwargs):
    """Credited energy and authenticity of an epoch's miners (module docstring).

    Parameters
    ----------
    inputs : pogg.EpochInputs
    params : ScoringParams
    near : ndarray of int, shape ``(M, k)``, optional
        Neighbours (``pogg.neighbours``), found here when not given.
    cache : ClearEnergyCache, optional
        Where the clear-sky energies of earlier epochs are kept (the oracle's, from one epoch
        to the next); without one they are computed.
    **bound_kwargs
        Of ``pvbound.clear_sky_power`` (``grid_s``, ...).

    Returns
    -------
    Authenticity
    """
    from offchain.scoring.pogg import neighbours as find_neighbours

    p = params
    margin, floor = _bps(p.margin_bps), _bps(p.floor_bps)
    lat = np.asarray(inputs.lat, dtype=float)
    lon = np.asarray(inputs.lon, dtype=float)
    cap = np.asarray(inputs.capacity_w, dtype=float)
    power = np.asarray(inputs.power_mw, dtype=float)
    ts = np.where(np.isfinite(power), np.asarray(inputs.ts, dtype=float), np.nan)
    energy = np.asarray(inputs.energy_mwh, dtype=np.int64)
    n_per_epoch = np.asarray(inputs.n_per_epoch)
    epoch_start = float(np.nanmin(ts)) // EPOCH_SECONDS * EPOCH_SECONDS if np.isfinite(ts).any() else 0.0

    tilt = np.asarray(inputs.tilt, dtype=float)
    azimuth = np.asarray(inputs.azimuth, dtype=float)

    # physical bound (a sun-facing plane: whatever the panels' real orientation) and
    # credited energy (the declared plane), each on the epoch's grid of slot boundaries
    facing = tolerant_clear_sky(lat, lon, cap, epoch_start, p.skew_s, **bound_kwargs)
    inside = bound_ok(power, at_times(facing, ts, epoch_start), cap, margin, floor)
    declared = tolerant_clear_sky(lat, lon, cap, epoch_start, p.skew_s, tilt=tilt, azimuth=azimuth, **bound_kwargs)
    credited = credited_energy(energy[:, -1], declared, margin)

    # the check span: clear-sky index of each epoch on the declared plane
    span = min(int(p.check_epochs), energy.shape[1])
    starts = epoch_start + EPOCH_SECONDS * np.arange(1 - span, 1)
    energy_of = clear_energy if cache is None else cache.get
    expected = energy_of(lat, lon, cap, tilt, azimuth, starts, **bound_kwargs).astype(np.float32)
    sunny = expected > 0.02 * expected.max(axis=1, initial=0.0)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        kt = np.where(sunny, energy[:, -span:] / np.where(sunny, expected, 1.0), np.nan).astype(np.float32)
    y = (energy[:, -span:] / np.maximum(cap, 1e-9)[:, None]).astype(np.float32)
    active = n_per_epoch[:, -span:] > 0
    complete = n_per_epoch[:, -span:] >= MAX_READINGS
    if near is None:
        near = find_neighbours(lat, lon, p.radius_m / 1_000.0, int(p.neighbours))
    codes = {}
    owner_codes = np.fromiter((codes.setdefault(o, len(codes)) for o in inputs.owner), dtype=np.int64,
                              count=len(inputs.owner))
    token_id = np.asarray(inputs.token_id, dtype=np.int64)

    own_lit = lit_epochs(y, active)
    with np.errstate(divide="ignore"):
        weathered = roughness(np.where(own_lit, np.log(np.where(own_lit, y, 1.0)), np.nan),
                              np.where(own_lit, y, 0.0)) >= _bps(p.copy_weather_bps)
    copy = copies(y, active, near, token_id, owner_codes, _bps(p.copy_residual_bps), weathered)
    eligible = vouchers(near, owner_codes, record(n_per_epoch), copy)
    j = np.where(near >= 0, near, 0)

    # trust flows from older tokens to younger: each miner is checked against the neighbours
    # admitted before it; one with none to be checked against (the oldest around) is then
    # checked against the younger ones that passed
    counted = complete & sunny
    older = eligible & (token_id[j] < token_id[:, None])
    first = _against(kt, expected, active, counted, near, older, p)
    passed = (first.scale * first.weather >= 0.5) | first.lone
    oldest = np.flatnonzero(first.lone)
    if oldest.size:
        second = _against(kt, expected, active, counted, near, eligible & passed[j], p, rows=oldest)
        fields = [f.copy() for f in first]
        for f, g in zip(fields, second):
            f[oldest] = g
        first = Against(*fields)
    ratio, residual, lone, scale, weather = first
    shape = ramp(1.0 - follows_the_sun(y, expected, active), _bps(p.shape_tolerance_bps), _bps(p.shape_limit_bps))
    # a curve with no weather in it: drawn, not measured (honest clear-sky indices vary by
    # several % hour to hour with temperature, haze and the sensor; a clear-sky model does not)
    own = active & sunny & np.isfinite(kt) & (kt > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        drawn = roughness(np.where(own, np.log(np.where(own, kt, 1.0)), np.nan), np.where(own, expected, 0.0))
    smooth = drawn < _bps(p.smooth_bps)
    a = inside * scale * weather * shape * ~smooth * ~copy * np.where(lone, _bps(p.lone_bps), 1.0)
    return Authenticity(credited, a, inside, scale, weather, shape, smooth, copy, lone, ratio, residual, near)


# ----------------------------------------------------------------------------
# The parameters on chain
# ----------------------------------------------------------------------------


def params_hash(params):
    """The hash a post commits to: ``RewardDistributor.scoring_params_hash``'s twin.

    Parameters
    ----------
    params : ScoringParams
        Or anything with its fields as attributes (an ape struct).

    Returns
    -------
    bytes
        ``keccak256`` of the fields ABI-encoded as ``uint32``, in their order (one
        32-byte word each), 32 bytes.
    """
    from eth_abi import encode as abi_encode
    from eth_utils import keccak

    values = [int(getattr(params, f)) for f in ScoringParams._fields]
    return keccak(abi_encode(["uint32"] * len(values), values))


def get_scoring_params(distributor):
    """The scoring parameters in force on chain (``RewardDistributor.scoring_params``).

    Parameters
    ----------
    distributor : ape contract instance of ``RewardDistributor``

    Returns
    -------
    ScoringParams
    """
    p = call_view(distributor, "scoring_params")
    return ScoringParams(*(int(getattr(p, f)) for f in ScoringParams._fields))
