"""
The device's health report, off-chain: its signed message and its signer.

A device posts its counters and uptime with each batch (``greenminer.health`` on the board;
docs/protocol.md, "Health report"), signed with EIP-191 ``personal_sign`` over
``HEALTH_TAG ‖ batch digest ‖ value_1 ‖ … ‖ value_n`` (8 bytes each, big-endian, in
``HEALTH_FIELDS`` order). Written from the document with eth-account, independent of the
device's encoder; tests, benchmarks and stand-in devices sign with :func:`sign_health`.
"""

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_defunct

from greenminer.protocol import HEALTH_FIELDS, HEALTH_TAG
from offchain.protocol.batch import recover_signer


def health_message(batch_digest, values):
    """The bytes a device signs: ``HEALTH_TAG ‖ batch digest ‖`` each value of ``HEALTH_FIELDS`` as 8 bytes."""
    return (HEALTH_TAG.encode() + bytes(batch_digest)
            + b"".join(values[name].to_bytes(8, "big") for name in HEALTH_FIELDS))


def health_hash(batch_digest, values):
    """The EIP-191 (``personal_sign``) hash of :func:`health_message`."""
    return _hash_eip191_message(encode_defunct(primitive=health_message(batch_digest, values)))


def health_signer(batch_digest, values, signature):
    """The checksummed address that signed a report for the batch ``batch_digest``, or ``None``."""
    return recover_signer(health_hash(batch_digest, values), bytes(signature))


def sign_health(key, batch_digest, values):
    """A ``health`` object (the values and ``signature``, ``0x`` hex) signed with ``key``, as a device makes it."""
    signed = Account.sign_message(encode_defunct(primitive=health_message(batch_digest, values)), key)
    report = {name: values[name] for name in HEALTH_FIELDS}
    report["signature"] = "0x" + bytes(signed.signature).hex()
    return report

