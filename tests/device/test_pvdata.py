"""testbed.pvdata: the measured SERF East series and its per-miner variants."""

import numpy as np
import pytest

from testbed import pvdata


@pytest.fixture(scope="module")
def serf():
    return pvdata.read_serf_east("15min")


def test_read_serf_east__15min__real_series_and_site(serf):
    ts, power, site = serf
    assert len(ts) == len(power) == 10_000
    assert np.all(np.diff(ts) == 900)
    assert ts[0] == 1_467_356_400  # 2016-07-01 00:00 -07:00
    assert site["peak_w"] == pytest.approx(5426.4)
    assert (site["latitude"], site["longitude"], site["tilt"], site["azimuth"]) == (
        39.742, -105.1727, 45.0, 158.0)
    assert site["capacity_w"] is None and site["resolution_s"] == 900


def test_read_serf_east__1min__43_hours():
    ts, power, site = pvdata.read_serf_east("1min")
    assert site["resolution_s"] == 60 and (ts[-1] - ts[0]) / 3600 == pytest.approx(43.4, abs=0.1)


def test_read_serf_east__unknown_resolution__refused():
    with pytest.raises(ValueError):
        pvdata.read_serf_east("5min")


def test_serf_east__produces_by_day_only(serf):
    ts, power, _ = serf
    local_hour = ((ts - 7 * 3600) % 86400) // 3600
    assert power[(local_hour < 4) | (local_hour > 21)].max() < 10  # standby only at night
    assert power[(local_hour >= 11) & (local_hour <= 13)].mean() > 2_000


def test_resample__interpolates_and_clips_negative():
    ts = np.array([0, 100, 200])
    power = np.array([-3.0, 100.0, 300.0])
    assert pvdata.resample(ts, power, [0, 50, 150]).tolist() == [0.0, 48.5, 200.0]


def test_scale_for_miner__ratio_and_clip():
    out = pvdata.scale_for_miner(np.array([-1.0, 500.0, 1_000.0, 1_200.0]), 1_000.0, 40.0)
    assert out.tolist() == [0.0, 20.0, 40.0, 40.0]


def test_scale_for_miner__noise__seeded_and_small():
    power = np.full(10_000, 500.0)
    a = pvdata.scale_for_miner(power, 1_000.0, 40.0, 0.02, np.random.default_rng(1))
    b = pvdata.scale_for_miner(power, 1_000.0, 40.0, 0.02, np.random.default_rng(1))
    assert np.array_equal(a, b)
    assert np.std(a / 20.0 - 1) == pytest.approx(0.02, rel=0.05)


def test_align_days__keeps_time_of_day_and_covers_start(serf):
    ts, _, _ = serf
    start = 1_700_000_123
    moved = pvdata.align_days(ts, start)
    assert np.all((moved - ts) % 86400 == 0)
    assert moved[0] <= start < moved[0] + 86400


def test_miner_series__offset_and_capacity(serf):
    ts, power, site = serf
    ts2, p2 = pvdata.miner_series(ts, power, site["peak_w"], 40.0, offset_s=600)
    assert np.all(ts2 - ts == 600)
    assert p2.max() == pytest.approx(40.0) and p2.min() == 0.0


def test_next_same_day__keeps_month_day_and_time_of_day():
    import datetime

    ts0 = int(datetime.datetime(2016, 7, 1, 7, 0, tzinfo=datetime.timezone.utc).timestamp())
    after = int(datetime.datetime(2026, 11, 24, 10, 0, tzinfo=datetime.timezone.utc).timestamp())
    got = datetime.datetime.fromtimestamp(pvdata.next_same_day(ts0, after), datetime.timezone.utc)
    assert got == datetime.datetime(2027, 7, 1, 7, 0, tzinfo=datetime.timezone.utc)
    before = int(datetime.datetime(2027, 3, 1, tzinfo=datetime.timezone.utc).timestamp())
    assert pvdata.next_same_day(ts0, before) == int(got.timestamp())
    assert pvdata.next_same_day(ts0, int(got.timestamp())) == int(got.timestamp())


# ----------------------------------------------------------------------------
# The other real series, and their timestamps against the sun
# ----------------------------------------------------------------------------

MST_2022_01_02 = 1_641_106_800  # 2022-01-02 00:00 MST [s]


def _clear(site, t, tilt=None, azimuth=None):
    from offchain.scoring import pvbound

    n = len(t)
    nan = np.full(n, np.nan)
    return pvbound.clear_sky_poa_at(
        np.full(n, site["latitude"]), np.full(n, site["longitude"]), np.asarray(t, dtype=float),
        nan if tilt is None else np.full(n, tilt), nan if azimuth is None else np.full(n, azimuth))


@pytest.fixture(scope="module")
def west():
    return pvdata.read_serf_west()


@pytest.fixture(scope="module")
def rsf2():
    return pvdata.read_rsf2()


def test_read_serf_west__naive_mst_to_utc(west):
    ts, power, site = west
    assert len(ts) == 480 and np.all(np.diff(ts) == 900)
    assert ts[0] == MST_2022_01_02 + 60  # "2022-01-02 00:01:00" is MST
    assert site["peak_w"] == pytest.approx(5623.6)
    assert site["name"].endswith("system 51)") and site["capacity_w"] is None


def test_read_rsf2__naive_labels_moved_back_2_hours(rsf2):
    ts, power, site = rsf2
    assert ts[0] == MST_2022_01_02 - 2 * 3600  # "1/2/2022 0:00" is 2022-01-01 22:00 MST
    assert site["peak_w"] == pytest.approx(207_500.2)  # kW column, in W
    assert site["capacity_w"] == 408_240.0
    ts2, p2, site2 = pvdata.read_rsf2(inverter=2)
    assert np.array_equal(ts2, ts) and site2["capacity_w"] == 204_120.0
    assert np.all(p2 <= power * 1000 + 1e-6)  # inverter 2 is part of the whole
    with pytest.raises(ValueError):
        pvdata.read_rsf2(inverter=1)


def test_rsf2__clear_day_fits_the_sun_within_10_minutes(rsf2):
    # a nearly flat roof: the clear day's shape is centred on solar noon
    ts, power, site = rsf2
    t = np.arange(MST_2022_01_02 - 3 * 3600, MST_2022_01_02 + 27 * 3600, 60.0)
    model = _clear(site, t, site["tilt"], site["azimuth"])
    window = (MST_2022_01_02 + 9.5 * 3600, MST_2022_01_02 + 14.67 * 3600)
    offsets = np.arange(-180, 181) * 60
    fixed, _ = pvdata.time_offset(ts, power, t, model, offsets, window)
    assert abs(fixed) <= 600
    raw, _ = pvdata.time_offset(ts + 7200, power, t, model, offsets, (window[0] + 7200, window[1] + 7200))
    assert abs(raw + 7200) <= 600  # the file's own labels are 2 hours late


def test_serf_west_and_rsf2__cloud_edges_within_5_minutes(west, rsf2):
    ts, power, _ = west
    tr, pr, _ = rsf2
    sel = (ts >= MST_2022_01_02 + 86400) & (ts < MST_2022_01_02 + 4 * 86400)
    lag, corr = pvdata.best_lag(ts[sel], power[sel], tr, pr, np.arange(-30, 31) * 60)
    assert abs(lag) <= 300 and corr.max() > 0.8


def test_read_mesa_tracker__production_starts_at_sunrise():
    ts, power, site = pvdata.read_mesa_tracker()
    assert len(ts) == 576 and ts[0] == 1_277_445_600  # 2010-06-25 00:00 -06:00
    assert site["peak_w"] == pytest.approx(328_580.0)
    starts = []
    for d in range(6):
        day0 = ts[0] + d * 86400
        t = np.arange(day0, day0 + 86400, 60.0)
        sunrise = t[np.argmax(_clear(site, t) > 0)]
        sel = (ts >= day0) & (ts < day0 + 86400)
        starts.append((ts[sel][power[sel] > 0.01 * site["peak_w"]][0] - sunrise) / 60)
    assert np.median(starts) == pytest.approx(7, abs=5)  # minutes after sunrise


def test_nameplate_from_peak():
    assert pvdata.nameplate_from_peak(850.0) == pytest.approx(1000.0)


# ----------------------------------------------------------------------------
# Timing checks on known answers
# ----------------------------------------------------------------------------


def test_time_offset__finds_a_known_shift():
    t = np.arange(0, 86400, 60.0)
    model = np.clip(np.sin(np.pi * (t - 21600) / 43200), 0, None)
    ts = np.arange(0, 86400, 900.0)
    late = 2.0 * np.interp(ts + 600, t, model)  # values labelled 10 minutes early
    offset, rms = pvdata.time_offset(ts, late, t, model, np.arange(-30, 31) * 60, (21600, 64800))
    assert offset == 600 and rms.min() < 1e-9


def test_best_lag__sign():
    t = np.arange(0, 20_000, 60.0)
    a = (np.sin(t / 500.0) > 0.3).astype(float)
    b_t = t
    b = np.interp(t - 240, t, a)  # b sees every edge 4 minutes later
    lag, corr = pvdata.best_lag(t, a, b_t, b, np.arange(-10, 11) * 60)
    assert lag == 240 and corr.max() > 0.99


# ----------------------------------------------------------------------------
# Device readings and the index's booking
# ----------------------------------------------------------------------------


def test_device_totals__integer_trapezoid_and_no_energy_across_a_gap():
    ts = np.array([0, 300, 600, 1500, 1800])  # slots 0, 1, 2, 5, 6: 3 and 4 missed
    p = np.array([1000, 1000, 3000, 3000, 3000])
    totals = pvdata.device_totals(ts, p, genesis_s=0)
    # 1000 mW x 300 s = 83.33 mWh, then 2000 mW x 300 s = 166.67, gap, 3000 x 300 = 250
    assert totals.tolist() == [0, 83, 250, 250, 500]
    with pytest.raises(ValueError):
        pvdata.device_totals(ts, -p, 0)


def test_book_epochs__last_total_minus_previous_reading():
    ts = np.array([100, 3000, 3700, 7300, 7500, 10900])
    totals = np.array([10, 20, 35, 50, 51, 70])
    n, energy = pvdata.book_epochs(ts, totals, genesis_s=0, n_epochs=4)
    assert n.tolist() == [2, 1, 2, 1]
    # the first epoch counts from its own first reading; the others from the reading before
    assert energy.tolist() == [10, 15, 16, 19]
    assert energy.sum() == totals[-1] - totals[0]


def test_epoch_rows__one_row_per_epoch_nan_padded():
    ts = np.array([0, 300, 3600, 3900, 4200])
    rows = pvdata.epoch_rows(ts, ts * 2, genesis_s=0, n_epochs=3, max_readings=12)
    assert rows.shape == (3, 12)
    assert rows[0, :2].tolist() == [0, 600] and np.isnan(rows[0, 2:]).all()
    assert rows[1, :3].tolist() == [7200, 7800, 8400] and np.isnan(rows[2]).all()


def test_sample_times_and_missed__seeded_slots():
    t = pvdata.sample_times(0, 3600, 300, jitter_s=5, rng=np.random.default_rng(3))
    assert len(t) == 12 and np.all((t - np.arange(0, 3600, 300) >= 0) & (t - np.arange(0, 3600, 300) <= 5))
    miss = pvdata.missed(100_000, 0.03, np.random.default_rng(4))
    assert miss.mean() == pytest.approx(0.03, abs=0.003)
    assert not pvdata.missed(10, 0.0).any()


def test_reconstruct__keeps_each_interval_energy_and_nothing_before_sunrise(west):
    ts, power, site = west
    t = np.arange(ts[0] - 450 + 30, ts[-1] + 450, 60.0)
    sun = _clear(site, t)
    p = pvdata.reconstruct(ts, power, 900, t, sun)
    means = p.reshape(-1, 15).mean(axis=1)
    daytime = sun.reshape(-1, 15).max(axis=1) > 0
    assert np.allclose(means[daytime], np.clip(power[daytime], 0, None), rtol=1e-9, atol=1e-9)
    assert np.all(p[sun <= 0] == 0) and np.all(p >= 0)


def test_device_readings_of_a_real_day__energy_equals_the_source(west):
    # 2022-01-04 at SERF West, sampled every 5 minutes as a device does: within 1 %
    ts, power, site = west
    day0 = MST_2022_01_02 + 2 * 86400
    t = np.arange(ts[0] - 450 + 30, ts[-1] + 450, 60.0)
    p1 = pvdata.reconstruct(ts, power, 900, t, _clear(site, t))
    samples = pvdata.sample_times(day0, day0 + 86400, 300, jitter_s=5, rng=np.random.default_rng(0))
    p_mw = np.rint(pvdata.resample(t, p1, samples) * 1000).astype(np.int64)
    totals = pvdata.device_totals(samples, p_mw, day0)
    sel = (ts - 450 >= day0) & (ts + 450 <= day0 + 86400)
    source_mwh = pvdata.source_energy_wh(ts[sel], power[sel], 900) * 1000
    assert source_mwh > 25_000
    assert totals[-1] == pytest.approx(source_mwh, rel=0.01)


def test_sensor__gain_offset_and_no_negative():
    assert pvdata.sensor(np.array([0.0, 100.0]), 1.02, -1.0).tolist() == [0.0, 101.0]


# ----------------------------------------------------------------------------
# Neighbours from real clouds, and fabricated series
# ----------------------------------------------------------------------------


def test_clear_sky_index__about_one_on_a_clear_noon(rsf2):
    ts, power, site = rsf2
    poa = _clear(site, ts, site["tilt"], site["azimuth"])
    k = pvdata.clear_sky_index(power, pvdata.clear_sky_scale(power, poa) * poa)
    # 2022-01-04, clear from 11:30 to 13:30 (01-02 was clear too, but with snow on the roof)
    noon = (ts >= MST_2022_01_02 + 2 * 86400 + 11.5 * 3600) & (ts < MST_2022_01_02 + 2 * 86400 + 13.5 * 3600)
    assert np.all(np.abs(k[noon] - 1) < 0.15)
    assert k.min() >= 0 and k.max() <= 1.5


def test_ar1_noise__seeded_sigma_and_correlation():
    x = pvdata.ar1_noise(200_000, 0.04, 0.9, np.random.default_rng(5))
    assert np.array_equal(x[:10], pvdata.ar1_noise(200_000, 0.04, 0.9, np.random.default_rng(5))[:10])
    assert np.std(x) == pytest.approx(0.04, rel=0.05)
    assert np.corrcoef(x[:-1], x[1:])[0, 1] == pytest.approx(0.9, abs=0.01)


def test_reoriented__index_on_the_new_plane():
    out = pvdata.reoriented(np.array([1.0, 0.5, 0.5]), np.array([0.0, 200.0, 200.0]),
                            np.array([0.0, 0.0, 0.1]))
    assert out == pytest.approx([0.0, 100.0, 110.0])


def test_inflate__exact_ratio(serf):
    ts, power, _ = serf
    p = np.clip(power, 0, None)
    day = p > 100
    assert np.allclose(pvdata.inflate(p, 1.25)[day] / p[day], 1.25)


def test_night_output__only_when_the_sun_is_down(west):
    _, _, site = west
    t = np.arange(MST_2022_01_02, MST_2022_01_02 + 86400, 300.0)
    sun_up = _clear(site, t) > 0
    out = pvdata.night_output(sun_up, 50.0)
    assert np.all(out[sun_up] == 0) and np.all(out[~sun_up] == 50.0)
    hours_up = sun_up.mean() * 24
    assert 9 < hours_up < 10.5  # a January day in Golden


def test_flat_output__constant():
    assert pvdata.flat_output(np.arange(5), 7.0).tolist() == [7.0] * 5


def test_copied__shifted_and_rescaled(west):
    ts, power, _ = west
    t = np.arange(ts[100], ts[300], 300.0)
    out = pvdata.copied(ts, power, t, shift_s=600, scale=0.5)
    assert np.allclose(out, 0.5 * pvdata.resample(ts, power, t - 600))


def test_replayed__yesterday_today_and_wraps_on_the_first_day(west):
    ts, power, _ = west
    t = np.arange(ts[0] + 86400, ts[0] + 2 * 86400, 300.0)
    assert np.allclose(pvdata.replayed(ts, power, t, 86400), pvdata.resample(ts, power, t - 86400))
    first = np.arange(ts[0], ts[0] + 86400, 300.0)  # replays the last day
    assert np.allclose(pvdata.replayed(ts, power, first, 86400),
                       pvdata.resample(ts, power, first + 4 * 86400))
