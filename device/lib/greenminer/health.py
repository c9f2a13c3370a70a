"""The device's health report: its counters and uptime, signed for the batch they come with.

Posted as the batch's ``health`` field (docs/protocol.md, "Health report"); not part of the
EIP-712 batch, so the registry never sees it. The signature is EIP-191 ``personal_sign`` by
the device key over ``HEALTH_TAG ‖ batch digest ‖ value_1 ‖ … ‖ value_n`` (each value 8 bytes,
big-endian, in ``protocol.HEALTH_FIELDS`` order): the gateway checks that the key that signed
the batch signed these values for this batch.
"""

from . import batch as _batch
from . import protocol as _protocol
from . import secp256k1 as _secp256k1

_U64 = 1 << 64
_TAG = _protocol.HEALTH_TAG.encode()
_EIP191 = b"\x19Ethereum Signed Message:\n"


def health_message(digest32, values):
    """The signed bytes of a report.

    Parameters
    ----------
    digest32 : bytes or str
        The EIP-712 digest of the batch the report comes with.
    values : dict
        An int below 2**64 for every name of ``protocol.HEALTH_FIELDS``.

    Returns
    -------
    bytes
        ``HEALTH_TAG ‖ digest ‖`` 8 bytes per value.
    """
    words = b"".join(_batch._uint(values[name], _U64, name).to_bytes(8, "big")
                     for name in _protocol.HEALTH_FIELDS)
    return _TAG + _batch.as_bytes(digest32, 32) + words


def health_hash(digest32, values):
    """``keccak256("\\x19Ethereum Signed Message:\\n" ‖ len ‖ message)``: what the device signs."""
    message = health_message(digest32, values)
    return _batch.keccak256(_EIP191 + str(len(message)).encode() + message)


def sign_health(priv, digest32, values):
    """The ``health`` object of docs/protocol.md: the values and ``signature`` (``"0x"`` + 65 bytes)."""
    v, r, s = _secp256k1.sign(health_hash(digest32, values), priv)
    report = dict((name, values[name]) for name in _protocol.HEALTH_FIELDS)
    report["signature"] = _batch.to_hex(_batch.signature_bytes(v, r, s))
    return report
