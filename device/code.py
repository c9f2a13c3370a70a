"""A green-energy miner on a CircuitPython board: wiring and the loop, nothing else.

Copy ``code.py``, ``boot.py``, ``settings.toml`` and ``lib/`` (with ``greenminer`` and the
Adafruit bundle libraries listed in docs/device.md) to the CIRCUITPY drive. The same
file also runs under CPython with Blinka (e.g. a Raspberry Pi), where the system keeps
the clock and ``requests`` posts.
"""

import os
import time

import board

from greenminer import config
from greenminer.miner import Miner
from greenminer.net import HttpNet
from greenminer.sensor import Sensor
from greenminer.store import Store

CLOCK_SYNC_SECONDS = 6 * 3600  # [s] between NTP synchronisations
ENROLLMENT_SECONDS = 3600  # [s] between rewrites of enrollment.json (good for a day)
MAX_SLEEP_SECONDS = 30  # [s] so that Wi-Fi and clock upkeep run between samples

try:  # CircuitPython with Wi-Fi
    import adafruit_connection_manager
    import adafruit_requests
    import wifi
except ImportError:  # CPython (Blinka), or a board without Wi-Fi
    wifi = None


def connect():
    """Join Wi-Fi (CIRCUITPY_WIFI_* settings); return (socket pool, HTTP session) or Nones."""
    if wifi is None:
        try:
            import requests  # CPython
        except ImportError:
            return None, None
        return None, requests.Session()
    if not wifi.radio.connected:
        wifi.radio.connect(os.getenv("CIRCUITPY_WIFI_SSID"), os.getenv("CIRCUITPY_WIFI_PASSWORD"))
    pool = adafruit_connection_manager.get_radio_socketpool(wifi.radio)
    ssl_context = adafruit_connection_manager.get_radio_ssl_context(wifi.radio)
    return pool, adafruit_requests.Session(pool, ssl_context)


def sync_clock(pool):
    """Set the RTC from NTP when adafruit_ntp is there; True when the clock was set."""
    try:
        import adafruit_ntp
        import rtc
    except ImportError:
        return pool is None  # CPython: the operating system keeps the time
    try:
        rtc.RTC().datetime = adafruit_ntp.NTP(pool, tz_offset=0).datetime
        return True
    except (OSError, RuntimeError, ValueError) as exc:
        print("clock: NTP failed:", exc)
        return False


def main():
    settings = config.parse(config.from_env(os.getenv))
    key = settings["DEVICE_PRIVATE_KEY"]
    if key is None:
        raise RuntimeError("settings.toml: DEVICE_PRIVATE_KEY is not set")
    sensor = Sensor(board.I2C(), settings["INA219_CALIBRATION"], settings["INA219_ADDRESS"])
    store = Store(settings["STORAGE_DIR"])
    pool, session = None, None
    try:
        pool, session = connect()
    except (OSError, RuntimeError) as exc:
        print("wifi:", exc)
    synced_at = time.monotonic() if sync_clock(pool) else None
    net = HttpNet(session, settings["GATEWAY_URL"]) if session and settings["GATEWAY_URL"] else None
    miner = Miner(sensor, key, time.time, store, net, settings, log=print, monotonic=time.monotonic)
    print("miner", miner.status())
    enrolled_at = None
    while True:
        if settings["APPLICANT"] and synced_at is not None and (
                enrolled_at is None or time.monotonic() - enrolled_at > ENROLLMENT_SECONDS):
            enrollment = miner.enrollment(settings["APPLICANT"], settings["SBT"])
            store.write_enrollment(enrollment)
            print("enrollment", enrollment)
            enrolled_at = time.monotonic()
        if wifi is not None and not wifi.radio.connected:
            try:
                connect()
            except (OSError, RuntimeError) as exc:
                print("wifi:", exc)
        if synced_at is None or time.monotonic() - synced_at > CLOCK_SYNC_SECONDS:
            if sync_clock(pool):
                synced_at = time.monotonic()
        try:
            wait = miner.tick()
        except Exception as exc:  # keep measuring; the state on flash stays consistent
            print("tick:", exc)
            wait = MAX_SLEEP_SECONDS
        time.sleep(min(wait, MAX_SLEEP_SECONDS))


main()
