"""A fleet of virtual miners: the real device code on fake INA219 chips and a virtual clock.

Each virtual device is a real :class:`greenminer.miner.Miner` reading a register-level
fake INA219 (:mod:`testbed.fake_ina219`) through the real Adafruit driver, with its own
storage directory and key. The power each chip sees comes from a measured PV series
(:mod:`testbed.pvdata`, NREL SERF East by default) scaled to the device's capacity, with
per-device noise and time offset. The clock only moves when the simulator moves it, so
48 hours of five devices run in seconds.

Batches go to ``post(batch_dict) -> (status, body)``, the same callable for every device:
tests hand in a :class:`Collector`, a demo an HTTP poster to the gateway, e.g.
``greenminer.net.HttpNet(requests.Session(), "http://127.0.0.1:8000").post``. The registry
refuses epochs in the chain's future, so a fleet posting to a chain should start at least
as many hours before the chain's time as it simulates (or the chain's clock must follow).

Command line: ``python -m testbed.simulator --devices 5 --hours 48`` (see ``--help``).
"""

import argparse
import hashlib
import os
import tempfile
import time
from types import SimpleNamespace

import numpy as np

from greenminer import energy, secp256k1
from greenminer.miner import Miner
from greenminer.sensor import CALIBRATIONS, Sensor
from greenminer.store import Store

from . import pvdata
from .fake_ina219 import FakeI2C, FakeINA219

PANEL_VOLTS = 18.0  # [V] bus voltage of a producing panel (a "12 V" module near its MPP)
MAX_TICKS_PER_STEP = 100_000  # guard against a miner that never goes idle


class VirtualClock:
    """A settable clock: ``clock() -> now`` [s]."""

    def __init__(self, now):
        self.now = int(now)

    def __call__(self):
        return self.now

    def set(self, now):
        """Move to ``now`` [s]; never backwards."""
        self.now = max(self.now, int(now))


class Collector:
    """A ``post`` that keeps every batch and answers ``status`` (accepted by default)."""

    def __init__(self, status=200):
        self.status = status
        self.batches = []

    def __call__(self, batch):
        self.batches.append(batch)
        return self.status, "collected"


def device_key(seed, index):
    """A deterministic private key [int] for device ``index`` of fleet ``seed``."""
    digest = hashlib.sha256(("greenminer-sim/%s/%d" % (seed, index)).encode()).digest()
    return int.from_bytes(digest, "big") % (secp256k1.N - 1) + 1


def choose_calibration(capacity_w, bus_volts=PANEL_VOLTS):
    """The finest driver preset that measures ``capacity_w`` [W] at ``bus_volts`` [V].

    Raises ``ValueError`` when no preset can (an INA219 with the stock shunts tops out
    at about 3 A).
    """
    amps = capacity_w / bus_volts
    fits = [
        (max_amps, name)
        for name, (_, max_amps, max_volts) in CALIBRATIONS.items()
        if amps <= 0.9 * max_amps and bus_volts <= max_volts
    ]
    if not fits:
        raise ValueError(
            "simulator: no INA219 preset measures %.1f W at %.1f V" % (capacity_w, bus_volts)
        )
    return min(fits)[1]


class VirtualDevice:
    """One miner with its chip, bus, storage and power series ``(ts [s], power [W])``."""

    def __init__(self, index, key, ts, power_w, capacity_w, directory, clock, post, settings,
                 bus_volts=PANEL_VOLTS):
        self.index = index
        self.ts = ts
        self.power_w = power_w
        self.capacity_w = capacity_w
        self.bus_volts = bus_volts
        self.calibration = choose_calibration(capacity_w, bus_volts)
        self.chip = FakeINA219(shunt_ohms=CALIBRATIONS[self.calibration][0])
        self.bus = FakeI2C(self.chip)
        self.directory = directory
        self.clock = clock
        self.key = key
        self.settings = dict(settings, INA219_CALIBRATION=self.calibration)
        self.net = None if post is None else SimpleNamespace(post=post)
        self.boot()

    def boot(self):
        """(Re)start the device code on the same storage, as after a power cycle."""
        self.sensor = Sensor(self.bus, self.calibration)
        self.store = Store(self.directory, sync=False)
        self.miner = Miner(self.sensor, self.key, self.clock, self.store, self.net, self.settings)

    def set_time(self, t):
        """Put the chip in the physical state of time ``t`` [s]."""
        watts = float(pvdata.resample(self.ts, self.power_w, [t])[0])
        self.chip.set_power(watts, self.bus_volts if watts > 0 else 0.0)

    def run_until_idle(self):
        """Tick until the miner asks to wait; return the number of ticks."""
        for n in range(1, MAX_TICKS_PER_STEP + 1):
            if self.miner.tick() > 0:
                return n
        raise RuntimeError("simulator: device %d never went idle" % self.index)

    @property
    def address(self):
        """The device's address, ``0x`` + 40 lowercase hex digits."""
        return "0x" + self.miner.address.hex()

    @property
    def public_key(self):
        """The device's 64-byte public key ``x ‖ y`` (what its miner applies with)."""
        return secp256k1.public_key(self.key)


def make_fleet(n, directory, settings, post, start, capacities_w=None, noise=0.02,
               offsets_s=None, series=None, seed=0, bus_volts=PANEL_VOLTS):
    """Build ``n`` virtual devices sharing one :class:`VirtualClock` set to ``start`` [s].

    Parameters
    ----------
    n : int
        Number of devices.
    directory : str or path
        Parent folder; device i stores its files in ``directory/device-i``.
    settings : dict
        Miner settings (see ``greenminer.config``) shared by the fleet; the key and the
        INA219 preset are set per device.
    post : callable or None
        ``post(batch_dict) -> (status, body)``, shared; None keeps batches in the outboxes.
    start : int [s]
        Start of the simulation; the measured series is moved by whole days so that its
        time of day is kept (see ``pvdata.align_days``).
    capacities_w : sequence of float [W], optional
        Size of each miner; default 40 W each.
    noise : float [1]
        Relative per-sample noise of each miner's series.
    offsets_s : sequence of int [s], optional
        Extra time offset of each miner's series; default 0.
    series : tuple (ts [s], power [W], reference [W]), optional
        The measured series and its size; default SERF East 15-min data and its peak.
    seed : int
        Seed of keys and noise.
    bus_volts : float [V]
        Panel voltage while producing.

    Returns
    -------
    clock : VirtualClock
    devices : list of VirtualDevice
    """
    if series is None:
        ts, power, site = pvdata.read_serf_east("15min")
        series = (ts, power, site["peak_w"])
    ts, power, reference_w = series
    ts = pvdata.align_days(ts, start)
    capacities_w = [40.0] * n if capacities_w is None else list(capacities_w)
    offsets_s = [0] * n if offsets_s is None else list(offsets_s)
    rng = np.random.default_rng(seed)
    powers = [pvdata.miner_series(ts, power, reference_w, capacities_w[i], noise=noise, offset_s=offsets_s[i], rng=rng)
              for i in range(n)]
    return make_devices(powers, capacities_w, directory, settings, post, start, seed, bus_volts)


def make_devices(powers, capacities_w, directory, settings, post, start, seed=0, bus_volts=PANEL_VOLTS):
    """Virtual devices, each fed its own power series, sharing one :class:`VirtualClock`.

    Parameters
    ----------
    powers : sequence of (ts [s], power [W])
        What each device's chip sees (read between the given times by ``pvdata.resample``):
        a measured series, a neighbour built from its clouds, or what a cheat feeds its
        sensor.
    capacities_w : sequence of float [W]
        Each device's size (chooses its INA219 preset).
    directory, settings, post, start, seed, bus_volts
        As for :func:`make_fleet`.

    Returns
    -------
    clock : VirtualClock
    devices : list of VirtualDevice
    """
    clock = VirtualClock(start)
    devices = [
        VirtualDevice(i, device_key(seed, i), ts_i, p_i, capacities_w[i],
                      os.path.join(str(directory), "device-%d" % i), clock, post, settings, bus_volts)
        for i, (ts_i, p_i) in enumerate(powers)
    ]
    return clock, devices


def run(clock, devices, until, step=None, i2c_error_rate=0.0, seed=0):
    """Advance the fleet's clock to ``until`` [s] in steps, ticking every device to idle.

    Parameters
    ----------
    clock : VirtualClock
    devices : list of VirtualDevice
    until : int [s]
        End time (exclusive).
    step : int [s], optional
        Clock step; default the sample period of the first device.
    i2c_error_rate : float [1]
        Chance per device and step that the first I2C transfer fails (the read is then
        retried after ``SENSOR_RETRY_SECONDS``, which inside one step means a missed slot).
    seed : int
        Seed of the error injection.

    Returns
    -------
    dict
        ``steps``, ``ticks`` (total ``tick()`` calls) and ``true_mwh`` (per device: the
        trapezoid of the power the chips were set to, at the step times [mWh]).
    """
    step = step or devices[0].miner.period
    rng = np.random.default_rng(seed)
    steps = ticks = 0
    true_mwh = [0.0] * len(devices)
    previous = [None] * len(devices)
    t = clock.now
    while t < until:
        clock.set(t)
        for i, device in enumerate(devices):
            device.set_time(t)
            watts = device.chip.bus_volts * device.chip.current_amps
            if previous[i] is not None:
                true_mwh[i] += (previous[i][1] + watts) / 2 * (t - previous[i][0]) / 3.6
            previous[i] = (t, watts)
            if i2c_error_rate and rng.random() < i2c_error_rate:
                device.bus.fail(1)
            ticks += device.run_until_idle()
        steps += 1
        t += step
    return {"steps": steps, "ticks": ticks, "true_mwh": true_mwh}


def main(argv=None):
    """Run a fleet from the command line and print what each device measured and sent."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=5)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--dir", help="storage folder (default: a temporary one)")
    parser.add_argument("--gateway", help="gateway base URL (default: collect in memory)")
    parser.add_argument("--genesis", type=int, help="[s] default: 48 h ago, on the hour")
    parser.add_argument("--chain-id", type=int, default=31337)
    parser.add_argument("--registry", default="0x" + "00" * 20)
    parser.add_argument("--target", type=lambda v: int(v, 0), default=2**252)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    genesis = args.genesis
    if genesis is None:
        now = int(time.time())
        genesis = now - now % energy.EPOCH_SECONDS - args.hours * energy.EPOCH_SECONDS
    if args.gateway:
        import requests

        from greenminer.net import HttpNet

        post = HttpNet(requests.Session(), args.gateway).post
    else:
        post = Collector()
    settings = {"CHAIN_ID": args.chain_id, "REGISTRY": args.registry, "GENESIS": genesis,
                "POW_TARGET": args.target}
    directory = args.dir or tempfile.mkdtemp(prefix="greenminer-sim-")
    began = time.perf_counter()
    clock, devices = make_fleet(args.devices, directory, settings, post, genesis, seed=args.seed)
    result = run(clock, devices, genesis + args.hours * energy.EPOCH_SECONDS)
    print("%d devices, %d h, %.1f s, storage in %s" % (
        args.devices, args.hours, time.perf_counter() - began, directory))
    for device, true_mwh in zip(devices, result["true_mwh"]):
        status = device.miner.status()
        print("%s  %5.0f W  measured %9d mWh  set %11.1f mWh  batches %3d  outbox %2d  %s" % (
            device.address, device.capacity_w, status["total_mwh"], true_mwh,
            status["counters"]["batches_built"], status["outbox"], status["counters"]))


if __name__ == "__main__":
    main()
