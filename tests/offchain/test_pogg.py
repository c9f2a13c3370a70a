"""PoGG scores, reward split and lottery: hand-computed cases, real PV data, properties."""

import hashlib
import math
from decimal import Decimal, localcontext

import numpy as np
import pytest
from eth_keys import keys
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain import pogg, pvbound
from offchain.pvdata import read_serf_east, resample

P = 2**256 - 2**32 - 977  # secp256k1 field prime
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
EPOCH_S = 3_600
SAMPLE_S = 300


# ------------------------------------------------------------------ helpers


def _affine_add(a, b):
    """Textbook affine point addition on y² = x³ + 7 (None = infinity)."""
    if a is None:
        return b
    if b is None:
        return a
    if a[0] == b[0] and (a[1] + b[1]) % P == 0:
        return None
    if a == b:
        lam = 3 * a[0] * a[0] * pow(2 * a[1], -1, P) % P
    else:
        lam = (b[1] - a[1]) * pow(b[0] - a[0], -1, P) % P
    x = (lam * lam - a[0] - b[0]) % P
    return x, (lam * (a[0] - x) - a[1]) % P


def _affine_multiply(k, point):
    """Double-and-add, most significant bit first."""
    result = None
    for bit in bin(k)[2:]:
        result = _affine_add(result, result)
        if bit == "1":
            result = _affine_add(result, point)
    return result


def _pubkey(sk):
    """64-byte public key by eth-keys (not by the code under test)."""
    return keys.PrivateKey(sk.to_bytes(32, "big")).public_key.to_bytes()


def _point(pubkey):
    return int.from_bytes(pubkey[:32], "big"), int.from_bytes(pubkey[32:], "big")


@pytest.fixture(scope="module")
def serf():
    ts, power_w, site = read_serf_east("15min")
    return ts, power_w, site


def _offsets_km(lat, lon, east_km, north_km):
    """Coordinates moved by a few km (flat-earth approximation, fine at this scale)."""
    dlat = np.asarray(north_km) / 111.195
    dlon = np.asarray(east_km) / (111.195 * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def _serf_epoch(serf, t0, rng, n_honest=6, noise=0.02):
    """One epoch of a neighbourhood around SERF East built from the real series.

    Rows: ``n_honest`` honest miners (real power + relative noise), then a copier (the
    neighbourhood's series replayed 3 hours late), then a flat miner (constant power,
    the honest mean). Returns lat, lon, capacity [W], ts [s], power [mW].
    """
    ts_serf, power_w, site = serf
    cap = site["peak_w"]
    t = t0 + np.arange(12) * SAMPLE_S + rng.integers(0, 30, 12)
    base = resample(ts_serf, power_w, t)
    honest = base * (1.0 + noise * rng.standard_normal((n_honest, 12)))
    copier = resample(ts_serf, power_w, t - 3 * EPOCH_S) * (1.0 + noise * rng.standard_normal(12))
    flat = np.full(12, base.mean())
    power_mw = np.vstack([honest, copier, flat]) * 1000.0
    m = n_honest + 2
    lat, lon = _offsets_km(site["latitude"], site["longitude"], rng.uniform(-3, 3, m),
                           rng.uniform(-3, 3, m))
    return lat, lon, np.full(m, cap), np.tile(t.astype(float), (m, 1)), power_mw


def _authenticity(lat, lon, cap, ts, power, radius_km=25.0, k=6):
    clear = pvbound.clear_sky_power(lat, lon, cap, ts)
    bound = pvbound.bound_from_clear_sky(clear, cap)
    return pogg.authenticity(power, bound, pogg.neighbours(lat, lon, radius_km, k), clear)


def _haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * pogg.EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


# ------------------------------------------------------------------ quantity and volume


def test_quantity__hand_computed__fraction_of_possible_readings():
    n = np.array([[12, 12, 6, 0], [15, 0, 0, 0], [0, 0, 0, 0]])

    q = pogg.quantity(n, window=4)

    # (12 + 12 + 6 + 0) / 48, min(15, 12) / 48, 0
    np.testing.assert_allclose(q, [30 / 48, 12 / 48, 0.0])


def test_quantity__fewer_epochs_than_window__missing_epochs_count_zero():
    n = np.full((1, 10), 12)

    assert pogg.quantity(n)[0] == pytest.approx(120 / (12 * 168))
    assert pogg.quantity(np.full((1, 200), 12))[0] == 1.0  # only the last W epochs


def test_quantity_bps__exact_half__rounds_up():
    # 63 readings of a possible 2016: 312.5 bps exactly
    n = np.zeros((2, 168), dtype=int)
    n[0, :5], n[0, 5] = 12, 3
    n[1, :10] = 12  # 120 / 2016 = 595.238... bps

    assert pogg.quantity_bps(n).tolist() == [313, 595]


def test_volume__hand_computed__cube_root_of_energy():
    np.testing.assert_allclose(pogg.volume([1000, 8, 0, -5]), [10.0, 2.0, 0.0, 0.0])
    np.testing.assert_allclose(pogg.volume([[500, 500], [4, 4]]), [10.0, 2.0])


def test_volume_milli__hand_computed__rounded_thousandths():
    # cbrt(2) = 1.259921..., cbrt(3) = 1.442249..., cbrt(10^9) = 1000
    assert pogg.volume_milli([2, 3, 10**9, 0]).tolist() == [1260, 1442, 1_000_000, 0]


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=2**62))
def test_volume_milli__any_energy__nearest_integer_to_1000_cbrt(energy):
    with localcontext() as ctx:  # not the thread's shared context, which other code may change
        ctx.prec = 60
        exact = (Decimal(energy) * Decimal(10**9)) ** (Decimal(1) / Decimal(3))
        expected = int((exact + Decimal("0.5")).to_integral_value(rounding="ROUND_FLOOR"))

    assert pogg.volume_milli([energy])[0] == expected


def test_volume_milli__near_half_integers__settled_exactly():
    # energies whose 1000·cbrt(E) lies within 1e-6 of a half-integer: the float path is
    # not trusted there and the exact integer check must decide
    e = np.arange(10**12, 10**12 + 3 * 10**6, dtype=np.int64)
    scaled = np.cbrt(e.astype(float)) * 1000
    near = e[np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6]
    assert near.size >= 3

    got = pogg.volume_milli(near)

    for energy, r in zip(near.tolist(), got.tolist()):
        x = 8 * energy * 10**9
        assert (2 * r - 1) ** 3 <= x < (2 * r + 1) ** 3


# ------------------------------------------------------------------ similarity


def test_normalized_power__hand_computed__divided_by_mean():
    power = np.array([[1.0, 2.0, 3.0, np.nan], [0.0, 0.0, 0.0, 0.0], [np.nan] * 4])

    x = pogg.normalized_power(power)

    np.testing.assert_array_equal(x[0], [0.5, 1.0, 1.5, np.nan])
    np.testing.assert_array_equal(x[1], [0.0, 0.0, 0.0, 0.0])
    assert np.isnan(x[2]).all()


@pytest.mark.parametrize(
    "x, y, expected",
    [
        ([1.0, 0.0], [1.0, 1.0], 1 / math.sqrt(2)),
        ([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], 12 / math.sqrt(14 * 12)),
        ([1.0, 0.0], [0.0, 1.0], 0.0),
        ([1.0, -1.0], [-1.0, 1.0], 0.0),  # -1, clipped at 0
        ([1.0, np.nan, 1.0], [1.0, 5.0, 1.0], 1.0),  # only common samples
        ([0.0, 0.0], [0.0, 0.0], 1.0),  # both silent: they agree
        ([0.0, 0.0], [1.0, 1.0], 0.0),
    ],
)
def test_cosine_similarity__hand_computed(x, y, expected):
    assert pogg.cosine_similarity(x, y) == pytest.approx(expected)


def test_cosine_similarity__no_common_sample__nan():
    assert np.isnan(pogg.cosine_similarity([1.0, np.nan], [np.nan, 1.0]))


def test_neighbour_similarity__random_rows__same_as_cosine_of_gathered_pairs():
    rng = np.random.default_rng(4)
    x = rng.random((50, 12))
    x[rng.random((50, 12)) < 0.2] = np.nan
    x[3] = 0.0
    x[4] = np.nan
    idx = rng.integers(-1, 50, (50, 6))

    got = pogg.neighbour_similarity(x, idx)

    expected = pogg.cosine_similarity(x[:, None, :], x[np.maximum(idx, 0)])
    expected[idx < 0] = np.nan
    np.testing.assert_allclose(got, expected, rtol=1e-12)


# ------------------------------------------------------------------ neighbours


def test_neighbours__random_miners__k_nearest_within_radius_like_brute_force():
    rng = np.random.default_rng(11)
    lat = 45 + rng.normal(0, 0.3, 400)
    lon = 7 + rng.normal(0, 0.3, 400)
    radius, k = 10.0, 6

    got = pogg.neighbours(lat, lon, radius, k)

    assert got.shape == (400, k)
    for i in range(400):
        d = _haversine_km(lat[i], lon[i], lat, lon)
        d[i] = np.inf
        order = np.argsort(d, kind="stable")
        expected = [j for j in order[:k] if d[j] <= radius]
        assert [j for j in got[i] if j >= 0] == expected
        assert all(j == -1 for j in got[i][len(expected):])


def test_neighbours__just_inside_and_outside_radius():
    # 0.09 deg of latitude = 10.008 km
    lat = np.array([0.0, 0.09, -0.0899, 0.0])
    lon = np.array([0.0, 0.0, 0.0, 0.2])

    got = pogg.neighbours(lat, lon, radius_km=10.0, k=6)

    assert got[0].tolist() == [2, -1, -1, -1, -1, -1]
    assert got[3].tolist() == [-1] * 6


def test_neighbours__same_place__others_not_self():
    got = pogg.neighbours(np.zeros(4), np.zeros(4), radius_km=1.0, k=2)

    for i in range(4):
        assert i not in got[i] and len(set(got[i])) == 2 and -1 not in got[i]


def test_neighbours__across_the_antimeridian__found():
    got = pogg.neighbours([10.0, 10.0], [179.99, -179.99], radius_km=5.0, k=1)

    assert got.tolist() == [[1], [0]]


# ------------------------------------------------------------------ authenticity


def test_authenticity__no_neighbour__similarity_with_own_clear_sky_profile():
    power = np.array([[2.0, 4.0, 6.0], [2.0, 2.0, 2.0]])
    profile = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    bound = np.full((2, 3), 100.0)
    none = np.full((2, 6), -1)

    a = pogg.authenticity(power, bound, none, profile)

    np.testing.assert_allclose(a, [1.0, 12 / math.sqrt(14 * 12)])


def test_authenticity__hand_computed__mean_over_neighbours_with_data():
    power = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [np.nan, np.nan]])
    bound = np.full((4, 2), 10.0)
    idx = np.array([[1, 2, 3], [0, -1, -1], [0, 1, -1], [0, 1, 2]])
    profile = np.ones((4, 2))

    a = pogg.authenticity(power, bound, idx, profile)

    # miner 0: (1/sqrt2 + 0) / 2 (miner 3 has no data); miner 1: 1/sqrt2; 2: (0 + 1/sqrt2) / 2
    np.testing.assert_allclose(a, [0.5 / math.sqrt(2), 1 / math.sqrt(2), 0.5 / math.sqrt(2), 0])


def test_authenticity__one_sample_above_bound__scores_zero():
    power = np.array([[1.0, 2.0, 11.0], [1.0, 2.0, 3.0]])
    bound = np.full((2, 3), 10.0)
    idx = np.array([[1], [0]])

    a = pogg.authenticity(power, bound, idx, np.ones((2, 3)))

    assert a[0] == 0.0 and a[1] > 0.9


def test_authenticity__night_time_reading__scores_zero(serf):
    ts_serf, _, site = serf
    rng = np.random.default_rng(5)
    midnight = float(ts_serf[(ts_serf % 86_400) == 6 * 3600][10])  # 00:00 MDT
    lat, lon = _offsets_km(site["latitude"], site["longitude"], rng.uniform(-2, 2, 4),
                           rng.uniform(-2, 2, 4))
    cap = np.full(4, 5000.0)
    ts = np.tile(midnight + np.arange(12) * SAMPLE_S, (4, 1))
    power = np.zeros((4, 12))
    power[0] = 250_000.0  # 250 W, 5 % of capacity, in the dark
    power[1, 6] = 250_000.0  # one reading in the dark

    a = _authenticity(lat, lon, cap, ts, power)

    assert a[0] == 0.0 and a[1] == 0.0
    assert a[2] > 0 and a[3] > 0  # silent at night, like every silent neighbour


def test_authenticity__copied_and_flat_data__score_below_honest_neighbours(serf):
    rng = np.random.default_rng(2016)
    ts_serf = serf[0]
    days = ts_serf[0] - ts_serf[0] % 86_400 + 86_400 * np.arange(3, 100, 4)
    results = []
    for day in days:
        for hour_utc in (16, 18, 20, 22):  # 10:00 .. 16:00 MDT
            lat, lon, cap, ts, power = _serf_epoch(serf, day + hour_utc * EPOCH_S, rng)
            results.append(_authenticity(lat, lon, cap, ts, power))
    a = np.array(results)  # (epochs, 8)
    honest, copier, flat = a[:, :6], a[:, 6], a[:, 7]

    # measured (seed 2016, 100 epochs): honest 0.985 on average, copier 0.928, flat 0.968
    assert honest.min() > 0.5  # honest miners are never zeroed by the bound
    assert copier.mean() < honest.mean() - 0.03
    assert flat.mean() < honest.mean() - 0.01
    assert np.mean(copier < honest.min(axis=1)) > 0.9
    assert np.mean(flat < honest.mean(axis=1)) > 0.75


def test_authenticity__inflated_x3_copy_at_noon__zero(serf):
    rng = np.random.default_rng(9)
    day = serf[0][0] - serf[0][0] % 86_400 + 86_400 * 20
    lat, lon, cap, ts, power = _serf_epoch(serf, day + 19 * EPOCH_S, rng)
    assert power[0].mean() > 0.5 * cap[0] * 1000  # a sunny hour
    power[6] = 3.0 * power[0]

    a = _authenticity(lat, lon, cap, ts, power)

    assert a[6] == 0.0 and a[0] > 0.9


# ------------------------------------------------------------------ table and shares


def test_contributions__hand_computed__quantised_half_up():
    a_bps, q_bps, v_mwh, c = pogg.contributions([1.0, 0.25, 0.5], [0.03125, 1.0, 0.0],
                                                  [2.0, 10.0, 3.0])

    assert a_bps.tolist() == [10_000, 2_500, 5_000]
    assert q_bps.tolist() == [313, 10_000, 0]  # 312.5 rounds up
    assert v_mwh.tolist() == [2_000, 10_000, 3_000]
    assert [int(x) for x in c] == [10_000 * 313 * 2_000, 2_500 * 10_000 * 10_000, 0]


def test_contribution_units__product_beyond_int64__exact_python_ints():
    c = pogg.contribution_units([10_000], [10_000], [10**12])

    assert int(c[0]) == 10**20


def test_shares__hand_computed__floor_and_remainder_to_vault():
    winners = [True, True, False]
    a_bps, q_bps, v_mwh = [10_000, 5_000, 10_000], [10_000, 10_000, 10_000], [1_000] * 3

    amounts, remainder = pogg.shares(winners, a_bps, q_bps, v_mwh, emission=10)

    # c = 1e11, 5e10 (the non-winner does not count): 10·2/3 -> 6, 10·1/3 -> 3, 1 left
    assert list(amounts) == [6, 3, 0]
    assert remainder == 1


def test_shares__no_winner__all_to_vault():
    amounts, remainder = pogg.shares([False, False], [10_000] * 2, [10_000] * 2, [1_000] * 2,
                                     emission=10**21)

    assert list(amounts) == [0, 0] and remainder == 10**21


def test_shares__winners_without_contribution__all_to_vault():
    amounts, remainder = pogg.shares([True, True], [0, 10_000], [10_000, 0], [1_000] * 2,
                                     emission=777)

    assert list(amounts) == [0, 0] and remainder == 777


def test_shares__large_emission__exact_integers():
    emission = 3 * 10**24 + 1
    amounts, remainder = pogg.shares([True, True, True], [10_000, 10_000, 1],
                                     [10_000, 10_000, 1], [1_000_000, 1_000_000, 1],
                                     emission)

    total = 2 * 10**14 + 1
    assert list(amounts) == [emission * 10**14 // total] * 2 + [emission // total]
    assert all(type(x) is int for x in amounts)
    assert sum(amounts) + remainder == emission


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.integers(0, 10_000), st.integers(0, 10_000),
                  st.integers(0, 10**9)),
        min_size=1, max_size=30,
    ),
    st.integers(0, 10**27),
)
def test_shares__any_table__conserves_emission_and_is_proportional(rows, emission):
    mask, a, q, v = (list(col) for col in zip(*rows))

    amounts, remainder = pogg.shares(mask, a, q, v, emission)

    c = [ai * qi * vi if w else 0 for w, ai, qi, vi in rows]
    total = sum(c)
    assert sum(amounts) + remainder == emission
    if total == 0:
        assert remainder == emission
    else:
        assert list(amounts) == [emission * ci // total for ci in c]
        assert 0 <= remainder < max(sum(mask), 1)


# ------------------------------------------------------------------ lottery


@pytest.mark.parametrize("case", range(5))
def test_ecdh_point__random_keys__matches_textbook_affine_multiplication(case):
    rng = np.random.default_rng(case)
    sk_e = int.from_bytes(rng.bytes(32), "big") % (N - 1) + 1
    sk_m = int.from_bytes(rng.bytes(32), "big") % (N - 1) + 1
    pk_m, pk_e = _pubkey(sk_m), _pubkey(sk_e)

    point = pogg.ecdh_point(sk_e, pk_m)

    assert point == _affine_multiply(sk_e, _point(pk_m))
    assert point == pogg.ecdh_point(sk_m, pk_e)  # Diffie-Hellman: both sides agree


@pytest.mark.parametrize("case", range(5))
def test_seed__random_keys__matches_independent_sha256(case):
    rng = np.random.default_rng(100 + case)
    sk_e = int.from_bytes(rng.bytes(32), "big") % (N - 1) + 1
    pk_m = _pubkey(int.from_bytes(rng.bytes(32), "big") % (N - 1) + 1)
    entropy = rng.bytes(32)
    n = int(rng.integers(1, 13))
    x = _affine_multiply(sk_e, _point(pk_m))[0]
    digest = hashlib.sha256(((x * n) % P).to_bytes(32, "big") + entropy).digest()

    got = pogg.seed(pogg.ecdh_point(sk_e, pk_m)[0], n, entropy, k=60)

    assert got == int.from_bytes(digest, "big") % 60
    assert pogg.is_winner(x, n, entropy, 60) == (got == 0)


def test_seed__product_above_field_prime__reduced_mod_p():
    x, n, entropy = P - 1, 12, bytes(range(32))
    expected = hashlib.sha256(((P - 12) % P).to_bytes(32, "big") + entropy).digest()

    assert pogg.seed(x, n, entropy, k=2**255) == int.from_bytes(expected, "big") % 2**255


def test_is_winner__zero_readings__never_wins_even_with_seed_zero():
    entropy = bytes(32)
    # with n = 0 the seed is sha256(0 ‖ entropy) mod k; k = 1 makes it 0
    assert pogg.seed(12345, 0, entropy, k=1) == 0
    assert not pogg.is_winner(12345, 0, entropy, k=1)
    assert pogg.is_winner(12345, 1, entropy, k=1)


def test_winners__many_miners__about_one_in_k_and_same_as_is_winner():
    rng = np.random.default_rng(42)
    xs = [int.from_bytes(rng.bytes(32), "big") % P for _ in range(3000)]
    ns = [int(n) for n in rng.integers(0, 13, 3000)]
    entropy = rng.bytes(32)

    mask = pogg.winners(xs, ns, entropy, k=10)

    assert mask.tolist() == [pogg.is_winner(x, n, entropy, 10) for x, n in zip(xs, ns)]
    assert not mask[np.array(ns) == 0].any()
    eligible = sum(1 for n in ns if n > 0)
    assert abs(mask.sum() - eligible / 10) < 4 * math.sqrt(eligible / 10)


def test_seed__entropy_not_32_bytes__raises():
    with pytest.raises(ValueError, match="pogg: entropy"):
        pogg.seed(1, 1, b"short")


# ------------------------------------------------------------------ one epoch


def test_score_epoch__neighbourhood__table_consistent_and_emission_conserved(serf):
    rng = np.random.default_rng(77)
    day = serf[0][0] - serf[0][0] % 86_400 + 86_400 * 20
    lat, lon, cap, ts, power = _serf_epoch(serf, day + 18 * EPOCH_S, rng)
    assert power[0].mean() > 0.5 * cap[0] * 1000  # a sunny hour
    power[7] = 3.0 * power[0]  # an inflated miner
    m = len(lat)
    n_per_epoch = rng.integers(0, 13, (m, 168))
    energy = rng.integers(0, 10**8, m)
    mask = np.array([True, False, True, False, False, False, True, True])
    emission = 10**20

    r = pogg.score_epoch(lat, lon, cap, ts, power, n_per_epoch, energy, mask, emission)

    assert r.exceeded.tolist() == [False] * 7 + [True]
    assert r.a[7] == 0.0 and r.a_bps[7] == 0 and r.amounts[7] == 0
    assert r.a_bps.tolist() == pogg.quantise_fraction(r.a).tolist()
    assert r.q_bps.tolist() == pogg.quantity_bps(n_per_epoch).tolist()
    assert r.v_mwh.tolist() == pogg.volume_milli(energy).tolist()
    np.testing.assert_allclose(r.q, pogg.quantity(n_per_epoch))
    np.testing.assert_allclose(r.v, np.cbrt(energy))
    c = [int(a) * int(q) * int(v) for a, q, v in zip(r.a_bps, r.q_bps, r.v_mwh)]
    assert [int(x) for x in r.c] == c
    total = sum(ci for ci, w in zip(c, mask) if w)
    assert list(r.amounts) == [emission * ci // total if w else 0 for ci, w in zip(c, mask)]
    assert sum(r.amounts) + r.remainder == emission


def test_score_epoch__silent_miner__not_a_neighbour_of_anyone(serf):
    rng = np.random.default_rng(78)
    day = serf[0][0] - serf[0][0] % 86_400 + 86_400 * 31
    lat, lon, cap, ts, power = _serf_epoch(serf, day + 18 * EPOCH_S, rng)
    power[3] = np.nan  # no reading this epoch
    m = len(lat)

    r = pogg.score_epoch(lat, lon, cap, ts, power, np.zeros((m, 168), int), np.zeros(m, int),
                         np.zeros(m, bool), 10**18, k=7)

    assert 3 not in r.neighbours
    assert (r.neighbours[3] == -1).all()
    assert (r.neighbours[np.arange(m) != 3] >= 0).sum() == (m - 1) * (m - 2)
    assert r.a[3] == 0.0
    assert r.remainder == 10**18
