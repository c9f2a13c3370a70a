"""The INA219 power sensor, read through the Adafruit driver, in the project's units.

The driver speaks W (``power``), mA (``current``) and V (``bus_voltage``); this module
converts once, here, to integers in mW, mV and uA. A failed I2C transfer is
counted and raised as :class:`SensorError`; no value is ever made up.
"""

# The driver's calibration presets (``set_calibration_<name>``) by name:
# (shunt [ohm] the preset assumes, largest current before overflow [A], bus range [V]).
# The board's shunt must match the chosen preset.
CALIBRATIONS = {
    "32V_2A": (0.1, 3.2, 32),
    "32V_1A": (0.1, 1.6, 32),
    "16V_400mA": (0.1, 0.4, 16),
    "16V_5A": (0.02, 8.0, 16),
    "16V_80mA": (1.0, 0.08, 16),
    "16V_4mA": (10.0, 0.004, 16),
}


class SensorError(OSError):
    """A sample could not be taken: I2C failure (``overflow`` False) or math overflow."""

    def __init__(self, message, overflow=False):
        super().__init__(message)
        self.overflow = overflow


class Measurement:
    """One sample of the sensor, in integers.

    Attributes: ``power_mw`` [mW] (generation, never negative), ``bus_mv`` [mV],
    ``current_ua`` [uA] (negative when current flows backwards through the shunt).
    """

    def __init__(self, power_mw, bus_mv, current_ua):
        self.power_mw = power_mw
        self.bus_mv = bus_mv
        self.current_ua = current_ua

    def __repr__(self):
        return "Measurement(power_mw=%d, bus_mv=%d, current_ua=%d)" % (
            self.power_mw,
            self.bus_mv,
            self.current_ua,
        )


def to_measurement(power_w, bus_v, current_ma):
    """Convert the driver's scaled values to a :class:`Measurement`.

    Parameters: ``power_w`` [W], ``bus_v`` [V], ``current_ma`` [mA], as the driver gives them.
    The INA219's power register is unsigned, so reverse current (a panel drawing power)
    counts as zero generation.
    """
    current_ua = int(round(current_ma * 1000))
    power_mw = int(round(power_w * 1000)) if current_ua > 0 else 0
    return Measurement(power_mw, int(round(bus_v * 1000)), current_ua)


class Sensor:
    """An INA219 on ``i2c`` (a ``busio.I2C`` or anything with its API).

    ``calibration`` names one of the driver's presets (see :data:`CALIBRATIONS`).
    Constructing raises ``ValueError`` when no chip answers at ``address``.
    """

    def __init__(self, i2c, calibration="32V_2A", address=0x40):
        from adafruit_ina219 import INA219  # the real driver, on the board and under CPython

        if calibration not in CALIBRATIONS:
            raise ValueError("sensor: unknown calibration %r" % calibration)
        self.calibration = calibration
        self.shunt_ohms, self.max_amps, self.max_volts = CALIBRATIONS[calibration]
        self.failures = 0  # failed reads since construction
        self.ina = INA219(i2c, address)
        getattr(self.ina, "set_calibration_" + calibration)()

    def read(self):
        """Take one sample; return a :class:`Measurement` or raise :class:`SensorError`."""
        try:
            bus_v = self.ina.bus_voltage
            current_ma = self.ina.current
            power_w = self.ina.power
            overflow = self.ina.overflow
        except OSError as exc:
            self.failures += 1
            raise SensorError("sensor: I2C error: %s" % exc) from exc
        if overflow:
            self.failures += 1
            raise SensorError("sensor: math overflow, current or power out of range", True)
        return to_measurement(power_w, bus_v, current_ma)

    def raw(self):
        """Raw register values, unscaled: a dict of ints (and the CNVR/OVF flags as bools).

        ``shunt`` [10 uV], ``bus`` [4 mV], ``current`` [current LSB of the preset],
        ``power`` [20 x current LSB], ``calibration`` (as last written).
        """
        ina = self.ina
        return {
            "shunt": ina.raw_shunt_voltage,
            "bus": ina.raw_bus_voltage,
            "current": ina.raw_current,
            "power": ina.raw_power,
            "calibration": ina.calibration,
            "conversion_ready": bool(ina.conversion_ready),
            "overflow": bool(ina.overflow),
        }
