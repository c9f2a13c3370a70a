"""The register-level fake INA219 read by the real Adafruit driver, against the datasheet."""

import pytest
from adafruit_ina219 import INA219
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from greenminer.sensor import CALIBRATIONS
from testbed import fake_ina219 as fake
from testbed.fake_ina219 import FakeI2C, FakeINA219

BUS_LSB_V = 0.004


def driver_for(preset):
    shunt, max_amps, max_volts = CALIBRATIONS[preset]
    chip = FakeINA219(shunt_ohms=shunt)
    ina = INA219(FakeI2C(chip))
    getattr(ina, "set_calibration_" + preset)()
    return chip, ina


def lsb_bound(preset, volts, amps):
    """Largest |measured - true| power [W] the datasheet's quantization allows."""
    shunt = CALIBRATIONS[preset][0]
    current_lsb = 10e-6 / shunt  # [A] shunt LSB 10 uV over the shunt, calibration 4096
    power_lsb = 20 * current_lsb  # [W]
    return volts * current_lsb / 2 + amps * BUS_LSB_V / 2 + current_lsb * BUS_LSB_V / 4 + power_lsb


@pytest.mark.parametrize("preset", sorted(CALIBRATIONS))
@hsettings(max_examples=40, deadline=None)
@given(volts_frac=st.floats(0.05, 0.75), amps_frac=st.floats(0.0, 0.95))
def test_driver__reads_power_set__within_datasheet_lsb(preset, volts_frac, amps_frac):
    chip, ina = driver_for(preset)
    _, max_amps, max_volts = CALIBRATIONS[preset]
    volts, amps = volts_frac * max_volts, amps_frac * max_amps
    chip.set_state(volts, amps)
    assert abs(ina.power - volts * amps) <= lsb_bound(preset, volts, amps)
    assert abs(ina.current / 1000 - amps) <= 10e-6 / CALIBRATIONS[preset][0] / 2 + 1e-12
    assert abs(ina.bus_voltage - volts) <= BUS_LSB_V / 2 + 1e-9
    assert not ina.overflow


def test_driver__exact_state__exact_registers():
    chip, ina = driver_for("32V_2A")
    chip.set_state(12.0, 1.0)  # shunt 100 mV = 10000 counts; bus 3000 counts
    assert ina.raw_shunt_voltage == 10_000
    assert ina.raw_bus_voltage == 3_000
    assert ina.raw_current == 10_000  # 10000 x 4096 / 4096
    assert ina.raw_power == 6_000  # 10000 x 3000 / 5000
    assert ina.power == pytest.approx(12.0)
    assert ina.current == pytest.approx(1000.0)  # mA


def test_bus_register__value_shifted_by_3__cnvr_cleared_by_power_read():
    chip, ina = driver_for("32V_2A")
    chip.set_state(5.0, 0.5)
    word = chip.read_register(fake.BUS_VOLTAGE)
    assert word >> 3 == 1250 and word & 0b10  # CNVR set after a conversion
    assert ina.conversion_ready
    _ = ina.raw_power
    assert not ina.conversion_ready
    chip.set_state(5.0, 0.5)
    assert ina.conversion_ready


def test_current_beyond_pga_range__sets_overflow():
    chip, ina = driver_for("32V_1A")  # PGA /4: 160 mV over 0.1 ohm = 1.6 A
    chip.set_state(12.0, 2.0)
    assert ina.overflow
    assert ina.raw_shunt_voltage == 16_000  # saturated


def test_calibration_register__bit0_is_void():
    chip = FakeINA219()
    chip.write_register(fake.CALIBRATION, 4097)
    assert chip.read_register(fake.CALIBRATION) == 4096


def test_reset_bit__restores_defaults_and_zero_calibration():
    chip, ina = driver_for("16V_400mA")
    assert chip.read_register(fake.CONFIG) != fake.CONFIG_RESET
    ina.reset = 1
    assert chip.read_register(fake.CONFIG) == fake.CONFIG_RESET
    assert chip.read_register(fake.CALIBRATION) == 0
    chip.set_state(5.0, 0.1)
    assert chip.read_register(fake.CURRENT) == 0  # no calibration, no current


def test_negative_current__signed_shunt_and_current():
    chip, ina = driver_for("32V_2A")
    chip.set_state(12.0, -0.5)
    assert ina.raw_shunt_voltage == -5_000
    assert ina.current == pytest.approx(-500.0)
    assert ina.power == pytest.approx(6.0)  # the power register is unsigned


def test_bus__injected_error__oserror_then_recovers():
    chip, ina = driver_for("32V_2A")
    bus = ina.i2c_device.i2c
    bus.fail(1)
    with pytest.raises(OSError):
        _ = ina.bus_voltage
    chip.set_state(3.0, 0.0)
    assert ina.bus_voltage == pytest.approx(3.0)


def test_bus__no_chip_at_address__driver_refuses():
    with pytest.raises(ValueError, match="No I2C device"):
        INA219(FakeI2C(FakeINA219(address=0x41)))
