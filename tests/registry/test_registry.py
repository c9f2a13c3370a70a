"""MeasurementRegistry: signed hourly batches, every refusal with its reason."""

import ape
import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from registry_kit import (
    CAPACITY_W,
    EPOCH_SECONDS,
    GRACE_PERIOD,
    MARGIN_BPS,
    OTHER_DEVICE_KEY,
    POW_TARGET,
    ZERO32,
    domain_separator,
    hour_readings,
    make_batch,
    pack_reading,
    typed_digest,
)

from offchain.protocol.batch import expected_hashes

MAX_POWER_MW = CAPACITY_W * 1_000 * MARGIN_BPS // 10_000  # 6 kW
SUSPENDED = 2


def state_of(registry, device):
    return tuple(registry.device_state(device))


@pytest.fixture
def chain_of(registry, batch_for, at_epoch_end, genesis, relayer):
    """Factory: submit consecutive good batches for `epochs`; returns (prev digest, last total)."""

    def chain_of(key, epochs, seq=0, prev=ZERO32, total=0):
        for e in epochs:
            at_epoch_end(e)
            readings, last = hour_readings(genesis + EPOCH_SECONDS * e, total)
            b, digest = batch_for(key, e, seq, prev=prev, readings=readings)
            registry.submit(b, sender=relayer)
            seq, prev, total = seq + 1, digest, last
        return prev, total

    return chain_of


# ============================== happy path ==============================


def test_submit__good_batch__emits_and_stores(
    registry, sbt, chain, device, device_key, token_id, batch_for, at_epoch_end, genesis, relayer
):
    at_epoch_end(0, mine=True)
    readings, last_total = hour_readings(genesis, 1_000)
    b, digest = batch_for(device_key, 0, 0, readings=readings)

    assert registry.batch_digest(b) == digest
    assert registry.submit.call(b) == digest
    tx = registry.submit(b, sender=relayer)

    logs = tx.decode_logs(registry.BatchAccepted)
    assert len(logs) == 1
    log = logs[0]
    assert log.device == device.address
    assert log.token_id == token_id
    assert log.epoch == 0
    assert log.seq == 0
    assert log.batch_hash == digest
    assert log.prev_batch == ZERO32
    assert log.pow_nonce == b["pow_nonce"]
    assert log.signature == b["r"] + b["s"] + bytes([b["v"]])
    assert list(log.readings) == readings
    assert tx.decode_logs(registry.BatchSkipped) == []

    last_ts = readings[-1] >> 192
    assert state_of(registry, device.address) == (last_total, last_ts, 1, digest)
    assert tuple(registry.device_check(device.address)) == tuple(sbt.device_info(device.address)) + (
        last_total, last_ts, 1, digest)  # the gateway's one call: the SBT's record, then the state
    assert registry.legal_count(device.address, 0) == 12
    assert registry.legal_count(device.address, 1) == 0
    assert registry.mining_pending(device.address) == (1, expected_hashes(POW_TARGET))

    registry.sync_mining(device.address, sender=relayer)
    miner = sbt.miners(token_id)
    assert miner.online_hours == 1
    assert miner.hashes == expected_hashes(POW_TARGET)
    assert registry.mining_pending(device.address) == (0, 0)


def test_submit__consecutive_hours__chain_and_count(registry, device, device_key, token_id, chain_of, genesis):
    prev, total = chain_of(device_key, range(3))
    assert state_of(registry, device.address)[1:] == (genesis + 3 * EPOCH_SECONDS - 1, 3, prev)
    assert state_of(registry, device.address)[0] == total
    assert [registry.legal_count(device.address, e) for e in range(4)] == [12, 12, 12, 0]


def test_submit__fewer_readings_and_an_offline_gap__accepted(
    registry, device, device_key, token_id, batch_for, at_epoch_end, genesis, relayer
):
    at_epoch_end(0)
    readings, total = hour_readings(genesis, 0, count=5)
    b, prev = batch_for(device_key, 0, 0, readings=readings)
    registry.submit(b, sender=relayer)
    # offline for epochs 1..4: the total may grow by what 5 h at full power give
    at_epoch_end(5)
    start = genesis + 5 * EPOCH_SECONDS
    ts = start + 10
    grown = total + MAX_POWER_MW * (ts - (readings[-1] >> 192)) // EPOCH_SECONDS
    b, _ = batch_for(device_key, 5, 1, prev=prev, readings=[pack_reading(ts, 0, grown)])
    registry.submit(b, sender=relayer)
    assert [registry.legal_count(device.address, e) for e in range(6)] == [5, 0, 0, 0, 0, 1]


def test_submit__power_at_capacity_margin__accepted(
    registry, device, device_key, token_id, batch_for, at_epoch_end, genesis, relayer
):
    at_epoch_end(0)
    # from the enrollment's total (0) at the first reading, then 12 × 5 min at the margin
    readings, _ = hour_readings(genesis, -MAX_POWER_MW * 300 // EPOCH_SECONDS, power_mw=MAX_POWER_MW)
    b, _ = batch_for(device_key, 0, 0, readings=readings)
    registry.submit(b, sender=relayer)
    assert registry.legal_count(device.address, 0) == 12


def test_submit__last_second_of_grace__accepted(registry, device, device_key, token_id, batch_for, at_epoch_end, relayer):
    at_epoch_end(0, offset=GRACE_PERIOD - 1)
    b, _ = batch_for(device_key, 0, 0)
    registry.submit(b, sender=relayer)
    assert registry.legal_count(device.address, 0) == 12


# =============================== refusals ===============================


@pytest.fixture
def refused(registry, device, relayer):
    """Submit `b` expecting `reason`; check that nothing was stored."""

    def refused(b, reason):
        before = state_of(registry, b["device"])
        count_before = registry.legal_count(b["device"], b["epoch"])
        with ape.reverts(reason):
            registry.submit(b, sender=relayer)
        assert state_of(registry, b["device"]) == before
        assert registry.legal_count(b["device"], b["epoch"]) == count_before

    return refused


def test_submit__unknown_device__reverts(registry, token_id, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(OTHER_DEVICE_KEY, 0, 0)
    refused(b, "registry: unknown device")


def test_submit__suspended_device__reverts(registry, sbt, owner, token_id, device_key, batch_for, at_epoch_end, refused):
    sbt.set_hardware_status(token_id, SUSPENDED, sender=owner)
    at_epoch_end(0)
    b, _ = batch_for(device_key, 0, 0)
    refused(b, "registry: device not active")


def test_submit__revoked_device__reverts(registry, sbt, owner, token_id, device_key, batch_for, at_epoch_end, refused):
    sbt.revoke(token_id, "tampered meter", sender=owner)
    at_epoch_end(0)
    b, _ = batch_for(device_key, 0, 0)
    refused(b, "registry: device not active")


def test_submit__forged_signature__reverts(registry, device, token_id, attacker_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(attacker_key, 0, 0, device=device.address)
    refused(b, "registry: bad signature")


def test_submit__readings_changed_after_signing__reverts(registry, token_id, device_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(device_key, 0, 0)
    b["readings"][3] += 1  # a relayer adds 1 mWh
    refused(b, "registry: bad signature")


def test_submit__high_s_signature__reverts(registry, token_id, device_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(device_key, 0, 0, high_s=True)
    refused(b, "registry: bad signature")


def test_submit__replayed_batch__reverts(registry, token_id, device_key, batch_for, at_epoch_end, relayer, refused):
    at_epoch_end(0)
    b, _ = batch_for(device_key, 0, 0)
    registry.submit(b, sender=relayer)
    refused(b, "registry: bad seq")


def test_submit__reordered_batch__reverts(registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused):
    at_epoch_end(0)
    first, digest = batch_for(device_key, 0, 0)
    at_epoch_end(1)
    readings, _ = hour_readings(genesis + EPOCH_SECONDS, 3_000_000)
    second, _ = batch_for(device_key, 1, 1, prev=digest, readings=readings)
    refused(second, "registry: bad seq")


def test_submit__wrong_prev_batch__reverts(registry, token_id, device_key, chain_of, batch_for, at_epoch_end, genesis, refused):
    _, total = chain_of(device_key, [0])
    at_epoch_end(1)
    b, _ = batch_for(device_key, 1, 1, prev=b"\x01" * 32, total=total)
    refused(b, "registry: bad prev batch")


def test_submit__running_epoch__reverts(registry, chain, token_id, device_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(device_key, 1, 0)  # epoch 1 runs now
    refused(b, "registry: epoch not over")


def test_submit__future_epoch__reverts(registry, token_id, device_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(device_key, 1_000, 0)
    refused(b, "registry: epoch not over")


def test_submit__after_grace_period__reverts(registry, token_id, device_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0, offset=GRACE_PERIOD)
    b, _ = batch_for(device_key, 0, 0)
    refused(b, "registry: epoch closed")


def test_submit__after_close_epoch__reverts(registry, token_id, device_key, batch_for, at_epoch_end, epoch_keys, refused):
    at_epoch_end(1)
    registry.close_epoch(1, sender=epoch_keys)
    for e in (0, 1):
        b, _ = batch_for(device_key, e, 0)
        refused(b, "registry: epoch closed")


def test_submit__same_epoch_again__reverts(registry, token_id, device_key, chain_of, batch_for, refused):
    prev, total = chain_of(device_key, [0])
    b, _ = batch_for(device_key, 0, 1, prev=prev, total=total)
    refused(b, "registry: stale epoch")


@pytest.mark.parametrize("count", [0, 13, 16])
def test_submit__bad_readings_count__reverts(registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused, count):
    at_epoch_end(0)
    readings, _ = hour_readings(genesis, 0, count=count, step=EPOCH_SECONDS // max(count, 1))
    b, _ = batch_for(device_key, 0, 0, readings=readings)
    refused(b, "registry: bad readings count")


@pytest.mark.parametrize("where", ["before", "after"])
def test_submit__timestamp_outside_epoch__reverts(
    registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused, where
):
    at_epoch_end(1)
    start = genesis + EPOCH_SECONDS
    readings, _ = hour_readings(start, 0)
    if where == "before":
        readings[0] = pack_reading(start - 1, 0, 0)
    else:
        readings[-1] = pack_reading(start + EPOCH_SECONDS, 0, readings[-1] & (2**128 - 1))
    b, _ = batch_for(device_key, 1, 0, readings=readings)
    refused(b, "registry: timestamp outside epoch")


def test_submit__repeated_timestamp__reverts(registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused):
    at_epoch_end(0)
    readings, _ = hour_readings(genesis, 0)
    ts, power, total = readings[4] >> 192, 3_000_000, readings[4] & (2**128 - 1)
    readings[5] = pack_reading(ts, power, total)
    b, _ = batch_for(device_key, 0, 0, readings=readings)
    refused(b, "registry: timestamps not increasing")


def test_submit__decreasing_total__reverts(registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused):
    at_epoch_end(0)
    readings, _ = hour_readings(genesis, 0)
    ts = readings[6] >> 192
    readings[6] = pack_reading(ts, 3_000_000, (readings[5] & (2**128 - 1)) - 1)
    b, _ = batch_for(device_key, 0, 0, readings=readings)
    refused(b, "registry: total decreasing")


def test_submit__total_below_last_batch__reverts(registry, token_id, device_key, chain_of, batch_for, at_epoch_end, refused):
    prev, total = chain_of(device_key, [0])
    at_epoch_end(1)
    b, _ = batch_for(device_key, 1, 1, prev=prev, total=total - 300_000)
    refused(b, "registry: total decreasing")


def test_submit__jump_inside_batch__reverts(registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused):
    at_epoch_end(0)
    readings, _ = hour_readings(genesis, 0)
    # 300 s at 6 kW give at most 500 000 mWh: the gap 6 -> 7 gives 500 001 more
    for i in range(7, 12):
        ts, power, total = (readings[i] >> 192), 3_000_000, readings[i] & (2**128 - 1)
        readings[i] = pack_reading(ts, power, total + 250_001)
    b, _ = batch_for(device_key, 0, 0, readings=readings)
    refused(b, "registry: total jump")


def test_submit__gap_after_last_batch__reverts(registry, token_id, device_key, chain_of, batch_for, at_epoch_end, refused):
    prev, total = chain_of(device_key, [0])
    at_epoch_end(1)
    b, _ = batch_for(device_key, 1, 1, prev=prev, total=total + 1_000_000)
    refused(b, "registry: total jump")


def test_submit__power_above_capacity__reverts(registry, token_id, device_key, batch_for, at_epoch_end, genesis, refused):
    at_epoch_end(0)
    readings, _ = hour_readings(genesis, 0)
    ts, total = readings[2] >> 192, readings[2] & (2**128 - 1)
    readings[2] = pack_reading(ts, MAX_POWER_MW + 1, total)
    b, _ = batch_for(device_key, 0, 0, readings=readings)
    refused(b, "registry: power above capacity")


def test_submit__weak_proof_of_work__reverts(registry, token_id, device_key, batch_for, at_epoch_end, refused):
    at_epoch_end(0)
    b, _ = batch_for(device_key, 0, 0, weak_pow=True)
    refused(b, "registry: weak proof of work")


# =============== a first batch continues from the enrollment ===============

DAY = 86_400


@pytest.fixture
def late_admission(chain, genesis, admit, miner):
    """Factory: move to `days` after genesis and admit `key` there, enrolled at that moment
    with total `start_total` [mWh]; returns the enrollment's time [s]."""

    def late(key, days, start_total=0):
        chain.mine(timestamp=genesis + days * DAY)
        start_time = chain.blocks.head.timestamp
        admit(key, miner, start_total=start_total)
        return start_time

    return late


@pytest.fixture
def first_batch(device_key, batch_for, at_epoch_end, genesis):
    """Factory: the device's first batch (seq 0) of epoch `e`, once it is over, and its
    readings: 12 from `first_total` [mWh] (hour_readings' keywords pass through)."""

    def make(e, first_total, **kw):
        at_epoch_end(e)
        readings, _ = hour_readings(genesis + EPOCH_SECONDS * e, first_total, **kw)
        return batch_for(device_key, e, 0, readings=readings), readings

    return make


def test_first_batch__total_since_genesis_38_days_later__reverts(device_key, late_admission, first_batch, refused):
    """The attack: a device admitted 38 days after genesis claimed, in its first hour, the
    energy 5 kW could have made since genesis (about 5 000 kWh, 180 x an honest hour)."""
    late_admission(device_key, 38)
    (b, _), _ = first_batch(38 * 24 + 1, 5_000_000_000)
    refused(b, "registry: total jump")


def test_first_batch__grows_from_the_enrollment_total__accepted(
    registry, device, device_key, late_admission, first_batch, relayer
):
    start_time = late_admission(device_key, 2, start_total=7_000_000)
    assert state_of(registry, device.address) == (7_000_000, start_time, 0, ZERO32)
    (b, digest), readings = first_batch(2 * 24 + 1, 7_000_000)
    registry.submit(b, sender=relayer)
    assert state_of(registry, device.address) == (readings[-1] & (2**128 - 1), readings[-1] >> 192, 1, digest)


def test_first_batch__four_days_of_energy_after_a_long_ballot__accepted(
    registry, device, device_key, late_admission, first_batch, genesis, relayer
):
    """An honest device keeps measuring while the DAO votes: its first batch may hold days of
    energy since its enrollment, within capacity x margin x those days."""
    start_time = late_admission(device_key, 1, start_total=1_000)
    e = 5 * 24
    grown = (genesis + EPOCH_SECONDS * e - start_time) * MAX_POWER_MW // EPOCH_SECONDS  # the most the bound allows
    (b, _), _ = first_batch(e, 1_000 + grown, power_mw=100_000)
    registry.submit(b, sender=relayer)
    assert registry.device_state(device.address)[2] == 1


def test_first_batch__below_the_enrollment_total__reverts(device_key, late_admission, first_batch, refused):
    late_admission(device_key, 1, start_total=7_000_000)
    (b, _), _ = first_batch(25, 6_000_000)
    refused(b, "registry: total decreasing")


def test_first_batch__reading_before_the_enrollment__reverts(chain, device_key, admit, miner, first_batch, genesis,
                                                             refused):
    chain.mine(timestamp=genesis + 1_000)  # enrolled 1 000 s into epoch 0
    admit(device_key, miner)
    (b, _), _ = first_batch(0, 0)  # the first reading at 299 s
    refused(b, "registry: timestamps not increasing")


def test_device_state__never_admitted__zeros(registry, attacker):
    assert state_of(registry, attacker.address) == (0, 0, 0, ZERO32)
    assert tuple(registry.device_check(attacker.address)) == (0, 0, 0, 0, 0, 0, ZERO32)


# ================= attacks: another domain, totals at the top =================


@pytest.fixture
def other_registry(project, owner, sbt, genesis):
    """A second MeasurementRegistry on the same SBT, deployed as the `registry` fixture is
    (the SBT keeps naming the first one)."""
    return owner.deploy(project.MeasurementRegistry, sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)


@pytest.mark.parametrize("domain", ["other-chain", "other-registry"])
def test_submit__signed_for_another_domain__reverts(
    chain, registry, other_registry, device, device_key, token_id, chain_of, at_epoch_end, genesis, batch_for,
    relayer, refused, domain,
):
    """An admitted device's honest next batch, but signed for another chain id or for another
    registry's address: the EIP-712 domain differs, so it does not recover to the device."""
    prev, total = chain_of(device_key, [0])
    accepted = state_of(registry, device.address)
    at_epoch_end(1)
    readings, _ = hour_readings(genesis + EPOCH_SECONDS, total)
    chain_id, address = chain.chain_id, registry.address
    if domain == "other-chain":
        chain_id += 1
    else:
        address = other_registry.address
    foreign, foreign_digest = make_batch(
        device_key, 1, 1, readings, chain_id=chain_id, registry=address, target=registry.pow_target(), prev=prev
    )
    assert registry.batch_digest(foreign) != foreign_digest
    refused(foreign, "registry: bad signature")
    tx = registry.submit_many([foreign], sender=relayer)
    assert [log.reason for log in tx.decode_logs(registry.BatchSkipped)] == ["registry: bad signature"]
    assert state_of(registry, device.address) == accepted
    # the same readings signed for this chain and registry still continue the device
    b, digest = batch_for(device_key, 1, 1, prev=prev, readings=readings)
    registry.submit(b, sender=relayer)
    assert state_of(registry, device.address)[2:] == (2, digest)


def test_submit__accepted_here_replayed_on_another_registry__reverts(
    registry, other_registry, device, device_key, token_id, batch_for, at_epoch_end, relayer
):
    """A batch accepted by one registry, replayed by anyone on a second registry of the same SBT
    (where the device has no batch yet, so seq 0 and prev 0 would fit)."""
    at_epoch_end(0)
    b, digest = batch_for(device_key, 0, 0)
    registry.submit(b, sender=relayer)
    accepted, fresh = state_of(registry, device.address), state_of(other_registry, device.address)
    assert fresh[2:] == (0, ZERO32)
    with ape.reverts("registry: bad signature"):
        other_registry.submit(b, sender=relayer)
    assert state_of(other_registry, device.address) == fresh
    assert registry.legal_count(device.address, 0) == 12 and other_registry.legal_count(device.address, 0) == 0
    assert state_of(registry, device.address) == accepted


# Totals. A reading packs its total into 128 bits (ts << 192 | power << 128 | total); the registry
# keeps 96 bits of it in the device's state word. MinerSBT caps an enrollment total at
# MAX_START_TOTAL_MWH = 2**64 (not public, hence the literal) and every later increase is bounded
# by capacity x margin x time (< 2**74 mWh over the 40-bit time range even at 2**32 W and 1 000 %),
# so a total above 2**96 can never be accepted and the 96-bit state cannot wrap. What can be built
# is below: the largest encodable total, a counter that wrapped, and a 2**128 carry.
MAX_START_TOTAL_MWH = 2**64
MASK_128 = 2**128 - 1


@pytest.fixture
def at_the_top(registry, device, device_key, late_admission, first_batch, relayer):
    """The device enrolled with the largest start total and one accepted batch (epoch 25) above it;
    returns (e, prev digest, last total) for its next batch."""
    late_admission(device_key, 1, start_total=MAX_START_TOTAL_MWH)
    (b, digest), readings = first_batch(25, MAX_START_TOTAL_MWH)
    registry.submit(b, sender=relayer)
    last = readings[-1] & MASK_128
    assert last > MAX_START_TOTAL_MWH and state_of(registry, device.address)[0] == last
    return 26, digest, last


def test_submit__total_wrapped_back_to_small__reverts(
    device_key, at_the_top, batch_for, at_epoch_end, genesis, refused
):
    """A meter whose counter wrapped (its total modulo 2**64) starts again from a small total."""
    e, prev, last = at_the_top
    at_epoch_end(e)
    readings, _ = hour_readings(genesis + EPOCH_SECONDS * e, last % 2**64)
    b, _ = batch_for(device_key, e, 1, prev=prev, readings=readings)
    refused(b, "registry: total decreasing")


def test_submit__largest_encodable_total__reverts(
    device_key, at_the_top, batch_for, at_epoch_end, genesis, refused
):
    """A total of 2**128 - 1 (the field's top): the registry's unchecked (total - last) x 3 600 x
    10 000 is then about 2**153, no overflow, and the bound refuses it."""
    e, prev, last = at_the_top
    at_epoch_end(e)
    readings, _ = hour_readings(genesis + EPOCH_SECONDS * e, last)
    readings[0] = pack_reading(readings[0] >> 192, 3_000_000, MASK_128)
    b, _ = batch_for(device_key, e, 1, prev=prev, readings=readings)
    refused(b, "registry: total jump")


def test_submit__total_past_2_128_carries_into_power__reverts(
    device_key, at_the_top, batch_for, at_epoch_end, genesis, refused
):
    """A total of 2**128 + k cannot be encoded: the off-chain encoder refuses it, and a device that
    packed it anyway carries 1 into the power field, so the registry reads total k."""
    e, prev, last = at_the_top
    at_epoch_end(e)
    readings, _ = hour_readings(genesis + EPOCH_SECONDS * e, last)
    ts = readings[0] >> 192
    with pytest.raises(ValueError, match="reading out of range"):
        pack_reading(ts, 3_000_000, 2**128 + 5)
    readings[0] = (ts << 192) | (3_000_000 << 128) + 2**128 + 5  # power 3 000 001 mW, total 5 mWh
    assert (readings[0] >> 128) & (2**64 - 1) == 3_000_001 and readings[0] & MASK_128 == 5
    b, _ = batch_for(device_key, e, 1, prev=prev, readings=readings)
    refused(b, "registry: total decreasing")


# ============================== submit_many =============================


def test_submit_many__good_and_bad__skips_the_bad(
    registry, admit, miner, device, device_key, token_id, attacker_key, batch_for, at_epoch_end, relayer
):
    other = Account.from_key(OTHER_DEVICE_KEY)
    admit(OTHER_DEVICE_KEY, miner)
    third_key = "0x" + "33" * 32
    admit(third_key, miner)
    at_epoch_end(0, mine=True)
    good_a, digest_a = batch_for(device_key, 0, 0)
    forged, _ = batch_for(attacker_key, 0, 0, device=other.address)
    good_b, digest_b = batch_for(OTHER_DEVICE_KEY, 0, 0)
    weak, _ = batch_for(third_key, 0, 0, weak_pow=True)
    batches = [good_a, forged, good_b, good_a, weak]

    assert registry.submit_many.call(batches) == 2
    tx = registry.submit_many(batches, sender=relayer)

    accepted = tx.decode_logs(registry.BatchAccepted)
    assert [(log.device, log.batch_hash) for log in accepted] == [
        (device.address, digest_a),
        (other.address, digest_b),
    ]
    skipped = tx.decode_logs(registry.BatchSkipped)
    assert [(log.device, log.seq, log.reason) for log in skipped] == [
        (other.address, 0, "registry: bad signature"),
        (device.address, 0, "registry: bad seq"),
        (Account.from_key(third_key).address, 0, "registry: weak proof of work"),
    ]
    assert state_of(registry, device.address)[2:] == (1, digest_a)
    assert state_of(registry, other.address)[2:] == (1, digest_b)


def test_submit_many__skipped_batch__leaves_the_device_untouched(
    registry, device, device_key, token_id, attacker_key, batch_for, at_epoch_end, relayer
):
    at_epoch_end(0)
    forged, _ = batch_for(attacker_key, 0, 0, device=device.address)
    good, digest = batch_for(device_key, 0, 0)
    tx = registry.submit_many([forged, good], sender=relayer)
    assert [log.reason for log in tx.decode_logs(registry.BatchSkipped)] == ["registry: bad signature"]
    assert [log.batch_hash for log in tx.decode_logs(registry.BatchAccepted)] == [digest]
    assert state_of(registry, device.address)[2:] == (1, digest)


def test_submit_many__empty__accepts_nothing(registry, relayer):
    assert registry.submit_many.call([]) == 0


# ========================== mining record (SBT) =========================


def test_mining__new_block_of_16_epochs__records_on_sbt(registry, sbt, device, device_key, token_id, chain_of):
    chain_of(device_key, [14, 15])
    assert sbt.miners(token_id).online_hours == 0
    assert registry.mining_pending(device.address) == (2, 2 * expected_hashes(POW_TARGET))
    state = registry.device_state(device.address)
    chain_of(device_key, [16], seq=2, prev=state[3], total=state[0])
    assert sbt.miners(token_id).online_hours == 2
    assert sbt.miners(token_id).hashes == 2 * expected_hashes(POW_TARGET)
    assert registry.mining_pending(device.address) == (1, expected_hashes(POW_TARGET))


def test_mining__target_changed__pending_hours_keep_their_hashes(registry, sbt, owner, device, device_key, token_id, chain_of):
    prev, total = chain_of(device_key, [0, 1])
    new_target = POW_TARGET * 2
    registry.set_pow_target(new_target, sender=owner)
    chain_of(device_key, [2], seq=2, prev=prev, total=total)
    assert sbt.miners(token_id).online_hours == 2
    assert sbt.miners(token_id).hashes == 2 * expected_hashes(POW_TARGET)
    assert registry.mining_pending(device.address) == (1, expected_hashes(new_target))
    registry.sync_mining(device.address, sender=owner)
    assert sbt.miners(token_id).hashes == 2 * expected_hashes(POW_TARGET) + expected_hashes(new_target)


def test_sync_mining__nothing_pending__changes_nothing(registry, sbt, device, token_id, relayer):
    registry.sync_mining(device.address, sender=relayer)
    assert sbt.miners(token_id).online_hours == 0


# ============================= legal counts =============================


def test_legal_count__across_blocks_and_archive__kept_then_forgotten(
    registry, device, device_key, token_id, batch_for, at_epoch_end, genesis, relayer
):
    # epochs and reading counts; 16-epoch blocks, 48-epoch superblocks, 8 archive slots
    plan = [(0, 3), (1, 12), (15, 7), (16, 1), (47, 2), (48, 5), (100, 9), (500, 4), (501, 6), (900, 8)]
    seq, prev, total = 0, ZERO32, 0
    for e, n in plan:
        at_epoch_end(e)
        readings, total = hour_readings(genesis + EPOCH_SECONDS * e, total, count=n)
        b, prev = batch_for(device_key, e, seq, prev=prev, readings=readings)
        registry.submit(b, sender=relayer)
        seq += 1
    got = {e: registry.legal_count(device.address, e) for e, _ in plan}
    # 900 is in superblock 18 (slot 2): archiving 500-501 (superblock 10, slot 2)
    # evicted superblock 2 (epoch 100); superblocks 0 and 1 (slots 0, 1) remain
    expected = dict(plan)
    expected[100] = 0
    assert got == expected
    assert registry.legal_count(device.address, 2) == 0
    assert registry.legal_count(device.address, 901) == 0
    stranger = "0x" + "12" * 20
    for e, n in expected.items():  # the batched view: the same N, in the order asked
        assert registry.legal_counts([stranger, device.address, device.address], e) == [0, n, n]
    assert registry.legal_counts([], 1) == []


class ArchiveModel:
    """Independent model of what legal_count still knows: an archived
    superblock S is forgotten once a block of a later superblock S' ≡ S (mod 8)
    is archived; the block of the last batch is always known."""

    def __init__(self):
        self.counts = {}
        self.archived_super = {}  # slot -> superblock held

    def accept(self, e, n):
        if self.counts:
            last = max(self.counts)
            if e // 16 != last // 16:
                sup = last // 48
                self.archived_super[sup % 8] = sup
        self.counts[e] = n

    def legal_count(self, e):
        if e not in self.counts:
            return 0
        last = max(self.counts)
        if e // 16 == last // 16:
            return self.counts[e]
        sup = e // 48
        return self.counts[e] if self.archived_super.get(sup % 8) == sup else 0


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(st.tuples(st.integers(1, 80), st.integers(1, 12)), min_size=1, max_size=8))
def test_legal_count__random_history__matches_model(project, chain, accounts, owner, sbt, admit, steps):
    key = "0x%064x" % (0xC0FFEE00 + chain.blocks.head.number)  # a new device each example
    genesis = chain.pending_timestamp - 1
    registry = owner.deploy(project.MeasurementRegistry, sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)
    sbt.set_registry(registry, sender=owner)
    admit(key, accounts[1])
    device = Account.from_key(key).address
    model = ArchiveModel()
    from registry_kit import make_batch

    e, seq, prev, total = -1, 0, ZERO32, 0
    for gap, n in steps:
        e += gap
        ts = genesis + EPOCH_SECONDS * (e + 1) + 60
        if chain.pending_timestamp < ts:
            chain.pending_timestamp = ts
        readings, total = hour_readings(genesis + EPOCH_SECONDS * e, total, count=n)
        b, prev = make_batch(
            key, e, seq, readings, chain_id=chain.chain_id, registry=registry.address, target=POW_TARGET, prev=prev
        )
        registry.submit(b, sender=accounts[4])
        model.accept(e, n)
        seq += 1
    for q in range(0, e + 2):
        assert registry.legal_count(device, q) == model.legal_count(q), q


# ============================ digest (twin) =============================


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    epoch=st.integers(0, 2**64 - 1),
    seq=st.integers(0, 2**64 - 1),
    prev=st.binary(min_size=32, max_size=32),
    nonce=st.integers(0, 2**256 - 1),
    readings=st.lists(st.integers(0, 2**256 - 1), min_size=0, max_size=16),
)
def test_batch_digest__any_batch__matches_eip712_twin(registry, chain, device, epoch, seq, prev, nonce, readings):
    b = {
        "device": device.address,
        "epoch": epoch,
        "seq": seq,
        "prev_batch": prev,
        "pow_nonce": nonce,
        "readings": readings,
        "v": 27,
        "r": ZERO32,
        "s": ZERO32,
    }
    expected = typed_digest(chain.chain_id, registry.address, device.address, epoch, seq, readings, prev, nonce)
    assert registry.batch_digest(b) == expected


def test_domain_separator__matches_twin(registry, chain):
    assert registry.domain_separator() == domain_separator(chain.chain_id, registry.address)
    fields = registry.eip712Domain()
    assert fields[1:5] == ("GreenEnergyMiners", "1", chain.chain_id, registry.address)


# ============================ epochs, closing ===========================


def test_views__epochs(registry, genesis, at_epoch_end, epoch_keys):
    assert registry.genesis() == genesis
    at_epoch_end(4, offset=10, mine=True)
    assert registry.current_epoch() == 5
    assert registry.epoch_closed(4) is False
    assert registry.epoch_closed(3) is True
    assert registry.epoch_closed(5) is False
    registry.close_epoch(4, sender=epoch_keys)
    assert registry.epoch_closed(4) is True


def test_close_epoch__not_epoch_keys__reverts(registry, attacker, owner, at_epoch_end):
    at_epoch_end(0)
    for who in (attacker, owner):
        with ape.reverts("registry: only epoch keys"):
            registry.close_epoch(0, sender=who)


def test_close_epoch__running_epoch__reverts(registry, epoch_keys, at_epoch_end):
    at_epoch_end(0)
    with ape.reverts("registry: epoch not over"):
        registry.close_epoch(1, sender=epoch_keys)


def test_close_epoch__earlier_epoch__keeps_later_closed(registry, epoch_keys, at_epoch_end):
    at_epoch_end(3)
    tx = registry.close_epoch(3, sender=epoch_keys)
    assert [log.epoch for log in tx.decode_logs(registry.EpochClosed)] == [3]
    registry.close_epoch(2, sender=epoch_keys)
    assert registry.epoch_closed(3) is True


# ============================== parameters ==============================


def test_views__deploy_parameters(registry, sbt, owner, epoch_keys):
    assert registry.sbt() == sbt.address
    assert registry.owner() == owner.address
    assert registry.pow_target() == POW_TARGET
    assert registry.hashes_per_batch() == expected_hashes(POW_TARGET)
    assert registry.capacity_margin_bps() == MARGIN_BPS
    assert registry.grace_period() == GRACE_PERIOD
    assert registry.epoch_keys() == epoch_keys.address


SETTERS = [
    ("set_pow_target", 2**250, "pow_target"),
    ("set_capacity_margin_bps", 15_000, "capacity_margin_bps"),
    ("set_grace_period", 900, "grace_period"),
]


@pytest.mark.parametrize("setter,value,getter", SETTERS)
def test_setters__dao__stores_and_logs(registry, owner, setter, value, getter):
    tx = getattr(registry, setter)(value, sender=owner)
    assert getattr(registry, getter)() == value
    logs = tx.decode_logs(registry.ParameterChanged)
    assert [(log.name, log.value) for log in logs] == [(getter, value)]


@pytest.mark.parametrize(
    "setter,value,getter", SETTERS + [("set_epoch_keys", None, "epoch_keys"), ("transfer_ownership", None, "owner")]
)
def test_setters__not_the_dao__reverts(registry, attacker, setter, value, getter):
    with ape.reverts("registry: only the DAO"):
        getattr(registry, setter)(value if value is not None else attacker, sender=attacker)


@pytest.mark.parametrize(
    "setter,value,reason",
    [
        ("set_pow_target", 2**128 - 1, "registry: bad pow target"),
        ("set_pow_target", 0, "registry: bad pow target"),
        ("set_capacity_margin_bps", 9_999, "registry: bad capacity margin"),
        ("set_capacity_margin_bps", 100_001, "registry: bad capacity margin"),
        ("set_grace_period", 0, "registry: bad grace period"),
        ("set_grace_period", EPOCH_SECONDS + 1, "registry: bad grace period"),
    ],
)
def test_setters__bad_value__reverts(registry, owner, setter, value, reason):
    with ape.reverts(reason):
        getattr(registry, setter)(value, sender=owner)


def test_transfer_ownership__dao__hands_over_the_setters(registry, owner, attacker):
    with ape.reverts("registry: zero owner"):
        registry.transfer_ownership("0x0000000000000000000000000000000000000000", sender=owner)
    registry.transfer_ownership(attacker, sender=owner)
    assert registry.owner() == attacker.address
    with ape.reverts("registry: only the DAO"):
        registry.set_grace_period(900, sender=owner)
    registry.set_grace_period(900, sender=attacker)


def test_set_epoch_keys__dao__moves_the_right_to_close(registry, owner, epoch_keys, attacker, at_epoch_end):
    tx = registry.set_epoch_keys(attacker, sender=owner)
    assert [log.epoch_keys for log in tx.decode_logs(registry.EpochKeysChanged)] == [attacker.address]
    at_epoch_end(0)
    with ape.reverts("registry: only epoch keys"):
        registry.close_epoch(0, sender=epoch_keys)
    registry.close_epoch(0, sender=attacker)


@pytest.mark.parametrize("target", [2**128, 2**200 + 12345, 3 * 2**250, 2**256 - 1])
def test_hashes_per_batch__targets__floor_of_2_256_over_target(registry, owner, target):
    registry.set_pow_target(target, sender=owner)
    assert registry.hashes_per_batch() == 2**256 // target


def test_deploy__genesis_in_future__reverts(project, owner, sbt, chain):
    with ape.reverts("registry: bad genesis"):
        owner.deploy(project.MeasurementRegistry, sbt, chain.pending_timestamp + 3600, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)
