"""Measured PV power for simulations: NREL systems shipped with pvanalytics, and per-miner series.

Readers (``read_*``) take the AC power series that pvanalytics keeps in its ``data`` folder
(from NREL PVDAQ, on the NREL campus in Golden, Colorado) and return timestamps in seconds
since 1970 (UTC) with the site's metadata; where a file's timestamps were not what they
claim, the reader fixes them and its site record says how (see each ``*_SITE``). The other
functions are pure (numpy in, numpy out) and turn measured series into the readings of
miners: a device's 5-minute sampling and integration, the energy the index books per
epoch, sensor imperfections, clear-sky-index neighbours, and the fabricated series of the
authenticity benchmark (``bench/eval_authenticity.py``).

What the package does not say, and what the data were checked against:

- label of the 15-minute values: the files give one time per 15-minute average. Fits of a
  clear-sky model (``time_offset``) on clear days, and the cross-correlation of SERF West
  and RSF II with each other, put the centre of each averaging interval within about
  ±5 minutes of its label for SERF West and RSF II; so labels are taken as centres. For
  SERF East (15 min) the summer days are not clear enough to settle it to better than
  ±10 minutes.
- RSF II's naive timestamps run 2 hours ahead of local standard time (as if in US Eastern
  standard time): its sunrise, sunset and cloud edges line up with SERF West's only after
  subtracting 2 h (``RSF2_SITE``).
- orientations other than SERF East's and the nameplates are not published with the data
  (see each ``*_SITE``; ``nameplate_from_peak`` for the estimate used).
- ``snow_data.csv`` (a utility inverter whose location the data provider withheld on
  purpose) and ``ac_power_inv_2173.csv``/``ac_power_inv_7539.csv`` (min-max normalised
  PV Fleets inverters without location or size) cannot be placed on a map: not read here.
"""

import datetime
import pathlib

import numpy as np

from offchain.scoring import pvbound

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
    "label_to_centre_s": 0,  # [s] start or centre of the 15-min average: not settled
}


SERF_WEST_FILE = "serf_west_15min.csv"  # 2022-01-02 .. 2022-01-06, 15 min, naive MST
RSF2_FILE = "nrel_RSF_II.csv"  # 2022-01-02 .. 2022-01-06, 15 min, naive, 2 h ahead of MST
MESA_FILE = "nrel_1axis_tracker_mesa_ac_power.csv"  # 2010-06-25 .. 2010-06-30, 15 min, -06:00

# pvanalytics, docs/examples/weather/module-temperature-check.py: "the NREL SERF West
# system ... available via the NREL PVDAQ database as system 51", 15-minute averages.
# The examples give no coordinates: SERF West is on the roof of the same building as SERF
# East, whose coordinates they give. Orientation is not published: least-squares fit of
# the clear-sky plane-of-array shape (pvlib Ineichen, isotropic sky) to the array's own
# POA sensor (``poa_irradiance__771``) on clear 2022-01-02, 09:30-14:40 MST, gives tilt
# 65-75° and azimuth 166°; its AC power on clear 2022-01-04 noon gives 70-80° and 170-174°
# (orientation and timing trade off in such fits: ± 8° of azimuth is ± 15 minutes).
# SERF East's 45°/158° fits worse (rms 12 against 10 W/m²). Taken: 70°, 170°.
SERF_WEST_SITE = {
    "name": "NREL SERF West (PVDAQ system 51)",
    "latitude": 39.742,  # [deg]
    "longitude": -105.1727,  # [deg]
    "tilt": 70.0,  # [deg] fitted, see above
    "azimuth": 170.0,  # [deg] fitted, see above
    "capacity_w": None,  # [W] nameplate, unknown (``nameplate_from_peak``)
    "utc_offset_s": -7 * 3600,  # naive labels are local standard time (MST)
    "label_to_centre_s": 0,  # [s] labels hh:01, hh:16, ... taken as interval centres
}

# pvanalytics, docs/examples/metrics/performance-ratio-nrel.py: "the NREL RSF II system
# ... available in the PVDAQ database, under system ID 1283", 15-minute data; "a single
# inverter [inverter 2] connected to a 204.12 kW PV array". ``ac_power_kw_1137`` is the
# whole system (inverter 2 gives 41 % of it). Coordinates: none in the package; those of
# the NREL campus station the package's irradiance examples use (RMIS, 39.7407,
# -105.1686) are taken, the Research Support Facility being on the same campus (about
# 400 m from SERF). Nameplate: twice inverter 2's array (assumed: two equal arrays); the
# measured 200 kW at 521 W/m² (POA sensor, clear noon of 2022-01-04) is 385 kW per
# 1000 W/m², consistent with 408 kW DC. Orientation: a fit of the whole system's AC power
# to the clear-sky plane-of-array shape on clear 2022-01-02 and 2022-01-04 gives a nearly
# flat roof (tilt 2-6°); its azimuth is not resolved by the fit and is taken as south.
# Timestamps: naive, and 2 hours ahead of local standard time (sunrise, sunset and cloud
# edges line up with SERF West's and with the clear-sky model only after subtracting 2 h).
RSF2_SITE = {
    "name": "NREL RSF II (PVDAQ system 1283)",
    "latitude": 39.7407,  # [deg]
    "longitude": -105.1686,  # [deg]
    "tilt": 5.0,  # [deg] fitted
    "azimuth": 180.0,  # [deg] assumed
    "capacity_w": 408_240.0,  # [W] 2 × 204.12 kW (see above)
    "utc_offset_s": -5 * 3600,  # naive labels are MST + 2 h
    "label_to_centre_s": 0,  # [s] labels taken as interval centres
}

# pvanalytics, docs/examples/orientation/tracking-nrel.py: "the single-axis tracking NREL
# Mesa system located on the NREL campus in Colorado", 15-minute AC power, timestamps
# localised (-06:00, daylight time), plotted as "AC Power (kW)". The package gives no
# coordinates: those of NREL's mesa-top station (39.742, -105.18) that its GHI examples
# use. On the clear mornings, production (above 1 % of the peak) starts 6-8 minutes after
# the modelled sunrise, so the stated offset is kept; it ends 45-75 minutes before the
# modelled sunset every day (the foothills to the west, and a tracker's stow).
# Nameplate unknown.
MESA_SITE = {
    "name": "NREL Mesa single-axis tracker",
    "latitude": 39.742,  # [deg]
    "longitude": -105.18,  # [deg]
    "tilt": None,  # single-axis tracker (axis orientation not published)
    "azimuth": None,
    "capacity_w": None,  # [W] nameplate, unknown
    "label_to_centre_s": 0,  # [s]
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


def _read_column(filename, column, utc_offset_s=None, scale=1.0):
    """One column of a pvanalytics data file as (UTC seconds, values), sorted by time.

    Timestamps carrying an offset are converted with it; naive ones are read as local time
    ``utc_offset_s`` [s] east of UTC.
    """
    import pandas as pd

    path = _data_dir() / filename
    frame = pd.read_csv(path, index_col=0)
    labels = frame.index.astype(str)
    if utc_offset_s is None:
        index = pd.to_datetime(labels, utc=True)
        ts = (index.asi8 // 1_000_000_000).astype(np.int64)
    else:
        index = pd.to_datetime(labels, format="mixed")
        ts = (index.asi8 // 1_000_000_000).astype(np.int64) - int(utc_offset_s)
    values = frame[column].to_numpy(dtype=float) * scale
    order = np.argsort(ts, kind="stable")
    return ts[order], values[order], path.name


def _with_peak(site, ts, power, filename):
    site = dict(site)
    site.update(peak_w=float(np.nanmax(power)), file=filename,
                resolution_s=int(np.median(np.diff(ts))))
    return site


def read_serf_west():
    """Read the SERF West AC power series (15 min, 2022-01-02 .. 2022-01-06) shipped in pvanalytics.

    Returns
    -------
    ts : ndarray of int64 [s]
        Labels, seconds since 1970 (UTC) (the file's naive local standard time + 7 h).
    power : ndarray of float [W]
        ``ac_power__773`` as measured (negative at night: inverter standby).
    site : dict
        ``SERF_WEST_SITE`` plus ``peak_w`` [W], ``file`` and ``resolution_s`` [s].
    """
    ts, power, name = _read_column(SERF_WEST_FILE, "ac_power__773", SERF_WEST_SITE["utc_offset_s"])
    return ts, power, _with_peak(SERF_WEST_SITE, ts, power, name)


def read_rsf2(inverter=None):
    """Read the RSF II AC power series (15 min, 2022-01-02 .. 2022-01-06) shipped in pvanalytics.

    Parameters
    ----------
    inverter : {None, 2}
        None: the whole system (``ac_power_kw_1137``); 2: inverter 2 alone
        (``inv2_ac_power_w__1047``).

    Returns
    -------
    ts : ndarray of int64 [s]
        Labels in UTC, the file's naive times moved back by 2 h to local standard time
        (see ``RSF2_SITE``).
    power : ndarray of float [W]
    site : dict
        ``RSF2_SITE`` plus ``peak_w`` [W], ``file`` and ``resolution_s`` [s]; for inverter 2,
        ``capacity_w`` is its array's 204.12 kW.
    """
    if inverter not in (None, 2):
        raise ValueError("pvdata: inverter must be None (whole system) or 2")
    column, scale = ("ac_power_kw_1137", 1000.0) if inverter is None else ("inv2_ac_power_w__1047", 1.0)
    ts, power, name = _read_column(RSF2_FILE, column, RSF2_SITE["utc_offset_s"], scale)
    site = _with_peak(RSF2_SITE, ts, power, name)
    if inverter == 2:
        site.update(name=site["name"] + ", inverter 2", capacity_w=204_120.0)
    return ts, power, site


def read_mesa_tracker():
    """Read the NREL Mesa single-axis tracker's AC power (15 min, 2010-06-25 .. 2010-06-30).

    Returns
    -------
    ts : ndarray of int64 [s]
        Seconds since 1970 (UTC), from the file's -06:00 timestamps.
    power : ndarray of float [W]
        The file's ``ac_power`` (kW, as the package's example plots it) × 1000.
    site : dict
        ``MESA_SITE`` plus ``peak_w`` [W], ``file`` and ``resolution_s`` [s].
    """
    ts, power, name = _read_column(MESA_FILE, "ac_power", None, 1000.0)
    return ts, power, _with_peak(MESA_SITE, ts, power, name)


AC_PER_DC = 0.85  # [1] AC peak of a fixed system per DC nameplate (80-90 %: inverter, wiring, heat)


def nameplate_from_peak(peak_w, ratio=AC_PER_DC):
    """A nameplate estimate where none is published: the measured peak over ``ratio``.

    AC peaks of fixed systems sit at 80-90 % of the DC nameplate (inverter and wiring
    losses, module temperature); ``ratio`` 0.85 is the middle.

    Parameters
    ----------
    peak_w : float [W]
        Largest measured power.
    ratio : float [1]

    Returns
    -------
    float [W]
    """
    return float(peak_w) / float(ratio)


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


def reconstruct(centres, averages, interval_s, t, shape):
    """Instantaneous power from interval averages, following the sun, energy kept per interval.

    The ratio of each average to the mean of ``shape`` over its interval (a clear-sky
    index) is interpolated linearly between interval centres and multiplied by ``shape``;
    then the values inside each interval are scaled so that their mean is the interval's
    average again. So power rises and sets with the sun (nothing before sunrise, where
    linear interpolation would put some), clouds change smoothly, and every interval keeps
    its measured energy. An interval whose shape is 0 throughout (night) gives 0: negative
    averages (inverter standby) and positive ones at night (sensor noise) are not energy.

    Parameters
    ----------
    centres : ndarray [s]
        Centres of the averaging intervals, evenly spaced ``interval_s`` apart.
    averages : ndarray [W]
        Average power of each interval.
    interval_s : int [s]
    t : ndarray [s]
        Evenly spaced times (at most 1/5 of the interval apart), inside
        ``[centres[0] - interval_s / 2, centres[-1] + interval_s / 2)``.
    shape : ndarray [W/m² or any]
        Clear-sky irradiance (sun-facing, or on the system's plane) at ``t``, 0 at night.

    Returns
    -------
    ndarray of float [W]
        >= 0; its mean over the ``t`` of each interval equals that interval's average
        (clipped at 0), where the shape is not 0 there.
    """
    centres = np.asarray(centres, dtype=float)
    avg = np.clip(np.nan_to_num(np.asarray(averages, dtype=float)), 0.0, None)
    t = np.asarray(t, dtype=float)
    shape = np.clip(np.asarray(shape, dtype=float), 0.0, None)
    n = centres.size
    idx = np.clip(np.floor((t - centres[0]) / interval_s + 0.5).astype(np.int64), 0, n - 1)
    count = np.bincount(idx, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_shape = np.bincount(idx, shape, minlength=n) / count
        k = np.where(mean_shape > 0, avg / mean_shape, 0.0)
        p = np.interp(t, centres, np.nan_to_num(k)) * shape
        mean_p = np.bincount(idx, p, minlength=n) / count
        factor = np.where(mean_p > 0, avg / mean_p, 0.0)
    return np.nan_to_num(p * factor[idx])


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


# ----------------------------------------------------------------------------
# Checks of a series' timestamps
# ----------------------------------------------------------------------------


def time_offset(ts, power, t_model, model, offsets_s, window=None):
    """The time shift that best fits a measured series to a modelled (clear-sky) shape.

    For each candidate offset ``d``, the model is read at ``ts + d`` and scaled by least
    squares onto ``power``; the offset with the smallest residual is returned. A best
    offset ``d`` means the values labelled ``ts`` belong to ``ts + d``: 0 when the labels
    are right. Use it on a clear day, on a window symmetric about solar noon (low sun is
    where terrain and shading depart most from the model).

    Parameters
    ----------
    ts : ndarray [s]
        Times of the measured values (e.g. interval centres).
    power : ndarray [any unit]
        Measured values at ``ts``.
    t_model : ndarray [s]
        Increasing times of the model, finely spaced (60 s or less), covering ``ts + d``.
    model : ndarray [any unit]
        Modelled shape at ``t_model`` (e.g. clear-sky irradiance on the plane).
    offsets_s : array_like [s]
        Candidate offsets.
    window : (float, float), optional
        Only ``ts`` in ``[window[0], window[1])`` [s] are fitted.

    Returns
    -------
    offset : float [s]
        The best candidate.
    rms : ndarray of float
        Residual rms of each candidate, in the unit of ``power``.
    """
    ts = np.asarray(ts, dtype=float)
    power = np.asarray(power, dtype=float)
    keep = np.isfinite(power)
    if window is not None:
        keep &= (ts >= window[0]) & (ts < window[1])
    ts, power = ts[keep], power[keep]
    rms = []
    for d in np.asarray(offsets_s, dtype=float):
        m = np.interp(ts + d, t_model, model)
        mm = float(m @ m)
        k = float(power @ m) / mm if mm > 0 else 0.0
        rms.append(np.sqrt(np.mean((power - k * m) ** 2)))
    rms = np.asarray(rms)
    return float(np.asarray(offsets_s, dtype=float)[int(np.argmin(rms))]), rms


def best_lag(ts, a, ts_b, b, lags_s):
    """Lag of series ``b`` against ``a`` that best matches their changes (cloud edges).

    ``b`` is interpolated at ``ts + lag`` and the correlation of the increments of ``a``
    and of the interpolated ``b`` is computed for each lag: increments are dominated by
    cloud edges, which two neighbours see together whatever their orientations.

    Parameters
    ----------
    ts : ndarray [s]
        Increasing times of ``a``.
    a : ndarray
    ts_b : ndarray [s]
        Increasing times of ``b``.
    b : ndarray
    lags_s : array_like [s]

    Returns
    -------
    lag : float [s]
        The lag with the highest correlation: ``b`` at ``t + lag`` matches ``a`` at ``t``.
    corr : ndarray of float [1]
        Correlation of the increments for each lag.
    """
    da = np.diff(np.asarray(a, dtype=float))
    corr = []
    for lag in np.asarray(lags_s, dtype=float):
        db = np.diff(np.interp(np.asarray(ts, dtype=float) + lag, ts_b, b))
        corr.append(np.corrcoef(da, db)[0, 1])
    corr = np.asarray(corr)
    return float(np.asarray(lags_s, dtype=float)[int(np.nanargmax(corr))]), corr


# ----------------------------------------------------------------------------
# A device's readings and the index's booking
# ----------------------------------------------------------------------------

ENERGY_REMAINDER = 7200  # [1/mWh] trapezoid resolution: (p0 + p1) [mW] · dt [s] / 7200 = mWh


def sample_times(start_s, stop_s, period_s=300, jitter_s=0, rng=None):
    """Times a device samples at: one per slot of ``period_s`` from ``start_s``.

    Parameters
    ----------
    start_s, stop_s : int [s]
        First slot start; samples stop before ``stop_s``.
    period_s : int [s]
        Slot length (300: 12 readings an hour).
    jitter_s : int [s], optional
        Each sample falls uniformly in ``[slot start, slot start + jitter_s]`` (the device
        wakes at the slot start and reads the sensor).
    rng : numpy.random.Generator, optional

    Returns
    -------
    ndarray of int64 [s]
    """
    t = np.arange(int(start_s), int(stop_s), int(period_s), dtype=np.int64)
    if jitter_s:
        rng = np.random.default_rng() if rng is None else rng
        t = t + rng.integers(0, int(jitter_s) + 1, t.shape)
    return t


def missed(n, fraction, rng=None):
    """Which of ``n`` samples a device misses (sensor errors, power cuts): a bool mask.

    Parameters
    ----------
    n : int
    fraction : float [1]
        Probability of missing each sample.
    rng : numpy.random.Generator, optional

    Returns
    -------
    ndarray of bool, shape ``(n,)``
        True for a missed sample.
    """
    if not fraction:
        return np.zeros(int(n), dtype=bool)
    rng = np.random.default_rng() if rng is None else rng
    return rng.random(int(n)) < fraction


def device_totals(ts, power_mw, genesis_s, period_s=300):
    """Cumulative energy [mWh] a device reports with each reading, as ``greenminer.miner`` integrates.

    The trapezoid between two readings is added only when the earlier one lies in the slot
    just before the later one's: across a missed slot nothing is added (energy may be lost,
    never invented). Integer arithmetic, as on the device.

    Parameters
    ----------
    ts : ndarray of int [s]
        Increasing reading times (the device's clock).
    power_mw : ndarray of int [mW]
        Power read, >= 0.
    genesis_s : int [s]
        Start of slot 0.
    period_s : int [s]

    Returns
    -------
    ndarray of int64 [mWh]
        Total after each reading, from 0 at the first one.
    """
    ts = np.asarray(ts, dtype=np.int64)
    p = np.asarray(power_mw, dtype=np.int64)
    if np.any(p < 0):
        raise ValueError("pvdata: negative power")
    slot = (ts - int(genesis_s)) // int(period_s)
    step = (p[:-1] + p[1:]) * np.diff(ts)
    step = np.where(np.diff(slot) == 1, step, 0)
    acc = np.concatenate([[0], np.cumsum(step)])
    return acc // ENERGY_REMAINDER


def book_epochs(ts, totals_mwh, genesis_s, n_epochs, epoch_s=3600):
    """Readings and energy per epoch as the index books them.

    An epoch's energy is its last reading's total minus the total of the reading just
    before its first one (in an earlier epoch); the first epoch with readings counts from
    its own first reading (``offchain.index.store.write_batches``).

    Parameters
    ----------
    ts : ndarray of int [s]
        Increasing reading times.
    totals_mwh : ndarray of int [mWh]
        Cumulative totals (``device_totals``).
    genesis_s : int [s]
        Start of epoch 0.
    n_epochs : int
    epoch_s : int [s]

    Returns
    -------
    n : ndarray of int64, shape ``(n_epochs,)``
        Readings in each epoch.
    energy : ndarray of int64, shape ``(n_epochs,)`` [mWh]
    """
    ts = np.asarray(ts, dtype=np.int64)
    totals = np.asarray(totals_mwh, dtype=np.int64)
    epoch = (ts - int(genesis_s)) // int(epoch_s)
    inside = (epoch >= 0) & (epoch < n_epochs)
    n = np.bincount(epoch[inside], minlength=n_epochs).astype(np.int64)
    energy = np.zeros(n_epochs, dtype=np.int64)
    if not inside.any():
        return n, energy
    last = np.flatnonzero(np.diff(epoch, append=epoch[-1] + 1) != 0)  # last reading of each epoch
    first = np.concatenate([[0], last[:-1] + 1])
    base = np.where(first > 0, totals[np.maximum(first - 1, 0)], totals[first])
    e = epoch[last]
    ok = (e >= 0) & (e < n_epochs)
    energy[e[ok]] = totals[last[ok]] - base[ok]
    return n, energy


def epoch_rows(ts, values, genesis_s, n_epochs, max_readings=12, epoch_s=3600):
    """Readings laid out per epoch: ``(n_epochs, max_readings)``, NaN-padded.

    Parameters
    ----------
    ts : ndarray [s]
        Increasing reading times.
    values : ndarray
        One value per reading (its time, power, ...).
    genesis_s : int [s]
    n_epochs : int
    max_readings : int
    epoch_s : int [s]

    Returns
    -------
    ndarray of float, shape ``(n_epochs, max_readings)``
        The first ``max_readings`` readings of each epoch, in order.
    """
    ts = np.asarray(ts, dtype=np.int64)
    epoch = (ts - int(genesis_s)) // int(epoch_s)
    out = np.full((n_epochs, max_readings), np.nan)
    inside = (epoch >= 0) & (epoch < n_epochs)
    e = epoch[inside]
    v = np.asarray(values, dtype=float)[inside]
    starts = np.searchsorted(e, e, side="left")
    col = np.arange(e.size) - starts
    keep = col < max_readings
    out[e[keep], col[keep]] = v[keep]
    return out


def sensor(power_w, gain=1.0, offset_w=0.0):
    """What an imperfect sensor reads: ``power · gain + offset``, never negative.

    Parameters
    ----------
    power_w : ndarray [W]
    gain : float [1]
        Calibration error (1.02: reads 2 % high).
    offset_w : float [W]
        Zero offset (also at night).

    Returns
    -------
    ndarray of float [W]
    """
    return np.clip(np.asarray(power_w, dtype=float) * gain + offset_w, 0.0, None)


def source_energy_wh(ts, power, interval_s):
    """Energy of a series of interval averages: ``Σ max(p, 0) · interval`` [Wh].

    Parameters
    ----------
    ts : ndarray [s]
        One label per average (only its length matters).
    power : ndarray [W]
        Average power of each interval; NaN counts 0.
    interval_s : int [s]

    Returns
    -------
    float [Wh]
    """
    p = np.clip(np.nan_to_num(np.asarray(power, dtype=float)), 0.0, None)
    return float(p.sum() * interval_s / 3600.0)


# ----------------------------------------------------------------------------
# Honest neighbours from real clouds
# ----------------------------------------------------------------------------


def clear_sky_index(power, clear, floor=None):
    """Measured over clear-sky power, clipped to ``[0, 1.5]``.

    Parameters
    ----------
    power : ndarray [W]
        Measured (or resampled) power.
    clear : ndarray [W]
        The system's clear-sky power at the same times, scaled so that clear periods give
        about 1 (see ``clear_sky_scale``).
    floor : float [W], optional
        Divide by at least this (default: 5 % of ``clear``'s maximum), so that dawn and dusk,
        where the model and the terrain differ most, do not blow the index up.

    Returns
    -------
    ndarray of float [1]
    """
    clear = np.asarray(clear, dtype=float)
    if floor is None:
        floor = 0.05 * float(np.nanmax(clear)) if clear.size else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.clip(np.asarray(power, dtype=float), 0.0, None) / np.maximum(clear, floor)
    return np.clip(np.nan_to_num(k), 0.0, 1.5)


def clear_sky_scale(power, clear_shape, q=0.97, min_fraction=0.3):
    """Scale that maps a clear-sky shape onto a system's clear periods.

    The ``q`` quantile of ``power / clear_shape`` over the samples where the shape is above
    ``min_fraction`` of its maximum: the upper envelope of the measured ratio, i.e. its
    clear-sky level (clouds only lower it, cloud-edge enhancement is above ``q``).

    Parameters
    ----------
    power : ndarray [W]
    clear_shape : ndarray [W/m² or any]
    q : float [1]
    min_fraction : float [1]

    Returns
    -------
    float [W per unit of ``clear_shape``]
    """
    shape = np.asarray(clear_shape, dtype=float)
    sel = shape > min_fraction * np.nanmax(shape)
    return float(np.quantile(np.clip(np.asarray(power, dtype=float)[sel], 0, None) / shape[sel], q))


def ar1_noise(n, sigma, rho, rng=None):
    """Stationary AR(1) noise: ``x_i = rho · x_{i-1} + sqrt(1 - rho²) · sigma · N(0, 1)``.

    Parameters
    ----------
    n : int
    sigma : float
        Standard deviation.
    rho : float [1]
        Correlation of consecutive values (0 .. 1).
    rng : numpy.random.Generator, optional

    Returns
    -------
    ndarray of float, shape ``(n,)``
    """
    from scipy.signal import lfilter

    rng = np.random.default_rng() if rng is None else rng
    e = rng.standard_normal(int(n)) * sigma
    if not n:
        return e
    drive = np.concatenate([[e[0]], np.sqrt(1.0 - rho * rho) * e[1:]])
    return lfilter([1.0], [1.0, -rho], drive)


def clear_poa(lat, lon, t, tilt=None, azimuth=None):
    """Clear-sky plane-of-array irradiance [W/m²] at times ``t`` [s] (None: faces the sun)."""
    t = np.asarray(t, dtype=float)
    kw = {} if tilt is None else {"tilt": [tilt], "azimuth": [azimuth]}
    return pvbound.clear_sky_poa([lat], [lon], t[None, :], **kw)[0]


def clear_power(lat, lon, capacity_w, t, tilt=None, azimuth=None, ratio=AC_PER_DC):
    """AC power [W] of a system of ``capacity_w`` [W] (DC) under clear sky at times ``t`` [s]:
    ``capacity · ratio · E_poa / 1000 W/m²`` (None: a plane facing the sun)."""
    return capacity_w * ratio * clear_poa(lat, lon, t, tilt, azimuth) / 1000.0


class MeasuredSystem:
    """A real system: its measured power at 1-min steps, and its clear-sky index.

    The 15-min averages become instantaneous power that follows the sun within each
    interval and keeps each interval's energy (``reconstruct``, on the sun-facing
    clear-sky shape); the clear-sky index divides that by the clear-sky power of the
    system's own plane, scaled to its clear periods. A neighbour under the same clouds is
    ``reoriented(system.index_at(t - lag), its own clear-sky power)``.

    Parameters
    ----------
    reader_output : tuple (ts [s], power [W], site dict)
        What a ``read_*`` function returns.
    capacity_w : float [W], optional
        Default: the site's, else ``nameplate_from_peak`` of its measured peak.
    span : (start [s], stop [s]), optional
        Keep only the intervals inside it.
    """

    def __init__(self, reader_output, capacity_w=None, span=None):
        ts, power, site = reader_output
        if span is not None:  # keep whole intervals inside [span[0], span[1])
            keep = (ts >= span[0]) & (ts < span[1])
            ts, power = ts[keep], power[keep]
        self.site = site
        self.lat, self.lon = site["latitude"], site["longitude"]
        self.capacity_w = capacity_w or site["capacity_w"] or nameplate_from_peak(site["peak_w"])
        centres = (ts + site["label_to_centre_s"]).astype(float)
        step = site["resolution_s"]
        self.t = np.arange(centres[0] - step / 2 + 30, centres[-1] + step / 2, 60.0)
        n = self.t.size
        sun = clear_poa(self.lat, self.lon, self.t)
        self.p = reconstruct(centres, power, step, self.t, sun)
        self.centres, self.averages = centres, np.clip(power, 0.0, None)
        poa = pvbound.clear_sky_poa_at(np.full(n, self.lat), np.full(n, self.lon), self.t,
                                       np.full(n, site["tilt"]), np.full(n, site["azimuth"]))
        self.k = clear_sky_index(self.p, clear_sky_scale(self.p, poa) * poa)

    def power_at(self, t):
        """Power [W] at times ``t`` [s]."""
        return resample(self.t, self.p, t)

    def index_at(self, t):
        """Clear-sky index [1] at times ``t`` [s]."""
        return np.interp(np.asarray(t, dtype=float), self.t, self.k)


def reoriented(index, clear_w, noise=None):
    """Power of a plane under someone else's clouds: its clear-sky power × a clear-sky index.

    Builds a physically plausible neighbour (or a "sophisticated copy") from a measured
    system: the index of the measured system, read at the other system's times (lagged,
    decorrelated by ``noise``), applied to the other system's own clear-sky power (its
    orientation and size). The cloud pattern is real; the split of beam and diffuse light
    under clouds is not modelled (the index is applied to the whole plane irradiance).

    Parameters
    ----------
    index : ndarray [1]
        Clear-sky index at the sample times (``clear_sky_index`` read at ``t - lag``).
    clear_w : ndarray [W]
        The new system's clear-sky power at the sample times.
    noise : ndarray [1], optional
        Relative decorrelation (e.g. ``ar1_noise``), multiplies the index.

    Returns
    -------
    ndarray of float [W]
        ``clear_w · index · (1 + noise)``, >= 0.
    """
    k = np.asarray(index, dtype=float)
    if noise is not None:
        k = k * (1.0 + np.asarray(noise, dtype=float))
    return np.clip(np.asarray(clear_w, dtype=float) * k, 0.0, None)


# ----------------------------------------------------------------------------
# Fabricated series (what a cheating miner could report)
# ----------------------------------------------------------------------------


def inflate(power_w, factor):
    """A real series multiplied: ``power · factor`` [W]."""
    return np.asarray(power_w, dtype=float) * float(factor)


def night_output(sun_up, level_w):
    """Output at night only: ``level_w`` [W] where the sun is down, 0 where it is up.

    Parameters
    ----------
    sun_up : ndarray of bool
        True where the sun is above the horizon (e.g. clear-sky irradiance > 0).
    level_w : float [W]

    Returns
    -------
    ndarray of float [W]
    """
    return np.where(np.asarray(sun_up, dtype=bool), 0.0, float(level_w))


def flat_output(t, level_w):
    """The same power at every time ``t`` [s]: ``level_w`` [W]."""
    return np.full(np.shape(t), float(level_w))


def copied(ts_src, power_src, t, shift_s=0, scale=1.0, noise=None):
    """A neighbour's series copied: read at ``t - shift_s``, rescaled, noised.

    Parameters
    ----------
    ts_src : ndarray [s]
        Increasing times of the copied series.
    power_src : ndarray [W]
    t : ndarray [s]
        The copier's sample times.
    shift_s : int [s]
        Delay of the copy (the copier reports at ``t`` what the source had at ``t - shift_s``).
    scale : float [1]
        E.g. the copier's capacity over the source's.
    noise : ndarray [1], optional
        Relative noise, multiplies.

    Returns
    -------
    ndarray of float [W], >= 0
    """
    p = resample(ts_src, power_src, np.asarray(t, dtype=float) - shift_s) * scale
    if noise is not None:
        p = p * (1.0 + np.asarray(noise, dtype=float))
    return np.clip(p, 0.0, None)


def replayed(ts_src, power_src, t, back_s):
    """An old day replayed: at ``t``, what the series had ``back_s`` earlier.

    The series is taken as periodic, its period the whole multiple of ``back_s`` nearest
    to its span, so that a short series can be replayed from its first day on (the first
    day replays the last one).

    Parameters
    ----------
    ts_src : ndarray [s]
        Increasing times of the series.
    power_src : ndarray [W]
    t : ndarray [s]
    back_s : int [s]
        E.g. 86 400 (yesterday's series today) or 604 800 (last week's).

    Returns
    -------
    ndarray of float [W], >= 0
    """
    ts_src = np.asarray(ts_src, dtype=float)
    u = np.asarray(t, dtype=float) - back_s
    period = back_s * max(1, round((ts_src[-1] - ts_src[0]) / back_s))
    u = np.where(u < ts_src[0], u + period, u)
    return resample(ts_src, power_src, u)
