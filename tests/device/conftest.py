"""Device actors: a fake INA219 on a fake bus, a virtual clock, flash in tmp_path, a network."""

import pytest
from devicekit import CHAIN_ID, DEVICE_KEY, EASY_TARGET, GENESIS, REGISTRY, ScriptedNet
from eth_account import Account

from greenminer.miner import Miner
from greenminer.sensor import CALIBRATIONS, Sensor
from greenminer.store import Store
from testbed.fake_ina219 import FakeI2C, FakeINA219
from testbed.simulator import VirtualClock


@pytest.fixture
def device_account():
    return Account.from_key(DEVICE_KEY)


@pytest.fixture
def miner_settings():
    return {
        "CHAIN_ID": CHAIN_ID,
        "REGISTRY": REGISTRY,
        "GENESIS": GENESIS,
        "POW_TARGET": EASY_TARGET,
        "POW_SLICE": 8,
    }


@pytest.fixture
def chip():
    return FakeINA219(shunt_ohms=CALIBRATIONS["32V_2A"][0])


@pytest.fixture
def bus(chip):
    return FakeI2C(chip)


@pytest.fixture
def sensor(bus):
    return Sensor(bus, "32V_2A")


@pytest.fixture
def clock():
    return VirtualClock(GENESIS)


@pytest.fixture
def flash(tmp_path):
    return str(tmp_path / "flash")


@pytest.fixture
def net():
    return ScriptedNet()


@pytest.fixture
def make_miner(bus, clock, flash, net, miner_settings):
    """Boot a miner on the shared chip, clock and flash (call again to reboot)."""

    def make(key=DEVICE_KEY, network=net, monotonic=None, **overrides):
        settings = dict(miner_settings, **overrides)
        return Miner(Sensor(bus, "32V_2A"), key, clock, Store(flash), network, settings, monotonic=monotonic)

    return make


@pytest.fixture
def miner(make_miner):
    return make_miner()
