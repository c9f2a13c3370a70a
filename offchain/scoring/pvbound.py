"""Physical upper bound of a PV power reading: clear sky on the panel plane, with margin.

A reading of power ``p`` [mW] by a miner of declared capacity ``C`` [W peak] at time
``t`` is physically possible only below

    bound = max(margin · C · E_clear(t) / (1000 W/m²) · 1000 mW/W,  floor · C · 1000 mW/W)

where ``E_clear`` [W/m²] is the clear-sky irradiance on the panel plane:

- solar position: NREL SPA as implemented in ``pvlib.spa`` (what
  ``pvlib.solarposition.spa_python`` runs), split into its time-only (geocentric) part,
  computed once per grid time, and its location part (topocentric), computed per grid
  point;
- clear sky: ``pvlib.clearsky.ineichen`` with the climatological Linke turbidity and the
  terrain altitude that ship inside pvlib (``LinkeTurbidities.h5``, ``Altitude.h5``,
  read here without network), absolute air mass at the altitude's standard pressure, and
  the extraterrestrial irradiance of the day;
- transposition: ``pvlib.irradiance.get_total_irradiance``, isotropic sky, albedo 0.25.

The panel plane. A miner declares capacity and location, not orientation, so by default
the plane faces the sun (two-axis tracking: tilt = apparent zenith, azimuth = solar
azimuth). That irradiance is the largest any fixed plane can receive under the isotropic
model up to ground reflection, so the bound holds whatever the orientation. Measured on
NREL SERF East (tilt 45°, azimuth 158°, 15-min and 1-min series with the measured peak
as capacity), the sun-facing bound with margin 1.5 is exceeded by 8 of 10 000 samples
(all with the sun less than 3° high: those values are 15-minute averages labelled at the
start of the interval) and by none of the 2607 1-min samples; a fixed plane at the
latitude tilt facing the equator (``default_orientation``) is exceeded by 2.7 % and
6.4 % of them, and even the panel's true plane by 0.7 % and 1.8 % (low sun, diffuse
light, and the cosine of a plane that does not face the sun). A fixed plane can still be
asked for with ``tilt``/``azimuth`` when an orientation is known.

The margin. Cloud-edge enhancement raises the irradiance above clear sky for seconds to
minutes, mostly to 1.1-1.4 × and in the extremes to about 1.5 × (e.g. Gueymard, Solar
Energy 153, 2017; Järvelä et al., Solar Energy 196, 2020), and cold modules exceed their
STC rating by a few %; hence ``margin = 1.5``. The floor (1 % of capacity) absorbs
sensor offsets at night and at dawn. What the bound cannot see: inflation by less than
the margin (× 1.5 is flagged in 1 % of producing SERF hours, × 2 in 23 %, × 3 in 65 %
of the hours and on 98 % of the days).

Speed. Solar geometry and clear sky vary slowly in space and time, so they are computed
on a grid, not per sample: locations are rounded to the nodes of pvlib's climatology grid
(1/12° ≈ 9 km, at most 10 s of solar time; each node has one altitude and one
turbidity), times to a grid of ``grid_s`` (300 s), and each sample's irradiance is
linearly interpolated in time between the two grid times around it (interpolation error
below 0.1 W/m²). Only the (node, grid time) pairs some sample needs are evaluated.

Shapes: ``lat``, ``lon``, ``capacity_w`` (and optional ``tilt``, ``azimuth``) have one
value per miner, shape ``(M,)``; ``ts`` holds the sample times, shape ``(M, S)`` (or
``(S,)``, the same times for every miner), NaN for a missing sample. Results have shape
``(M, S)`` with NaN where ``ts`` is NaN.
"""

import functools
import pathlib

import numpy as np

DEFAULT_MARGIN = 1.5  # [1] cloud-edge enhancement reaches ~1.4-1.5 × clear sky
DEFAULT_FLOOR = 0.01  # [1] of capacity: sensor offset at night
DEFAULT_GRID_S = 300  # [s] time step of the grid
DEFAULT_ALBEDO = 0.25  # [1] ground reflectance
STC_IRRADIANCE = 1000.0  # [W/m²] irradiance at which the capacity is rated
MW_PER_W = 1000.0  # [mW/W]
DELTA_T = 67.0  # [s] TT - UT1 as pvlib's spa_python default
ATMOS_REFRACT = 0.5667  # [deg] refraction at sunrise/sunset, pvlib's default
TEMPERATURE = 12.0  # [°C] yearly mean air temperature for refraction, pvlib's default

_PVLIB_GRIDS = {
    # name: (file in pvlib/data, dataset, scale of the stored uint8)
    "linke": ("LinkeTurbidities.h5", "LinkeTurbidity"),
    "altitude": ("Altitude.h5", "Altitude"),
}
_COLUMNS = 8  # shared times transposed at once (memory: M × 8 × 3 floats)
_GRID_ROWS, _GRID_COLS = 2160, 4320  # 5' nodes, latitude 90 -> -90, longitude -180 -> 180
GRID_DEG = 1.0 / 12.0  # [deg] spacing of pvlib's climatology grid, the cells of the bound
_ALTITUDE_NODATA = 255


# ----------------------------------------------------------------------------
# pvlib's gridded climatology (files inside the pvlib package, no network)
# ----------------------------------------------------------------------------


def grid_index(lat, lon):
    """Row and column of pvlib's 5-arc-minute global grids (Linke turbidity, altitude).

    Vectorised form of ``pvlib.tools._degrees_to_index``: node centres, nearest node.

    Parameters
    ----------
    lat : array_like [deg]
        Latitude, -90 .. 90.
    lon : array_like [deg]
        Longitude, -180 .. 180.

    Returns
    -------
    row, col : ndarray of int64
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
        raise ValueError("pvbound: latitude must be in [-90, 90] and longitude in [-180, 180]")
    row_scale = _GRID_ROWS / -180.0
    col_scale = _GRID_COLS / 360.0
    row = np.rint((lat - (90.0 + 0.5 / row_scale)) * row_scale)
    col = np.rint((lon - (-180.0 + 0.5 / col_scale)) * col_scale)
    row = np.clip(row, 0, _GRID_ROWS - 1).astype(np.int64)
    col = np.clip(col, 0, _GRID_COLS - 1).astype(np.int64)
    return row, col


@functools.lru_cache(maxsize=None)
def _pvlib_data(name):
    import pvlib

    filename, dataset = _PVLIB_GRIDS[name]
    return pathlib.Path(pvlib.__file__).parent / "data" / filename, dataset


_tiles = {}  # (name, tile row, tile col) -> ndarray, read once per process


def _read_pvlib_grid(name, row, col):
    """Values of a pvlib grid at nodes ``(row, col)``, reading only the HDF5 tiles needed."""
    import h5py

    path, dataset = _pvlib_data(name)
    row = np.asarray(row, dtype=np.int64)
    col = np.asarray(col, dtype=np.int64)
    with h5py.File(path, "r") as f:
        data = f[dataset]
        th, tw = data.chunks[:2]
        out = np.empty(row.shape + data.shape[2:], dtype=data.dtype)
        tile_key = (row // th) * (_GRID_COLS // tw + 1) + col // tw
        keys, inverse = np.unique(tile_key, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(keys) + 1))
        for n, key in enumerate(keys):
            ti, tj = divmod(int(key), _GRID_COLS // tw + 1)
            tile = _tiles.get((name, ti, tj))
            if tile is None:
                tile = data[ti * th : (ti + 1) * th, tj * tw : (tj + 1) * tw]
                _tiles[(name, ti, tj)] = tile
            sel = order[bounds[n] : bounds[n + 1]]
            out[sel] = tile[row[sel] - ti * th, col[sel] - tj * tw]
    return out


def read_linke_turbidity(lat, lon):
    """Monthly climatological Linke turbidity at the locations, from pvlib's data file.

    Parameters
    ----------
    lat, lon : array_like [deg]

    Returns
    -------
    ndarray of float, shape ``lat.shape + (12,)`` [1]
        January .. December, as ``pvlib.clearsky.lookup_linke_turbidity`` reads them.
    """
    row, col = grid_index(lat, lon)
    return _read_pvlib_grid("linke", row, col).astype(float) / 20.0


def read_altitude(lat, lon):
    """Terrain altitude at the locations, from pvlib's data file (0 where it has none).

    Parameters
    ----------
    lat, lon : array_like [deg]

    Returns
    -------
    ndarray of float [m]
        As ``pvlib.location.lookup_altitude``: 28 m steps from -450 m.
    """
    row, col = grid_index(lat, lon)
    raw = _read_pvlib_grid("altitude", row, col)
    return np.where(raw == _ALTITUDE_NODATA, 0.0, raw.astype(float) * 28.0 - 450.0)


# ----------------------------------------------------------------------------
# Pure maths
# ----------------------------------------------------------------------------


def day_of_year(ts):
    """Day of the year (UTC) and leap-year flag of timestamps.

    Parameters
    ----------
    ts : array_like [s]
        Seconds since 1970 (UTC), finite.

    Returns
    -------
    doy : ndarray of int64 [day]
        1 .. 366.
    leap : ndarray of bool
    """
    days = np.floor(np.asarray(ts, dtype=float) / 86400.0).astype("datetime64[D]")
    years = days.astype("datetime64[Y]")
    doy = (days - years.astype("datetime64[D]")).astype(np.int64) + 1
    year = years.astype(np.int64) + 1970
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return doy, leap


def _month_middles(leap):
    mdays = np.array([31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], float)
    ydays = mdays.sum()
    return np.concatenate([[-31 / 2.0], np.cumsum(mdays) - mdays / 2.0, [ydays + 31 / 2.0]])


_MIDDLES = {False: _month_middles(False), True: _month_middles(True)}


def interpolate_monthly(monthly, ts):
    """Monthly values interpolated to the day, as pvlib interpolates Linke turbidity.

    Each month's value belongs to the middle day of the month; December of the year before
    and January of the year after close the ends.

    Parameters
    ----------
    monthly : ndarray, shape ``(n, 12)``
        January .. December for each point.
    ts : ndarray, shape ``(n,)`` [s]

    Returns
    -------
    ndarray of float, shape ``(n,)``
    """
    doy, leap = day_of_year(ts)
    middles = np.where(leap[:, None], _MIDDLES[True], _MIDDLES[False])  # (n, 14)
    hi = np.clip((middles <= doy[:, None]).sum(axis=1), 1, 13)  # middles[hi-1] <= doy < middles[hi]
    lo = hi - 1
    m_lo = middles[np.arange(len(doy)), lo]
    m_hi = middles[np.arange(len(doy)), hi]
    w = (doy - m_lo) / (m_hi - m_lo)
    rows = np.arange(len(doy))
    # concatenated index j = 0..13 is month (j - 1) mod 12
    v_lo = monthly[rows, (lo - 1) % 12]
    v_hi = monthly[rows, (hi - 1) % 12]
    return v_lo + w * (v_hi - v_lo)


def default_orientation(lat):
    """A common fixed orientation: tilt = |latitude| within [10°, 45°], facing the equator.

    Parameters
    ----------
    lat : array_like [deg]

    Returns
    -------
    tilt : ndarray [deg]
        From horizontal.
    azimuth : ndarray [deg]
        Clockwise from north: 180 in the northern hemisphere (and on the equator), 0 in the
        southern.
    """
    lat = np.asarray(lat, dtype=float)
    return np.clip(np.abs(lat), 10.0, 45.0), np.where(lat < 0, 0.0, 180.0)


def sun_position(lat, lon, altitude, ts):
    """Apparent solar zenith and azimuth by NREL SPA, time part computed once per time.

    Same maths and defaults as ``pvlib.solarposition.spa_python`` (ΔT = 67 s, refraction
    at the altitude's standard pressure and 12 °C), but ``lat``, ``lon``, ``altitude`` and
    ``ts`` are arrays of the same shape, and the geocentric part (which depends on time
    only) is computed for the unique times.

    Parameters
    ----------
    lat, lon : ndarray [deg]
    altitude : ndarray [m]
    ts : ndarray [s]
        Seconds since 1970 (UTC).

    Returns
    -------
    apparent_zenith : ndarray [deg]
    azimuth : ndarray [deg]
        Clockwise from north.
    """
    from pvlib import atmosphere, spa

    times, inverse = np.unique(np.asarray(ts, dtype=float), return_inverse=True)
    inverse = inverse.reshape(np.shape(ts))
    v, alpha, delta = spa.solar_position(
        times, 0.0, 0.0, 0.0, 1013.25, TEMPERATURE, DELTA_T, ATMOS_REFRACT, sst=True
    )
    (radius,) = spa.solar_position(
        times, 0.0, 0.0, 0.0, 1013.25, TEMPERATURE, DELTA_T, ATMOS_REFRACT, esd=True
    )
    v, alpha, delta, radius = v[inverse], alpha[inverse], delta[inverse], radius[inverse]
    pressure_mbar = atmosphere.alt2pres(altitude) / 100.0
    hour = spa.local_hour_angle(v, lon, alpha)
    xi = spa.equatorial_horizontal_parallax(radius)
    u = spa.uterm(lat)
    x = spa.xterm(u, lat, altitude)
    y = spa.yterm(u, lat, altitude)
    delta_alpha = spa.parallax_sun_right_ascension(x, xi, hour, delta)
    delta_prime = spa.topocentric_sun_declination(delta, x, y, xi, delta_alpha, hour)
    hour_prime = spa.topocentric_local_hour_angle(hour, delta_alpha)
    e0 = spa.topocentric_elevation_angle_without_atmosphere(lat, delta_prime, hour_prime)
    delta_e = spa.atmospheric_refraction_correction(pressure_mbar, TEMPERATURE, e0, ATMOS_REFRACT)
    elevation = spa.topocentric_elevation_angle(e0, delta_e)
    zenith = spa.topocentric_zenith_angle(elevation)
    gamma = spa.topocentric_astronomers_azimuth(hour_prime, delta_prime, lat)
    azimuth = spa.topocentric_azimuth_angle(gamma)
    return zenith, azimuth


def clear_sky_components(lat, lon, ts, altitude=None, linke=None):
    """Sun direction and clear-sky irradiance components at exact points (no grid).

    Parameters
    ----------
    lat, lon : ndarray [deg]
    ts : ndarray [s]
        Same shape as ``lat``.
    altitude : ndarray [m], optional
        Default: pvlib's terrain altitude.
    linke : ndarray, shape ``lat.shape + (12,)`` [1], optional
        Monthly Linke turbidity. Default: pvlib's climatology.

    Returns
    -------
    sun : ndarray, shape ``ts.shape + (3,)`` [1]
        Unit vector towards the sun (east, north, up).
    dni, ghi, dhi : ndarray [W/m²]
        Direct normal, global horizontal and diffuse horizontal irradiance (Ineichen).
    """
    from pvlib import atmosphere, clearsky, irradiance

    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    ts = np.asarray(ts, dtype=float)
    altitude = read_altitude(lat, lon) if altitude is None else np.asarray(altitude, float)
    linke = read_linke_turbidity(lat, lon) if linke is None else np.asarray(linke, float)
    zenith, sun_az = sun_position(lat, lon, altitude, ts)
    turbidity = interpolate_monthly(linke.reshape(-1, 12), ts.ravel()).reshape(ts.shape)
    doy, _ = day_of_year(ts)
    dni_extra = irradiance.get_extra_radiation(doy.astype(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        airmass = atmosphere.get_absolute_airmass(
            atmosphere.get_relative_airmass(zenith), atmosphere.alt2pres(altitude)
        )
        cs = clearsky.ineichen(zenith, airmass, turbidity, altitude=altitude, dni_extra=dni_extra)
    z, a = np.radians(zenith), np.radians(sun_az)
    sun = np.stack([np.sin(z) * np.sin(a), np.sin(z) * np.cos(a), np.cos(z)], axis=-1)
    return sun, *(np.clip(np.nan_to_num(np.asarray(cs[c], dtype=float)), 0.0, None) for c in ("dni", "ghi", "dhi"))


def plane_normal(tilt=None, azimuth=None):
    """Unit normal (east, north, up) of planes, and which of them face the sun (NaN or None).

    Parameters
    ----------
    tilt, azimuth : array_like [deg], optional
        Tilt from horizontal, azimuth clockwise from north.

    Returns
    -------
    normal : ndarray, shape ``tilt.shape + (3,)`` [1]
    tracking : ndarray of bool, shape ``tilt.shape``
    """
    if tilt is None or azimuth is None:
        tilt = azimuth = np.nan
    tilt = np.asarray(tilt, dtype=float)
    azimuth = np.asarray(azimuth, dtype=float)
    tracking = np.isnan(tilt) | np.isnan(azimuth)
    b, g = np.radians(np.nan_to_num(tilt)), np.radians(np.nan_to_num(azimuth))
    return np.stack([np.sin(b) * np.sin(g), np.sin(b) * np.cos(g), np.cos(b)], axis=-1), tracking


def plane_irradiance(sun, dni, ghi, dhi, normal, tracking, albedo=DEFAULT_ALBEDO):
    """Irradiance on a plane, isotropic sky (``pvlib.irradiance.get_total_irradiance``'s).

    Parameters
    ----------
    sun : ndarray, shape ``(..., 3)`` [1]
        Unit vector towards the sun (east, north, up), as ``clear_sky_components``.
    dni, ghi, dhi : ndarray [W/m²]
    normal, tracking : ndarray, broadcastable
        ``plane_normal``: a tracking plane faces the sun (its tilt is the zenith).
    albedo : float [1]

    Returns
    -------
    ndarray of float [W/m²]
    """
    up = np.clip(sun[..., 2], -1.0, 1.0)
    cos_aoi = np.where(tracking, 1.0, np.einsum("...i,...i->...", sun, normal))
    cos_tilt = np.where(tracking, np.clip(up, 0.0, 1.0), normal[..., 2])
    direct = np.where(up > 0, dni * np.clip(cos_aoi, 0.0, None), 0.0)
    poa = direct + dhi * (1 + cos_tilt) / 2 + ghi * albedo * (1 - cos_tilt) / 2
    return np.clip(poa, 0.0, None)


def clear_sky_poa_at(lat, lon, ts, tilt=None, azimuth=None, altitude=None, linke=None,
                     albedo=DEFAULT_ALBEDO):
    """Clear-sky irradiance on the panel plane at exact points (no grid).

    Parameters
    ----------
    lat, lon : ndarray [deg]
    ts : ndarray [s]
        Same shape as ``lat``.
    tilt, azimuth : ndarray [deg], optional
        Panel plane (tilt from horizontal, azimuth clockwise from north); NaN or None: the
        plane faces the sun.
    altitude : ndarray [m], optional
        Default: pvlib's terrain altitude.
    linke : ndarray, shape ``lat.shape + (12,)`` [1], optional
        Monthly Linke turbidity. Default: pvlib's climatology.
    albedo : float [1]

    Returns
    -------
    ndarray of float [W/m²]
    """
    sun, dni, ghi, dhi = clear_sky_components(lat, lon, ts, altitude, linke)
    return plane_irradiance(sun, dni, ghi, dhi, *plane_normal(tilt, azimuth), albedo)


def _per_miner(value, m):
    if value is None:
        return np.full(m, np.nan)
    return np.broadcast_to(np.asarray(value, dtype=float), (m,))


def _unique_rows(keys):
    """Unique rows of an int64 matrix and the row index of each input row.

    Faster than ``np.unique(axis=0)``: the rows are packed into one int64 when they fit.
    """
    low = keys.min(axis=0)
    dims = keys.max(axis=0) - low + 1
    if np.prod(dims.astype(float)) >= 2.0**62:
        cells, inverse = np.unique(keys, axis=0, return_inverse=True)
        return cells, inverse.reshape(-1)
    packed = np.ravel_multi_index(tuple((keys - low).T), tuple(int(d) for d in dims))
    uniq, inverse = np.unique(packed, return_inverse=True)
    cells = np.stack(np.unravel_index(uniq, tuple(int(d) for d in dims)), axis=1) + low
    return cells, inverse.reshape(-1)


def clear_sky_poa(lat, lon, ts, tilt=None, azimuth=None, albedo=DEFAULT_ALBEDO,
                  grid_s=DEFAULT_GRID_S):
    """Clear-sky irradiance on each miner's panel plane at each sample time, on a grid.

    Locations are rounded to the nodes of pvlib's 5' climatology grid (each node has one
    altitude and one Linke turbidity); the sun's direction and the clear-sky irradiance
    components (``clear_sky_components``) are evaluated only at the (node, grid time)
    pairs the samples need, ``grid_s`` apart, interpolated linearly to each sample's time,
    then transposed to the miner's own plane (``plane_irradiance``). Planes cost nothing:
    every miner may have its own.

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
    ts : array_like, shape ``(M, S)`` or ``(S,)`` [s]
        Sample times; NaN for a missing sample.
    tilt, azimuth : array_like, shape ``(M,)`` [deg], optional
        Panel plane per miner; None or NaN: the plane faces the sun (see module notes).
    albedo : float [1]
    grid_s : float [s]

    Returns
    -------
    ndarray of float, shape ``(M, S)`` [W/m²]
        NaN where ``ts`` is NaN.
    """
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    m = lat.shape[0]
    ts = np.asarray(ts, dtype=float)
    shared = ts.ndim == 1  # the same times for every miner
    if shared:
        ts = np.broadcast_to(ts, (m, ts.shape[0]))
    if ts.shape[0] != m or lon.shape != lat.shape:
        raise ValueError("pvbound: lat, lon and ts must have one row per miner")
    tilt = _per_miner(tilt, m)
    azimuth = _per_miner(azimuth, m)
    out = np.full(ts.shape, np.nan)
    valid = np.isfinite(ts)
    if not valid.any():
        return out

    row, col = grid_index(lat, lon)
    cells, cell_of = _unique_rows(np.stack([row, col], axis=1))
    n_cells = cells.shape[0]
    c_lat = 90.0 - (cells[:, 0] + 0.5) * GRID_DEG
    c_lon = -180.0 + (cells[:, 1] + 0.5) * GRID_DEG
    c_alt = read_altitude(c_lat, c_lon)
    c_linke = read_linke_turbidity(c_lat, c_lon)

    if shared and valid.all() and not np.any(ts[0] % grid_s):
        # times on the grid, the same for every miner: every cell at exactly those times (the
        # grid's interpolation would give the same values), transposed a few times at a
        # time, so that nothing of shape (M, S, 3) is ever made
        s = ts.shape[1]
        sun, dni, ghi, dhi = clear_sky_components(
            np.repeat(c_lat, s), np.repeat(c_lon, s), np.tile(ts[0], n_cells),
            np.repeat(c_alt, s), np.repeat(c_linke, s, axis=0),
        )
        normal, tracking = plane_normal(tilt, azimuth)
        for k in range(0, s, _COLUMNS):
            pick = cell_of[:, None] * s + np.arange(k, min(k + _COLUMNS, s))
            out[:, k:k + _COLUMNS] = plane_irradiance(sun[pick], dni[pick], ghi[pick], dhi[pick], normal[:, None, :],
                                                      tracking[:, None], albedo)
        return out

    t = ts[valid]
    miner = np.broadcast_to(np.arange(m)[:, None], ts.shape)[valid]
    cell = cell_of[miner]
    g_float = t / grid_s
    g = np.floor(g_float).astype(np.int64)
    w = (g_float - g)[:, None]
    g0 = int(g.min())
    n_grid = int(g.max()) - g0 + 2
    g -= g0

    if n_cells * n_grid <= max(2 * t.size, 4096):
        # dense: every cell at every grid time of the span
        p_cell = np.repeat(np.arange(n_cells), n_grid)
        p_g = np.tile(np.arange(n_grid), n_cells)
        idx0 = cell * n_grid + g
        idx1 = idx0 + 1
    else:
        # sparse: only the pairs some sample needs
        key0 = cell * n_grid + g
        needed = np.unique(np.concatenate([key0, key0 + 1]))
        p_cell, p_g = np.divmod(needed, n_grid)
        idx0 = np.searchsorted(needed, key0)
        idx1 = np.searchsorted(needed, key0 + 1)
    p_t = (g0 + p_g).astype(float) * grid_s
    sun, dni, ghi, dhi = clear_sky_components(c_lat[p_cell], c_lon[p_cell], p_t, c_alt[p_cell], c_linke[p_cell])
    parts = np.concatenate([sun, dni[:, None], ghi[:, None], dhi[:, None]], axis=1)  # (pairs, 6)
    at = parts[idx0] * (1.0 - w) + parts[idx1] * w
    norm = np.linalg.norm(at[:, :3], axis=1, keepdims=True)
    sun_t = np.where(norm > 0, at[:, :3] / np.where(norm > 0, norm, 1.0), at[:, :3])
    normal, tracking = plane_normal(tilt, azimuth)
    out[valid] = plane_irradiance(sun_t, at[:, 3], at[:, 4], at[:, 5], normal[miner], tracking[miner], albedo)
    return out


def clear_sky_power(lat, lon, capacity_w, ts, **kwargs):
    """Power a miner would produce under clear sky: capacity × E_poa / 1000 W/m².

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
    capacity_w : array_like, shape ``(M,)`` [W]
        Declared peak capacity (at 1000 W/m²).
    ts : array_like, shape ``(M, S)`` or ``(S,)`` [s]
    **kwargs
        ``tilt``, ``azimuth``, ``albedo``, ``grid_s`` of ``clear_sky_poa``.

    Returns
    -------
    ndarray of float, shape ``(M, S)`` [mW]
    """
    poa = clear_sky_poa(lat, lon, ts, **kwargs)
    capacity_w = np.atleast_1d(np.asarray(capacity_w, dtype=float))
    return capacity_w[:, None] * poa / STC_IRRADIANCE * MW_PER_W


def bound_from_clear_sky(clear_mw, capacity_w, margin=DEFAULT_MARGIN, floor=DEFAULT_FLOOR):
    """Upper bound from the clear-sky power: ``max(margin · clear, floor · capacity)``.

    Parameters
    ----------
    clear_mw : ndarray, shape ``(M, S)`` [mW]
        Clear-sky power (``clear_sky_power``).
    capacity_w : array_like, shape ``(M,)`` [W]
    margin : float [1]
        Allowance for cloud enhancement (default 1.5).
    floor : float [1]
        Fraction of capacity always allowed (default 0.01: sensor offset at night).

    Returns
    -------
    ndarray of float, shape ``(M, S)`` [mW]
        NaN where ``clear_mw`` is NaN.
    """
    capacity_mw = np.atleast_1d(np.asarray(capacity_w, dtype=float))[:, None] * MW_PER_W
    return np.maximum(margin * np.asarray(clear_mw, dtype=float), floor * capacity_mw)


def upper_bound(lat, lon, capacity_w, ts, margin=DEFAULT_MARGIN, floor=DEFAULT_FLOOR, **kwargs):
    """Physical upper bound of each sample.

    Parameters
    ----------
    lat, lon : array_like, shape ``(M,)`` [deg]
    capacity_w : array_like, shape ``(M,)`` [W]
    ts : array_like, shape ``(M, S)`` or ``(S,)`` [s]
        NaN for a missing sample.
    margin, floor : float [1]
        See ``bound_from_clear_sky``.
    **kwargs
        ``tilt``, ``azimuth``, ``albedo``, ``grid_s`` of ``clear_sky_poa``.

    Returns
    -------
    ndarray of float, shape ``(M, S)`` [mW]
    """
    clear = clear_sky_power(lat, lon, capacity_w, ts, **kwargs)
    return bound_from_clear_sky(clear, capacity_w, margin, floor)


def exceeds(power_mw, bound_mw):
    """Samples above their bound (missing samples never exceed).

    Parameters
    ----------
    power_mw : ndarray, shape ``(M, S)`` [mW]
        NaN for a missing sample.
    bound_mw : ndarray, shape ``(M, S)`` [mW]

    Returns
    -------
    ndarray of bool, shape ``(M, S)``
    """
    with np.errstate(invalid="ignore"):
        return np.asarray(power_mw, dtype=float) > np.asarray(bound_mw, dtype=float)
