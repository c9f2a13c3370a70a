"""Proof of Green-Energy Generation (PoGG): lottery, scores and reward split of an epoch.

All maths, no I/O: numpy arrays in, numpy arrays out, one row per miner.

Lottery (the twin of the contracts' check)::

    X    = x-coordinate of SK_e · PK_miner                      (ECDH on secp256k1)
    SEED = uint256(sha256(bytes32((X · N) mod p) ‖ entropy_e)) mod K
    winner  <=>  N > 0 and SEED == 0

Scores of each miner with readings in the epoch::

    q = Σ_e min(N_e, 12) / (12 · W)      over the statistics window of W epochs     [1]
    v = credited energy of the epoch (``authenticity``)                              [mWh]
    a = authenticity (``authenticity``): bound, scale, weather, shape, copies        [1]

Published table and reward split, in integers so that anyone can reproduce it exactly::

    a_bps  = round(a · 10 000)     q_bps = round(q · 10 000)     (basis points, ≤ 10 000)
    v_mwh  = credited energy [mWh]
    c      = a_bps · q_bps · v_mwh
    R      = 10 000 · 10 000 · reference_kwh · 10⁶              (the DAO's reference)
    D      = max(K · Σ_winners c, Σ_all c, R)
    amount = emission · K · c // D                               (DECA wei, floor; winners)
    vault  = emission − Σ amount

Volume is linear in energy: splitting one installation over several tokens earns nothing
more, in expectation, than one token (a concave volume such as ∛E paid five tokens of a
fifth each 5^(2/3) ≈ 2.9 times the whole); the lottery's ``K`` in the numerator keeps it
so for the few winners of an epoch. Below the reference every unit of contribution earns
the same whatever the hour: an epoch without sun pays nothing, its emission goes to the
vault. ``round`` is half up (``floor(x + 1/2)``); ``q_bps`` is exact from the integer
counts; ``a`` is a float score and ``a_bps`` is what the table publishes.
"""

import hashlib
from typing import NamedTuple

import numpy as np
from coincurve import PublicKey

from greenminer.protocol import MAX_BPS, MAX_READINGS

WINDOW = 168  # [epochs] statistics window W
SECP256K1_P = 2**256 - 2**32 - 977  # the curve's field prime
LOTTERY_K = 60  # one winner in K on average
EARTH_RADIUS_KM = 6371.0088  # [km] mean radius (IUGG)
DEFAULT_RADIUS_KM = 25.0  # [km] neighbours share the weather within a few tens of km
DEFAULT_NEIGHBOURS = 10  # at most this many neighbours


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
    point = PublicKey(b"\x04" + bytes(pubkey64)).multiply(int(sk).to_bytes(32, "big")).format(compressed=False)
    return int.from_bytes(point[1:33], "big"), int.from_bytes(point[33:], "big")


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
    word = (int(x) * int(n)) % SECP256K1_P
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
# Quantity
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


# ----------------------------------------------------------------------------
# Neighbours
# ----------------------------------------------------------------------------


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


def score_inputs(inputs, winner_mask, emission, k, params=None, cache=None, **bound_kwargs):
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
    cache : authenticity.ClearEnergyCache, optional
        Clear-sky energies of earlier epochs (a process that scores epoch after epoch).
    **bound_kwargs
        Of ``pvbound.clear_sky_power``.

    Returns
    -------
    Scores
    """
    from offchain.scoring import authenticity

    params = params or authenticity.ScoringParams()
    auth = authenticity.authenticate(inputs, params, cache=cache, **bound_kwargs)
    window = np.asarray(inputs.n_per_epoch).shape[1]
    q_bps = quantity_bps(inputs.n_per_epoch, window=max(window, 1))
    a_bps = quantise_fraction(auth.a)
    v_mwh = auth.credited_mwh
    c = contribution_units(a_bps, q_bps, v_mwh)
    reference = reference_units(params.reference_kwh)
    amounts, remainder = split(winner_mask, c, emission, k, reference)
    return Scores(auth, a_bps, q_bps, v_mwh, c, amounts, remainder)
