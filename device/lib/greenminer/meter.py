"""Signed meter statements for the energy market: what a miner's device sent into a
storage node, what the node's meter received, what it delivered out for a request.

The one module that fixes the bytes a device or a node meter signs for the StorageNode
contract (docs/protocol.md, "Meter statement"); the contract hashes the same bytes and
the tests check the digest against eth-account. A node's meter board runs this same
library with its own key.

Every statement names its counterpart, ``party``: the miner's device for SENT (the device
itself) and RECEIVED (the device the meter received from), the request's buyer for
DELIVERED_OUT. So a meter's "received" pairs only with that device's "sent", and a
"delivered out" serves only that buyer's request.

Units: time in s since 1970 (UTC), energy in mWh.
"""

from . import batch as _batch
from . import protocol as _protocol
from . import secp256k1 as _secp256k1

STATEMENT_TYPEHASH = _batch.keccak256(_protocol.STATEMENT_TYPE.encode())

SENT = 0
"""Kind: energy sent into the node, signed by the miner's device (``party`` is the device)."""
RECEIVED = 1
"""Kind: energy received from the miner, signed by the node's meter (``party`` is the miner's device)."""
DELIVERED_OUT = 2
"""Kind: energy delivered out for a request (``id`` is the request id, ``party`` its buyer), signed by
the node's meter."""

_U64 = 1 << 64
_U128 = 1 << 128
_U256 = 1 << 256
_ZERO12 = bytes(12)


def statement_digest(chain_id, storage, node, id_, party, period_start, period_end, energy_mwh, kind):
    """EIP-712 digest of a MeterStatement, as ``StorageNode.statement_digest`` computes it.

    Parameters
    ----------
    chain_id : int
        EIP-155 chain id.
    storage : bytes or str
        The StorageNode contract's address (the domain's verifyingContract).
    node : int
        The node id.
    id_ : int
        The delivery id (kinds SENT, RECEIVED) or the request id (DELIVERED_OUT).
    party : bytes or str
        The counterpart (20 bytes or ``"0x"`` hex): the miner's device (SENT, RECEIVED)
        or the request's buyer (DELIVERED_OUT).
    period_start, period_end : int
        The period of the transfer [s].
    energy_mwh : int
        Energy [mWh], below 2**128.
    kind : int
        SENT, RECEIVED or DELIVERED_OUT.

    Returns
    -------
    bytes
        32 bytes: what is signed.
    """
    if kind not in (SENT, RECEIVED, DELIVERED_OUT):
        raise ValueError("meter: kind must be 0 (sent), 1 (received) or 2 (delivered out)")
    u = _batch._uint
    w = _batch._word
    struct = _batch.keccak256(
        STATEMENT_TYPEHASH + w(u(node, _U256, "node")) + w(u(id_, _U256, "id"))
        + _ZERO12 + _batch.as_bytes(party, 20)
        + w(u(period_start, _U64, "period_start")) + w(u(period_end, _U64, "period_end"))
        + w(u(energy_mwh, _U128, "energy_mwh")) + w(kind)
    )
    return _batch.digest(_batch.domain_separator(chain_id, storage), struct)


def sign_statement(priv, chain_id, storage, node, id_, party, period_start, period_end, energy_mwh, kind):
    """Sign one meter statement.

    Parameters
    ----------
    priv : int
        The device's (kind SENT) or the node meter's private key.
    chain_id, storage, node, id_, party, period_start, period_end, energy_mwh, kind
        As for ``statement_digest``. A device's SENT statement names the device itself.

    Returns
    -------
    dict
        The JSON object of docs/protocol.md: ``node``, ``id``, ``party`` (``"0x"``
        address), ``period_start``, ``period_end``, ``energy_mwh``, ``kind``, ``signer``
        (``"0x"`` address) and ``signature`` (``"0x"`` + 65 bytes ``r ‖ s ‖ v``).

    Raises
    ------
    ValueError
        On a field out of range, or a SENT statement whose party is not the signer.
    """
    signer = _secp256k1.address(_secp256k1.public_key(priv))
    party = _batch.as_bytes(party, 20)
    if kind == SENT and party != signer:
        raise ValueError("meter: a sent statement names its own device as party")
    dig = statement_digest(chain_id, storage, node, id_, party, period_start, period_end, energy_mwh, kind)
    v, r, s = _secp256k1.sign(dig, priv)
    return {
        "node": node,
        "id": id_,
        "party": _batch.to_hex(party),
        "period_start": period_start,
        "period_end": period_end,
        "energy_mwh": energy_mwh,
        "kind": kind,
        "signer": _batch.to_hex(signer),
        "signature": _batch.to_hex(_batch.signature_bytes(v, r, s)),
    }
