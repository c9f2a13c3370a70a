"""greenminer.miner: sampling, integration, hourly batches, outbox, reboots."""

import os
import shutil
import tempfile

import pytest
from devicekit import (
    DEVICE_KEY,
    EASY_TARGET,
    GENESIS,
    ScriptedNet,
    batch_digest,
    health_signer,
    tick_until_idle,
    typed_batch,
)
from eth_account import Account
from eth_utils import keccak
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from greenminer.miner import Miner
from greenminer.sensor import Sensor
from greenminer.store import Store
from offchain.gateway import FIELDS as GATEWAY_FIELDS
from testbed.fake_ina219 import FakeI2C, FakeINA219
from testbed.simulator import VirtualClock

SLOT = 300  # [s]
HOUR = 3600  # [s]


def set_mw(chip, power_mw):
    """Load the chip so that the 32V_2A preset reads ``power_mw`` exactly (even mW at 10 V)."""
    chip.set_state(10.0, power_mw / 10_000)


def run(miner, clock, chip, powers, start=GENESIS, step=SLOT):
    """One tick-to-idle per slot from ``start``, with the chip at each power [mW]."""
    for i, power in enumerate(powers):
        clock.set(start + i * step)
        set_mw(chip, power)
        tick_until_idle(miner)


def run_hours(miner, clock, chip, hours, power=1_000, first_hour=0):
    for h in range(first_hour, first_hour + hours):
        run(miner, clock, chip, [power] * 12, start=GENESIS + h * HOUR)
    clock.set(GENESIS + (first_hour + hours) * HOUR)  # the next hour starts: close the last
    tick_until_idle(miner)


# -- sampling and integration ------------------------------------------------------------------
def test_tick__same_slot__samples_once(miner, clock, chip):
    set_mw(chip, 1_000)
    clock.set(GENESIS)
    tick_until_idle(miner)
    clock.set(GENESIS + 299)
    tick_until_idle(miner)
    assert miner.state["cache"] == [[GENESIS, 1_000, 0]]


def test_tick__trapezoid__hand_computed_totals(miner, clock, chip):
    run(miner, clock, chip, [0, 1_200, 2_400, 2_400])
    # (0+1200)/2 mW x 300 s = 50 mWh; (1200+2400)/2 x 300 = 150 mWh; 2400 x 300 = 200 mWh
    assert [r[2] for r in miner.state["cache"]] == [0, 50, 200, 400]
    assert miner.state["remainder"] == 0


def test_tick__sub_mwh_steps__remainder_kept(miner, clock, chip):
    run(miner, clock, chip, [2, 2, 2, 2, 2, 2, 2])  # 2 mW x 300 s = 1/6 mWh per slot
    assert miner.state["total_mwh"] == 1  # six slots, exactly one mWh
    assert miner.state["remainder"] == 0


def test_tick__late_sample_in_slot__actual_duration_integrated(miner, clock, chip):
    run(miner, clock, chip, [3_600])
    clock.set(GENESIS + SLOT + 120)  # the next sample comes late in its slot
    tick_until_idle(miner)
    assert miner.state["cache"][-1] == [GENESIS + 420, 3_600, 420]  # 3.6 W x 420 s


def test_tick__missed_slots__counted_and_gap_not_integrated(miner, clock, chip):
    run(miner, clock, chip, [6_000])
    run(miner, clock, chip, [6_000, 6_000], start=GENESIS + 3 * SLOT)
    assert miner.state["counters"]["missed_samples"] == 2
    # nothing for the 900 s gap; 6 W x 300 s = 500 mWh after it
    assert [r[2] for r in miner.state["cache"]] == [0, 0, 500]


def test_tick__clock_goes_back__no_second_sample(miner, clock, chip):
    run(miner, clock, chip, [1_000, 1_000])
    clock.now = GENESIS + 10
    tick_until_idle(miner)
    assert len(miner.state["cache"]) == 2


def test_tick__before_genesis__no_sample_and_waits_for_it(miner, clock, chip):
    clock.now = GENESIS - 100
    set_mw(chip, 1_000)
    assert miner.tick() == 100
    assert miner.state["cache"] == [] and miner.state["last"] is None


def test_tick__idle__waits_until_next_slot(miner, clock, chip):
    run(miner, clock, chip, [1_000])
    clock.set(GENESIS + 120)
    assert miner.tick() == 180


# -- sensor failures ---------------------------------------------------------------------------
def test_tick__i2c_error__counted_retried_and_nothing_invented(miner, clock, chip, bus):
    set_mw(chip, 1_000)
    bus.fail(1)
    clock.set(GENESIS)
    assert miner.tick() == 10  # retry after SENSOR_RETRY_SECONDS
    assert miner.state["counters"]["i2c_errors"] == 1
    assert miner.state["cache"] == [] and miner.state["last"] is None
    clock.set(GENESIS + 10)
    tick_until_idle(miner)
    assert miner.state["cache"] == [[GENESIS + 10, 1_000, 0]]


def test_tick__i2c_down_whole_slot__missed_and_gap_not_integrated(miner, clock, chip, bus):
    run(miner, clock, chip, [6_000])
    bus.fail(-1)
    for t in range(SLOT, 2 * SLOT, 10):
        clock.set(GENESIS + t)
        miner.tick()
    bus.fail(0)
    run(miner, clock, chip, [6_000], start=GENESIS + 2 * SLOT)
    counters = miner.state["counters"]
    assert counters["i2c_errors"] == 30 and counters["missed_samples"] == 1
    assert [r[2] for r in miner.state["cache"]] == [0, 0]


def test_tick__overflow__counted_apart_no_reading(miner, clock, chip):
    chip.set_state(12.0, 3.5)  # beyond the preset's 3.2 A
    clock.set(GENESIS)
    miner.tick()
    assert miner.state["counters"]["sensor_overflows"] == 1
    assert miner.state["cache"] == []


# -- reboots -----------------------------------------------------------------------------------
def test_tick__power_loss_mid_hour__keeps_cache(make_miner, clock, chip):
    miner = make_miner()
    run(miner, clock, chip, [0, 1_200, 2_400, 2_400, 2_400, 1_200])
    before = dict(miner.state)
    rebooted = make_miner()  # a new Miner on the same flash
    for name in ("total_mwh", "remainder", "last", "cache", "seq", "prev_batch", "pending"):
        assert rebooted.state[name] == before[name]
    assert rebooted.state["counters"]["boots"] == 2
    run(rebooted, clock, chip, [1_200], start=GENESIS + 6 * SLOT)
    assert rebooted.state["counters"]["missed_samples"] == 0
    assert rebooted.state["cache"][-1][2] == before["total_mwh"] + 100  # 1.2 W x 300 s


def test_reboot__after_hours_off__missed_counted_hour_closed(make_miner, clock, chip, net):
    miner = make_miner()
    run(miner, clock, chip, [1_000] * 4)
    clock.set(GENESIS + 3 * HOUR)  # off from slot 4 of hour 0 to the start of hour 3
    rebooted = make_miner()
    set_mw(chip, 1_000)
    tick_until_idle(rebooted)
    assert rebooted.state["counters"]["missed_samples"] == 36 - 4
    assert [b["epoch"] for b in net.posted] == [0]
    assert len(net.posted[0]["readings"]) == 4
    assert rebooted.state["cache"] == [[GENESIS + 3 * HOUR, 1_000, 250]]


def test_reboot__keeps_outbox_seq_and_totals(make_miner, clock, chip):
    offline = ScriptedNet(*[OSError("no route")] * 10)
    miner = make_miner(network=offline)
    run_hours(miner, clock, chip, 2)
    assert miner.status()["outbox"] == 2 and miner.state["seq"] == 2
    online = ScriptedNet()
    rebooted = make_miner(network=online)
    assert rebooted.state["seq"] == 2 and rebooted.state["total_mwh"] == miner.state["total_mwh"]
    assert rebooted.status()["outbox"] == 2
    tick_until_idle(rebooted)
    assert [b["seq"] for b in online.posted] == [0, 1]
    assert rebooted.status()["outbox"] == 0


def test_reboot__crash_between_batch_file_and_state__same_batch_rebuilt(make_miner, clock, chip, flash):
    miner = make_miner(network=None)
    run(miner, clock, chip, [1_000] * 12)
    state_file = os.path.join(flash, "state.json")
    saved = open(state_file).read()  # the state before the hour closes
    clock.set(GENESIS + HOUR)
    tick_until_idle(miner)
    built = miner.store.read_batch(0)
    with open(state_file, "w") as f:  # as if the power went before the state was saved
        f.write(saved)
    rebooted = make_miner(network=None)
    assert rebooted.state["seq"] == 0 and rebooted.store.outbox_seqs() == []
    tick_until_idle(rebooted)
    rebuilt = rebooted.store.read_batch(0)
    assert (built.pop("health")["boots"], rebuilt.pop("health")["boots"]) == (1, 2)  # its report tells the reboot
    assert rebuilt == built  # the signed batch, the same
    assert rebooted.state["seq"] == 1


def test_miner__flash_of_another_device__refused(make_miner, clock, chip):
    make_miner()
    with pytest.raises(ValueError, match="belongs to device"):
        make_miner(key=DEVICE_KEY + 1)


# -- clock jumps -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "back_to, reboot",
    [(GENESIS + 1_800, False), (GENESIS + 1_800, True), (946_684_800, True)],
    ids=["mid-hour-0", "mid-hour-0-then-reboot", "reboot-with-rtc-at-2000"],
)
def test_clock__back_across_a_closed_hour__no_second_batch_nothing_integrated(
        make_miner, clock, chip, net, back_to, reboot):
    miner = make_miner()
    run_hours(miner, clock, chip, 1, power=1_200)  # hour 0 closed, signed and posted
    assert [b["epoch"] for b in net.posted] == [0]
    assert miner.state["cache"] == [[GENESIS + HOUR, 1_200, 1_200]]  # 1.2 W x 300 s = 100 mWh a slot
    clock.now = back_to  # back behind the signed hour (VirtualClock.set never goes back)
    if reboot:
        miner = make_miner()
    totals = []
    for t in [back_to] + [t for t in range(GENESIS + 1_800, GENESIS + 2 * HOUR + 1, SLOT) if t > back_to]:
        clock.now = t
        tick_until_idle(miner)
        totals.append(miner.state["total_mwh"])
        if t <= GENESIS + HOUR:  # not yet past the last sample's slot: nothing sampled, closed, built
            assert miner.state["cache"] == [[GENESIS + HOUR, 1_200, 1_200]]
            assert len(net.posted) == 1 and miner.state["pending"] == [] and miner.state["seq"] == 1
    assert totals[0] == 1_200 and totals == sorted(totals)
    assert [(b["epoch"], b["seq"]) for b in net.posted] == [(0, 0), (1, 1)]
    assert net.posted[1]["prev_batch"] == "0x" + batch_digest(net.posted[0]).hex()
    # hour 1 as if the clock had never gone back: nothing for the jump, one slot after another
    assert net.posted[1]["readings"] == [[GENESIS + HOUR + k * SLOT, 1_200, 1_200 + 100 * k] for k in range(12)]
    stamps = [r[0] for b in net.posted for r in b["readings"]]
    assert all(a < b for a, b in zip(stamps, stamps[1:]))
    assert miner.state["cache"] == [[GENESIS + 2 * HOUR, 1_200, 2_400]]
    assert miner.state["counters"]["missed_samples"] == 0
    assert miner.state["counters"]["boots"] == (2 if reboot else 1)
    assert miner.state["counters"]["clock_backs"] == 1  # seen at a tick, or at boot behind the last sample
    assert net.posted[1]["health"]["clock_backs"] == 1
    assert miner.store.outbox_seqs() == []


def test_clock__jumps_5_hours_ahead__skipped_hours_missed_not_invented(miner, clock, chip, net):
    run(miner, clock, chip, [1_200] * 12)  # hour 0, total 1100 mWh at its last sample
    clock.set(GENESIS + 5 * HOUR + 60)
    tick_until_idle(miner)
    assert [(b["epoch"], b["seq"]) for b in net.posted] == [(0, 0)]
    assert miner.state["counters"]["missed_samples"] == 48  # slots 12 .. 59
    assert miner.state["cache"] == [[GENESIS + 5 * HOUR + 60, 1_200, 1_100]]  # nothing over the 5 h
    run(miner, clock, chip, [1_200] * 11, start=GENESIS + 5 * HOUR + SLOT)
    clock.set(GENESIS + 6 * HOUR)
    tick_until_idle(miner)
    assert [(b["epoch"], b["seq"]) for b in net.posted] == [(0, 0), (5, 1)]
    assert net.posted[1]["prev_batch"] == "0x" + batch_digest(net.posted[0]).hex()
    # 1.2 W x 240 s = 80 mWh from the late first sample, then 100 mWh a slot
    assert net.posted[1]["readings"] == [[GENESIS + 5 * HOUR + 60, 1_200, 1_100]] + [
        [GENESIS + 5 * HOUR + k * SLOT, 1_200, 1_080 + 100 * k] for k in range(1, 12)
    ]
    assert miner.state["counters"]["missed_samples"] == 48


def test_clock__wrongly_ahead_then_set_back__hours_lost_never_invented(miner, clock, chip, net):
    run(miner, clock, chip, [1_200] * 6)  # slots 0 .. 5 of hour 0, total 500 mWh
    clock.now = GENESIS + 5 * HOUR  # a bad time: hour 0 closes early, one sample in hour 5
    tick_until_idle(miner)
    assert [(b["epoch"], len(b["readings"])) for b in net.posted] == [(0, 6)]
    assert miner.state["counters"]["missed_samples"] == 54  # slots 6 .. 59
    for t in (GENESIS + 1_800, GENESIS + 3 * HOUR, GENESIS + 5 * HOUR + 299):  # the time corrected
        clock.now = t
        tick_until_idle(miner)
        assert miner.state["cache"] == [[GENESIS + 5 * HOUR, 1_200, 500]] and len(net.posted) == 1
    clock.now = GENESIS + 5 * HOUR + SLOT  # past the bad sample: on again, from it
    tick_until_idle(miner)
    assert miner.state["cache"][-1] == [GENESIS + 5 * HOUR + SLOT, 1_200, 600]
    assert miner.state["counters"]["missed_samples"] == 54


def test_clock__back_during_post_backoff__retried_after_the_backoff_not_the_jump(make_miner, clock, chip):
    net = ScriptedNet(OSError("no route"))
    miner = make_miner(network=net)
    run_hours(miner, clock, chip, 1)  # hour 0's batch: its first post fails, retry in 60 s
    assert miner.status()["outbox"] == 1
    clock.now = GENESIS + HOUR + 30
    assert tick_until_idle(miner) == 30
    clock.now = GENESIS + 1_830  # the clock goes back 1800 s (an NTP correction)
    assert tick_until_idle(miner) == 30  # still 30 s of backoff, not 30 min + 30 s
    clock.now = GENESIS + 1_860
    tick_until_idle(miner)
    assert [b["seq"] for b in net.posted] == [0, 0] and miner.status()["outbox"] == 0


def test_clock__back_during_sensor_retry__retried_after_the_retry_wait(miner, clock, chip, bus):
    run(miner, clock, chip, [1_200] * 3)  # slots 0 .. 2
    bus.fail(1)
    clock.set(GENESIS + 4 * SLOT - 10)  # slot 3 fails its read; the retry would fall in slot 4
    assert miner.tick() == 10
    clock.now = GENESIS + 3 * SLOT + 50  # the clock goes back 240 s, still after slot 2
    assert tick_until_idle(miner) == 10
    clock.now = GENESIS + 3 * SLOT + 60
    tick_until_idle(miner)
    # slot 3 not lost; 1.2 W x 360 s by the clock since the sample of slot 2
    assert miner.state["cache"][-1] == [GENESIS + 3 * SLOT + 60, 1_200, 320]
    counters = miner.state["counters"]
    assert counters["i2c_errors"] == 1 and counters["missed_samples"] == 0


# -- faults in the next batch ------------------------------------------------------------------
def test_next_batch__i2c_outage__a_gap_in_the_signed_readings_the_counts_in_its_health(
        miner, clock, chip, net, bus, device_account):
    run(miner, clock, chip, [1_200] * 4)  # slots 0 .. 3
    bus.fail(-1)  # the sensor is gone for slots 4 and 5
    for t in range(4 * SLOT, 6 * SLOT, 10):
        clock.set(GENESIS + t)
        miner.tick()
    bus.fail(0)
    run(miner, clock, chip, [1_200] * 6, start=GENESIS + 6 * SLOT)
    clock.set(GENESIS + HOUR)
    tick_until_idle(miner)
    (batch,) = net.posted
    slots = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]
    assert [r[0] for r in batch["readings"]] == [GENESIS + k * SLOT for k in slots]
    assert [r[2] for r in batch["readings"]] == [0, 100, 200, 300, 300, 400, 500, 600, 700, 800]
    assert sorted(batch) == sorted(GATEWAY_FIELDS + ("health",))  # the signed fields and the health report
    health = batch["health"]
    assert (health["i2c_errors"], health["missed_samples"], health["batches_built"]) == (60, 2, 1)
    assert health_signer(batch) == device_account.address
    counters = miner.status()["counters"]
    assert (counters["i2c_errors"], counters["missed_samples"]) == (60, 2)


def test_next_batch__reboot_mid_hour_i2c_errors_clock_back__each_counted_in_its_signed_health(
        make_miner, clock, chip, net, bus, device_account):
    miner = make_miner(monotonic=VirtualClock(7_000))
    run(miner, clock, chip, [1_200] * 4)  # slots 0 .. 3
    bus.fail(2)  # slot 4: two reads fail, the third, 20 s later, lands in the slot
    for t in (4 * SLOT, 4 * SLOT + 10, 4 * SLOT + 20):
        clock.set(GENESIS + t)
        tick_until_idle(miner)
    run(miner, clock, chip, [1_200], start=GENESIS + 5 * SLOT)
    clock.set(GENESIS + 7 * SLOT)  # off during slot 6: a reboot mid-hour
    uptime = VirtualClock(40)  # the board's monotonic clock starts again
    miner = make_miner(monotonic=uptime)
    run(miner, clock, chip, [1_200] * 2, start=GENESIS + 7 * SLOT)  # slots 7, 8
    clock.now = GENESIS + 5 * SLOT + 100  # the clock goes back 20 min ...
    tick_until_idle(miner)
    assert len(miner.state["cache"]) == 8  # ... and nothing is sampled behind the last sample
    run(miner, clock, chip, [1_200] * 3, start=GENESIS + 9 * SLOT)  # ... then NTP sets it right: slots 9 .. 11
    uptime.set(40 + HOUR - 7 * SLOT)
    clock.set(GENESIS + HOUR)
    tick_until_idle(miner)
    (batch,) = net.posted
    stamps = [r[0] - GENESIS for r in batch["readings"]]
    assert stamps == [0, 300, 600, 900, 1_220, 1_500, 2_100, 2_400, 2_700, 3_000, 3_300]
    assert [r[2] for r in batch["readings"]] == sorted(r[2] for r in batch["readings"])
    health = batch["health"]
    assert {k: v for k, v in health.items() if k != "signature"} == {
        "boots": 2, "i2c_errors": 2, "sensor_overflows": 0, "missed_samples": 1, "clock_backs": 1,
        "posts_failed": 0, "batches_built": 1, "batches_accepted": 0, "batches_rejected": 0,
        "uptime": HOUR - 7 * SLOT,  # [s] since the reboot
    }
    assert health_signer(batch) == device_account.address
    run_hours(miner, clock, chip, 1, first_hour=1)  # an hour without faults: the counts stay, the batch counted
    health = net.posted[1]["health"]
    assert (health["i2c_errors"], health["missed_samples"], health["clock_backs"]) == (2, 1, 1)
    assert (health["batches_built"], health["batches_accepted"]) == (2, 1)


def test_health__signed_for_its_batch__a_changed_count_or_another_batch_recovers_another_signer(
        miner, clock, chip, net, device_account):
    run_hours(miner, clock, chip, 2)
    first, second = net.posted
    assert health_signer(first) == health_signer(second) == device_account.address
    tampered = {**first, "health": {**first["health"], "i2c_errors": 0 if first["health"]["i2c_errors"] else 1}}
    moved = {**second, "health": first["health"]}  # the first batch's report posted with the second
    assert health_signer(tampered) != device_account.address
    assert health_signer(moved) != device_account.address


# -- batches -----------------------------------------------------------------------------------
def test_hour__one_batch__digest_and_signature_match_eth_account(miner, clock, chip, net, device_account):
    run(miner, clock, chip, [1_000 * (i + 1) for i in range(12)])
    clock.set(GENESIS + HOUR)
    set_mw(chip, 500)
    tick_until_idle(miner)
    assert len(net.posted) == 1
    batch = net.posted[0]
    assert batch["epoch"] == 0 and batch["seq"] == 0 and len(batch["readings"]) == 12
    assert batch["prev_batch"] == "0x" + "00" * 32
    assert batch["device"] == device_account.address.lower()
    digest = batch_digest(batch)
    signature = bytes.fromhex(batch["signature"][2:])
    assert len(signature) == 65 and signature[64] in (27, 28)
    assert Account._recover_hash(digest, signature=signature) == device_account.address
    assert Account.recover_message(typed_batch(batch), signature=signature) == device_account.address
    pow_hash = keccak(digest + batch["pow_nonce"].to_bytes(32, "big"))
    assert int.from_bytes(pow_hash, "big") < EASY_TARGET
    assert miner.state["prev_batch"] == "0x" + digest.hex()
    # sum of (2i+1) kW/2 x 300 s for i = 1..11 = 143 x 300 kJ / 7.2 = 5958 mWh + 1/3 mWh;
    # then (12 W + 0.5 W)/2 x 300 s = 520.83 mWh, 521 with the third carried over
    assert batch["readings"][-1][2] == 5_958
    assert miner.state["cache"] == [[GENESIS + HOUR, 500, 5_958 + 521]]


def test_hours__chained__seq_prev_batch_and_totals_continue(miner, clock, chip, net):
    run_hours(miner, clock, chip, 3, power=2_000)
    assert [b["seq"] for b in net.posted] == [0, 1, 2]
    assert [b["epoch"] for b in net.posted] == [0, 1, 2]
    for previous, batch in zip(net.posted, net.posted[1:]):
        assert batch["prev_batch"] == "0x" + batch_digest(previous).hex()
        assert batch["readings"][0][2] >= previous["readings"][-1][2]
    for batch in net.posted:
        start = GENESIS + batch["epoch"] * HOUR
        assert all(start <= r[0] < start + HOUR for r in batch["readings"])
        assert [r[0] for r in batch["readings"]] == sorted({r[0] for r in batch["readings"]})


def test_epoch_without_readings__no_batch(miner, clock, chip, net, bus):
    run(miner, clock, chip, [1_000] * 12)
    bus.fail(-1)  # the sensor is gone for all of hour 1
    for t in range(HOUR, 2 * HOUR, SLOT):
        clock.set(GENESIS + t)
        miner.tick()
    bus.fail(0)
    run_hours(miner, clock, chip, 1, first_hour=2)
    assert [(b["epoch"], b["seq"]) for b in net.posted] == [(0, 0), (2, 1)]


def test_pow__search_in_slices__sampling_stays_on_time(make_miner, clock, chip, net):
    miner = make_miner(POW_TARGET=1, POW_SLICE=4)  # practically never met: the search goes on
    run(miner, clock, chip, [1_000] * 12)
    clock.set(GENESIS + HOUR)
    for _ in range(3):
        assert miner.tick() == 0  # more work to do
    assert miner.state["pending"][0]["nonce"] == 12  # three slices of four nonces
    assert len(miner.state["cache"]) == 1  # the new hour's first sample came first
    clock.set(GENESIS + HOUR + SLOT)
    miner.tick()
    assert len(miner.state["cache"]) == 2  # and the next one on time, mid-search
    assert miner.state["pending"][0]["nonce"] == 16 and net.posted == []


def test_pow__progress__survives_a_reboot(make_miner, clock, chip):
    miner = make_miner(POW_TARGET=1, POW_SLICE=4)
    run(miner, clock, chip, [1_000] * 12)
    clock.set(GENESIS + HOUR)
    for _ in range(5):
        miner.tick()
    clock.set(GENESIS + HOUR + SLOT)
    miner.tick()  # samples and saves (search position 20), then mines to 24 in memory
    assert miner.state["pending"][0]["nonce"] == 24
    assert make_miner(POW_TARGET=1, POW_SLICE=4).state["pending"][0]["nonce"] == 20


# -- outbox ------------------------------------------------------------------------------------
def test_outbox__network_down__kept_and_retried_in_order(make_miner, clock, chip):
    net = ScriptedNet()
    net.down = True
    miner = make_miner(network=net)
    run_hours(miner, clock, chip, 3)
    counters = miner.state["counters"]
    assert counters["posts_failed"] == len(net.posted) > 1
    assert {b["seq"] for b in net.posted} == {0}  # the oldest first, always
    assert miner.status()["outbox"] == 3
    net.down, net.posted = False, []
    clock.set(GENESIS + 4 * HOUR)
    tick_until_idle(miner)
    assert [b["seq"] for b in net.posted] == [0, 1, 2, 3]
    assert miner.status()["outbox"] == 0 and miner.state["counters"]["batches_accepted"] == 4


def test_outbox__server_error__retried_later_with_backoff(make_miner, clock, chip):
    net = ScriptedNet((503, "busy"))
    miner = make_miner(network=net)
    run(miner, clock, chip, [1_000] * 12)
    clock.set(GENESIS + HOUR)
    assert tick_until_idle(miner) == 60  # POST_RETRY_SECONDS
    assert miner.status()["outbox"] == 1
    clock.set(GENESIS + HOUR + 60)
    tick_until_idle(miner)
    assert [b["seq"] for b in net.posted] == [0, 0]
    assert miner.status()["outbox"] == 0


def test_outbox__rejected__dropped_with_reason_and_later_batches_rechained(make_miner, clock, chip):
    offline = ScriptedNet(*[OSError("down")] * 10)
    miner = make_miner(network=offline)
    run_hours(miner, clock, chip, 3)
    assert miner.state["seq"] == 3
    hours_1_and_2 = [miner.store.read_batch(seq)["readings"] for seq in (1, 2)]
    net = ScriptedNet((400, "registry: submission window closed"))
    rebooted = make_miner(network=net)
    clock.set(GENESIS + 4 * HOUR)
    tick_until_idle(rebooted)
    rejected, *rest = net.posted
    assert (rejected["seq"], rejected["epoch"]) == (0, 0)
    assert [(b["seq"], b["epoch"]) for b in rest] == [(0, 1), (1, 2), (2, 3)]
    assert rest[0]["prev_batch"] == "0x" + "00" * 32
    assert rest[1]["prev_batch"] == "0x" + batch_digest(rest[0]).hex()
    assert [b["readings"] for b in rest[:2]] == hours_1_and_2
    status = rebooted.status()
    assert status["rejected"] == [
        {"seq": 0, "epoch": 0, "status": 400, "reason": "registry: submission window closed"}
    ]
    assert status["counters"]["batches_rejected"] == 1 and status["seq"] == 3 and status["outbox"] == 0


# -- properties --------------------------------------------------------------------------------
@hsettings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 30_000), st.integers(1, 4), st.booleans()),
        min_size=1,
        max_size=30,
    )
)
def test_totals__random_powers_gaps_and_errors__never_decrease_and_match_model(steps):
    """Totals follow the Python twin of the rule: trapezoid over adjacent slots only."""
    directory = tempfile.mkdtemp()
    try:
        chip = FakeINA219()
        bus = FakeI2C(chip)
        clock = VirtualClock(GENESIS)
        settings = {"CHAIN_ID": 1, "REGISTRY": "0x" + "22" * 20, "GENESIS": GENESIS,
                    "POW_TARGET": EASY_TARGET}
        store = Store(directory, sync=False)
        miner = Miner(Sensor(bus, "32V_2A"), DEVICE_KEY, clock, store, None, settings)
        slot, model_total, model_rem, last, totals = 0, 0, 0, None, []
        for power, advance, fails in steps:
            slot += advance
            power -= power % 2  # even mW read exactly at 10 V
            clock.set(GENESIS + slot * SLOT)
            set_mw(chip, power)
            bus.fail(1 if fails else 0)
            tick_until_idle(miner)
            if fails:
                continue
            if last is not None and slot - last[0] == 1:
                acc = model_rem + (last[1] + power) * SLOT
                model_total, model_rem = model_total + acc // 7200, acc % 7200
            last = (slot, power)
            totals.append(miner.state["total_mwh"])
        assert totals == sorted(totals)
        assert miner.state["total_mwh"] == model_total and miner.state["remainder"] == model_rem
    finally:
        shutil.rmtree(directory)
