"""greenminer.sensor: the driver's units converted once, failures counted, nothing invented."""

import pytest

from greenminer.sensor import Measurement, Sensor, SensorError, to_measurement


def test_read__exact_state__integers_in_mw_mv_ua(chip, sensor):
    chip.set_state(12.0, 1.0)
    m = sensor.read()
    assert (m.power_mw, m.bus_mv, m.current_ua) == (12_000, 12_000, 1_000_000)
    assert all(isinstance(v, int) for v in (m.power_mw, m.bus_mv, m.current_ua))


def test_to_measurement__driver_units__converted_once():
    m = to_measurement(power_w=1.234, bus_v=5.004, current_ma=246.6)
    assert (m.power_mw, m.bus_mv, m.current_ua) == (1234, 5004, 246_600)


def test_read__reverse_current__zero_generation(chip, sensor):
    chip.set_state(12.0, -0.2)
    m = sensor.read()
    assert m.power_mw == 0 and m.current_ua == -200_000


def test_read__i2c_error__counted_and_raised(bus, chip, sensor):
    chip.set_state(12.0, 1.0)
    bus.fail(1)
    with pytest.raises(SensorError) as info:
        sensor.read()
    assert not info.value.overflow
    assert isinstance(info.value, OSError)
    assert sensor.failures == 1
    assert sensor.read().power_mw == 12_000  # the next read works


def test_read__overflow__counted_and_raised(chip, sensor):
    chip.set_state(12.0, 3.5)  # beyond 3.2 A of the 32V_2A preset
    with pytest.raises(SensorError) as info:
        sensor.read()
    assert info.value.overflow and sensor.failures == 1


def test_raw__registers_unscaled(chip, sensor):
    chip.set_state(12.0, 1.0)
    raw = sensor.raw()
    assert raw["shunt"] == 10_000 and raw["bus"] == 3_000
    assert raw["current"] == 10_000 and raw["power"] == 6_000
    assert raw["calibration"] == 4_096 and raw["overflow"] is False


def test_sensor__unknown_preset__refused(bus):
    with pytest.raises(ValueError, match="unknown calibration"):
        Sensor(bus, "48V_9A")


def test_measurement__repr_names_units():
    assert "power_mw=5" in repr(Measurement(5, 6, 7))
