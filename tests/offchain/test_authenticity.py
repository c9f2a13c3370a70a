"""Authenticity and credited energy: each kind of fake on a small neighbourhood, fast.

A neighbourhood of honest miners on planes of their own under one sky (a clear-sky index
with clouds, per epoch, that each miner sees with a little noise of its own), and fakes
among them. The full evaluation on real measured PV is `bench/eval_authenticity.py`; these
tests fail if a kind of fake starts winning again.
"""

import numpy as np
import pytest

from offchain.scoring import authenticity, pogg
from offchain.scoring.authenticity import ScoringParams

DAY0 = 1_468_306_800  # 2016-07-12 00:00 MST [s]
HOUR = 3_600
SPAN = 48  # epochs of history, as the default check span
CENTRE = (39.742, -105.173)  # Golden, Colorado
HONEST = 8


def _sky(rng, n):
    """Clear-sky index per epoch: clear mornings, clouds building some afternoons."""
    k = np.clip(0.85 + np.cumsum(rng.normal(0, 0.08, n)) * 0.3, 0.15, 0.95)
    k[rng.random(n) < 0.25] *= rng.uniform(0.3, 0.7)
    return k


class Neighbourhood:
    """Miners' declarations and epochs of energy, then the inputs of one epoch."""

    def __init__(self, seed=1, epoch=SPAN + 12):  # noon in Golden, on the third day
        self.rng = np.random.default_rng(seed)
        self.epoch = epoch
        self.starts = DAY0 + HOUR * np.arange(epoch - SPAN + 1, epoch + 1)
        self.sky = _sky(self.rng, SPAN + 24)  # a day more: what a replay replays
        self.miners = []

    def add(self, kind, east_km=0.0, north_km=0.0, tilt=30.0, azimuth=180.0, capacity_w=5_000.0, owner=None,
            energy=None, readings=None):
        """A miner; ``energy(expected, sky, noise)`` -> (E,) [mWh] and ``readings(clear, k)`` -> (12,) [mW].

        ``noise`` is the miner's own (its sensor, its few hundred metres of sky); by default a
        miner is honest: its energy is ``expected × sky × 0.85 × noise``."""
        lat = CENTRE[0] + north_km / 111.2
        lon = CENTRE[1] + east_km / (111.2 * np.cos(np.radians(CENTRE[0])))
        self.miners.append(dict(kind=kind, lat=lat, lon=lon, tilt=tilt, azimuth=azimuth, capacity_w=capacity_w,
                                owner=owner or f"0x{len(self.miners) + 1:040x}", energy=energy, readings=readings))

    def honest(self, n=HONEST):
        for i in range(n):
            angle = 2 * np.pi * i / n
            self.add("honest", 6 * np.cos(angle), 6 * np.sin(angle), 15 + 5 * i, 150 + 10 * i, 3_000 + 500 * i)

    def inputs(self):
        m = len(self.miners)
        lat = np.array([x["lat"] for x in self.miners])
        lon = np.array([x["lon"] for x in self.miners])
        cap = np.array([x["capacity_w"] for x in self.miners])
        tilt = np.array([x["tilt"] for x in self.miners])
        az = np.array([x["azimuth"] for x in self.miners])
        expected = authenticity.clear_energy(lat, lon, cap, tilt, az, self.starts)  # (M, E) [mWh]
        ts = self.starts[-1] + 300 * np.arange(12) + 150.0
        clear = np.stack([authenticity.pvbound.clear_sky_power(lat, lon, cap, ts, tilt=tilt, azimuth=az)])[0]
        sky = self.sky[-SPAN:]
        energy = np.zeros((m, SPAN), dtype=np.int64)
        power = np.zeros((m, 12))
        for i, x in enumerate(self.miners):
            noise = 1 + self.rng.normal(0, 0.03, SPAN)
            e = x["energy"](expected[i], self.sky, noise) if x["energy"] else expected[i] * sky * 0.85 * noise
            energy[i] = np.rint(np.clip(e, 0, None))
            p = x["readings"](clear[i], sky[-1]) if x["readings"] else clear[i] * sky[-1] * 0.85
            power[i] = np.clip(p, 0, None)
        n = np.full((m, SPAN), 12)  # online every hour, night included
        return pogg.EpochInputs(self.epoch, np.arange(1, m + 1), [x["owner"] for x in self.miners], lat, lon, cap,
                                tilt, az, np.broadcast_to(ts, (m, 12)).copy(), power, n, energy)

    def score(self, params=ScoringParams()):
        result = authenticity.authenticate(self.inputs(), params)
        return result, [x["kind"] for x in self.miners]


@pytest.fixture
def hood():
    h = Neighbourhood()
    h.honest()
    return h


def _by_kind(result, kinds, kind):
    return result.a[np.array(kinds) == kind]


def test_honest_neighbourhood__every_miner_authentic(hood):
    result, kinds = hood.score()
    assert (result.a > 0.9).all(), result.a
    assert not result.copy.any() and not result.lone.any()


def test_inflation_x3__zero_and_x1_1__passes(hood):
    hood.add("x3", 1, 1, energy=lambda ex, sky, nz: ex * sky[-SPAN:] * 0.85 * nz * 3,
             readings=lambda c, k: c * k * 0.85 * 3)
    hood.add("x1.1", -1, 1, energy=lambda ex, sky, nz: ex * sky[-SPAN:] * 0.85 * nz * 1.1)
    result, kinds = hood.score()
    assert _by_kind(result, kinds, "x3")[0] == 0.0
    assert _by_kind(result, kinds, "x1.1")[0] > 0.9  # within what orientation and snow move honestly


def test_clear_sky_curve__no_weather_in_it__zero(hood):
    hood.add("drawn", 2, -1, energy=lambda ex, sky, nz: ex * 0.85, readings=lambda c, k: c * 0.85)
    result, kinds = hood.score()
    assert _by_kind(result, kinds, "drawn")[0] == 0.0 and result.smooth[-1]


def test_flat_output__does_not_follow_the_sun__zero(hood):
    hood.add("flat", -2, -2, energy=lambda ex, sky, nz: np.full(ex.shape, 500_000.0),
             readings=lambda c, k: np.full(12, 500_000.0))
    result, kinds = hood.score()
    assert _by_kind(result, kinds, "flat")[0] == 0.0


def test_night_output__earns_nothing_even_under_the_floor(hood):
    inputs = hood.inputs()
    night = inputs._replace(ts=inputs.ts - 12 * HOUR)  # the same readings and energy, at midnight
    result = authenticity.authenticate(night)
    assert (result.credited_mwh == 0).all() and (inputs.energy_mwh[:, -1] > 0).all()


def test_exact_copy_of_an_older_neighbour__the_younger_zero(hood):
    hood.add("copy", 0.5, 0.5)
    inputs = hood.inputs()
    energy = inputs.energy_mwh.copy()
    energy[-1] = energy[0] * 2  # token 1's series, rescaled to twice its capacity
    inputs = inputs._replace(energy_mwh=energy, capacity_w=np.append(inputs.capacity_w[:-1], 6_000.0))
    result = authenticity.authenticate(inputs)
    assert result.copy[-1] and result.a[-1] == 0.0 and not result.copy[0] and result.a[0] > 0.9


def test_sybil_cluster_vouching_for_each_other__one_token_at_most(hood):
    day = hood.rng.normal(0, 0.01, SPAN)  # one replayed day, one series, copied with 1 % noise each
    for j in range(4):  # four fresh tokens of four owners, 300 m apart
        hood.add("sybil", 8 + 0.3 * j, 8, energy=lambda ex, sky, nz: ex * sky[:SPAN] * 0.85 * (1 + day) * nz ** 0.3)
    result, kinds = hood.score()
    sybil = _by_kind(result, kinds, "sybil")
    assert (sybil > 0).sum() <= 1


def test_lone_miner__only_the_lone_factor(hood):
    hood.add("lone", 200, 0)
    result, kinds = hood.score()
    assert result.lone[-1] and _by_kind(result, kinds, "lone")[0] == pytest.approx(0.25)


def test_split_installation__same_owner_tokens__not_copies(hood):
    for _ in range(3):
        hood.add("split", -3, 3, capacity_w=2_000, owner="0x" + "ab" * 20)
    result, kinds = hood.score()
    assert not result.copy[np.array(kinds) == "split"].any()


def test_credited_energy__at_most_margin_times_clear_sky_of_the_declared_plane():
    tolerant = np.full((2, 13), 1_000_000.0)  # 1 kW clear sky at every slot boundary
    credited = authenticity.credited_energy([10**9, 500_000], tolerant, 1.5)
    assert credited.tolist() == [1_500_000, 500_000]


def test_vouchers__same_owner_and_fresh_tokens_do_not_vouch():
    near = np.array([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]])
    owners = np.array([0, 0, 1, 2])
    record = np.array([1.0, 1.0, 1.0, 0.1])
    ok = authenticity.vouchers(near, owners, record, np.zeros(4, dtype=bool))
    assert ok[0].tolist() == [False, True, False]  # its own owner's token; a fresh token (record 0.1)
    assert ok[2].tolist() == [True, False, False]  # owner 0 vouches once, by its nearest token


def test_median_of_columns__matches_numpy_nanmedian():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 7))
    x[rng.random(x.shape) < 0.3] = np.nan
    got = authenticity.median_of_columns(x.T)  # the neighbours along the first axis
    with np.errstate(all="ignore"):
        want = np.array([np.nanmedian(r) if np.isfinite(r).any() else np.nan for r in x])
    np.testing.assert_allclose(got, want)
