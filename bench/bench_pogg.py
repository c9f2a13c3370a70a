"""
Scoring one epoch: ``offchain.pogg.score_epoch`` against a per-miner Python loop.

Synthetic miners scattered around five real places (Golden CO, Munich, Cape Town, Tokyo,
Mexico City; σ = 0.2°), capacities 1-10 kWp, 12 readings each in the epoch (3 % missing),
power from NREL SERF East's measured 15-min series (its clear-sky index, replayed at each
miner's local solar time on the miner's own clear-sky power) with 3 % noise; 168 epochs of reading counts and the
window's energy for q and v; one winner in 60.

The vectorised path is timed whole (bound + neighbours + q + v + a + quantised table +
shares), warm (best of ``--repeat``): the oracle is a long-running process. The first
call on the data is shown apart; it is not process-cold, since the data generator
already imported pvlib and read its HDF5 tiles (in a fresh process that adds about
0.8 s once). The loop
does the same maths miner by miner the straightforward way: pvlib's ``Location`` per
miner for the bound, distances to every miner for the neighbours, Python loops for q, v,
the cosines and the split. The loop is timed on a subset and extrapolated linearly (its
neighbour search is per miner over the whole population, so its per-miner cost is
measured at full size). The lottery (one ECDH per miner, pure Python) is not part of
scoring and not timed. Prints a markdown table.

    python bench/bench_pogg.py [--miners 10000 100000] [--loop-subset 200] [--repeat 3]
"""

import argparse
import math
import time

import numpy as np

from offchain import pogg, pvbound
from offchain.pvdata import read_serf_east, resample

SITES = np.array([  # (lat, lon) [deg]
    [39.742, -105.1727],
    [48.14, 11.58],
    [-33.92, 18.42],
    [35.68, 139.69],
    [19.43, -99.13],
])
SPREAD_DEG = 0.2
EPOCH_START = 1_467_392_400  # 2016-07-01 17:00 UTC (11:00 in Golden) [s]
EMISSION = 100 * 10**18  # [DECA wei]
TARGET_S = 1.0
TARGET_SPEEDUP = 20.0


def make_epoch(m, seed=0):
    """Synthetic inputs of one epoch for ``m`` miners (see module docstring)."""
    rng = np.random.default_rng(seed)
    ts_serf, power_w, site = read_serf_east("15min")
    k = rng.integers(0, len(SITES), m)
    lat = np.clip(SITES[k, 0] + rng.normal(0, SPREAD_DEG, m), -89.9, 89.9)
    lon = SITES[k, 1] + rng.normal(0, SPREAD_DEG, m)
    capacity_w = rng.uniform(1_000, 10_000, m)
    ts = EPOCH_START + np.arange(12) * 300.0 + rng.integers(0, 30, (m, 12))
    # SERF's weather as a clear-sky index, replayed at the same local solar time
    # (15 deg of longitude = 1 h) on each miner's own clear sky
    serf_clear = pvbound.clear_sky_power(
        [site["latitude"]], [site["longitude"]], [site["peak_w"]], ts_serf
    )[0] / 1000.0
    usable = serf_clear > 0.02 * site["peak_w"]
    index = np.clip(np.where(usable, power_w / np.where(usable, serf_clear, 1.0), 0.0), 0, 1.3)
    solar_shift = (lon - site["longitude"]) / 15.0 * 3600.0
    own_clear = pvbound.clear_sky_power(lat, lon, capacity_w, ts)
    weather = resample(ts_serf, index, ts + solar_shift[:, None])
    power_mw = weather * own_clear * (1 + 0.03 * rng.standard_normal((m, 12)))
    power_mw = np.clip(power_mw, 0, None)
    missing = rng.random((m, 12)) < 0.03
    power_mw[missing] = np.nan
    ts[missing] = np.nan
    n_per_epoch = rng.integers(0, 13, (m, pogg.WINDOW))
    energy_mwh = rng.integers(0, 5 * 10**7, m)
    winner = rng.random(m) < 1.0 / pogg.LOTTERY_K
    return dict(lat=lat, lon=lon, capacity_w=capacity_w, ts=ts, power_mw=power_mw,
                n_per_epoch=n_per_epoch, energy_mwh=energy_mwh, winner_mask=winner,
                emission=EMISSION)


def run_vectorised(epoch):
    start = time.perf_counter()
    result = pogg.score_epoch(**epoch)
    return time.perf_counter() - start, result


def run_stages(epoch):
    """The vectorised stages timed one by one (same calls as ``score_epoch``)."""
    t = {}
    s = time.perf_counter()
    clear = pvbound.clear_sky_power(epoch["lat"], epoch["lon"], epoch["capacity_w"], epoch["ts"])
    bound = pvbound.bound_from_clear_sky(clear, epoch["capacity_w"])
    t["bound"] = time.perf_counter() - s
    s = time.perf_counter()
    near = pogg.neighbours(epoch["lat"], epoch["lon"])
    t["neighbours"] = time.perf_counter() - s
    s = time.perf_counter()
    pogg.quantity_bps(epoch["n_per_epoch"])
    pogg.volume_milli(epoch["energy_mwh"])
    t["q + v"] = time.perf_counter() - s
    s = time.perf_counter()
    pogg.authenticity(epoch["power_mw"], bound, near, clear)
    t["a"] = time.perf_counter() - s
    return t


# ----------------------------------------------------------------------------- the loop


def _loop_bound(lat, lon, capacity_w, ts):
    """Bound [mW] of one miner's samples, pvlib the plain way."""
    import pandas as pd
    import pvlib

    present = [t for t in ts if not math.isnan(t)]
    if not present:
        return [math.nan] * len(ts), [math.nan] * len(ts)
    loc = pvlib.location.Location(lat, lon, altitude=pvlib.location.lookup_altitude(lat, lon))
    times = pd.DatetimeIndex(pd.to_datetime(present, unit="s", utc=True))
    sp = loc.get_solarposition(times)
    cs = loc.get_clearsky(times, solar_position=sp)
    poa = pvlib.irradiance.get_total_irradiance(
        sp["apparent_zenith"].clip(0, 90), sp["azimuth"], sp["apparent_zenith"], sp["azimuth"],
        cs["dni"], cs["ghi"], cs["dhi"],
    )["poa_global"].fillna(0).to_numpy()
    clear, bound, j = [], [], 0
    for t in ts:
        if math.isnan(t):
            clear.append(math.nan)
            bound.append(math.nan)
        else:
            c = capacity_w * poa[j] / 1000.0 * 1000.0
            clear.append(c)
            bound.append(max(pvbound.DEFAULT_MARGIN * c, pvbound.DEFAULT_FLOOR * capacity_w * 1000))
            j += 1
    return clear, bound


def _loop_neighbours(i, lat, lon, radius_km, k):
    """The k nearest others within the radius: distances to every miner, then sort."""
    p1, l1 = math.radians(lat[i]), math.radians(lon[i])
    p2, l2 = np.radians(lat), np.radians(lon)
    h = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    d = 2 * pogg.EARTH_RADIUS_KM * np.arcsin(np.sqrt(h))
    d[i] = np.inf
    order = np.argsort(d)[:k]
    return [int(j) for j in order if d[j] <= radius_km]


def _loop_cosine(x, y):
    dot = nx = ny = 0.0
    common = False
    for a, b in zip(x, y):
        if math.isnan(a) or math.isnan(b):
            continue
        common = True
        dot, nx, ny = dot + a * b, nx + a * a, ny + b * b
    if not common:
        return None
    if nx == 0 and ny == 0:
        return 1.0
    if nx == 0 or ny == 0:
        return 0.0
    return min(1.0, max(0.0, dot / math.sqrt(nx * ny)))


def _loop_normalized(row):
    vals = [p for p in row if not math.isnan(p)]
    mean = sum(vals) / len(vals) if vals else math.nan
    return [p / mean if mean > 0 else p * 0.0 for p in row]


def run_loop(epoch, subset):
    """Per-miner loop over ``subset`` miners; returns seconds per miner and the a values."""
    lat, lon = epoch["lat"], epoch["lon"]
    m = len(lat)
    power = epoch["power_mw"]
    start = time.perf_counter()
    a_values, c_values = [], []
    for i in subset:
        row_ts = [float(t) for t in epoch["ts"][i]]
        clear, bound = _loop_bound(float(lat[i]), float(lon[i]),
                                   float(epoch["capacity_w"][i]), row_ts)
        near = _loop_neighbours(i, lat, lon, pogg.DEFAULT_RADIUS_KM, pogg.DEFAULT_NEIGHBOURS)
        q = sum(min(max(int(n), 0), 12) for n in epoch["n_per_epoch"][i]) / (12 * pogg.WINDOW)
        v = max(int(epoch["energy_mwh"][i]), 0) ** (1 / 3)
        row = [float(p) for p in power[i]]
        if any(p > b for p, b in zip(row, bound) if not math.isnan(p)):
            a = 0.0
        else:
            x = _loop_normalized(row)
            sims = []
            for j in near:
                s = _loop_cosine(x, _loop_normalized([float(p) for p in power[j]]))
                if s is not None:
                    sims.append(s)
            if sims:
                a = sum(sims) / len(sims)
            else:
                prof = [c if not math.isnan(p) else math.nan for c, p in zip(clear, row)]
                s = _loop_cosine(x, _loop_normalized(prof))
                a = 0.0 if s is None else s
        a_bps = math.floor(a * 10_000 + 0.5)
        c = a_bps * math.floor(q * 10_000 + 0.5) * math.floor(v * 1000 + 0.5)
        a_values.append(a)
        c_values.append(c)
    per_miner = (time.perf_counter() - start) / len(subset)
    return per_miner, np.array(a_values)


def run_loop_shares(epoch, result):
    """The split as a loop over all miners (it is a loop in ``pogg.shares`` too)."""
    start = time.perf_counter()
    c = [int(a) * int(q) * int(v) if w else 0 for a, q, v, w in
         zip(result.a_bps, result.q_bps, result.v_mwh, epoch["winner_mask"])]
    total = sum(c)
    amounts = [epoch["emission"] * ci // total if total else 0 for ci in c]
    assert sum(amounts) + result.remainder == epoch["emission"]
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--miners", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--loop-subset", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows, stage_rows = [], []
    for m in args.miners:
        epoch = make_epoch(m)
        cold, result = run_vectorised(epoch)
        warm = min(run_vectorised(epoch)[0] for _ in range(args.repeat))
        stages = run_stages(epoch)
        rng = np.random.default_rng(1)
        subset = rng.choice(m, size=min(args.loop_subset, m), replace=False)
        per_miner, a_loop = run_loop(epoch, subset)
        np.testing.assert_allclose(a_loop, result.a[subset], atol=2e-3)  # same maths
        loop = per_miner * m + run_loop_shares(epoch, result)
        rows.append((m, cold, warm, loop, len(subset), int(result.exceeded.sum()),
                     int(np.asarray(epoch["winner_mask"]).sum())))
        stage_rows.append((m, stages))

    print("| miners | vectorised, first call (s) | vectorised, warm (s) | per-miner loop (s) "
          "| speed-up (warm) | flagged by bound | winners |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m, cold, warm, loop, n_sub, flagged, n_win in rows:
        print(f"| {m:,} | {cold:.3f} | {warm:.3f} | {loop:,.1f} (from {n_sub}, extrapolated) "
              f"| {loop / warm:,.0f}× | {flagged} | {n_win} |")
    print()
    print("| miners | " + " | ".join(stage_rows[0][1]) + " |")
    print("| ---: |" + " ---: |" * len(stage_rows[0][1]))
    for m, stages in stage_rows:
        print(f"| {m:,} | " + " | ".join(f"{v:.3f} s" for v in stages.values()) + " |")
    print()
    big = rows[-1]
    print(f"target: <= {TARGET_S} s for {big[0]:,} miners (warm {big[2]:.3f} s: "
          f"{'met' if big[2] <= TARGET_S else 'MISSED'}), >= {TARGET_SPEEDUP:.0f}× the loop "
          f"({big[3] / big[2]:,.0f}×: {'met' if big[3] / big[2] >= TARGET_SPEEDUP else 'MISSED'})")


if __name__ == "__main__":
    main()
