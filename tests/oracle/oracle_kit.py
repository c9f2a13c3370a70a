"""Helpers of the oracle tests: synthetic epochs, a fleet of signing devices, a crash.

Builds on ``registry_kit`` (tests/registry): the same signed, proven batches, so that the
registry holds real legal counts N.
"""

import sys
from pathlib import Path

import numpy as np
from eth_account import Account
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from offchain import oracle
from offchain.protocol.enroll import send_application
from offchain.scoring import authenticity

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from registry_kit import (  # noqa: E402 - the kit's folder joins sys.path just above
    EPOCH_SECONDS,
    GRACE_PERIOD,
    MARGIN_BPS,
    POW_TARGET,
    ZERO32,
    hour_readings,
    make_batch,
)

__all__ = [
    "NOON", "LAT_UDEG", "LON_UDEG", "CAPACITY_W", "EMISSION", "DEPLOYMENT", "POST_DEADLINE", "REVEAL_DELAY",
    "FLEET", "EPOCH_SECONDS", "GRACE_PERIOD", "MARGIN_BPS", "POW_TARGET",
    "device_secret", "device_info", "synthetic_epoch", "noon_longitude", "Fleet", "Crash", "events", "counts_on_chain",
]

# A June noon at NREL's SERF site (Golden, CO): local solar noon is about 19:00 UTC
NOON = 1_717_268_400  # 2024-06-01 19:00:00 UTC [s]
LAT_UDEG, LON_UDEG = 39_742_000, -105_178_000
CAPACITY_W = 5_000  # [W]
EMISSION = 1_000 * 10**18  # [DECA wei] per epoch
DEPLOYMENT = (1337, "0x" + "11" * 20, "0x" + "22" * 20)  # chain id, EpochKeys, distributor of synthetic tables
POST_DEADLINE = 4 * EPOCH_SECONDS  # [s] after an epoch's end
REVEAL_DELAY = 5  # [blocks] B in most chain tests (the default 60 in one)
FLEET = 4  # devices on chain


def device_secret(i):
    """A fixed, distinct device private key per index."""
    return keccak(text=f"green-energy-miners oracle test device {i}")


def device_info(i, token_id=None):
    """DeviceInfo of device `i`, about 1 km apart from the next one, each of its own owner."""
    key = keys.PrivateKey(device_secret(i))
    owner = to_checksum_address(keccak(text=f"owner {i}")[12:])
    return oracle.DeviceInfo(key.public_key.to_checksum_address(), token_id or i, key.public_key.to_bytes(),
                             CAPACITY_W, LAT_UDEG + 10_000 * i, LON_UDEG, 30, 180, owner)


def synthetic_epoch(epoch, miners, ns=None, power_w=2_000, window=168, active=30):
    """EpochData of `miners` (DeviceInfo) at NOON: N readings each (default 12) of nearly flat
    power, after `active` hours of a sky they share (the clear-sky energy of each one's
    declared roof under common clouds, with 5 % noise of its own: honest neighbours)."""
    m = len(miners)
    ns = [12] * m if ns is None else list(ns)
    ts = np.full((m, 12), np.nan)
    power = np.full((m, 12), np.nan)
    for i, n in enumerate(ns):
        ts[i, :n] = NOON + 300 * np.arange(n) + 150
        power[i, :n] = power_w * 1000 * (1 + 0.01 * i)
    n_per_epoch = np.zeros((m, window), dtype=np.int64)
    n_per_epoch[:, -1] = ns
    n_per_epoch[:, -active:-1] = 12
    starts = NOON - EPOCH_SECONDS * np.arange(active - 1, -1, -1)
    lat, lon, cap, tilt, azimuth = (np.array([getattr(x, f) for x in miners], dtype=float) for f in (
        "lat_udeg", "lon_udeg", "capacity_w", "tilt_deg", "azimuth_deg"))
    clear = authenticity.clear_energy(lat / 1e6, lon / 1e6, cap, tilt, azimuth, starts)  # [mWh]
    rng = np.random.default_rng(epoch)
    clouds = 0.55 + 0.3 * np.sin(np.arange(active) * 0.9)
    energy = np.zeros((m, window), dtype=np.int64)
    energy[:, -active:] = clear * clouds * (1 + 0.05 * rng.standard_normal((m, active)))
    energy[:, -1] = [n * power_w * 1000 * (1 + 0.01 * i) * 300 // 3600 for i, n in enumerate(ns)]
    order = sorted(range(m), key=lambda i: miners[i].device)
    return oracle.EpochData(epoch, window, [miners[i].device for i in order], np.array(ns, dtype=np.int64)[order],
                            n_per_epoch[order], energy[order], ts[order], power[order])


def noon_longitude(ts):
    """A longitude where `ts` is about local solar noon [µdeg] (so that PV power is plausible)."""
    utc_hour = ts % 86_400 / 3_600
    return int(((12 - utc_hour) * 15 + 180) % 360 - 180) * 1_000_000


class Fleet:
    """Admitted devices that sign and submit their hourly batches to the registry."""

    def __init__(self, chain, contracts, owner, relayer, genesis, lon_udeg, miners):
        self.chain, self.c, self.relayer, self.genesis = chain, contracts, relayer, genesis
        self.keys, self.token_ids, self.owners = [], [], miners
        self.seq, self.prev, self.total = [], [], []
        sbt = contracts.sbt
        for i, miner in enumerate(miners):
            key = "0x" + device_secret(i + 1).hex()
            acct = Account.from_key(key)
            send_application(chain, sbt, miner, key, CAPACITY_W, 10_000 * i, lon_udeg + 10_000 * i, "ipfs://m",
                             start_time=genesis)  # enrolled at the start of epoch 0
            sbt.approve_application(sbt.application_count(), sender=owner)
            self.keys.append(key)
            self.token_ids.append(int(sbt.token_of_device(acct.address)))
            self.seq.append(0)
            self.prev.append(ZERO32)
            self.total.append(0)

    def submit(self, epoch, counts=None):
        """Each device's batch of `epoch` (`counts[i]` readings, default 12; 0: none), once it is over."""
        counts = counts or [12] * len(self.keys)
        self._move_to(self.genesis + EPOCH_SECONDS * (epoch + 1) + 60)
        for i, key in enumerate(self.keys):
            if not counts[i]:
                continue
            readings, last = hour_readings(self.genesis + EPOCH_SECONDS * epoch, self.total[i],
                                           power_mw=3_000_000 + 150_000 * i, count=counts[i])
            batch, digest = make_batch(key, epoch, self.seq[i], readings, chain_id=self.chain.chain_id,
                                       registry=self.c.registry.address, target=self.c.registry.pow_target(),
                                       prev=self.prev[i])
            self.c.registry.submit(batch, sender=self.relayer)
            self.seq[i], self.prev[i], self.total[i] = self.seq[i] + 1, digest, last

    def finish(self, epoch):
        """Move the chain past the epoch's window (end + grace) and mine there."""
        self._move_to(self.genesis + EPOCH_SECONDS * (epoch + 1) + GRACE_PERIOD + 1)
        self.chain.mine()

    def _move_to(self, ts):
        if self.chain.pending_timestamp < ts:
            self.chain.pending_timestamp = ts


class Crash(BaseException):
    """The process dies here (a BaseException, as a kill would be: no handler catches it)."""


def events(event, chain):
    """Every log of `event` so far."""
    return list(event.range(0, chain.blocks.height + 1))


def counts_on_chain(c, chain):
    """``(commits, reveals, posts)``: the Committed, Revealed and Posted logs so far."""
    return len(events(c.keys.Committed, chain)), len(events(c.keys.Revealed, chain)), len(events(c.rewards.Posted, chain))
