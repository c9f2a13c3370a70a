"""The demo's miners: where they are, how big, and what each one's sensor is fed.

Miners sit in real towns of Colorado's Front Range, several to a town, so that each has
neighbours under the same sky. Honest miners see the clouds NREL's SERF East measured
(its clear-sky index, from the series shipped in ``pvanalytics``) on their own roofs: their
own clear-sky power, the clouds reaching them later the further east they are (the
weather moves west to east), with slow noise of their own. Each cheat has an honest twin
(same town, size and orientation, 300 m away) so that what it earned can be set against
what honest work earned there. The inflator declares its real roof and doctors its sensor
(a shunt a third of the stated value): the registry refuses power beyond capacity × margin,
the scoring's scale check what remains.
"""

from typing import NamedTuple

import numpy as np

from testbed import pvdata

# Towns near the SERF site (Golden, CO): name, latitude, longitude [deg].
TOWNS = (
    ("Golden", 39.7555, -105.2211),
    ("Arvada", 39.8028, -105.0875),
    ("Lakewood", 39.7047, -105.0814),
    ("Denver", 39.7392, -104.9903),
    ("Boulder", 40.0150, -105.2705),
    ("Littleton", 39.6133, -105.0166),
    ("Westminster", 39.8367, -105.0372),
    ("Longmont", 40.1672, -105.1019),
)
CLOUD_SPEED_S_PER_DEG = 2 * 3_600  # clouds cross a degree of longitude (~85 km) in 2 h
CHEATS = ("inflate ×3", "copy of its twin", "flat output", "night output", "replayed day")
TWIN_OFFSET_UDEG = 2_700  # 300 m north of its twin
INFLATED_TWIN_W = 15  # [W] the inflator's twin (× 3 = 45 W, within the board's 3.2 A at 18 V)
IMPLAUSIBLE_W = 900_000  # the applicant the DAO rejects: a power plant on a garage roof


class Applicant(NamedTuple):
    """One would-be miner: what it declares, and what its sensor will be fed."""

    capacity_w: int  # declared peak capacity [W]
    lat_udeg: int
    lon_udeg: int
    tilt: int  # [deg]
    azimuth: int  # [deg clockwise from north]
    town: str
    kind: str  # "honest", one of CHEATS, or "implausible"
    twin: int | None  # index of a cheat's honest twin
    sensor_w: int  # [W] what the board's INA219 preset must measure (× 3 for a doctored shunt)


def plan(n, seed=0):
    """``n`` plausible applicants and one implausible: honest miners spread over the towns,
    and one cheat in four (one of each kind, in the order of ``CHEATS``), each with an honest twin."""
    if n < 1:
        raise ValueError("the demo needs at least one miner")
    rng = np.random.default_rng(seed)
    cheats = list(CHEATS[: min(len(CHEATS), n // 4)])
    out = []
    for i in range(n - len(cheats)):
        town, lat, lon = TOWNS[i % len(TOWNS)]
        out.append(Applicant(
            int(rng.integers(20, 41)), round((lat + rng.uniform(-0.02, 0.02)) * 1e6),
            round((lon + rng.uniform(-0.02, 0.02)) * 1e6), int(rng.integers(15, 36)), int(rng.integers(150, 211)),
            town, "honest", None, 0))
    honest = len(out)
    for j, kind in enumerate(cheats):
        twin = j * honest // len(cheats)  # twins spread over the honest miners (and so over the towns)
        if kind == "inflate ×3":  # a small twin, so that three times its output fits an INA219 board
            out[twin] = out[twin]._replace(capacity_w=INFLATED_TWIN_W)
        t = out[twin]
        sensor = 3 * t.capacity_w if kind == "inflate ×3" else 0
        out.append(t._replace(lat_udeg=t.lat_udeg + TWIN_OFFSET_UDEG, kind=kind, twin=twin, sensor_w=sensor))
    golden = TOWNS[0]
    out.append(Applicant(IMPLAUSIBLE_W, round(golden[1] * 1e6), round(golden[2] * 1e6), 30, 180, golden[0],
                         "implausible", None, 0))
    return [a._replace(sensor_w=a.sensor_w or a.capacity_w) for a in out]


def sensor_inputs(applicants, start, hours, seed=0):
    """What each applicant's chip sees, ``(t [s], power [W])`` at 1-min steps from an hour
    before ``start`` [s]: honest roofs under SERF East's clouds (replayed in the series' own
    season), and what each cheat feeds its sensor."""
    ts0, power, site = pvdata.read_serf_east("15min")
    shift = start - int(ts0[0])  # the series' first day, a whole number of years later
    week = 7 * 86_400
    serf = pvdata.MeasuredSystem((ts0, power, site), span=(int(ts0[0]) - 3_600,
                                                           int(ts0[0]) + week + (hours + 3) * 3_600))
    t = np.arange(start - 3_600, start + (hours + 2) * 3_600, 60.0)
    rng = np.random.default_rng(seed)

    def sky(a, back=0):
        lag = (a.lon_udeg / 1e6 - serf.lon) * CLOUD_SPEED_S_PER_DEG
        clear = pvdata.clear_power(a.lat_udeg / 1e6, a.lon_udeg / 1e6, a.capacity_w, t, a.tilt, a.azimuth)
        return pvdata.reoriented(serf.index_at(t - shift - lag + back), clear, pvdata.ar1_noise(t.size, 0.04, 0.98, rng))

    out = []
    for a in applicants:
        if a.kind == "honest":
            p = sky(a)
        elif a.kind == "inflate ×3":
            p = pvdata.inflate(sky(a), 3)
        elif a.kind == "copy of its twin":
            p = pvdata.copied(t, out[a.twin][1], t, 0, 1.0, 0.01 * rng.standard_normal(t.size))
        elif a.kind == "flat output":
            p = pvdata.flat_output(t, 0.25 * a.capacity_w)
        elif a.kind == "night output":
            sun_up = pvdata.clear_poa(a.lat_udeg / 1e6, a.lon_udeg / 1e6, t) > 0
            p = pvdata.night_output(sun_up, 0.2 * a.capacity_w)
        elif a.kind == "replayed day":
            p = sky(a, back=week)  # a real curve of its own roof, the clouds of a week later
        else:
            p = np.zeros_like(t)
        out.append((t, np.clip(p, 0.0, a.sensor_w)))
    return out
