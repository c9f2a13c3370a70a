"""Authenticity and credited energy of an epoch's miners: what PoGG believes was generated.

All maths, no I/O: numpy arrays in, numpy arrays out, one row per miner. Units: time [s],
power [mW], energy [mWh], capacity [W], specific yield [mWh/W] (= Wh/kWp).

What a miner is paid for is its **credited energy** of the epoch, times its authenticity
``a`` and its quantity ``q`` (``pogg``): linear in energy, so splitting one installation
over several tokens earns nothing more (a concave volume such as ∛E paid five tokens of a
fifth each 5^(2/3) ≈ 2.9 times the whole).

Credited energy::

    E_credit = min(E_epoch, margin · Σ_slots clear(slot) · 300 s / 3600 s/h)

``clear`` is the clear-sky power of the declared capacity on a sun-facing plane
(``pvbound``), taken at each 5-minute slot of the epoch as the largest value within
``skew_s`` of it (a clock a few minutes off is no fraud). At night it is 0: energy
reported while the sun is down, however small, is credited nothing, and an epoch with no
sun pays its emission to the vault.

Authenticity ``a ∈ [0, 1]`` is the product of:

- **bound**: 0 if a reading exceeds ``margin · clear + floor · capacity`` (``clear`` within
  ``skew_s`` as above, so an honest offset or clock skew at dawn and dusk passes);
- **scale**: the miner's specific yield over the last ``check_epochs`` epochs against its
  neighbours' consensus, ``r = Σ y_i / Σ ŷ_i``. Orientation, shading and efficiency move
  honest ratios by about ±10 % over a day; inflation moves them by the factor. 1 up to
  ``1 + yield_tolerance``, 0 from ``1 + yield_limit``, linear between;
- **weather**: the log-ratio of the miner's hourly specific yield to the consensus,
  ``ℓ_e = ln((y_e + ε) / (ŷ_e + ε))`` over the daylight epochs, minus a quadratic in time
  (the smooth share of orientation); the energy-weighted RMS of what is left is the
  weather the miner does not share with its neighbours (a clear-sky curve under clouds,
  a replayed day, flat output). 1 up to ``weather_tolerance``, 0 from ``weather_limit``;
- **copy**: 0 if the miner's hourly series over the check window is, up to a constant
  scale, the same as an older (smaller token id) neighbour's of another owner within
  ``copy_residual`` while the neighbours saw weather (on a clear day honest neighbours of
  one orientation are alike too, so nothing is called a copy then);
- **lone**: ``lone_factor`` when no neighbour can vouch for the miner: nothing but the
  physical bound checks what it says.

The consensus ``ŷ_i,e`` is the weighted median of the neighbours' specific yields in each
epoch, over the neighbours active in it. A neighbour's weight is its record (the share of
the statistics window in which it anchored readings: a fresh token weighs little), shared
by the neighbours of one owner (an owner vouches once), and 0 for the miner's own owner's
tokens and for copies. So a cluster of fresh tokens cannot outvote the neighbours of record.
"""

from typing import NamedTuple

import numpy as np

from offchain import pvbound

SLOT_S = 300  # [s] one reading slot
SLOTS = 12  # slots per epoch
EPOCH_S = 3_600  # [s]


class ScoringParams(NamedTuple):
    """The parameters of PoGG's scoring, in integers, as the DAO sets them on chain
    (``RewardDistributor.scoring_params``) and each epoch's table publishes them."""

    radius_m: int = 25_000  # [m] neighbours share the weather within a few tens of km
    neighbours: int = 6  # at most this many
    margin_bps: int = 15_000  # [bps] of clear sky: cloud-edge enhancement
    floor_bps: int = 100  # [bps] of capacity: sensor offset
    skew_s: int = 600  # [s] clock tolerance of the bound
    check_epochs: int = 24  # [epochs] span of the scale, weather and copy checks
    yield_tolerance_bps: int = 1_500  # [bps] specific yield above the consensus without loss
    yield_limit_bps: int = 5_000  # [bps] ... and from which authenticity is 0
    weather_tolerance_bps: int = 2_000  # [bps] RMS of the detrended log-ratio without loss
    weather_limit_bps: int = 6_000  # [bps] ... and from which authenticity is 0
    copy_residual_bps: int = 100  # [bps] RMS log-ratio residual under which a series is a copy
    copy_weather_bps: int = 500  # [bps] weather the older series must show for a copy to be called
    lone_bps: int = 2_500  # [bps] authenticity of a miner no neighbour can vouch for


def _bps(x):
    return x / 10_000.0


# ----------------------------------------------------------------------------
# Clear sky, bound and credited energy
# ----------------------------------------------------------------------------


def slot_times(epoch_start, slots=SLOTS, slot_s=SLOT_S):
    """Middle of each reading slot of an epoch.

    Parameters
    ----------
    epoch_start : float [s]

    Returns
    -------
    ndarray of float, shape ``(slots,)`` [s]
    """
    return epoch_start + (np.arange(slots) + 0.5) * slot_s


def tolerant_clear_sky(lat, lon, capacity_w, ts, skew_s, **kwargs):
    """Clear-sky power of the declared capacity, the largest within ``skew_s`` of each time.

    Clear sky rises to noon and falls after it, so its largest value over
    ``[t − skew, t + skew]`` is at one end or, when noon is inside, at ``t`` itself
    (within the interval's curvature, a fraction of a watt per kW at noon).

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
    capacity_w : array_like, shape ``(M,)`` [W]
    ts : array_like, shape ``(M, S)`` or ``(S,)`` [s]
        NaN for a missing time.
    skew_s : float [s]
    **kwargs
        Of ``pvbound.clear_sky_power``.

    Returns
    -------
    ndarray of float, shape ``(M, S)`` [mW]
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    ts = np.asarray(ts, dtype=float)
    if ts.ndim == 1:
        ts = np.broadcast_to(ts, (lat.shape[0], ts.shape[0]))
    s = ts.shape[1]
    stacked = np.concatenate([ts - skew_s, ts, ts + skew_s], axis=1)
    clear = pvbound.clear_sky_power(lat, lon, capacity_w, stacked, **kwargs)
    return np.fmax(np.fmax(clear[:, :s], clear[:, s:2 * s]), clear[:, 2 * s:])


def credited_energy(energy_mwh, clear_slots_mw, margin):
    """Energy of the epoch that PoGG credits: at most ``margin`` × the clear-sky energy.

    Parameters
    ----------
    energy_mwh : array_like of int, shape ``(M,)`` [mWh]
        Booked energy of the epoch (the index's).
    clear_slots_mw : ndarray, shape ``(M, slots)`` [mW]
        Tolerant clear-sky power at the middle of each slot (``tolerant_clear_sky``).
    margin : float [1]

    Returns
    -------
    ndarray of int64, shape ``(M,)`` [mWh]
        ``min(E, floor(margin · Σ clear · slot / 3600))``; 0 for negative energy.
    """
    e = np.clip(np.asarray(energy_mwh, dtype=np.int64), 0, None)
    slot_h = SLOT_S / EPOCH_S
    cap = np.floor(margin * np.nansum(clear_slots_mw, axis=1) * slot_h).astype(np.int64)
    return np.minimum(e, cap)


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


def neighbour_weights(near, owner_codes, rec, copy):
    """Weight of each neighbour in a miner's consensus.

    Parameters
    ----------
    near : ndarray of int, shape ``(M, k)``
        Neighbour indices, -1 for none.
    owner_codes : ndarray of int, shape ``(M,)``
        One code per distinct owner.
    rec : ndarray of float, shape ``(M,)`` [1]
        ``record``.
    copy : ndarray of bool, shape ``(M,)``
        Miners found copying an older one.

    Returns
    -------
    ndarray of float, shape ``(M, k)`` [1]
        ``record_j``, divided among the neighbours of one owner; 0 for none, for the
        miner's own owner, for a copy.
    """
    has = near >= 0
    j = np.where(has, near, 0)
    own = owner_codes[j]
    w = np.where(has & (own != owner_codes[:, None]) & ~copy[j], rec[j], 0.0)
    # an owner vouches once: its neighbours share one weight
    same = (own[:, :, None] == own[:, None, :]) & has[:, :, None] & has[:, None, :]
    count = np.maximum(same.sum(axis=2), 1)
    return w / count


def weighted_median(values, weights):
    """Weighted median along the last axis of ``(..., k)`` arrays; NaN where no weight.

    The middle of the lower weighted median (the smallest value whose cumulative weight
    reaches half the total) and the upper one (the smallest whose cumulative weight
    exceeds it): the plain median for equal weights. NaN values and zero weights are
    left out.
    """
    v = np.asarray(values, dtype=float)
    w = np.where(np.isfinite(v), np.asarray(weights, dtype=float), 0.0)
    v = np.where(w > 0, v, np.inf)
    order = np.argsort(v, axis=-1)
    vs = np.take_along_axis(v, order, axis=-1)
    ws = np.take_along_axis(w, order, axis=-1)
    cum = np.cumsum(ws, axis=-1)
    total = cum[..., -1:]
    half = 0.5 * total
    lower = np.take_along_axis(vs, np.argmax(cum >= half, axis=-1)[..., None], axis=-1)[..., 0]
    above = cum > half * (1 + 1e-12)
    upper = np.take_along_axis(vs, np.argmax(above, axis=-1)[..., None], axis=-1)[..., 0]
    with np.errstate(invalid="ignore"):
        out = 0.5 * (lower + np.where(above.any(axis=-1), upper, lower))
    return np.where(total[..., 0] > 0, out, np.nan)


def consensus(y, active, near, weights):
    """Each miner's neighbours' consensus specific yield per epoch.

    Parameters
    ----------
    y : ndarray, shape ``(M, E)`` [mWh/W]
        Specific yield per epoch.
    active : ndarray of bool, shape ``(M, E)``
        Whether the miner's epoch counts for a consensus (all its readings anchored:
        an hour half measured holds half the energy).
    near : ndarray of int, shape ``(M, k)``
    weights : ndarray, shape ``(M, k)``

    Returns
    -------
    ndarray of float, shape ``(M, E)`` [mWh/W]
        Weighted median over the neighbours whose epoch counts; NaN where none does.
    """
    j = np.where(near >= 0, near, 0)
    yj = y[j]  # (M, k, E)
    wj = np.where(active[j], weights[:, :, None], 0.0)
    return weighted_median(np.moveaxis(yj, 1, -1), np.moveaxis(wj, 1, -1))


# ----------------------------------------------------------------------------
# Checks against the consensus
# ----------------------------------------------------------------------------


def ramp(x, tolerance, limit):
    """1 up to ``tolerance``, 0 from ``limit``, linear between (NaN counts as 1)."""
    x = np.nan_to_num(np.asarray(x, dtype=float), nan=0.0)
    return np.clip((limit - x) / (limit - tolerance), 0.0, 1.0)


def daylight(yhat):
    """Epochs in which the consensus saw the sun: above 2 % of its largest value of the span."""
    top = np.nanmax(np.where(np.isfinite(yhat), yhat, -np.inf), axis=1, initial=0.0)
    return np.isfinite(yhat) & (yhat > 0.02 * top[:, None]) & (top[:, None] > 0)


def yield_ratio(y, yhat, mask):
    """``r = Σ y / Σ ŷ`` over the masked epochs; NaN without any."""
    num = np.where(mask, y, 0.0).sum(axis=1)
    den = np.where(mask, yhat, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def detrended_rms(log_ratio, weight):
    """Weighted RMS of a log-ratio after removing a weighted quadratic in time.

    Parameters
    ----------
    log_ratio : ndarray, shape ``(M, E)`` [1]
        NaN where not defined.
    weight : ndarray, shape ``(M, E)`` [any]
        0 where not counted.

    Returns
    -------
    ndarray of float, shape ``(M,)`` [1]
        NaN for a miner with fewer than four counted epochs.
    """
    w = np.where(np.isfinite(log_ratio), weight, 0.0)
    x = np.nan_to_num(log_ratio)
    m, e = x.shape
    t = (np.arange(e) - (e - 1) / 2.0) / max(e, 1)
    basis = np.stack([np.ones(e), t, t * t])  # (3, E)
    gram = np.einsum("me,ae,be->mab", w, basis, basis)
    rhs = np.einsum("me,ae,me->ma", w, basis, x)
    enough = (w > 0).sum(axis=1) >= 4
    gram[~enough] = np.eye(3)
    coef = np.linalg.solve(gram + 1e-12 * np.eye(3), rhs[..., None])[..., 0]
    resid = x - coef @ basis
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rms = np.sqrt(np.einsum("me,me->m", w, resid * resid) / total)
    return np.where(enough, rms, np.nan)


def log_ratio(y, yhat, scale):
    """``ln((y + ε) / (ŷ + ε))`` with ``ε = 2 %`` of each row's ``scale``."""
    eps = 0.02 * scale[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log((np.clip(y, 0, None) + eps) / (np.clip(yhat, 0, None) + eps))


def copies(y, active, near, token_id, owner_codes, residual, weathered):
    """Miners whose series is, up to a constant scale, an older neighbour's.

    Over the epochs both were active and the older one saw the sun, the log-ratio of the
    two series minus its weighted mean has an RMS under ``residual``, while the older
    one's own series has weather in it (``weathered``: on a clear day honest neighbours of
    one orientation are alike too). Only pairs of different owners count.

    Parameters
    ----------
    y : ndarray, shape ``(M, E)`` [mWh/W]
    active : ndarray of bool, shape ``(M, E)``
    near : ndarray of int, shape ``(M, k)``
    token_id : ndarray of int, shape ``(M,)``
    owner_codes : ndarray of int, shape ``(M,)``
    residual : float [1]
    weathered : ndarray of bool, shape ``(M,)``
        Whether each miner's series shows weather (``weather_of`` at least a threshold).

    Returns
    -------
    ndarray of bool, shape ``(M,)``
    """
    m, k = near.shape
    j = np.where(near >= 0, near, 0)
    older = (near >= 0) & (token_id[j] < token_id[:, None]) & (owner_codes[j] != owner_codes[:, None])
    yj = y[j]  # (M, k, E)
    top = np.nanmax(np.where(active, y, 0.0), axis=1, initial=0.0)
    lit = active[:, None, :] & active[j] & (yj > 0.02 * top[j][:, :, None]) & (y[:, None, :] > 0)
    eps = 0.02 * top[:, None, None] + 1e-12
    with np.errstate(invalid="ignore", divide="ignore"):
        lr = np.log((y[:, None, :] + eps) / (yj + 0.02 * top[j][:, :, None] + 1e-12))
    wgt = np.where(lit, yj, 0.0)
    total = wgt.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.einsum("mke,mke->mk", wgt, np.nan_to_num(lr)) / total
        dev = np.nan_to_num(lr) - mean[:, :, None]
        rms = np.sqrt(np.einsum("mke,mke->mk", wgt, dev * dev) / total)
    counted = (lit.sum(axis=2) >= 4) & older & weathered[j]
    return (counted & (rms < residual)).any(axis=1)


def weather_of(y, active):
    """How much weather a series shows: the detrended RMS of its own log specific yield
    over its lit epochs (a clear day is a smooth arc: near 0; clouds: more)."""
    top = np.nanmax(np.where(active, y, 0.0), axis=1, initial=0.0)
    lit = active & (y > 0.02 * top[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        ly = np.where(lit, np.log(np.clip(y, 1e-12, None)), np.nan)
    return np.nan_to_num(detrended_rms(ly, np.where(lit, y, 0.0)))


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
    copy: np.ndarray  # (M,) bool, copies an older neighbour
    lone: np.ndarray  # (M,) bool, no neighbour vouches for it
    ratio: np.ndarray  # (M,) [1] specific yield / consensus over the check span, NaN if none
    residual: np.ndarray  # (M,) [1] weather RMS, NaN if none
    neighbours: np.ndarray  # (M, k) int, -1 for none


def authenticate(inputs, params=ScoringParams(), near=None, **bound_kwargs):
    """Credited energy and authenticity of an epoch's miners (module docstring).

    Parameters
    ----------
    inputs : pogg.EpochInputs
    params : ScoringParams
    near : ndarray of int, shape ``(M, k)``, optional
        Neighbours (``pogg.neighbours``), found here when not given.
    **bound_kwargs
        Of ``pvbound.clear_sky_power`` (``grid_s``, ...).

    Returns
    -------
    Authenticity
    """
    from offchain.pogg import neighbours as find_neighbours

    p = params
    margin, floor = _bps(p.margin_bps), _bps(p.floor_bps)
    lat = np.asarray(inputs.lat, dtype=float)
    lon = np.asarray(inputs.lon, dtype=float)
    cap = np.asarray(inputs.capacity_w, dtype=float)
    m = lat.shape[0]
    power = np.asarray(inputs.power_mw, dtype=float)
    ts = np.where(np.isfinite(power), np.asarray(inputs.ts, dtype=float), np.nan)
    energy = np.asarray(inputs.energy_mwh, dtype=np.int64)
    n_per_epoch = np.asarray(inputs.n_per_epoch)
    epoch_start = float(np.nanmin(ts)) // EPOCH_S * EPOCH_S if np.isfinite(ts).any() else 0.0

    # physical bound and credited energy: one clear-sky call for readings and slots
    slots = np.broadcast_to(slot_times(epoch_start), (m, SLOTS))
    clear = tolerant_clear_sky(lat, lon, cap, np.concatenate([ts, slots], axis=1), p.skew_s, **bound_kwargs)
    s = ts.shape[1]
    inside = bound_ok(power, clear[:, :s], cap, margin, floor)
    credited = credited_energy(energy[:, -1], clear[:, s:], margin)

    # the check span: specific yield per epoch and who was active
    span = min(int(p.check_epochs), energy.shape[1])
    y = energy[:, -span:] / np.maximum(cap, 1e-9)[:, None]
    active = n_per_epoch[:, -span:] > 0
    complete = n_per_epoch[:, -span:] >= SLOTS
    if near is None:
        near = find_neighbours(lat, lon, p.radius_m / 1_000.0, int(p.neighbours))
    owner_codes = np.unique(np.asarray(inputs.owner), return_inverse=True)[1].reshape(-1)
    token_id = np.asarray(inputs.token_id, dtype=np.int64)
    rec = record(n_per_epoch)

    weather_seen = weather_of(y, active)
    copy = copies(y, active, near, token_id, owner_codes, _bps(p.copy_residual_bps),
                  weather_seen >= _bps(p.copy_weather_bps))
    weights = neighbour_weights(near, owner_codes, rec, copy)
    yhat = consensus(y, complete, near, weights)
    lit = daylight(yhat) & active
    ratio = yield_ratio(y, yhat, lit)
    top = np.nanmax(np.where(np.isfinite(yhat), yhat, 0.0), axis=1, initial=0.0)
    residual = detrended_rms(log_ratio(y, yhat, top), np.where(lit, yhat, 0.0))

    lone = ~np.isfinite(ratio)
    scale = np.where(lone, 1.0, ramp(ratio - 1.0, _bps(p.yield_tolerance_bps), _bps(p.yield_limit_bps)))
    weather = np.where(lone, 1.0, ramp(residual, _bps(p.weather_tolerance_bps), _bps(p.weather_limit_bps)))
    a = inside * scale * weather * ~copy * np.where(lone, _bps(p.lone_bps), 1.0)
    return Authenticity(credited, a, inside, scale, weather, copy, lone, ratio, residual, near)


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
        ``keccak256`` of the 13 fields ABI-encoded as ``uint32``, in the fields' order
        (13 words of 32 bytes), 32 bytes.
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
    p = distributor.scoring_params()
    return ScoringParams(*(int(getattr(p, f)) for f in ScoringParams._fields))
