"""
Authenticity on real measured PV: what a scoring pays fakes, and what honest miners keep.

Two scenarios of 120 hourly epochs on the NREL campus in Golden, Colorado, each a
population of miners whose devices sample every 5 minutes, integrate by the trapezoid and
anchor up to 12 readings an epoch (``testbed.pvdata``: ``sample_times``,
``device_totals``; the index books an epoch's energy as its last total minus the previous
reading's, ``book_epochs``):

- ``winter``: 2022-01-02 .. 01-06 (MST); real: SERF West and RSF II, two systems 400 m
  apart measured on the same days (snow on 01-02 morning and 01-06);
- ``summer``: 2016-07-12 .. 07-16 (MST); real: SERF East.

Honest miners: each real system once, at its place and declared capacity (nameplate, or
measured peak / 0.85), its 15-min averages made instantaneous power that follows the sun
and keeps each interval's energy (``pvdata.reconstruct``), read by a device with sensor
imperfections (gain ±2 %, clock skew of minutes, missed samples); and synthetic honest neighbours built from real clouds: the
clear-sky index of the real systems, lagged by the cloud travel time from them (wind from
the west, 36 km/h, at most ±10 min) and decorrelated by 4 % AR(1) noise, applied to the
clear-sky power of another orientation and size (``pvdata.reoriented``). Two of these
have a small zero offset (±0.2 % of capacity).

Fakes, each its own kind (``FAKE_KINDS``): inflation × 1.1 .. × 3 of an honest
installation's readings (capacity declared as its own); output at night only (20 % and
0.9 % of capacity); flat output; a perfect clear-sky curve; a real neighbour copied
(10 minutes late, 3 % noise, rescaled); the same neighbour's clear-sky index on another
plane (the sophisticated copy: built like an honest synthetic neighbour); a real
neighbour's series of the day before (winter) or of the week before (summer) replayed;
five Sybils 300 m apart, each a noisy copy of one replayed series, on fresh tokens of
other owners; a replayed series alone in another town (no neighbour within 25 km);
and an honest installation split over three tokens of one owner (not fraud, but it must
not pay more than one token would).

Three runs per scenario: ``main`` (everyone), ``uninflated`` (inflators report their
genuine series) and ``fair`` (fabricated kinds removed, inflators genuine, the split
installation as one token). Every miner wins every epoch; 100 DECA per epoch.

Metrics (over both scenarios):

- share of all rewards paid, per kind (main run);
- each honest miner's share kept: its reward in ``main`` over its reward in ``fair``;
  and, where the scoring says what it would pay at full authenticity, its reward in
  ``main`` over that (a loss the scoring inflicts in both runs shows only here);
- rewards taken by fakes: the whole reward of fabricated kinds, plus the inflators'
  excess (main minus uninflated); the inflators' whole reward and the split's excess
  (main minus fair) are shown apart;
- honest epochs (an honest miner with energy in the epoch) zeroed by the physical bound
  (``pvbound.upper_bound`` exceeded by a reading) and by the scoring (authenticity 0 when
  the scoring returns it, else amount 0);
- run time per epoch, and of the scoring alone.

A scoring is ``scoring(inputs: pogg.EpochInputs, winners, emission) -> amounts`` (or an
object with ``amounts`` and, optionally, ``a``); ``--scoring module:function`` names one.

    python bench/eval_authenticity.py [--scoring pogg] [--json out.json]
"""

import argparse
import hashlib
import importlib
import json
import os
import time
import zlib

import numpy as np

from greenminer.protocol import EPOCH_SECONDS
from offchain.scoring import authenticity, pogg, pvbound
from testbed import pvdata

EMISSION = 100 * 10**18  # [DECA wei] per epoch
PERIOD_S = 300  # [s] one reading every 5 minutes
N_EPOCHS = 120  # [epochs] 5 days per scenario
WIND_KM_PER_MIN = 0.6  # [km/min] clouds travel west to east at 36 km/h
MAX_LAG_S = 600  # [s]
JITTER_S = 5  # [s] a device reads within 5 s of its slot start
SEED = 20240601
TARGETS = {"fakes_share": 0.01, "min_honest_kept": 0.95, "honest_zeroed_by_bound": 0}

FAKE_KINDS = (
    "inflate x1.1", "inflate x1.25", "inflate x1.5", "inflate x2", "inflate x3",
    "night output", "night output < 1 %", "flat output", "clear-sky curve", "copy",
    "sophisticated copy", "replay", "sybil", "lone",
)
INFLATORS = FAKE_KINDS[:5]
FABRICATED = FAKE_KINDS[5:]


# ----------------------------------------------------------------------------
# Miners
# ----------------------------------------------------------------------------


class Miner:
    """One token: declarations (location, capacity, panel plane), and what its device reads at
    true times ``t`` [s] -> [W].

    ``genuine`` is what an inflator's installation really produces (None otherwise);
    ``group`` joins the tokens of a split installation.
    """

    def __init__(self, name, kind, lat, lon, capacity_w, power, skew_s=0, miss=0.0,
                 genuine=None, group=None, owner=None, plane=(30.0, 180.0)):
        self.name, self.kind = name, kind
        self.lat, self.lon, self.capacity_w = float(lat), float(lon), float(capacity_w)
        self.tilt, self.azimuth = (float(v) for v in plane)  # declared, as the SBT keeps it
        self.power, self.genuine = power, genuine
        self.skew_s, self.miss = int(skew_s), float(miss)
        self.group = group
        self.owner = owner or "0x" + hashlib.sha256(name.encode()).hexdigest()[:40]
        self.token_id = None

    @property
    def honest(self):
        return self.kind.startswith("honest")


def _offset(lat, lon, km_east, km_north):
    """Point ``km_east``, ``km_north`` [km] from (lat, lon) [deg]."""
    return (lat + km_north / 111.2, lon + km_east / (111.2 * np.cos(np.radians(lat))))


def _rng(*key):
    return np.random.default_rng([SEED] + [zlib.crc32(str(k).encode()) for k in key])


def _noise(name, genesis, sigma, rho=0.9):
    """AR(1) relative noise on the scenario's 5-min grid (and a day either side), as a function of t."""
    grid = np.arange(genesis - 86400, genesis + N_EPOCHS * EPOCH_SECONDS + 86400, PERIOD_S, dtype=float)
    x = pvdata.ar1_noise(grid.size, sigma, rho, _rng(name, "noise"))
    return lambda t: np.interp(np.asarray(t, dtype=float), grid, x)


def _roof(lat):
    """The common roof at a latitude (``pvbound.default_orientation``): what a fake declares."""
    tilt, azimuth = pvbound.default_orientation(lat)
    return float(tilt), float(azimuth)


def synthetic(name, kind, sources, weights, centre, km_east, km_north, tilt, azimuth, capacity_w,
              genesis, gain=1.0, offset_w=0.0, skew_s=0, miss=0.0, sigma=0.04):
    """An honest neighbour from real clouds: mixed clear-sky index, lagged, on its own plane."""
    lat, lon = _offset(*centre, km_east, km_north)
    lag = float(np.clip(km_east / WIND_KM_PER_MIN * 60.0, -MAX_LAG_S, MAX_LAG_S))
    noise = _noise(name, genesis, sigma)

    def power(t):
        k = sum(w * s.index_at(t - lag) for s, w in zip(sources, weights))
        clear = pvdata.clear_power(lat, lon, capacity_w, t, tilt, azimuth)
        return pvdata.sensor(pvdata.reoriented(k, clear, noise(t)), gain, offset_w)

    return Miner(name, kind, lat, lon, capacity_w, power, skew_s, miss, plane=(tilt, azimuth))


def population(scenario):
    """Miners, genesis [s] and the real sources of a scenario (``SCENARIOS``)."""
    spec = SCENARIOS[scenario]
    genesis = spec["genesis"]
    span = (genesis - spec["replay_back_s"] - 86400, genesis + (N_EPOCHS + 24) * EPOCH_SECONDS)
    reals = [pvdata.MeasuredSystem(r(), c, span) for r, c in spec["reals"]]
    centre = (reals[0].lat, reals[0].lon)
    miners = []

    # honest: the real systems, once each, with sensor imperfections
    for s, (gain, skew, miss) in zip(reals, spec["real_sensors"]):
        miners.append(Miner(s.site["name"], "honest (real)", s.lat, s.lon, s.capacity_w,
                            lambda t, s=s, g=gain: pvdata.sensor(s.power_at(t), g), skew, miss,
                            plane=(s.site["tilt"], s.site["azimuth"])))

    # honest: synthetic neighbours from real clouds
    rng = _rng(scenario, "layout")

    def place(n, rmin, rmax):
        r = rng.uniform(rmin, rmax, n)
        b = rng.uniform(0, 2 * np.pi, n)
        return r * np.sin(b), r * np.cos(b)

    def planes(n):
        return (rng.uniform(10, 40, n).round(), rng.uniform(120, 240, n).round(),
                rng.choice([3_000, 4_500, 6_000, 8_000, 10_000, 12_000], n).astype(float))

    def mix():  # weights of the real systems' clear-sky indices
        return rng.dirichlet(np.ones(len(reals)) * 2) if len(reals) > 1 else np.ones(1)

    n_syn = 8
    xs, ys = place(n_syn, 2, 18)
    tilts, azs, caps = planes(n_syn)
    offsets = [0.0] * n_syn
    offsets[2], offsets[5] = 0.002, -0.002  # [1] of capacity
    for i in range(n_syn):
        miners.append(synthetic(
            f"{scenario} neighbour {i + 1}", "honest (synthetic)", reals, mix(), centre, xs[i], ys[i],
            tilts[i], azs[i], caps[i], genesis, gain=1 + rng.uniform(-0.02, 0.02),
            offset_w=offsets[i] * caps[i], skew_s=int(rng.integers(-180, 181)),
            miss=float(rng.choice([0.0, 0.01, 0.03]))))

    # inflators: honest installations (same construction) whose readings are multiplied
    xs, ys = place(5, 2, 15)
    tilts, azs, caps = planes(5)
    for i, kind in enumerate(INFLATORS):
        g = synthetic(f"{scenario} {kind}", kind, reals, mix(), centre, xs[i], ys[i], tilts[i], azs[i],
                      caps[i], genesis, gain=1 + rng.uniform(-0.02, 0.02))
        factor = float(kind.split("x")[1])
        g.genuine = g.power
        g.power = lambda t, f=g.genuine, k=factor: pvdata.inflate(f(t), k)
        miners.append(g)

    src = reals[spec["copied"]]

    def near(km_e, km_n):
        return _offset(src.lat, src.lon, km_e, km_n)


    # fabricated series: each declares a plane that suits it (default: the common roof of its
    # latitude; a copy or replay: the plane of the system it takes from)
    source_plane = (src.site["tilt"], src.site["azimuth"])
    cap = 6_000.0
    lat, lon = near(3.0, -2.0)
    miners.append(Miner(f"{scenario} night", "night output", lat, lon, cap,
                        lambda t, a=lat, o=lon, c=cap:
                        pvdata.night_output(pvdata.clear_poa(a, o, t) > 0, 0.2 * c), plane=_roof(lat)))
    lat, lon = near(-4.0, 1.0)
    miners.append(Miner(f"{scenario} night low", "night output < 1 %", lat, lon, cap,
                        lambda t, a=lat, o=lon, c=cap:
                        pvdata.night_output(pvdata.clear_poa(a, o, t) > 0, 0.009 * c), plane=_roof(lat)))
    lat, lon = near(1.0, 5.0)
    miners.append(Miner(f"{scenario} flat", "flat output", lat, lon, cap,
                        lambda t, c=cap: pvdata.flat_output(t, spec["flat"] * c), plane=_roof(lat)))
    lat, lon = near(-2.0, -6.0)
    tilt, az = (float(v) for v in pvbound.default_orientation(lat))
    miners.append(Miner(f"{scenario} clear sky", "clear-sky curve", lat, lon, cap,
                        lambda t, a=lat, o=lon, c=cap, ti=tilt, az=az:
                        pvdata.clear_power(a, o, c, t, ti, az), plane=(tilt, az)))
    lat, lon = near(1.5, 0.5)
    ccap = 8_000.0
    copy_noise = _noise(f"{scenario} copy", genesis, 0.03, 0.5)
    miners.append(Miner(f"{scenario} copy", "copy", lat, lon, ccap,
                        lambda t, c=ccap:
                        pvdata.copied(src.t, src.p, t, 600, c / src.capacity_w, copy_noise(t)),
                        plane=source_plane))
    lat, lon = near(2.5, 1.5)
    scap, stilt, saz = 7_000.0, 30.0, 200.0
    soph_noise = _noise(f"{scenario} sophisticated", genesis, 0.02)
    miners.append(Miner(
        f"{scenario} sophisticated copy", "sophisticated copy", lat, lon, scap,
        lambda t, a=lat, o=lon: pvdata.reoriented(
            src.index_at(t - 300), pvdata.clear_power(a, o, scap, t, stilt, saz), soph_noise(t)),
        plane=(stilt, saz)))
    back = spec["replay_back_s"]
    lat, lon = near(-1.0, 3.0)
    rcap = 5_000.0
    rs = reals[spec["replayed"]]
    replayed_plane = (rs.site["tilt"], rs.site["azimuth"])
    miners.append(Miner(f"{scenario} replay", "replay", lat, lon, rcap,
                        lambda t, c=rcap: pvdata.replayed(rs.t, rs.p, t, back) * c / rs.capacity_w,
                        plane=replayed_plane))

    # the lone miner: a replayed series in another town, moved to its solar time
    llat, llon = spec["lone_at"]
    solar_s = (rs.lon - llon) / 15.0 * 3600.0  # [s] later there
    miners.append(Miner(f"{scenario} lone", "lone", llat, llon, rcap,
                        lambda t, c=rcap: pvdata.replayed(rs.t, rs.p, t - solar_s, back) * c / rs.capacity_w,
                        plane=replayed_plane))

    # the split installation: one honest system (synthetic) on three tokens of one owner
    whole = synthetic(f"{scenario} split", "split", reals, mix(), centre, -6.0, 4.0, 25.0, 180.0,
                      9_000.0, genesis)
    owner = "0x" + hashlib.sha256(f"{scenario} split owner".encode()).hexdigest()[:40]
    for j, gain in enumerate((1.004, 0.993, 1.008)):
        miners.append(Miner(f"{scenario} split {j + 1}", "split", whole.lat, whole.lon, 3_000.0,
                            lambda t, g=gain: pvdata.sensor(whole.power(t) / 3.0, g), group="split",
                            owner=owner, plane=(25.0, 180.0)))
    merged = Miner(f"{scenario} split merged", "split", whole.lat, whole.lon, 9_000.0, whole.power,
                   group="split", owner=owner, plane=(25.0, 180.0))

    # Sybils: five fresh tokens 300 m apart, noisy copies of one replayed series
    slat, slon = near(-3.0, -3.5)
    for j in range(5):
        lat, lon = _offset(slat, slon, 0.3 * np.cos(j), 0.3 * np.sin(j))
        nz = _noise(f"{scenario} sybil {j}", genesis, 0.02, 0.5)
        miners.append(Miner(f"{scenario} sybil {j + 1}", "sybil", lat, lon, 5_000.0,
                            lambda t, nz=nz, j=j: pvdata.replayed(rs.t, rs.p, t - 60 * j, back) * 5_000.0
                            / rs.capacity_w * (1 + nz(t)), plane=replayed_plane))

    # admission order: honest first, then inflators and other fakes, Sybils last (fresh)
    order = {"honest": 0, "inflate": 1, "split": 2}
    miners.sort(key=lambda m: (order.get(m.kind.split(" ")[0], 3), m.kind == "sybil"))
    for i, m in enumerate(miners):
        m.token_id = 1 + i
    merged.token_id = next(m.token_id for m in miners if m.group == "split")
    return miners, merged, genesis, reals


SCENARIOS = {
    "winter": {
        "genesis": 1_641_106_800,  # 2022-01-02 00:00 MST
        "reals": [(pvdata.read_serf_west, None), (pvdata.read_rsf2, None)],
        "real_sensors": [(1.015, 120, 0.01), (0.98, -60, 0.005)],  # (gain, skew [s], missed)
        "copied": 1,  # RSF II
        "replayed": 0,  # SERF West, yesterday's
        "replay_back_s": 86_400,
        "flat": 0.10,  # [1] of capacity, day and night
        "lone_at": (38.573, -109.549),  # Moab, Utah: 390 km away
    },
    "summer": {
        "genesis": 1_468_306_800,  # 2016-07-12 00:00 MST
        "reals": [(lambda: pvdata.read_serf_east("15min"), None)],
        "real_sensors": [(1.01, 180, 0.01)],
        "copied": 0,
        "replayed": 0,  # last week's
        "replay_back_s": 7 * 86_400,
        "flat": 0.15,
        "lone_at": (35.084, -106.651),  # Albuquerque, New Mexico: 520 km away
    },
}


# ----------------------------------------------------------------------------
# Devices and the index
# ----------------------------------------------------------------------------


def readings(miner, genesis, power=None):
    """A miner's epochs: reading times and powers ``(E, 12)``, counts and booked energy ``(E,)``."""
    rng = _rng(miner.name, "device")
    ts = pvdata.sample_times(genesis, genesis + N_EPOCHS * EPOCH_SECONDS, PERIOD_S, JITTER_S, rng)
    p_w = (power or miner.power)(ts - miner.skew_s)
    keep = ~pvdata.missed(ts.size, miner.miss, rng)
    ts, p_mw = ts[keep], np.rint(p_w[keep] * 1000.0).astype(np.int64)
    totals = pvdata.device_totals(ts, p_mw, genesis, PERIOD_S)
    n, energy = pvdata.book_epochs(ts, totals, genesis, N_EPOCHS)
    return (pvdata.epoch_rows(ts, ts, genesis, N_EPOCHS), pvdata.epoch_rows(ts, p_mw, genesis, N_EPOCHS),
            n, energy)


# ----------------------------------------------------------------------------
# Scorings
# ----------------------------------------------------------------------------


# PoGG's default parameters, with a reference energy no epoch of these few miners reaches,
# so that every unit of contribution earns the same in every run (``pogg.split``)
PARAMS = authenticity.ScoringParams()._replace(
    reference_kwh=1_000_000,
    **{k: int(v) for k, v in (a.split("=") for a in os.environ.get("EVAL_PARAMS", "").split() if a)},
)


class _Paid:
    """What the harness reads of a scoring: the amounts, ``a`` where there is one, and what
    each miner would be paid at full authenticity (``ideal``) where the scoring can say."""

    def __init__(self, amounts, a, ideal=None):
        self.amounts, self.a, self.ideal = amounts, a, ideal


def pogg_scoring(inputs, winners, emission):
    """PoGG's scoring (``pogg.score_inputs``, default parameters); every miner wins (K = 1)."""
    scores = pogg.score_inputs(inputs, winners, emission, 1, PARAMS)
    full = np.asarray([pogg.MAX_BPS * int(q) * int(v) for q, v in zip(scores.q_bps, scores.v_mwh)], dtype=object)
    ideal, _ = pogg.split(winners, full, emission, 1, pogg.reference_units(PARAMS.reference_kwh))
    return _Paid(scores.amounts, scores.auth.a, ideal)


SCORINGS = {"pogg": pogg_scoring}


def load_scoring(name):
    """``pogg`` or ``module:function``."""
    if name in SCORINGS:
        return SCORINGS[name]
    module, _, attr = name.partition(":")
    if not attr:
        raise SystemExit("eval_authenticity: --scoring is 'pogg' or 'module:function'")
    return getattr(importlib.import_module(module), attr)


def run(scoring, miners, data, window=pogg.WINDOW):
    """Score every epoch; rewards per miner [DECA wei], zeroed honest epochs and timings."""
    m = len(miners)
    ts = np.stack([data[i][0] for i in range(m)])  # (M, E, 12)
    pw = np.stack([data[i][1] for i in range(m)])
    n = np.stack([data[i][2] for i in range(m)])  # (M, E)
    en = np.stack([data[i][3] for i in range(m)])
    token = np.array([x.token_id for x in miners], dtype=np.int64)
    lat = np.array([x.lat for x in miners])
    lon = np.array([x.lon for x in miners])
    cap = np.array([x.capacity_w for x in miners])
    tilt = np.array([x.tilt for x in miners])
    azimuth = np.array([x.azimuth for x in miners])
    owners = [x.owner for x in miners]
    honest = np.array([x.honest for x in miners])
    rewards = [0] * m
    ideal = [0] * m
    paid = 0
    zeroed = 0
    t_score = 0.0
    t0 = time.perf_counter()
    for e in range(N_EPOCHS):
        rows = np.flatnonzero(n[:, e] > 0)
        lo = e - window + 1
        cols = slice(max(lo, 0), e + 1)
        n_win = np.zeros((rows.size, window), dtype=np.int64)
        e_win = np.zeros((rows.size, window), dtype=np.int64)
        n_win[:, window - (e + 1 - max(lo, 0)):] = n[rows, cols]
        e_win[:, window - (e + 1 - max(lo, 0)):] = en[rows, cols]
        inputs = pogg.EpochInputs(e, token[rows], [owners[i] for i in rows], lat[rows], lon[rows],
                                  cap[rows], tilt[rows], azimuth[rows], ts[rows, e], pw[rows, e], n_win, e_win)
        t1 = time.perf_counter()
        out = scoring(inputs, np.ones(rows.size, dtype=bool), EMISSION)
        t_score += time.perf_counter() - t1
        amounts = getattr(out, "amounts", out)
        a = getattr(out, "a", None)
        full = getattr(out, "ideal", None)
        for j, i in enumerate(rows):
            rewards[i] += int(amounts[j])
            ideal[i] += int(full[j]) if full is not None else 0
            paid += int(amounts[j])
            if honest[i] and en[i, e] > 0:
                zero = (a[j] <= 0) if a is not None else int(amounts[j]) == 0
                zeroed += bool(zero)
    return {"rewards": rewards, "ideal": ideal, "paid": paid, "zeroed": zeroed,
            "seconds": time.perf_counter() - t0, "score_seconds": t_score}


def zeroed_by_bound(miners, data):
    """Honest epochs with energy in which some reading exceeds ``pvbound.upper_bound``."""
    count = total = 0
    for i, x in enumerate(miners):
        if not x.honest:
            continue
        ts, pw, _, en = data[i]
        bound = pvbound.upper_bound([x.lat], [x.lon], [x.capacity_w], ts.reshape(1, -1))[0]
        over = pvbound.exceeds(pw.reshape(1, -1), bound[None, :])[0].reshape(ts.shape).any(axis=1)
        count += int((over & (en > 0)).sum())
        total += int((en > 0).sum())
    return count, total


# ----------------------------------------------------------------------------
# One scenario, all runs
# ----------------------------------------------------------------------------


def evaluate(scenario, scoring):
    miners, merged, genesis, reals = population(scenario)
    data = {}
    for i, x in enumerate(miners):
        data[i] = readings(x, genesis)
    main = run(scoring, miners, data)

    uninflated_data = dict(data)
    for i, x in enumerate(miners):
        if x.genuine is not None:
            uninflated_data[i] = readings(x, genesis, x.genuine)
    uninflated = run(scoring, miners, uninflated_data)

    fair_idx = [i for i, x in enumerate(miners) if x.kind not in FABRICATED and x.group is None]
    fair_miners = [miners[i] for i in fair_idx] + [merged]
    fair_data = {j: uninflated_data[i] for j, i in enumerate(fair_idx)}
    fair_data[len(fair_idx)] = readings(merged, genesis)
    fair = run(scoring, fair_miners, fair_data)
    fair_reward = {fair_miners[j].name: r for j, r in enumerate(fair["rewards"])}

    bound_zeroed, honest_epochs = zeroed_by_bound(miners, data)
    return {
        "miners": miners, "merged": merged, "data": data, "reals": reals, "genesis": genesis,
        "main": main, "uninflated": uninflated, "fair": fair, "fair_reward": fair_reward,
        "bound_zeroed": bound_zeroed, "honest_epochs": honest_epochs,
    }


def summarise(results):
    """The metrics over all scenarios (see module docstring)."""
    kinds = {}
    honest = []
    paid = sum(r["main"]["paid"] for r in results.values())
    emitted = EMISSION * N_EPOCHS * len(results)
    fabricated = inflator_whole = inflator_excess = split_main = split_fair = 0
    for name, r in results.items():
        for i, x in enumerate(r["miners"]):
            got = r["main"]["rewards"][i]
            k = kinds.setdefault(x.kind, {"miners": 0, "reward": 0, "by_scenario": {}})
            k["miners"] += 1
            k["reward"] += got
            k["by_scenario"][name] = k["by_scenario"].get(name, 0) + got
            if x.honest:
                fair = r["fair_reward"][x.name]
                ideal = r["main"]["ideal"][i]
                honest.append({"scenario": name, "miner": x.name, "kind": x.kind, "reward": got,
                               "fair": fair, "kept": got / fair if fair else float("nan"),
                               "of_ideal": got / ideal if ideal else float("nan")})
            elif x.kind in FABRICATED:
                fabricated += got
            elif x.kind in INFLATORS:
                inflator_whole += got
                inflator_excess += got - r["uninflated"]["rewards"][i]
            elif x.group == "split":
                split_main += got
        split_fair += r["fair_reward"][r["merged"].name]
    kept = [h["kept"] for h in honest]
    taken = fabricated + max(inflator_excess, 0)
    main_runs = [r["main"] for r in results.values()]
    all_runs = [r[k] for r in results.values() for k in ("main", "uninflated", "fair")]
    epochs = N_EPOCHS * len(all_runs)
    return {
        "emitted": emitted, "paid": paid, "vault_share": 1 - paid / emitted,
        "kinds": {k: {"miners": v["miners"], "share": v["reward"] / paid,
                      "by_scenario": {s: x / results[s]["main"]["paid"] for s, x in v["by_scenario"].items()}}
                  for k, v in kinds.items()},
        "honest": honest,
        "min_honest_kept": min(kept),
        "min_honest_of_ideal": min(h["of_ideal"] for h in honest),
        "fakes_share": taken / paid,
        "fabricated_share": fabricated / paid,
        "inflators_whole_share": inflator_whole / paid,
        "inflators_excess_share": inflator_excess / paid,
        "split_excess_share": (split_main - split_fair) / paid,
        "split_over_fair": split_main / split_fair if split_fair else float("nan"),
        "honest_epochs": sum(r["honest_epochs"] for r in results.values()),
        "honest_zeroed_by_bound": sum(r["bound_zeroed"] for r in results.values()),
        "honest_zeroed_by_scoring": sum(r["main"]["zeroed"] for r in results.values()),
        "seconds_per_epoch": sum(r["seconds"] for r in all_runs) / epochs,
        "score_seconds_per_epoch": sum(r["score_seconds"] for r in all_runs) / epochs,
        "main_miners": {s: len(r["miners"]) for s, r in results.items()},
        "main_seconds": sum(r["seconds"] for r in main_runs),
    }


# ----------------------------------------------------------------------------
# The two real neighbours of the winter scenario
# ----------------------------------------------------------------------------


def real_pair(result):
    """How alike SERF West and RSF II are: correlation, specific yields, time lag."""
    w, r = result["reals"]
    t = w.centres
    pr_t = np.interp(t, r.centres, r.averages)
    day = (pr_t > 0.01 * r.averages.max()) & (w.averages > 0.01 * w.averages.max())
    pw, pr = w.averages / w.capacity_w, pr_t / r.capacity_w
    c15 = float(np.corrcoef(pw[day], pr[day])[0, 1])
    miners = result["miners"]
    iw = next(i for i, x in enumerate(miners) if x.name == w.site["name"])
    ir = next(i for i, x in enumerate(miners) if x.name == r.site["name"])
    (_, pww, _, ew), (_, prr, _, er) = result["data"][iw], result["data"][ir]
    both = np.isfinite(pww) & np.isfinite(prr) & ((pww > 0) | (prr > 0))
    c5 = float(np.corrcoef(pww[both], prr[both])[0, 1])
    producing = (ew > 0) & (er > 0)
    yw, yr = ew / w.capacity_w, er / r.capacity_w
    hour_ratio = yw[producing] / yr[producing]
    big = producing & (yr > 0.1 * np.max(yr))  # hours with at least 10 % of the best hour
    dw, dr = yw.reshape(-1, 24).sum(axis=1), yr.reshape(-1, 24).sum(axis=1)
    lag, corr = pvdata.best_lag(t[day], pw[day], r.centres, r.averages / r.capacity_w,
                                np.arange(-20, 21) * 60.0)
    return {
        "corr_15min": c15, "corr_5min": c5,
        "hour_yield_ratio_quartiles": np.percentile(hour_ratio, [10, 25, 50, 75, 90]).tolist(),
        "hour_yield_ratio_quartiles_bright": np.percentile(yw[big] / yr[big], [10, 25, 50, 75, 90]).tolist(),
        "day_yield_ratio": [float(a / b) if b > 0 else None for a, b in zip(dw, dr)],
        "lag_s": lag, "lag_corr": float(np.nanmax(corr)),
    }


# ----------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------


def _pct(x):
    return "%.1f %%" % (100 * x)


def report(summary, pair):
    lines = ["| kind | miners | share of rewards, winter | summer | both |",
             "| --- | ---: | ---: | ---: | ---: |"]
    kinds = sorted(summary["kinds"].items(), key=lambda kv: (not kv[0].startswith("honest"),
                                                           kv[0] not in INFLATORS, kv[0]))
    for k, v in kinds:
        by = v["by_scenario"]
        lines.append("| %s | %d | %s | %s | %s |" % (k, v["miners"], _pct(by.get("winter", 0)),
                                                   _pct(by.get("summer", 0)), _pct(v["share"])))
    lines += ["", "| honest miner | scenario | reward / fair reward | reward / reward at a = 1 |",
              "| --- | --- | ---: | ---: |"]
    for h in summary["honest"]:
        lines.append("| %s | %s | %.3f | %.3f |" % (h["miner"], h["scenario"], h["kept"], h["of_ideal"]))
    t = TARGETS
    lines += [
        "",
        "| metric | value | target | met |",
        "| --- | ---: | ---: | --- |",
        "| taken by fakes (fabricated whole + inflators' excess) | %s | ≤ %s | %s |" % (
            _pct(summary["fakes_share"]), _pct(t["fakes_share"]),
            "yes" if summary["fakes_share"] <= t["fakes_share"] else "no"),
        "| of which fabricated kinds | %s | | |" % _pct(summary["fabricated_share"]),
        "| inflators, whole reward | %s | | |" % _pct(summary["inflators_whole_share"]),
        "| inflators, excess over genuine | %s | | |" % _pct(summary["inflators_excess_share"]),
        "| split installation, excess over one token | %s (%.2f × its fair reward) | | |" % (
            _pct(summary["split_excess_share"]), summary["split_over_fair"]),
        "| honest miner keeps, minimum | %.3f | ≥ %.2f | %s |" % (
            summary["min_honest_kept"], t["min_honest_kept"],
            "yes" if summary["min_honest_kept"] >= t["min_honest_kept"] else "no"),
        "| honest miner's reward over its reward at a = 1, minimum | %.3f | | |" % summary["min_honest_of_ideal"],
        "| honest epochs zeroed by the physical bound | %d of %d | %d | %s |" % (
            summary["honest_zeroed_by_bound"], summary["honest_epochs"], t["honest_zeroed_by_bound"],
            "yes" if summary["honest_zeroed_by_bound"] <= t["honest_zeroed_by_bound"] else "no"),
        "| honest epochs zeroed by the scoring | %d of %d | | |" % (
            summary["honest_zeroed_by_scoring"], summary["honest_epochs"]),
        "| not paid (vault) | %s | | |" % _pct(summary["vault_share"]),
        "| time per epoch, all / scoring alone | %.1f ms / %.1f ms | | |" % (
            1000 * summary["seconds_per_epoch"], 1000 * summary["score_seconds_per_epoch"]),
    ]
    if pair:
        q = pair
        lines += [
            "",
            "SERF West vs RSF II (winter, specific power): correlation %.3f at 15 min (source), "
            "%.3f at 5 min (device readings, daytime); "
            "hourly specific-yield ratio W/R, percentiles 10/25/50/75/90: %s (hours with ≥ 10 %% of the best "
            "hour: %s); daily: %s; "
            "cloud edges (15-min increments) come %d s %s in RSF II's series than in SERF West's "
            "(r = %.2f)." % (
                q["corr_15min"], q["corr_5min"],
                " ".join("%.2f" % v for v in q["hour_yield_ratio_quartiles"]),
                " ".join("%.2f" % v for v in q["hour_yield_ratio_quartiles_bright"]),
                " ".join("-" if v is None else "%.2f" % v for v in q["day_yield_ratio"]),
                abs(q["lag_s"]), "earlier" if q["lag_s"] < 0 else "later", q["lag_corr"]),
        ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip())
    parser.add_argument("--scoring", default="pogg", help="'pogg' (PoGG's scoring) or module:function")
    parser.add_argument("--scenario", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    parser.add_argument("--json", help="write the metrics here")
    args = parser.parse_args(argv)
    scoring = load_scoring(args.scoring)
    t0 = time.perf_counter()
    results = {s: evaluate(s, scoring) for s in args.scenario}
    summary = summarise(results)
    pair = real_pair(results["winter"]) if "winter" in results else None
    counts = {}
    for r in results.values():
        for x in r["miners"]:
            counts[x.kind] = counts.get(x.kind, 0) + 1
    print("scoring: %s; scenarios: %s; miners: %s; %d epochs each; %.1f s in all" % (
        args.scoring, ", ".join(args.scenario),
        ", ".join("%s %d" % (s, n) for s, n in summary["main_miners"].items()), N_EPOCHS,
        time.perf_counter() - t0))
    print()
    print(report(summary, pair))
    if args.json:
        out = dict(summary, scoring=args.scoring, real_pair=pair, counts=counts, targets=TARGETS)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1, default=float)
    return summary


if __name__ == "__main__":
    main()
