"""offchain.protocol.meter: the meter statement files the miner and node commands read."""

import json

import pytest
from eth_utils import to_checksum_address

from greenminer import meter as device_meter
from offchain.protocol import meter

STORAGE = "0x" + "5e" * 20
KEY = 0x3E7E_0001  # the node's meter
DEVICE = "0x" + "d1" * 20  # the miner's device the meter received from


def _write(tmp_path, obj, name="statement.json"):
    path = tmp_path / name
    path.write_text(json.dumps(obj) if not isinstance(obj, str) else obj)
    return path


def _signed(kind=meter.RECEIVED, energy=93_500):
    return device_meter.sign_statement(KEY, 1337, STORAGE, 1, 101, DEVICE, 1_751_328_000, 1_751_414_400, energy,
                                       kind)


def test_read_statement__what_the_meter_signs__round_trips(tmp_path):
    obj = _signed()
    s = meter.read_statement(_write(tmp_path, obj), meter.RECEIVED)
    assert (s.node, s.id, s.party, s.period_start, s.period_end, s.energy_mwh, s.kind) == (
        1, 101, to_checksum_address(DEVICE), 1_751_328_000, 1_751_414_400, 93_500, meter.RECEIVED)
    assert s.signature == bytes.fromhex(obj["signature"][2:]) and len(s.signature) == 65


@pytest.mark.parametrize("change, message", [
    ({"id": -1}, "field 'id' must be an integer"),
    ({"node": True}, "field 'node' must be an integer"),
    ({"energy_mwh": 2**128}, "field 'energy_mwh' must be an integer"),
    ({"period_end": "1751414400"}, "field 'period_end' must be an integer"),
    ({"kind": 0}, "expected a 'received' statement, got 'sent'"),
    ({"kind": 7}, "field 'kind' must be an integer"),
    ({"signature": "0x1234"}, "field 'signature' must be 0x and 65 bytes hex"),
    ({"signature": "0x" + "zz" * 65}, "field 'signature' must be 0x and 65 bytes hex"),
    ({"signature": None}, "field 'signature' must be 0x and 65 bytes hex"),
    ({"party": None}, "field 'party' must be a 0x address"),
    ({"party": "d1" * 20}, "field 'party' must be a 0x address"),
    ({"party": "0x" + "d1" * 19}, "field 'party' must be a 0x address"),
    ({"party": "0x" + "zz" * 20}, "field 'party' must be a 0x address"),
    ({"party": to_checksum_address(DEVICE).swapcase().replace("0X", "0x")}, "field 'party' must be a 0x address"),
])
def test_read_statement__bad_field__names_the_file_and_the_field(tmp_path, change, message):
    path = _write(tmp_path, {**_signed(), **change})
    with pytest.raises(ValueError) as error:
        meter.read_statement(path, meter.RECEIVED)
    assert str(error.value).startswith(f"{path}: meter: ") and message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_read_statement__not_a_statement_object__refused(tmp_path, text):
    with pytest.raises(ValueError, match="statement.json"):
        meter.read_statement(_write(tmp_path, text), meter.SENT)


def test_read_statement__missing_file__refused(tmp_path):
    with pytest.raises(ValueError, match="not a readable JSON file"):
        meter.read_statement(tmp_path / "absent.json", meter.RECEIVED)


def test_read_statement__checksummed_party__accepted(tmp_path):
    obj = {**_signed(), "party": to_checksum_address(DEVICE)}
    assert meter.read_statement(_write(tmp_path, obj), meter.RECEIVED).party == to_checksum_address(DEVICE)


def test_sign_statement__bad_kind_or_range__refused():
    with pytest.raises(ValueError, match="meter: kind"):
        _signed(kind=3)
    with pytest.raises(ValueError):
        _signed(energy=2**128)


def test_sign_statement__sent_naming_another_device__refused():
    with pytest.raises(ValueError, match="meter: a sent statement names its own device as party"):
        _signed(kind=meter.SENT)
