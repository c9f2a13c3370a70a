"""Measured PV power for simulations: NREL's SERF East system, as shipped with pvanalytics.

``read_serf_east`` reads the AC power series that pvanalytics keeps in its ``data``
folder (from NREL PVDAQ, system 50, on the NREL campus in Golden, Colorado); the other
functions are pure (numpy in, numpy out) and turn it into per-miner series.
"""

import datetime
import pathlib

import numpy as np

SERF_EAST_FILES = {
    "15min": "serf_east_15min_ac_power.csv",  # 2016-07-01 .. 2016-10-13, 15 min
    "1min": "serf_east_1min_ac_power.csv",  # 2022-03-18 04:33 .. 2022-03-19 23:59, 1 min
}

# Site metadata as given by pvanalytics' own examples (ground truth of the orientation
# examples). The nameplate capacity is not published with the data: ``capacity_w`` is None
# and ``peak_w`` is the largest measured AC power of the file.
SERF_EAST_SITE = {
    "name": "NREL SERF East (PVDAQ system 50)",
    "latitude": 39.742,  # [deg]
    "longitude": -105.1727,  # [deg]
    "tilt": 45.0,  # [deg] from horizontal
    "azimuth": 158.0,  # [deg] clockwise from north
    "capacity_w": None,  # [W] nameplate, unknown
}


def _data_dir():
    import pvanalytics

    return pathlib.Path(pvanalytics.__file__).parent / "data"


def read_serf_east(resolution="15min"):
    """Read the SERF East AC power series shipped inside pvanalytics.

    Parameters
    ----------
    resolution : {'15min', '1min'}
        Which file: 15-minute data over 104 days (2016) or 1-minute data over 43 hours (2022).

    Returns
    -------
    ts : ndarray of int64 [s]
        Timestamps, seconds since 1970 (UTC), increasing.
    power : ndarray of float [W]
        AC power as measured (slightly negative at night: inverter standby).
    site : dict
        ``SERF_EAST_SITE`` plus ``peak_w`` [W] (largest value of ``power``), ``file`` and
        ``resolution_s`` [s].
    """
    import pandas as pd

    if resolution not in SERF_EAST_FILES:
        raise ValueError("pvdata: resolution must be one of %s" % sorted(SERF_EAST_FILES))
    path = _data_dir() / SERF_EAST_FILES[resolution]
    frame = pd.read_csv(path, index_col=0)
    index = pd.to_datetime(frame.index, utc=True)
    ts = (index.asi8 // 1_000_000_000).astype(np.int64)
    power = frame.iloc[:, 0].to_numpy(dtype=float)
    order = np.argsort(ts, kind="stable")
    ts, power = ts[order], power[order]
    site = dict(SERF_EAST_SITE)
    site.update(
        peak_w=float(power.max()),
        file=path.name,
        resolution_s=int(np.median(np.diff(ts))),
    )
    return ts, power, site


def resample(ts, power, t):
    """Power at times ``t`` by linear interpolation, clipped at 0 (no negative generation).

    Parameters
    ----------
    ts : ndarray [s]
        Increasing timestamps of the series.
    power : ndarray [W]
        Power at ``ts``.
    t : ndarray [s]
        Times wanted, inside ``[ts[0], ts[-1]]`` (outside, the end values are held).

    Returns
    -------
    ndarray of float [W]
    """
    return np.clip(np.interp(np.asarray(t, dtype=float), ts, power), 0.0, None)


def scale_for_miner(power, reference_w, capacity_w, noise=0.0, rng=None):
    """Scale a measured series to a miner of another size, with multiplicative noise.

    Parameters
    ----------
    power : ndarray [W]
        Measured power of the reference system.
    reference_w : float [W]
        Size of the reference system (its nameplate, or its measured peak).
    capacity_w : float [W]
        Size of the miner.
    noise : float, optional
        Standard deviation of the relative, per-sample noise (0.02 = 2 %) [1].
    rng : numpy.random.Generator, optional
        Source of the noise (default: a fresh ``default_rng()``).

    Returns
    -------
    ndarray of float [W]
        ``power * capacity_w / reference_w * (1 + noise * N(0, 1))``, clipped to
        ``[0, capacity_w]``.
    """
    scaled = np.asarray(power, dtype=float) * (capacity_w / reference_w)
    if noise:
        rng = np.random.default_rng() if rng is None else rng
        scaled = scaled * (1.0 + noise * rng.standard_normal(scaled.shape))
    return np.clip(scaled, 0.0, capacity_w)


def shift_series(ts, offset_s):
    """Timestamps moved by ``offset_s`` [s] (a miner east or west, or another day).

    Parameters
    ----------
    ts : ndarray [s]
    offset_s : int [s]

    Returns
    -------
    ndarray of int64 [s]
    """
    return np.asarray(ts, dtype=np.int64) + int(offset_s)


def align_days(ts, start_s):
    """Timestamps moved by whole days so that ``start_s`` [s] falls in the series' first day.

    The time of day (and so the sun's position at the site's longitude) is kept; the
    season is not, so a July series replayed in November exceeds November's clear sky.

    Parameters
    ----------
    ts : ndarray [s]
        Increasing timestamps.
    start_s : int [s]

    Returns
    -------
    ndarray of int64 [s]
        ``ts + 86400 * k`` with ``ts[0] + 86400 * k <= start_s < ts[0] + 86400 * (k + 1)``.
    """
    ts = np.asarray(ts, dtype=np.int64)
    days = (int(start_s) - int(ts[0])) // 86400
    return shift_series(ts, 86400 * days)


def next_same_day(ts0, after_s):
    """The first moment at or after ``after_s`` [s] with the month, day and time of day of ``ts0`` [s].

    Replaying a measured series from then on keeps its season as well as its time of day
    (29 February is taken as 1 March in other years).
    """
    t0 = datetime.datetime.fromtimestamp(int(ts0), datetime.timezone.utc)
    year = datetime.datetime.fromtimestamp(int(after_s), datetime.timezone.utc).year
    while True:
        try:
            candidate = t0.replace(year=year)
        except ValueError:  # 29 February
            candidate = t0.replace(year=year, month=3, day=1)
        if candidate.timestamp() >= after_s:
            return int(candidate.timestamp())
        year += 1


def miner_series(ts, power, reference_w, capacity_w, noise=0.0, offset_s=0, rng=None):
    """One miner's series from a measured one: scaled, noisy and shifted in time.

    Parameters
    ----------
    ts : ndarray [s]
        Timestamps of the measured series.
    power : ndarray [W]
        Measured power.
    reference_w : float [W]
        Size of the measured system.
    capacity_w : float [W]
        Size of the miner.
    noise : float [1], optional
        Relative per-sample noise (see ``scale_for_miner``).
    offset_s : int [s], optional
        Time shift of the miner's series.
    rng : numpy.random.Generator, optional

    Returns
    -------
    ts : ndarray of int64 [s]
    power : ndarray of float [W]
        In ``[0, capacity_w]``.
    """
    return shift_series(ts, offset_s), scale_for_miner(power, reference_w, capacity_w, noise, rng)
