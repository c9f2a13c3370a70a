"""
Scoring one epoch: ``offchain.scoring.pogg.score_inputs`` for 10k and 100k miners.

Synthetic miners scattered around five real places (Golden CO, Munich, Cape Town, Tokyo,
Mexico City; σ = 0.2°), capacities 1-10 kWp on planes of their own (tilt 5-40°, facing
the equator ± 40°), owners of one to three tokens, token ids in random order. Their sky is
NREL SERF East's measured clear-sky index (15-min series, as shipped with pvanalytics),
replayed at each miner's local solar time on its own clear-sky power with 3 % noise: the
epoch's 12 readings (3 % missing) and 168 epochs of booked energy and reading counts.

Timed, warm (best of ``--repeat``): the whole scoring of an epoch (bound, credited energy,
clear-sky indices of the check span, neighbours, copies, consensus, checks, quantised
table, split) by a process that scored the epoch before (the oracle is long-running: its
``ClearEnergyCache`` holds the span's clear-sky energies but the newest), and as the
baselines measured in the same run the physical bound alone (``pvbound.upper_bound`` of
the epoch's readings, what the first scoring spent most of its time on) and the neighbour
search. Prints a markdown table.

    python bench/bench_pogg.py [--miners 10000 100000] [--repeat 3]
"""

import argparse
import time

import numpy as np

from offchain.scoring import authenticity, pogg, pvbound
from testbed.pvdata import read_serf_east, resample

SITES = np.array([  # (lat, lon) [deg]
    [39.742, -105.1727],
    [48.14, 11.58],
    [-33.92, 18.42],
    [35.68, 139.69],
    [19.43, -99.13],
])
SPREAD_DEG = 0.2
EPOCH_START = 1_468_602_000  # 2016-07-15 17:00 UTC (11:00 in Golden), a week into the series [s]
EMISSION = 100 * 10**18  # [DECA wei]
TARGET_S = 1.0


def make_inputs(m, seed=0):
    """Synthetic ``pogg.EpochInputs`` of one epoch for ``m`` miners (see module docstring)."""
    rng = np.random.default_rng(seed)
    ts_serf, power_w, site = read_serf_east("15min")
    k = rng.integers(0, len(SITES), m)
    lat = np.clip(SITES[k, 0] + rng.normal(0, SPREAD_DEG, m), -89.9, 89.9)
    lon = SITES[k, 1] + rng.normal(0, SPREAD_DEG, m)
    capacity_w = rng.uniform(1_000, 10_000, m).round()
    tilt = rng.uniform(5, 40, m).round()
    azimuth = (np.where(lat < 0, 0.0, 180.0) + rng.uniform(-40, 40, m).round()) % 360
    owners = [f"0x{o:040x}" for o in rng.integers(0, max(1, m // 2), m)]
    token_id = rng.permutation(m) + 1

    # SERF's weather as a clear-sky index, replayed at the same local solar time
    serf_clear = pvbound.clear_sky_power([site["latitude"]], [site["longitude"]], [site["peak_w"]], ts_serf)[0] / 1e3
    usable = serf_clear > 0.02 * site["peak_w"]
    index = np.clip(np.where(usable, power_w / np.where(usable, serf_clear, 1.0), 0.0), 0, 1.3)
    solar_shift = (lon - site["longitude"]) / 15.0 * 3600.0

    ts = EPOCH_START + np.arange(12) * 300.0 + rng.integers(0, 30, (m, 12))
    clear = pvbound.clear_sky_power(lat, lon, capacity_w, ts, tilt=tilt, azimuth=azimuth)
    power = np.clip(resample(ts_serf, index, ts + solar_shift[:, None]) * clear
                    * (1 + 0.03 * rng.standard_normal((m, 12))), 0, None)
    missing = rng.random((m, 12)) < 0.03
    power[missing], ts[missing] = np.nan, np.nan

    starts = EPOCH_START + 3600.0 * np.arange(1 - pogg.WINDOW, 1)
    expected = authenticity.clear_energy(lat, lon, capacity_w, tilt, azimuth, starts)
    weather = resample(ts_serf, index, starts[None, :] + 1800.0 + solar_shift[:, None])
    energy = np.rint(np.clip(expected * weather * (1 + 0.03 * rng.standard_normal(expected.shape)), 0, None))
    n_per_epoch = np.where(rng.random((m, pogg.WINDOW)) < 0.98, 12, rng.integers(0, 12, (m, pogg.WINDOW)))
    return pogg.EpochInputs(100, token_id, owners, lat, lon, capacity_w, tilt, azimuth, ts, power, n_per_epoch,
                            energy.astype(np.int64))


def timed(f, repeat):
    """Best wall time of ``repeat`` calls [s], and the last result."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = f()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--miners", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rows = []
    for m in args.miners:
        inputs = make_inputs(m)
        winners = np.random.default_rng(1).random(m) < 1.0 / pogg.LOTTERY_K
        params = authenticity.ScoringParams()
        # the epoch before, as an oracle scoring epoch after epoch has: its clear-sky energies
        # are kept, so that each epoch computes only its newest one (a fresh cache per run)
        before = inputs._replace(ts=inputs.ts - 3600.0)

        def score():
            cache = authenticity.ClearEnergyCache()
            pogg.score_inputs(before, winners, EMISSION, pogg.LOTTERY_K, params, cache)
            start = time.perf_counter()
            result = pogg.score_inputs(inputs, winners, EMISSION, pogg.LOTTERY_K, params, cache)
            return time.perf_counter() - start, result

        score()  # the first call imports pvlib and reads its data
        whole, scores = min((score() for _ in range(args.repeat)), key=lambda x: x[0])
        bound, _ = timed(lambda: pvbound.upper_bound(inputs.lat, inputs.lon, inputs.capacity_w, inputs.ts),
                         args.repeat)
        near, _ = timed(lambda: pogg.neighbours(inputs.lat, inputs.lon, params.radius_m / 1e3, params.neighbours),
                        args.repeat)
        rows.append((m, whole, bound, near, scores))

    print("| miners | scoring, warm (s) | physical bound alone (s) | × the bound | neighbours (s) "
          "| a > 0.9 | copies | lone |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m, whole, bound, near, scores in rows:
        a = scores.auth
        print(f"| {m:,} | {whole:.3f} | {bound:.3f} | {whole / bound:.1f} | {near:.3f} "
              f"| {(a.a > 0.9).mean():.1%} | {int(a.copy.sum())} | {int(a.lone.sum())} |")
    big = rows[-1]
    print()
    print(f"target: <= {TARGET_S} s for {big[0]:,} miners, warm: {big[1]:.3f} s "
          f"({'met' if big[1] <= TARGET_S else 'MISSED'})")


if __name__ == "__main__":
    main()
