"""The physical upper bound of a reading, checked against pvlib itself and real PV data."""

import numpy as np
import pandas as pd
import pvlib
import pytest

from offchain.scoring import pvbound
from testbed.pvdata import read_serf_east

SITES = [  # (lat, lon) [deg]: Golden CO, Cape Town, London, Gulf of Guinea, Svalbard, Sydney
    (39.742, -105.1727),
    (-33.9, 18.4),
    (51.5, -0.12),
    (0.0, 0.0),
    (78.2, 15.6),
    (-33.87, 151.21),
]


@pytest.fixture(scope="module")
def serf():
    """SERF East 15-min series: timestamps [s], power [mW], site; capacity = measured peak."""
    ts, power_w, site = read_serf_east("15min")
    return ts, power_w * 1000.0, site


@pytest.fixture(scope="module")
def serf_1min(serf):
    ts, power_w, _ = read_serf_east("1min")
    return ts, power_w * 1000.0, serf[2]


def _index(ts):
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(ts), unit="s", utc=True))


def _pvlib_poa(lat, lon, ts, tilt=None, azimuth=None):
    """Clear-sky plane-of-array irradiance [W/m²] the plain pvlib way, at one location."""
    loc = pvlib.location.Location(lat, lon, altitude=pvlib.location.lookup_altitude(lat, lon))
    times = _index(ts)
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, solar_position=sp)
    if tilt is None:
        tilt, azimuth = sp["apparent_zenith"].clip(0, 90), sp["azimuth"]
    poa = pvlib.irradiance.get_total_irradiance(
        tilt, azimuth, sp["apparent_zenith"], sp["azimuth"], cs["dni"], cs["ghi"], cs["dhi"]
    )["poa_global"]
    return np.nan_to_num(poa.to_numpy())


# ------------------------------------------------------------------ pvlib's data files


@pytest.mark.parametrize("lat, lon", SITES + [(89.99, 179.99), (-89.99, -180.0)])
def test_read_linke_turbidity__any_place__matches_pvlib_lookup(lat, lon):
    ts = np.arange(1_451_606_400, 1_483_228_800, 86_400 * 7 + 3_601, dtype=np.int64)  # 2016
    expected = pvlib.clearsky.lookup_linke_turbidity(_index(ts), lat, lon).to_numpy()

    monthly = pvbound.read_linke_turbidity([lat], [lon])
    got = pvbound.interpolate_monthly(np.repeat(monthly, len(ts), axis=0), ts.astype(float))

    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("lat, lon", SITES)
def test_read_altitude__any_place__matches_pvlib_lookup(lat, lon):
    assert pvbound.read_altitude([lat], [lon])[0] == pvlib.location.lookup_altitude(lat, lon)


def test_read_altitude__many_places_at_once__same_as_one_by_one():
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(-60, 70, 40), rng.uniform(-180, 180, 40)

    got = pvbound.read_altitude(lat, lon)

    assert list(got) == [pvlib.location.lookup_altitude(a, b) for a, b in zip(lat, lon)]


def test_grid_index__out_of_range__raises():
    with pytest.raises(ValueError, match="pvbound: latitude"):
        pvbound.grid_index([91.0], [0.0])


# ------------------------------------------------------------------ geometry and clear sky


@pytest.mark.parametrize("lat, lon", SITES)
def test_sun_position__vectorised_spa__matches_spa_python(lat, lon):
    ts = np.arange(1_700_000_000, 1_700_000_000 + 3 * 86_400, 977, dtype=np.int64)
    alt = pvbound.read_altitude([lat], [lon])[0]
    expected = pvlib.location.Location(lat, lon, altitude=alt).get_solarposition(_index(ts))

    zenith, azimuth = pvbound.sun_position(
        np.full(ts.shape, lat), np.full(ts.shape, lon), np.full(ts.shape, alt), ts.astype(float)
    )

    np.testing.assert_allclose(zenith, expected["apparent_zenith"], atol=1e-9)
    np.testing.assert_allclose(azimuth, expected["azimuth"], atol=1e-9)


@pytest.mark.parametrize("plane", [None, (45.0, 158.0), (10.0, 0.0)])
def test_clear_sky_poa_at__exact_points__matches_pvlib(serf, plane):
    ts, _, site = serf
    lat, lon = site["latitude"], site["longitude"]
    tilt, azimuth = plane if plane else (None, None)
    expected = _pvlib_poa(lat, lon, ts, tilt, azimuth)
    n = len(ts)

    got = pvbound.clear_sky_poa_at(
        np.full(n, lat), np.full(n, lon), ts.astype(float),
        None if plane is None else np.full(n, tilt),
        None if plane is None else np.full(n, azimuth),
    )

    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_clear_sky_poa__sun_facing_plane__at_least_any_fixed_plane(serf):
    ts, _, site = serf
    lat, lon = [site["latitude"]], [site["longitude"]]
    tracking = pvbound.clear_sky_poa(lat, lon, ts)[0]
    for tilt, azimuth in [(0, 180), (20, 90), (45, 158), (40, 180), (60, 270), (90, 180)]:
        fixed = pvbound.clear_sky_poa(lat, lon, ts, tilt=[tilt], azimuth=[azimuth])[0]
        # isotropic sky: only the ground-reflected part of a steep plane can beat tracking
        assert np.all(fixed <= tracking * 1.1 + 1.0)


@pytest.mark.parametrize("span_s", [3_600, 40 * 86_400])  # dense grid, then sparse grid
def test_clear_sky_poa__grid__close_to_exact_points(span_s):
    rng = np.random.default_rng(3)
    m, s = 300, 12
    site = rng.integers(0, len(SITES) - 1, m)
    lat = np.array([SITES[i][0] for i in site]) + rng.normal(0, 0.3, m)
    lon = np.array([SITES[i][1] for i in site]) + rng.normal(0, 0.3, m)
    ts = 1_467_370_800 + np.sort(rng.uniform(0, span_s, (m, s)), axis=1)
    ts[rng.random((m, s)) < 0.1] = np.nan

    got = pvbound.clear_sky_poa(lat, lon, ts)

    present = np.isfinite(ts)
    assert np.array_equal(np.isfinite(got), present)
    exact = pvbound.clear_sky_poa_at(
        np.repeat(lat, s).reshape(m, s)[present], np.repeat(lon, s).reshape(m, s)[present],
        ts[present],
    )
    # 0.1-degree cells (<= 12 s of solar time) and linear interpolation over 5 minutes
    np.testing.assert_allclose(got[present], exact, rtol=0.03, atol=5.0)
    assert np.mean(np.abs(got[present] - exact)) < 1.0


def test_clear_sky_poa__many_miners__each_row_as_if_alone():
    ts = 1_467_370_800 + np.arange(12) * 300.0
    lat = np.array([s[0] for s in SITES])
    lon = np.array([s[1] for s in SITES])

    together = pvbound.clear_sky_poa(lat, lon, ts)

    for i in range(len(SITES)):
        alone = pvbound.clear_sky_poa(lat[i : i + 1], lon[i : i + 1], ts)
        np.testing.assert_allclose(together[i], alone[0], rtol=1e-12, atol=1e-9)


def test_default_orientation__latitudes__tilt_clipped_and_facing_equator():
    tilt, azimuth = pvbound.default_orientation([60.0, 39.7, 5.0, 0.0, -20.0, -70.0])

    assert list(tilt) == [45.0, 39.7, 10.0, 10.0, 20.0, 45.0]
    assert list(azimuth) == [180.0, 180.0, 180.0, 180.0, 0.0, 0.0]


# ------------------------------------------------------------------ the bound on real data


def _serf_bound(ts, site, **kwargs):
    return pvbound.upper_bound(
        [site["latitude"]], [site["longitude"]], [site["peak_w"]], ts, **kwargs
    )[0]


def test_upper_bound__real_serf_15min_series__almost_never_exceeded(serf):
    ts, power, site = serf

    flagged = pvbound.exceeds(power, _serf_bound(ts, site))

    # 8 of 10 000: 15-min averages labelled at the interval start, so at sunrise they
    # hold power of the quarter hour after their timestamp
    assert flagged.mean() <= 0.001
    sun = pvlib.solarposition.get_solarposition(
        _index(ts[flagged]), site["latitude"], site["longitude"]
    )
    assert np.all(sun["apparent_elevation"] < 3.0)


def test_upper_bound__real_serf_1min_series__never_exceeded(serf_1min):
    ts, power, site = serf_1min

    assert not pvbound.exceeds(power, _serf_bound(ts, site)).any()


def test_upper_bound__fixed_default_plane_on_real_data__flags_more_than_sun_facing(serf):
    # why the bound faces the sun by default: the panel is not declared
    ts, power, site = serf
    tilt, azimuth = pvbound.default_orientation([site["latitude"]])

    fixed = pvbound.exceeds(power, _serf_bound(ts, site, tilt=tilt, azimuth=azimuth)).mean()
    tracking = pvbound.exceeds(power, _serf_bound(ts, site)).mean()

    assert fixed > 10 * tracking


def test_upper_bound__inflated_x3_serf_series__flagged_on_almost_every_day(serf):
    ts, power, site = serf
    bound = _serf_bound(ts, site)
    inflated = 3.0 * power
    producing = power > 0.05 * site["peak_w"] * 1000

    flagged = pvbound.exceeds(inflated, bound)

    assert flagged[producing].mean() > 0.4
    days = ts // 86_400
    caught = [flagged[days == d].any() for d in np.unique(days[producing])]
    assert np.mean(caught) > 0.95


def test_upper_bound__night_time_reading__flagged(serf):
    ts, power, site = serf
    cap_mw = site["peak_w"] * 1000
    midnight_local = ts[(ts % 86_400) == 6 * 3600]  # 00:00 MDT
    bound = _serf_bound(midnight_local, site)

    assert np.all(bound == pytest.approx(pvbound.DEFAULT_FLOOR * cap_mw))
    assert pvbound.exceeds(np.full(bound.shape, 0.05 * cap_mw), bound).all()
    assert not pvbound.exceeds(np.full(bound.shape, 0.005 * cap_mw), bound).any()


def test_upper_bound__noon__margin_times_clear_sky_power(serf):
    ts, _, site = serf
    noon = ts[(ts % 86_400) == 19 * 3600][:5]  # 13:00 MDT
    lat, lon, cap = [site["latitude"]], [site["longitude"]], [site["peak_w"]]

    clear = pvbound.clear_sky_power(lat, lon, cap, noon)[0]
    bound = pvbound.upper_bound(lat, lon, cap, noon, margin=1.5)[0]

    np.testing.assert_allclose(
        clear, site["peak_w"] * _pvlib_poa(lat[0], lon[0], noon), rtol=0.01
    )
    np.testing.assert_allclose(bound, 1.5 * clear)


def test_exceeds__missing_sample__never_flagged():
    power = np.array([[np.nan, 5.0, 20.0]])
    bound = np.array([[1.0, np.nan, 10.0]])

    assert pvbound.exceeds(power, bound).tolist() == [[False, False, True]]


def test_upper_bound__missing_timestamp__nan_bound():
    ts = np.array([[1_467_370_800.0, np.nan]])

    bound = pvbound.upper_bound([39.7], [-105.2], [5000.0], ts)

    assert np.isfinite(bound[0, 0]) and np.isnan(bound[0, 1])


def test_upper_bound__no_miner_or_no_sample__empty_or_nan():
    assert pvbound.upper_bound([], [], [], np.empty((0, 12))).shape == (0, 12)
    assert np.isnan(pvbound.upper_bound([10.0], [10.0], [1000.0], [[np.nan, np.nan]])).all()
