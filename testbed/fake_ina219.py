"""A register-level INA219 on a fake I2C bus, for tests and the simulator.

The real ``adafruit_ina219`` driver talks to :class:`FakeI2C` exactly as it talks to
``busio.I2C`` on a board: it probes the address, moves the register pointer, reads and
writes 16-bit big-endian registers. The chip is modelled after the TI INA219 datasheet
(SBOS448):

=====  ===============  ============================================================
reg    name             content
=====  ===============  ============================================================
0x00   configuration    RST(15) BRNG(13) PG(12:11) BADC(10:7) SADC(6:3) MODE(2:0);
                        reset value 0x399F; writing RST resets every register
0x01   shunt voltage    signed, LSB 10 uV, saturates at the PGA range (40 mV x 2**PG)
0x02   bus voltage      BD(15:3) with LSB 4 mV, CNVR(1), OVF(0)
0x03   power            current_reg x bus_reg / 5000, unsigned; reading clears CNVR
0x04   current          shunt_reg x calibration / 4096, signed
0x05   calibration      bit 0 is void and always reads 0
=====  ===============  ============================================================

Simplifications: every ADC result is quantized with the 12-bit LSBs (10 uV shunt, 4 mV bus)
whatever BADC/SADC say; a conversion happens whenever the physical state is set (continuous
modes) or a triggered mode is written; the 26 V input limit is not enforced.
"""

import errno

CONFIG, SHUNT_VOLTAGE, BUS_VOLTAGE, POWER, CURRENT, CALIBRATION = range(6)
CONFIG_RESET = 0x399F
SHUNT_LSB_V = 10e-6  # [V] per shunt-register count
BUS_LSB_V = 4e-3  # [V] per bus-register count
TRIGGERED_MODES = (1, 2, 3)
CONTINUOUS_MODES = (5, 6, 7)


def _to_u16(value):
    return value & 0xFFFF


def _to_s16(value):
    return value - 0x10000 if value & 0x8000 else value


class FakeINA219:
    """One INA219 chip wired to a shunt of ``shunt_ohms`` [ohm].

    Set the physical state with :meth:`set_state` (bus voltage [V], current [A]) or
    :meth:`set_power` (power [W] at a bus voltage [V]); the chip then converts it as the
    datasheet says, and the driver reads the quantized registers.
    """

    def __init__(self, address=0x40, shunt_ohms=0.1):
        self.address = address
        self.shunt_ohms = shunt_ohms
        self.bus_volts = 0.0  # [V] between V- and GND
        self.current_amps = 0.0  # [A] through the shunt, V+ to V-
        self.writes = []  # (register, value) of every register write, oldest first
        self._reset()

    # -- physical side -------------------------------------------------------------
    def set_state(self, bus_volts, current_amps):
        """Set the bus voltage [V] and the shunt current [A]; converts in continuous mode."""
        self.bus_volts = float(bus_volts)
        self.current_amps = float(current_amps)
        if self._mode() in CONTINUOUS_MODES:
            self._convert()

    def set_power(self, power_w, bus_volts):
        """Set the load to ``power_w`` [W] at ``bus_volts`` [V] (zero volts means zero power)."""
        current = power_w / bus_volts if bus_volts else 0.0
        self.set_state(bus_volts, current)

    # -- register side ----------------------------------------------------------------
    def read_register(self, reg):
        """The 16-bit register ``reg`` as the chip would send it."""
        if reg == CONFIG:
            return self._config
        if reg == SHUNT_VOLTAGE:
            return _to_u16(self._shunt)
        if reg == BUS_VOLTAGE:
            return (self._bus << 3) | (self._cnvr << 1) | int(self._overflow())
        if reg == POWER:
            self._cnvr = 0
            return self._power_register()
        if reg == CURRENT:
            return _to_u16(self._current_register())
        if reg == CALIBRATION:
            return self._calibration
        return 0

    def write_register(self, reg, value):
        """Write the 16-bit ``value`` to register ``reg``; read-only registers ignore it."""
        value &= 0xFFFF
        self.writes.append((reg, value))
        if reg == CONFIG:
            if value & 0x8000:
                self._reset()
                return
            self._config = value
            self._cnvr = 0
            if self._mode() in TRIGGERED_MODES or self._mode() in CONTINUOUS_MODES:
                self._convert()
        elif reg == CALIBRATION:
            self._calibration = value & 0xFFFE

    # -- datasheet arithmetic ------------------------------------------------------
    def _reset(self):
        self._config = CONFIG_RESET
        self._calibration = 0
        self._shunt = 0
        self._bus = 0
        self._cnvr = 0
        self._shunt_clipped = False
        self._convert()

    def _mode(self):
        return self._config & 0x7

    def _pga_counts(self):
        return 4000 << ((self._config >> 11) & 0x3)  # 40 mV x 2**PG in 10 uV counts

    def _convert(self):
        mode = self._mode()
        if mode in (1, 3, 5, 7):
            counts = round(self.current_amps * self.shunt_ohms / SHUNT_LSB_V)
            limit = self._pga_counts()
            self._shunt_clipped = abs(counts) > limit
            self._shunt = max(-limit, min(limit, counts))
        if mode in (2, 3, 6, 7):
            full_scale = 32.0 if self._config & 0x2000 else 16.0
            counts = round(max(0.0, self.bus_volts) / BUS_LSB_V)
            self._bus = min(counts, round(full_scale / BUS_LSB_V), 0x1FFF)
        if mode not in (0, 4):
            self._cnvr = 1

    def _current_register(self):
        return int(self._shunt * self._calibration / 4096)  # truncates toward zero

    def _power_register(self):
        return min(abs(self._current_register()) * self._bus // 5000, 0xFFFF)

    def _overflow(self):
        current = self._current_register()
        return (
            self._shunt_clipped
            or not -0x8000 <= current <= 0x7FFF
            or abs(current) * self._bus // 5000 > 0xFFFF
        )


class FakeI2C:
    """A ``busio.I2C`` stand-in holding fake devices by address.

    ``fail(n)`` makes the next ``n`` transfers raise ``OSError(EIO)``, as a board does on a
    NACK or a bus glitch; ``fail(-1)`` fails every transfer until ``fail(0)``.
    """

    def __init__(self, *devices):
        self.devices = {device.address: device for device in devices}
        self.transfers = 0
        self._locked = False
        self._failures = 0
        self._pointer = {}

    def fail(self, count):
        """Fail the next ``count`` transfers (``-1``: all of them) with ``OSError``."""
        self._failures = count

    # -- busio.I2C API ------------------------------------------------------------------
    def try_lock(self):
        if self._locked:
            return False
        self._locked = True
        return True

    def unlock(self):
        self._locked = False

    def scan(self):
        return sorted(self.devices)

    def writeto(self, address, buffer, *, start=0, end=None):
        data = bytes(buffer[start : len(buffer) if end is None else end])
        device = self._transfer(address)
        if data:
            self._pointer[address] = data[0]
        if len(data) >= 3:
            device.write_register(data[0], (data[1] << 8) | data[2])

    def readfrom_into(self, address, buffer, *, start=0, end=None):
        device = self._transfer(address)
        end = len(buffer) if end is None else end
        value = device.read_register(self._pointer.get(address, 0))
        word = bytes(((value >> 8) & 0xFF, value & 0xFF))
        for i in range(start, end):
            buffer[i] = word[(i - start) % 2]

    def writeto_then_readfrom(
        self, address, out_buffer, in_buffer, *, out_start=0, out_end=None, in_start=0, in_end=None
    ):
        # The driver passes one buffer as both; take the pointer before the read overwrites it.
        out = bytes(out_buffer[out_start : len(out_buffer) if out_end is None else out_end])
        self.writeto(address, out)
        self.readfrom_into(address, in_buffer, start=in_start, end=in_end)

    def _transfer(self, address):
        if not self._locked:
            raise RuntimeError("fake I2C: bus not locked")
        if self._failures:
            self._failures -= 1 if self._failures > 0 else 0
            raise OSError(errno.EIO, "fake I2C: injected bus error")
        self.transfers += 1
        if address not in self.devices:
            raise OSError(errno.ENODEV, "fake I2C: no device at 0x%02x" % address)
        return self.devices[address]
