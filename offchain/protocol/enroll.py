"""
Device enrollments, off-chain: the EIP-712 reference, signing with a key, and the JSON form.

A device enrolls with the wallet that applies for it by signing
``Enrollment(address applicant, uint128 startTotal, uint64 startTime)`` for the MinerSBT
(``greenminer.enroll`` on the device; docs/protocol.md, "Enrollment"). The miner command
reads that JSON object from a file and sends ``MinerSBT.apply`` with it; tests, benchmarks
and the demo's simulated devices sign with :func:`sign_enrollment`.
"""

import json
from typing import NamedTuple

from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from eth_keys import keys
from eth_utils import to_checksum_address

from greenminer.protocol import DOMAIN_NAME, DOMAIN_VERSION, ENROLLMENT_TYPE, UINT64_MAX
from offchain.protocol.batch import eip712_types, recover_signer

MAX_START_TOTAL_MWH = 2**64  # MinerSBT's bound on the enrollment's total [mWh]
ENROLLMENT_TTL = 86_400  # [s] MinerSBT takes an enrollment for a day after its time

ENROLLMENT_TYPES = eip712_types(ENROLLMENT_TYPE)


class Enrollment(NamedTuple):
    """A device's signed enrollment: who applies for it, and where its measurements start."""

    device: str  # checksummed address
    pubkey: bytes  # 64 bytes x ‖ y
    applicant: str  # checksummed address
    start_total_mwh: int  # [mWh]
    start_time: int  # [s]
    signature: bytes  # 65 bytes r ‖ s ‖ v

    def apply_args(self, capacity_w, lat_udeg, lon_udeg, tilt_deg, azimuth_deg, uri):
        """The arguments of ``MinerSBT.apply`` for this enrollment, in order."""
        return (self.device, self.pubkey, capacity_w, lat_udeg, lon_udeg, tilt_deg, azimuth_deg, uri,
                self.start_total_mwh, self.start_time, self.signature)


def typed_data(chain_id, sbt, applicant, start_total_mwh, start_time):
    """An enrollment as EIP-712 typed data in eth-account's ``full_message`` form."""
    return {
        "types": ENROLLMENT_TYPES,
        "primaryType": "Enrollment",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": to_checksum_address(sbt),
        },
        "message": {"applicant": to_checksum_address(applicant), "startTotal": start_total_mwh,
                    "startTime": start_time},
    }


def sign_enrollment(key, chain_id, sbt, applicant, start_total_mwh, start_time):
    """
    Sign an enrollment with a device key (eth-account).

    Parameters
    ----------
    key : str or bytes or int
        The device's private key.
    chain_id : int
    sbt : str
        The MinerSBT's address.
    applicant : str
        The wallet that will apply.
    start_total_mwh : int [mWh]
    start_time : int [s]

    Returns
    -------
    Enrollment
    """
    if isinstance(key, int):
        key = key.to_bytes(32, "big")
    account = Account.from_key(key)
    signed = account.sign_typed_data(full_message=typed_data(chain_id, sbt, applicant, start_total_mwh, start_time))
    return Enrollment(account.address, account._key_obj.public_key.to_bytes(), to_checksum_address(applicant),
                      start_total_mwh, start_time, bytes(signed.signature))


def enrollment_digest(chain_id, sbt, applicant, start_total_mwh, start_time):
    """The 32-byte digest the device signs (``MinerSBT.enrollment_digest``)."""
    message = encode_typed_data(full_message=typed_data(chain_id, sbt, applicant, start_total_mwh, start_time))
    return _hash_eip191_message(message)


def _hex_bytes(obj, name, size):
    value = obj.get(name)
    try:
        raw = bytes.fromhex(value[2:]) if isinstance(value, str) and value[:2] == "0x" else None
    except ValueError:
        raw = None
    if raw is None or len(raw) != size:
        raise ValueError(f"enrollment: field {name!r} must be 0x and {size} bytes hex")
    return raw


def parse_enrollment(obj, chain_id=None, sbt=None):
    """
    An :class:`Enrollment` from its JSON object (as ``greenminer.enroll.sign_enrollment``
    returns it), checked: the public key is the device's, the signature recovers to the
    device, and, when given, the chain id and the MinerSBT are the ones it was signed for.

    Raises ``ValueError`` with one line naming the first problem.
    """
    if not isinstance(obj, dict):
        raise ValueError("enrollment: expected a JSON object")
    pubkey = _hex_bytes(obj, "pubkey", 64)
    device = to_checksum_address(_hex_bytes(obj, "device", 20))
    applicant = to_checksum_address(_hex_bytes(obj, "applicant", 20))
    signature = _hex_bytes(obj, "signature", 65)
    numbers = {"start_total_mwh": MAX_START_TOTAL_MWH + 1, "start_time": UINT64_MAX + 1, "chain_id": 2**256}
    values = {}
    for name, bound in numbers.items():
        value = obj.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < bound:
            raise ValueError(f"enrollment: field {name!r} must be an integer in [0, {bound})")
        values[name] = value
    if keys.PublicKey(pubkey).to_checksum_address() != device:
        raise ValueError("enrollment: the public key is not the device's")
    signed_sbt = to_checksum_address(_hex_bytes(obj, "sbt", 20))
    if chain_id is not None and values["chain_id"] != chain_id:
        raise ValueError(f"enrollment: signed for chain {values['chain_id']}, this is chain {chain_id}")
    if sbt is not None and signed_sbt != to_checksum_address(sbt):
        raise ValueError(f"enrollment: signed for the MinerSBT {signed_sbt}, this system's is {sbt}")
    digest = enrollment_digest(values["chain_id"], signed_sbt, applicant, values["start_total_mwh"],
                               values["start_time"])
    if recover_signer(digest, signature) != device:
        raise ValueError("enrollment: not signed by the device")
    return Enrollment(device, pubkey, applicant, values["start_total_mwh"], values["start_time"], signature)


def read_enrollment(path, chain_id=None, sbt=None):
    """Read and check an enrollment file; ``ValueError`` names the file and the problem."""
    try:
        obj = json.loads(open(path, encoding="utf-8").read())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"{path}: not a readable JSON file ({error})") from None
    try:
        return parse_enrollment(obj, chain_id, sbt)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None



def send_application(chain, sbt, wallet, key, capacity_w, lat_udeg, lon_udeg, uri, start_total_mwh=0,
                     start_time=None, tilt_deg=30, azimuth_deg=180):
    """
    Sign the device ``key``'s enrollment for ``wallet`` and apply with it (one transaction).

    For wallets that hold their device's key themselves: the simulated fleets of the demo,
    the tests and the benchmarks. The enrollment's time defaults to the latest block's
    (the device's total ``start_total_mwh`` [mWh] at that time); the plane to a roof of
    30° facing south.

    Returns
    -------
    The ``MinerSBT.apply`` receipt.
    """
    if start_time is None:
        start_time = chain.blocks.head.timestamp
    enrollment = sign_enrollment(key, chain.chain_id, sbt.address, wallet.address, start_total_mwh, start_time)
    return sbt.apply(*enrollment.apply_args(capacity_w, lat_udeg, lon_udeg, tilt_deg, azimuth_deg, uri),
                     sender=wallet)
