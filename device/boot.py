"""Runs once at power-up: make the flash writable by code.py (the miner's state lives there).

While ``code.py`` may write, the computer sees the CIRCUITPY drive read-only. To update the
code, hold the board's BOOT/user button while it resets: the drive then stays writable
from USB and the miner cannot save its state until the next plain reset.
"""

import board
import digitalio
import storage


def button_held():
    pin = getattr(board, "BUTTON", None) or getattr(board, "BOOT0", None)
    if pin is None:
        return False
    button = digitalio.DigitalInOut(pin)
    button.switch_to_input(pull=digitalio.Pull.UP)
    held = not button.value
    button.deinit()
    return held


if not button_held():
    storage.remount("/", readonly=False)
