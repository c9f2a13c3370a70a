"""Settings of a miner: names as in ``settings.toml``, parsed into typed values.

CircuitPython's ``os.getenv`` returns ints for bare TOML integers and strings for quoted
values; numbers too big for a TOML integer (``POW_TARGET``) are written as quoted decimal
or ``0x`` hex strings. Every value may come in either form.
"""

REQUIRED = ("CHAIN_ID", "REGISTRY", "GENESIS")
DEFAULTS = {
    "DEVICE_PRIVATE_KEY": None,  # 0x + 64 hex digits; code.py hands it to the Miner
    "CHAIN_ID": None,
    "REGISTRY": None,  # MeasurementRegistry address, 0x + 40 hex digits
    "GENESIS": None,  # [s] start of epoch 0, registry.genesis()
    "GATEWAY_URL": "",  # base URL; batches go to GATEWAY_URL + "/batches"
    "POW_TARGET": 1 << 248,  # about 2**8 expected hashes per batch
    "POW_SLICE": 16,  # nonces tried per tick, between samples
    "SAMPLE_SECONDS": 300,  # [s] divides 3600 into at most 12 slots
    "SENSOR_RETRY_SECONDS": 10,  # [s] wait after a failed read before trying again
    "POST_RETRY_SECONDS": 60,  # [s] first wait after a network error; doubles up to 3600
    "INA219_CALIBRATION": "32V_2A",  # a preset of the Adafruit driver, see sensor.CALIBRATIONS
    "INA219_ADDRESS": 0x40,
    "STORAGE_DIR": "/data",  # on the board's flash, which boot.py makes writable
    "APPLICANT": "",  # the miner's wallet, 0x + 40 hex digits: code.py writes its enrollment
    "SBT": "",  # MinerSBT address, 0x + 40 hex digits (the enrollment's EIP-712 domain)
}
INTS = (
    "CHAIN_ID",
    "GENESIS",
    "POW_TARGET",
    "POW_SLICE",
    "SAMPLE_SECONDS",
    "SENSOR_RETRY_SECONDS",
    "POST_RETRY_SECONDS",
    "INA219_ADDRESS",
)


def parse(raw):
    """Typed settings from ``raw`` (a dict of ints/strings); defaults filled in.

    ``DEVICE_PRIVATE_KEY`` becomes an int (or stays None). Raises ``ValueError`` naming a missing or
    malformed setting.
    """
    out = {}
    for name, default in DEFAULTS.items():
        value = raw.get(name)
        if value is None or value == "":
            if name in REQUIRED:
                raise ValueError("config: %s is required" % name)
            value = default
        if name in INTS and isinstance(value, str):
            try:
                value = int(value, 0)
            except ValueError:
                raise ValueError("config: %s must be an integer, got %r" % (name, value)) from None
        out[name] = value
    key = out["DEVICE_PRIVATE_KEY"]
    if isinstance(key, str):
        out["DEVICE_PRIVATE_KEY"] = int(key, 16)
    return out


def from_env(getenv):
    """Raw settings read one by one with ``getenv`` (``os.getenv`` on the board)."""
    return {name: getenv(name) for name in DEFAULTS}
