"""Settings parsing, the HTTP adapter, and the board files (code.py, boot.py, settings.toml)."""

import pathlib
import py_compile
import tomllib

import pytest

from greenminer import config
from greenminer.net import ACCEPTED, REJECTED, RETRY, HttpNet, classify

DEVICE = pathlib.Path(__file__).resolve().parents[2] / "device"


def test_parse__strings_and_defaults():
    s = config.parse({"CHAIN_ID": "31337", "REGISTRY": "0x" + "11" * 20, "GENESIS": 7,
                      "POW_TARGET": "0x0100" + "00" * 30, "DEVICE_PRIVATE_KEY": "0x" + "01" * 32})
    assert s["CHAIN_ID"] == 31337 and s["POW_TARGET"] == 2**248 and s["SAMPLE_SECONDS"] == 300
    assert s["DEVICE_PRIVATE_KEY"] == int("01" * 32, 16)
    assert config.parse(s) == s  # parsing typed settings again changes nothing


@pytest.mark.parametrize("missing", config.REQUIRED)
def test_parse__required_missing__named(missing):
    raw = {"CHAIN_ID": 1, "REGISTRY": "0x" + "11" * 20, "GENESIS": 0}
    raw[missing] = ""
    with pytest.raises(ValueError, match=missing):
        config.parse(raw)


def test_parse__not_a_number__named():
    with pytest.raises(ValueError, match="SAMPLE_SECONDS"):
        config.parse({"CHAIN_ID": 1, "REGISTRY": "0x", "GENESIS": 0, "SAMPLE_SECONDS": "five"})


def test_from_env__reads_every_setting():
    raw = config.from_env({"CHAIN_ID": 5}.get)
    assert set(raw) == set(config.DEFAULTS) and raw["CHAIN_ID"] == 5


@pytest.mark.parametrize(
    "status, verdict",
    [(200, ACCEPTED), (202, ACCEPTED), (400, REJECTED), (409, REJECTED), (422, REJECTED),
     (408, RETRY), (429, RETRY), (500, RETRY), (503, RETRY)],
)
def test_classify__status__verdict(status, verdict):
    assert classify(status) == verdict


class FakeResponse:
    def __init__(self, status, text):
        self.status_code, self.text, self.closed = status, text, False

    def close(self):
        self.closed = True


class FakeSession:
    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def post(self, url, json=None, timeout=None):
        self.calls.append((url, json))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_http_net__posts_json_to_batches_and_closes():
    response = FakeResponse(202, "queued")
    session = FakeSession(response)
    assert HttpNet(session, "http://gw:8000/").post({"seq": 1}) == (202, "queued")
    assert session.calls == [("http://gw:8000/batches", {"seq": 1})] and response.closed


def test_http_net__library_error__becomes_oserror():
    with pytest.raises(OSError, match="refused"):
        HttpNet(FakeSession(RuntimeError("refused")), "http://gw").post({})


@pytest.mark.parametrize("name", ["code.py", "boot.py"])
def test_board_file__compiles(name, tmp_path):
    py_compile.compile(str(DEVICE / name), cfile=str(tmp_path / (name + "c")), doraise=True)


def test_settings_toml__parses_with_config_once_filled_in():
    raw = tomllib.loads((DEVICE / "settings.toml").read_text())
    assert set(raw) - {"CIRCUITPY_WIFI_SSID", "CIRCUITPY_WIFI_PASSWORD"} <= set(config.DEFAULTS)
    s = config.parse(raw)
    assert s["POW_TARGET"] == 2**248 and s["DEVICE_PRIVATE_KEY"] is None

