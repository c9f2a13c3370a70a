"""greenminer.energy: exact trapezoids in integers, epochs and slots."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from greenminer import energy


@pytest.mark.parametrize(
    "p0, p1, dt, expected",
    [
        (1_000, 2_000, 300, (125, 0)),  # 1.5 W x 300 s = 450 J = 125 mWh
        (12_000, 12_000, 300, (1_000, 0)),  # 12 W for 5 min = 1 Wh
        (7, 0, 300, (0, 2_100)),  # 3.5 mW x 300 s = 0.29166 mWh: all remainder
        (0, 0, 300, (0, 0)),
        (1, 2, 1, (0, 3)),
    ],
)
def test_trapezoid__hand_computed(p0, p1, dt, expected):
    assert energy.trapezoid(0, 0, p0, p1, dt) == expected


def test_trapezoid__remainders_add_up_to_whole_mwh():
    total, rem = 0, 0
    for _ in range(4):  # four times 2100/7200 mWh = 8400/7200 mWh
        total, rem = energy.trapezoid(total, rem, 7, 0, 300)
    assert (total, rem) == (1, 1_200)


@given(st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 7200)), min_size=1, max_size=50))
def test_trapezoid__pieces__exact_and_never_decreasing(steps):
    total, rem, exact, previous_power = 0, 0, Fraction(0), 0
    for power, dt in steps:
        before = total
        total, rem = energy.trapezoid(total, rem, previous_power, power, dt)
        exact += Fraction((previous_power + power) * dt, 7200)
        previous_power = power
        assert total >= before and 0 <= rem < 7200
    assert total + Fraction(rem, 7200) == exact


def test_trapezoid__negative_input__refused():
    with pytest.raises(ValueError):
        energy.trapezoid(0, 0, -1, 0, 300)


def test_epoch_and_slot__boundaries():
    g = 1_000_000
    assert energy.epoch_of(g, g) == 0
    assert energy.epoch_of(g + 3599, g) == 0
    assert energy.epoch_of(g + 3600, g) == 1
    assert energy.slot_of(g + 299, g, 300) == 0
    assert energy.slot_of(g + 300, g, 300) == 1


@pytest.mark.parametrize("period", [300, 600, 3600])
def test_check_period__tiles_epoch__accepted(period):
    energy.check_period(period)


@pytest.mark.parametrize("period", [0, 60, 240, 700])
def test_check_period__too_many_or_uneven_slots__refused(period):
    with pytest.raises(ValueError):
        energy.check_period(period)
