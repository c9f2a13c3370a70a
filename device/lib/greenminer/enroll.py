"""The device's enrollment: the device names the wallet that applies for it.

A miner's wallet applies for a soulbound token with the device's public key
(``MinerSBT.apply``). So that nobody who has only seen that key (every batch reveals it)
can apply first, the device signs the applicant's address, with its cumulative total and
the time of that total, as EIP-712 typed data for the MinerSBT:

    Enrollment(address applicant, uint128 startTotal, uint64 startTime)

The total and time are where the device's measurements start on chain: its first batch
continues from them (docs/protocol.md, "Enrollment"). The enrollment is good for one day
after its time.

Units: time in s since 1970 (UTC), energy in mWh.
"""

from . import batch as _batch
from . import protocol as _protocol
from . import secp256k1 as _secp256k1

ENROLLMENT_TYPEHASH = _batch.keccak256(_protocol.ENROLLMENT_TYPE.encode())

_U64 = 1 << 64
_U128 = 1 << 128


def enrollment_digest(chain_id, sbt, applicant, start_total_mwh, start_time):
    """EIP-712 digest of an Enrollment, as ``MinerSBT.enrollment_digest`` computes it.

    Parameters
    ----------
    chain_id : int
        EIP-155 chain id.
    sbt : bytes or str
        The MinerSBT contract's address (the domain's verifyingContract).
    applicant : bytes or str
        The wallet that applies (20 bytes or ``"0x"`` hex).
    start_total_mwh : int
        The device's cumulative energy [mWh], below 2**128.
    start_time : int
        Time of that total [s], below 2**64.

    Returns
    -------
    bytes
        32 bytes: what the device signs.
    """
    struct = _batch.keccak256(
        ENROLLMENT_TYPEHASH + bytes(12) + _batch.as_bytes(applicant, 20)
        + _batch._word(_batch._uint(start_total_mwh, _U128, "start_total_mwh"))
        + _batch._word(_batch._uint(start_time, _U64, "start_time"))
    )
    return _batch.digest(_batch.domain_separator(chain_id, sbt), struct)


def sign_enrollment(priv, chain_id, sbt, applicant, start_total_mwh, start_time):
    """Sign an enrollment with the device key.

    Parameters
    ----------
    priv : int
        The device's private key.
    chain_id, sbt, applicant, start_total_mwh, start_time
        As for ``enrollment_digest``.

    Returns
    -------
    dict
        The JSON object of docs/protocol.md that ``ape run miner apply`` reads:
        ``device`` and ``pubkey`` (``"0x"`` hex, 20 and 64 bytes), ``applicant``,
        ``chain_id``, ``sbt``, ``start_total_mwh``, ``start_time`` and ``signature``
        (``"0x"`` + 65 bytes ``r ‖ s ‖ v``).
    """
    dig = enrollment_digest(chain_id, sbt, applicant, start_total_mwh, start_time)
    v, r, s = _secp256k1.sign(dig, priv)
    pub = _secp256k1.public_key(priv)
    return {
        "device": _batch.to_hex(_secp256k1.address(pub)),
        "pubkey": _batch.to_hex(pub),
        "applicant": _batch.to_hex(_batch.as_bytes(applicant, 20)),
        "chain_id": chain_id,
        "sbt": _batch.to_hex(_batch.as_bytes(sbt, 20)),
        "start_total_mwh": start_total_mwh,
        "start_time": start_time,
        "signature": _batch.to_hex(_batch.signature_bytes(v, r, s)),
    }
