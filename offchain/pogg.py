"""Proof of Green-Energy Generation (PoGG): lottery, scores and reward split of an epoch.

All maths, no I/O: numpy arrays in, numpy arrays out, one row per miner (DESIGN.md §5).

Lottery (the twin of the contracts' check)::

    X    = x-coordinate of SK_e · PK_miner                      (ECDH on secp256k1)
    SEED = uint256(sha256(bytes32((X · N) mod p) ‖ entropy_e)) mod K
    winner  <=>  N > 0 and SEED == 0

Scores over the statistics window of W epochs (default 168)::

    q = Σ_e min(N_e, 12) / (12 · W)                               [1]
    v = ∛(energy over the window [mWh])                            [mWh^(1/3)]
    a = 0 if a sample exceeds its physical bound (``pvbound``), else
        mean over neighbours of max(0, cos(p_i / mean p_i, p_j / mean p_j)),
        or, with no neighbour, max(0, cos(p_i, clear-sky profile_i))  [1]

Published table and reward split, in integers so that anyone can reproduce it exactly::

    a_bps   = round(a · 10 000)     q_bps = round(q · 10 000)     (basis points, ≤ 10 000)
    v_mwh = round(v · 1000)
    c       = a_bps · q_bps · v_mwh
    amount  = emission · c // Σ_winners c                         (DECA wei, floor)
    vault   = emission − Σ amount

``round`` is half up (``floor(x + 1/2)``). ``q_bps`` and ``v_mwh`` are computed exactly
from the integer inputs (readings, mWh), not through floats; ``a`` is a float score and
``a_bps`` is what the table publishes.
"""

import hashlib
from typing import NamedTuple

import numpy as np

from greenminer import secp256k1
from offchain import pvbound

WINDOW = 168  # [epochs] statistics window W
MAX_READINGS = 12  # [readings/epoch] one every 5 minutes
LOTTERY_K = 60  # one winner in K on average
MAX_BPS = 10_000  # 100 %
V_SCALE = 1_000  # v_mwh = v · 1000
EARTH_RADIUS_KM = 6371.0088  # [km] mean radius (IUGG)
DEFAULT_RADIUS_KM = 25.0  # [km] neighbours share the weather within a few tens of km
DEFAULT_NEIGHBOURS = 6  # at most this many neighbours


# ----------------------------------------------------------------------------
# Lottery
# ----------------------------------------------------------------------------


def ecdh_point(sk, pubkey64):
    """Shared point ``sk · PK`` of the epoch key and a miner's device key.

    Parameters
    ----------
    sk : int
        Epoch secret key ``SK_e``, 1 .. n-1.
    pubkey64 : bytes
        Device public key ``x ‖ y`` (64 bytes, big-endian).

    Returns
    -------
    (int, int)
        Affine point ``(x, y)``; its ``x`` is the ECDH value ``X`` of the lottery.
    """
    return secp256k1.multiply(sk, secp256k1.decode_point(bytes(pubkey64)))


def seed(x, n, entropy, k=LOTTERY_K):
    """Lottery seed ``uint256(sha256(bytes32((x·n) mod p) ‖ entropy)) mod k``.

    Parameters
    ----------
    x : int
        ECDH value (x-coordinate of ``SK_e · PK_miner``).
    n : int
        Legal readings of the miner in the epoch (0 .. 12).
    entropy : bytes
        ``entropy_e``, 32 bytes (stored by EpochKeys at the reveal).
    k : int
        Odds: a miner with ``n > 0`` wins with probability 1/k.

    Returns
    -------
    int
        In ``[0, k)``.
    """
    entropy = bytes(entropy)
    if len(entropy) != 32:
        raise ValueError("pogg: entropy must be 32 bytes")
    word = (int(x) * int(n)) % secp256k1.P
    digest = hashlib.sha256(word.to_bytes(32, "big") + entropy).digest()
    return int.from_bytes(digest, "big") % int(k)


def is_winner(x, n, entropy, k=LOTTERY_K):
    """Whether a miner wins the epoch: ``n > 0`` and ``seed(x, n, entropy, k) == 0``."""
    return int(n) > 0 and seed(x, n, entropy, k) == 0


def winners(xs, ns, entropy, k=LOTTERY_K):
    """``is_winner`` for many miners.

    Parameters
    ----------
    xs : sequence of int
        ECDH values, one per miner.
    ns : sequence of int
        Legal readings in the epoch, one per miner.
    entropy : bytes
    k : int

    Returns
    -------
    ndarray of bool, shape ``(M,)``
    """
    return np.array([is_winner(x, n, entropy, k) for x, n in zip(xs, ns)], dtype=bool)


# ----------------------------------------------------------------------------
# Quantity and volume
# ----------------------------------------------------------------------------


def _window_counts(n_per_epoch, window, max_readings):
    n = np.asarray(n_per_epoch)
    if n.ndim != 2:
        raise ValueError("pogg: n_per_epoch must have shape (miners, epochs)")
    n = n[:, -window:] if n.shape[1] > window else n
    counted = np.minimum(n, max_readings)
    if n.dtype.kind == "i":
        counted = np.maximum(counted, 0)
    return counted.sum(axis=1, dtype=np.int64)


def quantity(n_per_epoch, window=WINDOW, max_readings=MAX_READINGS):
    """Quantity score ``q = Σ_e min(N_e, 12) / (12 · W)``.

    Parameters
    ----------
    n_per_epoch : array_like of int, shape ``(M, E)``
        Legal readings per miner and epoch, the last ``E <= W`` epochs (missing epochs
        count 0; with ``E > W`` the last ``W`` columns are used).
    window : int [epochs]
        ``W``.
    max_readings : int [readings]
        Readings counted per epoch at most.

    Returns
    -------
    ndarray of float, shape ``(M,)`` [1]
        In ``[0, 1]``.
    """
    return _quantity_from_counts(_window_counts(n_per_epoch, window, max_readings), window,
                                 max_readings)[0]


def quantity_bps(n_per_epoch, window=WINDOW, max_readings=MAX_READINGS):
    """``round(q · 10 000)``, half up, in exact integer arithmetic.

    Parameters
    ----------
    n_per_epoch : array_like of int, shape ``(M, E)``
    window : int [epochs]
    max_readings : int [readings]

    Returns
    -------
    ndarray of int64, shape ``(M,)`` [bps]
        ``(2 · 10 000 · S + D) // (2 · D)`` with ``S = Σ min(N_e, 12)``, ``D = 12 · W``.
    """
    return _quantity_from_counts(_window_counts(n_per_epoch, window, max_readings), window,
                                 max_readings)[1]


def quantity_bps_of_sums(sums, window=WINDOW, max_readings=MAX_READINGS):
    """``q_bps`` from each miner's ``S = Σ_e min(N_e, 12)`` over the window.

    What an auditor recomputes from an epoch table, which publishes ``S`` rather than
    every ``N_e``; same integers as ``quantity_bps``.

    Parameters
    ----------
    sums : array_like of int, shape ``(M,)`` [readings]
    window : int [epochs]
    max_readings : int [readings]

    Returns
    -------
    ndarray of int64, shape ``(M,)`` [bps]
    """
    return _quantity_from_counts(np.asarray(sums, dtype=np.int64), window, max_readings)[1]


def _quantity_from_counts(counts, window, max_readings):
    """``q`` and ``q_bps`` from ``S = Σ min(N_e, 12)`` per miner."""
    d = max_readings * window
    return counts / float(d), (2 * MAX_BPS * counts + d) // (2 * d)


def _window_energy(energy_mwh):
    e = np.asarray(energy_mwh)
    if e.ndim == 2:
        e = e.sum(axis=1)
    if e.ndim != 1:
        raise ValueError("pogg: energy must have shape (miners,) or (miners, epochs)")
    return e


def volume(energy_mwh):
    """Volume score ``v = ∛E``.

    Parameters
    ----------
    energy_mwh : array_like, shape ``(M,)`` or ``(M, E)`` [mWh]
        Energy over the window, or per epoch of the window (summed).

    Returns
    -------
    ndarray of float, shape ``(M,)`` [mWh^(1/3)]
        Negative energy counts 0.
    """
    e = _window_energy(energy_mwh).astype(float)
    return np.cbrt(np.clip(np.nan_to_num(e), 0.0, None))


def _round_cbrt(x):
    """Nearest integer to ∛x for an int ``x >= 0`` (never a tie: 8x is not an odd cube)."""
    r = int(round(float(x) ** (1.0 / 3.0)))
    while (2 * r + 1) ** 3 <= 8 * x:
        r += 1
    while r > 0 and (2 * r - 1) ** 3 > 8 * x:
        r -= 1
    return r


def volume_milli(energy_mwh):
    """``round(v · 1000) = round(∛(E · 10⁹))`` exactly, for integer energy.

    A float cube root is exact enough except within 10⁻⁶ of a half-integer; those values
    are settled in exact integer arithmetic.

    Parameters
    ----------
    energy_mwh : array_like of int, shape ``(M,)`` or ``(M, E)`` [mWh]
        Whole mWh (floats are floored); negative counts 0.

    Returns
    -------
    ndarray of int64, shape ``(M,)`` [mWh^(1/3) / 1000]
    """
    e = _window_energy(energy_mwh)
    if e.dtype.kind == "f":
        e = np.floor(np.nan_to_num(e))
    e = np.clip(e.astype(np.int64), 0, None)
    scaled = np.cbrt(e.astype(float)) * V_SCALE
    out = np.floor(scaled + 0.5).astype(np.int64)
    for i in np.flatnonzero(np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6):
        out[i] = _round_cbrt(int(e[i]) * V_SCALE**3)
    return out


# ----------------------------------------------------------------------------
# Authenticity
# ----------------------------------------------------------------------------


def normalized_power(power):
    """Each miner's power divided by its mean power.

    Parameters
    ----------
    power : array_like, shape ``(M, S)`` [mW]
        NaN for a missing sample.

    Returns
    -------
    ndarray of float, shape ``(M, S)`` [1]
        Mean 1 over the present samples; a row whose mean is 0 (or negative) stays 0; NaN
        stays NaN.
    """
    p = np.asarray(power, dtype=float)
    present = np.isfinite(p)
    count = present.sum(axis=-1, keepdims=True)
    total = np.where(present, p, 0.0).sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        return np.where(mean > 0, p / mean, p * 0.0)


def _unit_vectors(lat, lon):
    lat = np.radians(np.asarray(lat, dtype=float))
    lon = np.radians(np.asarray(lon, dtype=float))
    c = np.cos(lat)
    return np.stack([c * np.cos(lon), c * np.sin(lon), np.sin(lat)], axis=-1)


def neighbours(lat, lon, radius_km=DEFAULT_RADIUS_KM, k=DEFAULT_NEIGHBOURS):
    """The ``k`` nearest other miners within ``radius_km`` (great-circle distance).

    Points are unit vectors in 3-D, searched with ``scipy.spatial.cKDTree``; a
    great-circle distance ``d`` is the chord ``2 sin(d / 2R)``.

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
    radius_km : float [km]
        Neighbours at most this far.
    k : int
        At most this many neighbours.

    Returns
    -------
    ndarray of int64, shape ``(M, k)``
        Indices of the neighbours, nearest first; -1 where there are fewer than ``k``.
        A miner is never its own neighbour (another miner at the same place is).
    """
    from scipy.spatial import cKDTree

    xyz = _unit_vectors(lat, lon)
    m = xyz.shape[0]
    if m == 0:
        return np.empty((0, k), dtype=np.int64)
    chord = 2.0 * np.sin(min(radius_km / EARTH_RADIUS_KM, np.pi) / 2.0)
    tree = cKDTree(xyz)
    order = tree.indices  # query in the tree's own order: nearby points, warm caches
    _, found = tree.query(xyz[order], k=k + 1, distance_upper_bound=np.nextafter(chord, np.inf))
    idx = np.empty((m, k + 1), dtype=np.int64)
    idx[order] = np.asarray(found, dtype=np.int64).reshape(m, k + 1)
    # drop self from its row (or the farthest, if others at distance 0 crowded self out);
    # the order of the others is kept and missing ones (index m) stay at the end
    is_self = idx == np.arange(m)[:, None]
    self_col = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    cols = np.arange(k)[None, :]
    idx = np.take_along_axis(idx, cols + (cols >= self_col[:, None]), axis=1)
    return np.where(idx >= m, -1, idx)


def _cosine_from_sums(dot, nx, ny, common):
    """The conventions of ``cosine_similarity`` applied to its sums over common samples."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = dot / np.sqrt(nx * ny)
    sim = np.where((nx > 0) & (ny > 0), sim, np.where((nx == 0) & (ny == 0), 1.0, 0.0))
    return np.where(common, np.clip(sim, 0.0, 1.0), np.nan)


def cosine_similarity(x, y):
    """Cosine similarity of two vectors over the samples both have, clipped at 0.

    Parameters
    ----------
    x, y : array_like, broadcastable, last axis = samples
        NaN for a missing sample.

    Returns
    -------
    ndarray of float [1]
        ``max(0, x·y / (|x| |y|))`` over the samples finite in both; 1 if both are zero
        there (two silent miners agree), 0 if only one is; NaN with no common sample.
    """
    x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    both = np.isfinite(x) & np.isfinite(y)
    xv = np.where(both, x, 0.0)
    yv = np.where(both, y, 0.0)
    return _cosine_from_sums(
        np.einsum("...s,...s->...", xv, yv),
        np.einsum("...s,...s->...", xv, xv),
        np.einsum("...s,...s->...", yv, yv),
        both.any(axis=-1),
    )


def neighbour_similarity(x, neighbour_idx):
    """``cosine_similarity`` of each miner's vector with each of its neighbours'.

    Same result as ``cosine_similarity(x[:, None, :], x[neighbour_idx])``, with one gather
    of the neighbours' rows (the costly step: random memory access) and zero-filled
    vectors, so that a product with a missing sample is 0.

    Parameters
    ----------
    x : ndarray, shape ``(M, S)``
        Normalized power (``normalized_power``), NaN for a missing sample.
    neighbour_idx : ndarray of int, shape ``(M, k)``
        From ``neighbours``; -1 for none.

    Returns
    -------
    ndarray of float, shape ``(M, k)`` [1]
        NaN where there is no neighbour or no common sample.
    """
    x = np.asarray(x, dtype=float)
    idx = np.asarray(neighbour_idx, dtype=np.int64)
    has = idx >= 0
    safe = np.where(has, idx, 0)
    present = np.isfinite(x)
    x0 = np.where(present, x, 0.0)
    y = np.take(x, safe, axis=0)  # (M, k, S)
    y_present = np.isfinite(y)
    y0 = np.where(y_present, y, 0.0)
    fp, fy = present.astype(float), y_present.astype(float)
    dot = np.einsum("ms,mks->mk", x0, y0)
    nx = np.einsum("ms,mks->mk", x0 * x0, fy)
    ny = np.einsum("ms,mks->mk", fp, y0 * y0)
    common = np.einsum("ms,mks->mk", fp, fy) > 0
    return np.where(has, _cosine_from_sums(dot, nx, ny, common), np.nan)


def authenticity(power, bound, neighbour_idx, clear_sky_profile):
    """Authenticity score ``a``.

    Parameters
    ----------
    power : ndarray, shape ``(M, S)`` [mW]
        Readings of the epoch, NaN for a missing sample.
    bound : ndarray, shape ``(M, S)`` [mW]
        Physical upper bound of each sample (``pvbound.upper_bound``).
    neighbour_idx : ndarray of int, shape ``(M, k)``
        From ``neighbours``; -1 for none.
    clear_sky_profile : ndarray, shape ``(M, S)`` [any unit]
        Clear-sky power or irradiance at the sample times (``pvbound.clear_sky_power``).

    Returns
    -------
    ndarray of float, shape ``(M,)`` [1]
        0 if any sample exceeds its bound; otherwise the mean of the clipped cosine
        similarities with the neighbours that share a sample; with none, the clipped cosine
        similarity with the clear-sky profile; 0 for a miner without samples.
    """
    power = np.asarray(power, dtype=float)
    x = normalized_power(power)
    sims = neighbour_similarity(x, neighbour_idx)
    counted = np.isfinite(sims)
    n = counted.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_sim = np.where(counted, sims, 0.0).sum(axis=1) / n
    profile = np.where(np.isfinite(power), np.asarray(clear_sky_profile, dtype=float), np.nan)
    own = cosine_similarity(x, normalized_power(profile))
    a = np.where(n > 0, mean_sim, own)
    a = np.where(pvbound.exceeds(power, bound).any(axis=1), 0.0, a)
    return np.nan_to_num(a, nan=0.0)


# ----------------------------------------------------------------------------
# Quantised table and reward split
# ----------------------------------------------------------------------------


def quantise_fraction(x):
    """``round(x · 10 000)`` half up, ``x`` clipped to [0, 1].

    Parameters
    ----------
    x : array_like [1]

    Returns
    -------
    ndarray of int64 [bps]
        In ``[0, 10 000]``.
    """
    x = np.clip(np.nan_to_num(np.asarray(x, dtype=float)), 0.0, 1.0)
    return np.floor(x * MAX_BPS + 0.5).astype(np.int64)


def contribution_units(a_bps, q_bps, v_mwh):
    """Contribution ``c = a_bps · q_bps · v_mwh``, exact.

    Parameters
    ----------
    a_bps, q_bps : array_like of int [bps]
    v_mwh : array_like of int [mWh^(1/3) / 1000]

    Returns
    -------
    ndarray
        int64 while every product fits, else Python ints (dtype object).
    """
    a = np.asarray(a_bps, dtype=np.int64)
    q = np.asarray(q_bps, dtype=np.int64)
    v = np.asarray(v_mwh, dtype=np.int64)
    if np.any(a < 0) or np.any(q < 0) or np.any(v < 0):
        raise ValueError("pogg: negative score")
    aq = a * q  # at most 10^8
    if aq.size and int(v.max(initial=0)) > np.iinfo(np.int64).max // max(int(aq.max()), 1):
        return aq.astype(object) * v.astype(object)
    return aq * v


def contributions(a, q, v):
    """Quantise float scores and multiply: the table of one epoch.

    Parameters
    ----------
    a, q : array_like [1]
    v : array_like [mWh^(1/3)]

    Returns
    -------
    a_bps, q_bps : ndarray of int64 [bps]
    v_mwh : ndarray of int64 [mWh^(1/3) / 1000]
        ``floor(v · 1000 + 1/2)``.
    c : ndarray
        ``contribution_units(a_bps, q_bps, v_mwh)``.
    """
    a_bps = quantise_fraction(a)
    q_bps = quantise_fraction(q)
    v = np.clip(np.nan_to_num(np.asarray(v, dtype=float)), 0.0, None)
    v_mwh = np.floor(v * V_SCALE + 0.5).astype(np.int64)
    return a_bps, q_bps, v_mwh, contribution_units(a_bps, q_bps, v_mwh)


def shares(winner_mask, a_bps, q_bps, v_mwh, emission):
    """Reward of each winner: ``emission · c_i // Σ_winners c``; the rest to the vault.

    Parameters
    ----------
    winner_mask : array_like of bool, shape ``(M,)``
    a_bps, q_bps : array_like of int, shape ``(M,)`` [bps]
    v_mwh : array_like of int, shape ``(M,)`` [mWh^(1/3) / 1000]
    emission : int [DECA wei]
        The epoch's emission.

    Returns
    -------
    amounts : ndarray of object (Python int), shape ``(M,)`` [DECA wei]
        0 for a non-winner; all 0 when no winner has a positive contribution.
    remainder : int [DECA wei]
        ``emission − Σ amounts``, for the DAO vault.
    """
    emission = int(emission)
    if emission < 0:
        raise ValueError("pogg: negative emission")
    mask = np.asarray(winner_mask, dtype=bool)
    amounts = np.zeros(mask.shape, dtype=object)
    win = np.flatnonzero(mask)
    c = contribution_units(
        np.asarray(a_bps)[win], np.asarray(q_bps)[win], np.asarray(v_mwh)[win]
    )
    c = [int(ci) for ci in c]
    total = sum(c)
    if total == 0:
        return amounts, emission
    for i, ci in zip(win, c):
        amounts[i] = emission * ci // total
    return amounts, emission - sum(amounts[win])


# ----------------------------------------------------------------------------
# One epoch
# ----------------------------------------------------------------------------


class EpochInputs(NamedTuple):
    """What the oracle knows of an epoch's miners, one row per miner with readings in it.

    Everything comes from the chain (the SBT's declarations, the registry's readings and
    legal counts) through the index; the window's columns end with the epoch itself.
    """

    epoch: int
    token_id: np.ndarray  # (M,) int64: admission order (a smaller id was admitted earlier)
    owner: list  # (M,) str: the token owner's address
    lat: np.ndarray  # (M,) [deg] declared
    lon: np.ndarray  # (M,) [deg] declared
    capacity_w: np.ndarray  # (M,) [W] declared peak capacity
    tilt: np.ndarray  # (M,) [deg] declared panel tilt from horizontal
    azimuth: np.ndarray  # (M,) [deg] declared direction the panels face, clockwise from north
    ts: np.ndarray  # (M, S) [s] the epoch's readings, NaN for none
    power_mw: np.ndarray  # (M, S) [mW] the epoch's readings, NaN for none
    n_per_epoch: np.ndarray  # (M, W) int64: legal readings per epoch of the window
    energy_mwh: np.ndarray  # (M, W) int64 [mWh] energy booked per epoch of the window


class EpochScores(NamedTuple):
    """Everything ``score_epoch`` computes, one row per miner."""

    bound_mw: np.ndarray  # (M, S) [mW] physical upper bound of each sample
    exceeded: np.ndarray  # (M,) bool, some sample above its bound
    neighbours: np.ndarray  # (M, k) int, -1 for none
    a: np.ndarray  # (M,) [1]
    q: np.ndarray  # (M,) [1]
    v: np.ndarray  # (M,) [mWh^(1/3)]
    a_bps: np.ndarray  # (M,) [bps]
    q_bps: np.ndarray  # (M,) [bps]
    v_mwh: np.ndarray  # (M,) [mWh^(1/3) / 1000]
    c: np.ndarray  # (M,) contribution a_bps · q_bps · v_mwh
    amounts: np.ndarray  # (M,) object, Python ints [DECA wei]
    remainder: int  # [DECA wei] to the DAO vault


def score_epoch(lat, lon, capacity_w, ts, power_mw, n_per_epoch, energy_mwh, winner_mask,
                emission, radius_km=DEFAULT_RADIUS_KM, k=DEFAULT_NEIGHBOURS, window=WINDOW,
                margin=None, floor=None, **bound_kwargs):
    """Score every miner of an epoch and split the emission among the winners.

    Bound (``pvbound``) -> neighbours among the miners with readings in the epoch ->
    ``q_bps``, ``v_mwh`` (exact) -> ``a`` -> ``a_bps`` -> ``c`` -> ``shares``.

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
        Declared locations.
    capacity_w : array_like, shape ``(M,)`` [W]
        Declared peak capacities.
    ts : array_like, shape ``(M, S)`` [s]
        Timestamps of the epoch's readings, NaN for a missing one.
    power_mw : array_like, shape ``(M, S)`` [mW]
        Power of the epoch's readings, NaN for a missing one.
    n_per_epoch : array_like of int, shape ``(M, E)``
        Legal readings per epoch over the window (see ``quantity``).
    energy_mwh : array_like of int, shape ``(M,)`` or ``(M, E)`` [mWh]
        Energy over the window (see ``volume_milli``).
    winner_mask : array_like of bool, shape ``(M,)``
        Lottery winners of the epoch (``winners``).
    emission : int [DECA wei]
    radius_km : float [km]
    k : int
        Neighbours at most.
    window : int [epochs]
    margin, floor : float [1], optional
        Of ``pvbound.bound_from_clear_sky`` (defaults 1.5 and 0.01).
    **bound_kwargs
        ``tilt``, ``azimuth``, ``albedo``, ``grid_s`` of
        ``pvbound.clear_sky_poa``.

    Returns
    -------
    EpochScores
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    capacity_w = np.asarray(capacity_w, dtype=float)
    power = np.asarray(power_mw, dtype=float)
    ts = np.where(np.isfinite(power), np.asarray(ts, dtype=float), np.nan)

    clear = pvbound.clear_sky_power(lat, lon, capacity_w, ts, **bound_kwargs)
    bound = pvbound.bound_from_clear_sky(
        clear, capacity_w,
        pvbound.DEFAULT_MARGIN if margin is None else margin,
        pvbound.DEFAULT_FLOOR if floor is None else floor,
    )
    exceeded = pvbound.exceeds(power, bound).any(axis=1)

    active = np.flatnonzero(np.isfinite(power).any(axis=1))
    near = np.full((lat.shape[0], k), -1, dtype=np.int64)
    if active.size:
        local = neighbours(lat[active], lon[active], radius_km, k)
        near[active] = np.where(local >= 0, active[np.maximum(local, 0)], -1)

    a = authenticity(power, bound, near, clear)
    q, q_bps = _quantity_from_counts(_window_counts(n_per_epoch, window, MAX_READINGS), window,
                                     MAX_READINGS)
    v = volume(energy_mwh)
    a_bps = quantise_fraction(a)
    v_mwh = volume_milli(energy_mwh)
    c = contribution_units(a_bps, q_bps, v_mwh)
    amounts, remainder = shares(winner_mask, a_bps, q_bps, v_mwh, emission)
    return EpochScores(bound, exceeded, near, a, q, v, a_bps, q_bps, v_mwh, c, amounts,
                       remainder)


def split(winner_mask, c, emission, k, reference=0):
    """Reward of each winner: a fixed rate per unit of contribution, the same in expectation
    however the energy is split, never more than the emission.

    ``amount_i = emission · K · c_i // D`` with ``D = max(K · Σ_winners c, Σ_all c, R)``.
    ``R`` (``reference_units``) is the DAO's reference energy of an epoch at full scores:
    below it every unit of contribution earns ``emission / R`` in expectation, whatever the
    hour and whoever else produced, so that an hour at dawn pays for its few mWh and not
    the emission of a noon hour, an hour without sun pays nothing, and a fake's share is
    taken from the vault, not from honest miners. One winner in ``K`` on average, so a winner is paid ``K`` times its
    share (its expected pay is its share, whether its energy sits on one token or several,
    and a lone winner of a thin epoch does not take the whole emission); when the
    winners' claims would exceed the emission, they split it in proportion instead. The
    rest goes to the vault.

    Parameters
    ----------
    winner_mask : array_like of bool, shape ``(M,)``
    c : array_like of int, shape ``(M,)``
        Contributions of every miner of the epoch (winners or not).
    emission : int [DECA wei]
    k : int
        Lottery odds.
    reference : int
        ``R``, in contribution units.

    Returns
    -------
    amounts : ndarray of object (Python int), shape ``(M,)`` [DECA wei]
    remainder : int [DECA wei]
    """
    emission, k = int(emission), int(k)
    if emission < 0 or k < 1:
        raise ValueError("pogg: negative emission or odds below 1")
    mask = np.asarray(winner_mask, dtype=bool)
    c = [int(x) for x in np.asarray(c).tolist()]
    amounts = np.zeros(mask.shape, dtype=object)
    win = np.flatnonzero(mask)
    denominator = max(k * sum(c[i] for i in win), sum(c), int(reference))
    if denominator == 0:
        return amounts, emission
    for i in win:
        amounts[i] = emission * k * c[i] // denominator
    return amounts, emission - sum(amounts[win])


def reference_units(reference_kwh):
    """``R`` of ``split``: ``reference_kwh`` credited at full scores, in contribution units.

    Parameters
    ----------
    reference_kwh : int [kWh]

    Returns
    -------
    int
        ``10 000 · 10 000 · reference_kwh · 10⁶`` (a_bps · q_bps · mWh).
    """
    return MAX_BPS * MAX_BPS * int(reference_kwh) * 1_000_000


class Scores(NamedTuple):
    """Everything ``score_inputs`` computes, one row per miner."""

    auth: object  # authenticity.Authenticity
    a_bps: np.ndarray  # (M,) [bps]
    q_bps: np.ndarray  # (M,) [bps]
    v_mwh: np.ndarray  # (M,) int64 [mWh] credited energy of the epoch
    c: np.ndarray  # (M,) contribution a_bps · q_bps · v_mwh
    amounts: np.ndarray  # (M,) object, Python ints [DECA wei]
    remainder: int  # [DECA wei] to the DAO vault


def score_inputs(inputs, winner_mask, emission, k, params=None, **bound_kwargs):
    """Score every miner of an epoch and split the emission among the winners.

    ``c = a_bps · q_bps · v_mwh``: authenticity and credited energy (``authenticity``),
    quantity over the window (``quantity_bps``); ``split`` pays the winners.

    Parameters
    ----------
    inputs : EpochInputs
    winner_mask : array_like of bool, shape ``(M,)``
    emission : int [DECA wei]
    k : int
        Lottery odds.
    params : authenticity.ScoringParams, optional
    **bound_kwargs
        Of ``pvbound.clear_sky_power``.

    Returns
    -------
    Scores
    """
    from offchain import authenticity

    params = params or authenticity.ScoringParams()
    auth = authenticity.authenticate(inputs, params, **bound_kwargs)
    window = np.asarray(inputs.n_per_epoch).shape[1]
    q_bps = quantity_bps(inputs.n_per_epoch, window=max(window, 1))
    a_bps = quantise_fraction(auth.a)
    v_mwh = auth.credited_mwh
    c = contribution_units(a_bps, q_bps, v_mwh)
    reference = reference_units(params.reference_kwh)
    amounts, remainder = split(winner_mask, c, emission, k, reference)
    return Scores(auth, a_bps, q_bps, v_mwh, c, amounts, remainder)
