"""PoGG quantity, neighbours, reward split and lottery: hand-computed cases and properties."""

import hashlib
import math

import numpy as np
import pytest
from eth_keys import keys
from hypothesis import given, settings
from hypothesis import strategies as st

from offchain.scoring import pogg

P = 2**256 - 2**32 - 977  # secp256k1 field prime
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
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


def _haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * pogg.EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))


# ------------------------------------------------------------------ quantity


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


# ------------------------------------------------------------------ table and split


def test_quantise_fraction__half_up_and_clipped():
    assert pogg.quantise_fraction([1.0, 0.25, 0.03125, 1.2, -1.0, np.nan]).tolist() == [10_000, 2_500, 313, 10_000,
                                                                                        0, 0]


def test_contribution_units__product_beyond_int64__exact_python_ints():
    c = pogg.contribution_units([10_000], [10_000], [10**12])

    assert int(c[0]) == 10**20


def test_split__hand_computed__floor_and_remainder_to_vault():
    # K = 1: c = 1e11, 5e10 and the loser's 1e11; each winner is paid its share of all three
    amounts, remainder = pogg.split([True, True, False], [10**11, 5 * 10**10, 10**11], emission=10, k=1)

    assert list(amounts) == [4, 2, 0] and remainder == 4


def test_split__no_winner_or_no_contribution__all_to_vault():
    amounts, remainder = pogg.split([False, False], [5, 5], 10**21, 60)
    assert list(amounts) == [0, 0] and remainder == 10**21
    amounts, remainder = pogg.split([True, True], [0, 0], 777, 60)
    assert list(amounts) == [0, 0] and remainder == 777


def test_split__one_winner_of_a_thin_epoch__paid_k_times_its_share_not_the_emission():
    """One winner in K: it is paid K times its share of every miner's contribution, so its
    expected pay is its share, not the whole emission when it happens to win alone."""
    amounts, remainder = pogg.split([True] + [False] * 9, [1] * 10, 1_000, 5)

    assert amounts[0] == 1_000 * 5 // 10 and remainder == 500


def test_split__winners_claiming_above_the_emission__share_it_in_proportion():
    amounts, remainder = pogg.split([True, True], [3, 1], 100, 10)

    assert list(amounts) == [75, 25] and remainder == 0


def test_split__below_the_reference__the_same_rate_whoever_else_produced():
    reference = pogg.reference_units(2)  # 2 kWh at full scores
    kwh = 10**8 * 10**6  # 1 kWh at full scores, in contribution units
    alone, _ = pogg.split([True], [kwh // 2], 10**18, 1, reference)
    crowded, _ = pogg.split([True, True, True], [kwh // 2, kwh // 4, kwh // 4], 10**18, 1, reference)

    assert alone[0] == crowded[0] == 10**18 // 4


def test_split__large_emission__exact_integers():
    emission = 3 * 10**24 + 1
    amounts, remainder = pogg.split([True, True, True], [10**14, 10**14, 1], emission, 1)

    total = 2 * 10**14 + 1
    assert list(amounts) == [emission * 10**14 // total] * 2 + [emission // total]
    assert all(type(x) is int for x in amounts) and sum(amounts) + remainder == emission


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 10**20)), min_size=1, max_size=30),
    st.integers(0, 10**27),
    st.integers(1, 100),
    st.integers(0, 10**30),
)
def test_split__any_table__conserves_emission_and_pays_winners_by_contribution(rows, emission, k, reference):
    mask, c = (list(col) for col in zip(*rows))

    amounts, remainder = pogg.split(mask, c, emission, k, reference)

    assert sum(amounts) + remainder == emission and remainder >= 0
    denominator = max(k * sum(ci for w, ci in rows if w), sum(c), reference)
    assert list(amounts) == [emission * k * ci // denominator if w and denominator else 0 for w, ci in rows]


def test_split__one_installation_on_three_tokens__the_same_expected_pay():
    """Linear volume and K in the numerator: a token with 3 units, or three tokens of one unit
    (each its own lottery ticket), earns the same in expectation (a win is 1 in K)."""
    k, emission, others = 4, 10**18, [10**9] * 20
    one, _ = pogg.split([True] + [False] * 20, [3 * 10**9] + others, emission, k)
    three, _ = pogg.split([True] * 3 + [False] * 20, [10**9] * 3 + others, emission, k)

    assert one[0] == pytest.approx(sum(three[:3]), rel=1e-9)


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


