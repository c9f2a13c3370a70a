"""testbed.simulator: a fleet of real miners on fake INA219s, fed with measured PV power."""

import time

import numpy as np
import pytest
from devicekit import CHAIN_ID, EASY_TARGET, REGISTRY, batch_digest
from eth_account import Account

from testbed import simulator as sim

HOUR = 3600
START = 1_700_002_800  # [s] an hour boundary (GENESIS of the fleet)


@pytest.fixture
def fleet_settings():
    return {"CHAIN_ID": CHAIN_ID, "REGISTRY": REGISTRY, "GENESIS": START, "POW_TARGET": EASY_TARGET}


def test_fleet__5_devices_48_hours__fast_signed_chained_and_accurate(tmp_path, fleet_settings):
    collector = sim.Collector()
    began = time.perf_counter()
    clock, devices = sim.make_fleet(5, tmp_path, fleet_settings, collector, start=START,
                                    capacities_w=[20, 30, 40, 50, 40], offsets_s=[0, 0, 300, -300, 0])
    result = sim.run(clock, devices, START + 48 * HOUR)
    elapsed = time.perf_counter() - began
    assert elapsed < 60, "48 h of 5 devices took %.1f s" % elapsed
    assert result["steps"] == 48 * 12
    by_device = {}
    for batch in collector.batches:
        by_device.setdefault(batch["device"], []).append(batch)
    assert sorted(by_device) == sorted(d.address for d in devices)
    for device, true_mwh in zip(devices, result["true_mwh"]):
        batches = by_device[device.address]
        assert [b["seq"] for b in batches] == list(range(47))  # the 48th hour is still open
        assert [b["epoch"] for b in batches] == list(range(47))
        previous = None
        for batch in batches:
            digest = batch_digest(batch)
            signer = Account._recover_hash(digest, signature=bytes.fromhex(batch["signature"][2:]))
            assert signer.lower() == device.address
            assert 1 <= len(batch["readings"]) <= 12
            if previous is not None:
                assert batch["prev_batch"] == "0x" + batch_digest(previous).hex()
            previous = batch
        totals = [r[2] for b in batches for r in b["readings"]]
        assert totals == sorted(totals)
        status = device.miner.status()
        assert status["counters"]["missed_samples"] == 0
        # the device measures what the chip was set to, down to the INA219's LSBs
        assert status["total_mwh"] == pytest.approx(true_mwh, rel=1e-3)
        assert status["total_mwh"] <= true_mwh
        assert max(r[1] for b in batches for r in b["readings"]) <= device.capacity_w * 1000


def test_fleet__i2c_errors__missed_not_invented(tmp_path, fleet_settings):
    clock, devices = sim.make_fleet(2, tmp_path, fleet_settings, sim.Collector(), start=START)
    result = sim.run(clock, devices, START + 6 * HOUR, i2c_error_rate=0.2, seed=3)
    for device, true_mwh in zip(devices, result["true_mwh"]):
        counters = device.miner.status()["counters"]
        assert counters["i2c_errors"] > 0
        # one try per step; a failed last step is counted as missed once the next sample lands
        assert counters["i2c_errors"] - 1 <= counters["missed_samples"] <= counters["i2c_errors"]
        assert device.miner.status()["total_mwh"] < true_mwh


def test_fleet__reboot_mid_run__continues_the_chain(tmp_path, fleet_settings):
    collector = sim.Collector()
    clock, devices = sim.make_fleet(1, tmp_path, fleet_settings, collector, start=START)
    sim.run(clock, devices, START + 90 * 60)
    before = devices[0].miner.status()
    devices[0].boot()  # power cycle: a new Miner on the same flash
    assert devices[0].miner.status()["total_mwh"] == before["total_mwh"]
    sim.run(clock, devices, START + 3 * HOUR)
    assert [b["seq"] for b in collector.batches] == [0, 1]
    assert devices[0].miner.status()["counters"]["boots"] == 2


def test_fleet__gateway_down__batches_wait_in_outbox(tmp_path, fleet_settings):
    clock, devices = sim.make_fleet(1, tmp_path, fleet_settings, None, start=START)
    sim.run(clock, devices, START + 3 * HOUR)
    assert devices[0].miner.status()["outbox"] == 2


def test_choose_calibration__finest_preset_that_fits():
    assert sim.choose_calibration(5.0) == "32V_1A"  # 16 V presets cannot read an 18 V panel
    assert sim.choose_calibration(3.0, bus_volts=12.0) == "16V_400mA"
    assert sim.choose_calibration(40.0) == "32V_2A"
    with pytest.raises(ValueError):
        sim.choose_calibration(500.0)


def test_device_key__deterministic_and_distinct():
    keys = {sim.device_key(0, i) for i in range(5)}
    assert len(keys) == 5 and sim.device_key(0, 1) == sim.device_key(0, 1)


def test_virtual_clock__never_goes_back():
    clock = sim.VirtualClock(100)
    clock.set(50)
    assert clock() == 100


def test_collector__keeps_batches_and_answers_status():
    collector = sim.Collector(status=202)
    assert collector({"seq": 0}) == (202, "collected") and collector.batches == [{"seq": 0}]


def test_run__true_energy_is_trapezoid_of_set_power(tmp_path, fleet_settings):
    series = (np.array([START, START + 10 * HOUR]), np.array([36.0, 36.0]), 36.0)
    clock, devices = sim.make_fleet(1, tmp_path, fleet_settings, None, start=START,
                                    capacities_w=[36.0], noise=0.0, series=series)
    result = sim.run(clock, devices, START + HOUR + 1)
    assert result["true_mwh"][0] == pytest.approx(36_000.0)  # 36 W for one hour
    assert devices[0].miner.status()["total_mwh"] == pytest.approx(36_000, rel=1e-3)


def test_main__small_run__prints_each_device(tmp_path, capsys):
    sim.main(["--devices", "2", "--hours", "2", "--dir", str(tmp_path), "--genesis", str(START)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("2 devices, 2 h") and len(lines) == 3
    assert all("batches   1" in line for line in lines[1:])
