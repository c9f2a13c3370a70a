"""
Meter statements for the energy market, off-chain: the EIP-712 reference and the JSON form.

A statement says how much energy [mWh] moved over a period [s]: sent into a storage node
(signed by the miner's device), received by the node (its meter), or delivered out for a
request (its meter). Each names its counterpart, ``party``: the miner's device (sent,
received) or the request's buyer (delivered out). Devices and meters sign with ``greenminer.meter``; this module is the
independent reference (eth-account's typed data) and reads the statements the miner and
node commands take as files (the JSON objects ``greenminer.meter.sign_statement`` returns).
"""

import json
from typing import NamedTuple

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from greenminer.protocol import DOMAIN_NAME, DOMAIN_VERSION, STATEMENT_TYPE, UINT64_MAX, UINT128_MAX
from offchain.protocol.batch import eip712_types

SENT, RECEIVED, DELIVERED_OUT = 0, 1, 2
KIND_NAMES = {SENT: "sent", RECEIVED: "received", DELIVERED_OUT: "delivered out"}

STATEMENT_TYPES = eip712_types(STATEMENT_TYPE)


class Statement(NamedTuple):
    """One signed meter statement: node, id, party (checksum address), period [s], energy [mWh],
    kind, 65-byte signature."""

    node: int
    id: int
    party: str
    period_start: int
    period_end: int
    energy_mwh: int
    kind: int
    signature: bytes


def typed_data(chain_id, storage, node, id_, party, period_start, period_end, energy_mwh, kind):
    """A statement as EIP-712 typed data in eth-account's ``full_message`` form.

    Parameters
    ----------
    chain_id : int
        EIP-155 chain id.
    storage : str
        The StorageNode contract (the domain's verifyingContract).
    node, id_ : int
        The node id; the delivery id (sent, received) or the request id (delivered out).
    party : str
        The miner's device (sent, received) or the request's buyer (delivered out).
    period_start, period_end : int
        The period [s].
    energy_mwh : int
        Energy [mWh].
    kind : int
        SENT, RECEIVED or DELIVERED_OUT.

    Returns
    -------
    dict
        ``types``, ``primaryType``, ``domain`` and ``message``.
    """
    return {
        "types": STATEMENT_TYPES,
        "primaryType": "MeterStatement",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(storage),
        },
        "message": {
            "node": node,
            "id": id_,
            "party": to_checksum_address(party),
            "periodStart": period_start,
            "periodEnd": period_end,
            "energy": energy_mwh,
            "kind": kind,
        },
    }


def _parse_statement(obj, kind):
    """A :class:`Statement` from its JSON object; ``ValueError`` names the first bad field."""
    if not isinstance(obj, dict):
        raise ValueError("meter: a statement is a JSON object")
    bounds = {"node": 2**256, "id": 2**256, "period_start": UINT64_MAX + 1, "period_end": UINT64_MAX + 1,
              "energy_mwh": UINT128_MAX + 1, "kind": 3}
    values = {}
    for name, bound in bounds.items():
        value = obj.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < bound:
            raise ValueError(f"meter: field {name!r} must be an integer in [0, {bound})")
        values[name] = value
    party = obj.get("party")
    if not (isinstance(party, str) and party.startswith("0x") and is_hex_address(party)
            and (party[2:] in (party[2:].lower(), party[2:].upper()) or is_checksum_address(party))):
        raise ValueError("meter: field 'party' must be a 0x address (20 bytes hex, checksum if mixed case)")
    values["party"] = to_checksum_address(party)
    if values["kind"] != kind:
        raise ValueError(f"meter: expected a {KIND_NAMES[kind]!r} statement, got {KIND_NAMES[values['kind']]!r}")
    signature = obj.get("signature", "")
    try:
        raw = bytes.fromhex(signature.removeprefix("0x")) if isinstance(signature, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != 65:
        raise ValueError("meter: field 'signature' must be 0x and 65 bytes hex (r ‖ s ‖ v)")
    return Statement(signature=raw, **values)


def read_statement(path, kind):
    """Read one statement of ``kind`` from a JSON file (as ``greenminer.meter.sign_statement`` writes it).

    Raises ``ValueError`` with one line naming the file and the problem.
    """
    try:
        obj = json.loads(open(path, encoding="utf-8").read())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON file ({error})") from None
    try:
        return _parse_statement(obj, kind)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
