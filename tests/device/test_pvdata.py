"""offchain.pvdata: the measured SERF East series and its per-miner variants."""

import numpy as np
import pytest

from offchain import pvdata


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
