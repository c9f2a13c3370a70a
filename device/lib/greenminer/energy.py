"""Energy and time arithmetic of the device, in integers (nothing lost to rounding).

Energy accumulates in mWh with an exact remainder in units of 1/7200 mWh (= 0.5 mW·s), the
resolution of a trapezoid with integer powers [mW] and durations [s]:
``(p0 + p1) / 2 [mW] x dt [s] / 3600 [s/h] = (p0 + p1) x dt / 7200 [mWh]``.
"""

from .protocol import EPOCH_SECONDS, MAX_READINGS

REMAINDER_PER_MWH = 7200  # remainder units in one mWh


def trapezoid(total_mwh, remainder, p0_mw, p1_mw, dt_s):
    """Add the trapezoid between two samples to a running total.

    Parameters: ``total_mwh`` [mWh], ``remainder`` [1/7200 mWh] (0 <= remainder < 7200),
    ``p0_mw``, ``p1_mw`` [mW] (>= 0), ``dt_s`` [s] (>= 0). Returns ``(total_mwh, remainder)``;
    the total never decreases and ``total + remainder / 7200`` is exact.
    """
    if p0_mw < 0 or p1_mw < 0 or dt_s < 0:
        raise ValueError("energy: negative power or duration")
    acc = remainder + (p0_mw + p1_mw) * dt_s
    return total_mwh + acc // REMAINDER_PER_MWH, acc % REMAINDER_PER_MWH


def epoch_of(ts, genesis):
    """The epoch holding ``ts`` [s]; epoch e is ``[genesis + 3600 e, genesis + 3600 (e+1))``."""
    return (ts - genesis) // EPOCH_SECONDS


def slot_of(ts, genesis, period):
    """The sample slot holding ``ts`` [s]; slot k is ``[genesis + T k, genesis + T (k+1))``.

    ``period`` T [s].
    """
    return (ts - genesis) // period


def check_period(period):
    """Raise ``ValueError`` unless ``period`` [s] tiles an epoch with at most 12 slots."""
    if period <= 0 or EPOCH_SECONDS % period or EPOCH_SECONDS // period > MAX_READINGS:
        raise ValueError("energy: sample period must divide 3600 s into at most 12 slots")
