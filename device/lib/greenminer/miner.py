"""The miner: sample, integrate, cache, close the hour, prove, sign, post.

Everything physical is passed in, so the same code runs on a board and under CPython::

    miner = Miner(sensor, key, clock, store, net, settings)
    while True:
        time.sleep(miner.tick())

``tick()`` does a bounded amount of work and returns the seconds until it wants to run
again (0 while there is proof of work or posting to do). In each call, in this order:

1. **close** the cached hour once the clock is in a later epoch: its readings (1..12)
   join the queue of closed hours waiting for their proof of work;
2. **sample** once per sample slot (slot k = ``[GENESIS + k·T, GENESIS + (k+1)·T)``, so an
   epoch never holds more than 3600/T <= 12 samples, timestamps strictly increase and
   stay inside their epoch); integrate by the trapezoid from the previous sample only
   when it lies in the previous slot;
3. **mine** one slice of ``POW_SLICE`` nonces for the oldest closed hour; when a nonce is
   found, sign, add the health report (the counters and uptime now, signed for this batch,
   :mod:`greenminer.health`), store the batch in the outbox and advance ``seq`` and ``prev_batch``;
4. **post** the oldest outbox batch, with its health report.

Gaps are integrated conservatively: when one or more slots were missed (device off, I2C
errors), nothing is added for the gap, because nothing is known about the power in it;
the missed slots are counted. Energy may be lost, never invented.

When the clock goes back, nothing is sampled until it is past the last sample's slot
(timestamps only increase, no energy over negative time, a closed hour stays closed); the
waits before the next sensor read or post keep the length they had left; ``clock_backs``
counts it (also when the clock is behind the last sample at boot). When it jumps
ahead, the hour closes and the slots in between are missed.

A batch the gateway rejects (4xx) is dropped with its reason kept; the batches built on
top of it go back into the queue and are chained again onto the last batch that was not
rejected, so one rejection does not orphan every later batch.

State is saved after every sample, every built batch and every answer of the gateway;
a power loss loses at most the sample being taken and some proof-of-work progress.
"""

from . import batch, config, energy, enroll, health, secp256k1
from . import net as netmod
from .protocol import COUNTERS

ZERO32 = "0x" + "00" * 32
MAX_REJECTED_KEPT = 8
MAX_POST_BACKOFF = 3600  # [s]


def fresh_state(device):
    """The state of a device that has never sampled (``device``: its 0x address)."""
    return {
        "version": 1,
        "device": device,
        "total_mwh": 0,  # [mWh] cumulative energy since onboarding
        "remainder": 0,  # [1/7200 mWh] not yet a whole mWh
        "last": None,  # [ts s, power mW] of the last sample taken
        "cache": [],  # [ts, power mW, total mWh] of the open hour
        "pending": [],  # closed hours: {"epoch", "readings", "nonce" (next to try)}
        "seq": 0,  # seq of the next batch to build
        "prev_batch": ZERO32,  # digest of the last batch built
        "counters": dict((name, 0) for name in COUNTERS),
        "rejected": [],  # the last rejections: {"seq", "epoch", "status", "reason"}
    }


def _as_int_key(key):
    if isinstance(key, int):
        return key
    if isinstance(key, str):
        return int(key, 16)
    return int.from_bytes(bytes(key), "big")


class Miner:
    """One green-energy miner.

    Parameters: ``sensor`` (``read() -> Measurement``, raising ``SensorError``/``OSError``), ``key``
    (the device's secp256k1 private key: int, 32 bytes or hex), ``clock`` (``() -> s since
    1970``), ``store`` (a :class:`greenminer.store.Store`), ``net`` (``post(dict) ->
    (status, body)``, raising ``OSError``; ``None`` to keep everything in the outbox),
    ``settings`` (a dict, see :mod:`greenminer.config`), ``log`` (``log(str)``, optional),
    ``monotonic`` (``() -> s``, a clock that never jumps, for the uptime in the health
    reports: ``time.monotonic`` on a board; default ``clock``, the uptime then never below 0).
    """

    def __init__(self, sensor, key, clock, store, net, settings, log=None, monotonic=None):
        self.sensor = sensor
        self.clock = clock
        self.monotonic = monotonic or clock
        self._started = self.monotonic()
        self.store = store
        self.net = net
        self.log = log or (lambda message: None)
        s = config.parse(settings)
        self.settings = s
        self.genesis = s["GENESIS"]
        self.period = s["SAMPLE_SECONDS"]
        energy.check_period(self.period)
        self.target = s["POW_TARGET"]
        self.pow_slice = s["POW_SLICE"]
        self._key = _as_int_key(key)
        self.address = secp256k1.address(secp256k1.public_key(self._key))  # 20 bytes
        self._domain = batch.domain_separator(s["CHAIN_ID"], s["REGISTRY"])
        self._head = None  # ((epoch, seq, prev_batch), readings hash) of the queue head
        self._sensor_retry_at = 0
        self._post_at = 0
        self._post_backoff = s["POST_RETRY_SECONDS"]

        device = batch.to_hex(self.address)
        state = store.load_state()
        if state is None:
            state = fresh_state(device)
        elif state.get("device") != device:
            raise ValueError("miner: the storage belongs to device %s" % state.get("device"))
        for name in COUNTERS:
            state["counters"].setdefault(name, 0)
        state["counters"]["boots"] += 1
        self.state = state
        self._last_now = state["last"][0] if state["last"] else 0  # [s] the clock at the last tick
        # Batch files at or past ``seq`` were written just before a crash or a rejection:
        # the queue still holds their hours, so they are rebuilt, identically or re-chained.
        self._outbox = []
        for seq in store.outbox_seqs():
            if seq >= state["seq"]:
                store.remove_batch(seq)
            else:
                self._outbox.append(seq)
        self._save()

    # -- public --------------------------------------------------------------------------------
    def tick(self):
        """Do what is due now; return the seconds [s] until the next call is useful."""
        now = int(self.clock())
        if now < self._last_now:  # the clock went back: keep what is left of the waits
            back = self._last_now - now
            self._sensor_retry_at -= back
            self._post_at -= back
            self.state["counters"]["clock_backs"] += 1  # saved with the next sample or batch
            self.log("miner: the clock went back %d s" % back)
        self._last_now = now
        changed = self._close_hours(now)
        changed = self._sample(now) or changed
        if changed:
            self._save()
        self._mine()
        self._post(now)
        return self._wait(now)

    def status(self):
        """A summary for logs: totals, queue lengths and counters."""
        st = self.state
        return {
            "device": st["device"],
            "total_mwh": st["total_mwh"],
            "seq": st["seq"],
            "cached": len(st["cache"]),
            "pending": len(st["pending"]),
            "outbox": len(self._outbox),
            "counters": dict(st["counters"]),
            "rejected": list(st["rejected"]),
        }

    def enrollment(self, applicant, sbt):
        """The device's signed enrollment naming ``applicant`` for the MinerSBT ``sbt``.

        The total and time are the last sample's (where the next sample's energy grows
        from), or the total now when the device has not sampled yet. The miner's wallet
        applies with it within a day (``greenminer.enroll``).
        """
        st = self.state
        start_time = st["last"][0] if st["last"] else int(self.clock())
        return enroll.sign_enrollment(self._key, self.settings["CHAIN_ID"], sbt, applicant, st["total_mwh"],
                                      start_time)

    # -- 1. close the hour ---------------------------------------------------------------------
    def _close_hours(self, now):
        cache = self.state["cache"]
        if not cache:
            return False
        epoch = energy.epoch_of(cache[0][0], self.genesis)
        if energy.epoch_of(now, self.genesis) <= epoch:
            return False
        self.state["pending"].append({"epoch": epoch, "readings": cache, "nonce": 0})
        self.state["cache"] = []
        self.log("miner: closed epoch %d with %d readings" % (epoch, len(cache)))
        return True

    # -- 2. sample -----------------------------------------------------------------------------
    def _sample(self, now):
        st = self.state
        if now < self.genesis or now < self._sensor_retry_at:
            return False  # before genesis (or the clock is not set yet), or backing off
        slot = energy.slot_of(now, self.genesis, self.period)
        last = st["last"]
        last_slot = None if last is None else energy.slot_of(last[0], self.genesis, self.period)
        if last_slot is not None and slot <= last_slot:
            return False  # already sampled in this slot (or the clock went back)
        try:
            power = self.sensor.read().power_mw
        except OSError as exc:  # SensorError, or a bare I2C error from another sensor
            name = "sensor_overflows" if getattr(exc, "overflow", False) else "i2c_errors"
            st["counters"][name] += 1
            self._sensor_retry_at = now + self.settings["SENSOR_RETRY_SECONDS"]
            self.log("miner: %s" % exc)
            return False  # counters are saved with the next sample
        if last_slot is not None:
            missed = slot - last_slot - 1
            if missed:
                st["counters"]["missed_samples"] += missed
            else:
                st["total_mwh"], st["remainder"] = energy.trapezoid(
                    st["total_mwh"], st["remainder"], last[1], power, now - last[0]
                )
        st["last"] = [now, power]
        st["cache"].append([now, power, st["total_mwh"]])
        return True

    # -- 3. proof of work and signature --------------------------------------------------------
    def _mine(self):
        st = self.state
        if not st["pending"]:
            return
        head = st["pending"][0]
        key = (head["epoch"], st["seq"], st["prev_batch"])
        if self._head is None or self._head[0] != key:
            packed = [batch.pack_reading(*r) for r in head["readings"]]
            self._head = (key, batch.readings_hash(packed))
        nonce = batch.find_pow(
            self._domain,
            self.address,
            head["epoch"],
            st["seq"],
            self._head[1],
            st["prev_batch"],
            self.target,
            start=head["nonce"],
            count=self.pow_slice,
        )
        if nonce is None:
            head["nonce"] += self.pow_slice  # saved with the next sample
            return
        signed, digest = batch.sign_batch(
            self._key,
            self.settings["CHAIN_ID"],
            self.settings["REGISTRY"],
            head["epoch"],
            st["seq"],
            head["readings"],
            st["prev_batch"],
            self.target,
            nonce_start=nonce,
        )
        st["counters"]["batches_built"] += 1
        signed["health"] = health.sign_health(self._key, digest, self._health())
        self.store.write_batch(st["seq"], signed)
        self._outbox.append(st["seq"])
        st["seq"] += 1
        st["prev_batch"] = batch.to_hex(digest)
        st["pending"].pop(0)
        self._save()
        self.log("miner: built batch seq %d for epoch %d" % (signed["seq"], signed["epoch"]))

    # -- 4. post -------------------------------------------------------------------------------
    def _post(self, now):
        if self.net is None or not self._outbox or now < self._post_at:
            return
        seq = self._outbox[0]
        signed = self.store.read_batch(seq)
        if signed is None:  # vanished from flash: nothing left to send for it
            self._outbox.pop(0)
            return
        counters = self.state["counters"]
        try:
            status, body = self.net.post(signed)
            verdict = netmod.classify(status)
        except OSError as exc:
            status, body, verdict = None, str(exc), netmod.RETRY
        if verdict == netmod.RETRY:
            counters["posts_failed"] += 1
            self._post_at = now + self._post_backoff
            self._post_backoff = min(2 * self._post_backoff, MAX_POST_BACKOFF)
            self.log("miner: post of seq %d failed (%s %s), retry later" % (seq, status, body))
            self._save()
            return
        self._post_backoff = self.settings["POST_RETRY_SECONDS"]
        if verdict == netmod.ACCEPTED:
            counters["batches_accepted"] += 1
            self.store.remove_batch(seq)
            self._outbox.pop(0)
            self._save()
            return
        self._reject(seq, signed, status, body)

    def _reject(self, seq, signed, status, body):
        """Drop a rejected batch; re-queue the batches chained on it (see module doc)."""
        st = self.state
        st["counters"]["batches_rejected"] += 1
        reason = str(body)[:200]
        st["rejected"] = (st["rejected"] + [
            {"seq": seq, "epoch": signed["epoch"], "status": status, "reason": reason}
        ])[-MAX_REJECTED_KEPT:]
        later = [self.store.read_batch(s) for s in self._outbox[1:]]
        requeued = [
            {"epoch": b["epoch"], "readings": b["readings"], "nonce": 0} for b in later if b
        ]
        st["pending"] = requeued + st["pending"]
        st["seq"] = seq
        st["prev_batch"] = signed["prev_batch"]
        self._save()  # from here on, outbox files at or past seq are stale
        for s in self._outbox:
            self.store.remove_batch(s)
        self._outbox = []
        self.log("miner: batch seq %d rejected (%s): %s" % (seq, status, reason))

    # -- helpers -------------------------------------------------------------------------------
    def _health(self):
        """The counters now (this batch counted as built) and the uptime [s] since this boot."""
        values = dict(self.state["counters"])
        values["uptime"] = max(0, int(self.monotonic() - self._started))
        return values

    def _save(self):
        self.store.save_state(self.state)

    def _wait(self, now):
        if self.state["pending"]:
            return 0
        posting = self._outbox and self.net is not None
        if posting and now >= self._post_at:
            return 0
        slot = energy.slot_of(now, self.genesis, self.period)
        due = self.genesis + (slot + 1) * self.period  # start of the next slot
        last = self.state["last"]
        if now < self.genesis:
            due = self.genesis
        elif last is None or energy.slot_of(last[0], self.genesis, self.period) < slot:
            due = max(now, self._sensor_retry_at)  # this slot still needs its sample
        if posting:
            due = min(due, self._post_at)
        return max(0, due - now)
