# pragma version ~=0.4.3
"""
@title MinerSBT: one soulbound token per admitted solar miner
@license MIT
@notice A miner's wallet applies with its device's secp256k1 public key,
        capacity, location and panel plane (tilt, azimuth), and the
        device's signed enrollment: the
        device signs the applicant's address with its total and the time
        of that total (EIP-712 `Enrollment`), so only the holder of the
        device key can name who applies for it. The DAO (this contract's
        owner) approves, which mints the token to the applicant, or rejects
        with a reason. The enrollment's total and time are where the
        device's measurements start (`device_start`, read by the registry
        for the device's first batch).
        Tokens are ERC-721 with ERC-5192: `locked` is always true and every
        transfer or approval path reverts. Per token the contract keeps the
        device key, capacity [W], location [micro-degrees], hardware status
        (set by the DAO) and the mining-pool record (online hours and
        expected hashes, written by the measurement registry).
@custom:security (1) A revoked device stays known (status REVOKED) so that
        it can neither submit nor apply again with the same key.
        (2) An enrollment is good for ENROLLMENT_TTL after its time, for
        this chain and this contract (EIP-712 domain) and for the applicant
        it names only.
"""

from snekmate.auth import ownable as ow
from snekmate.tokens import erc721

import secp256k1

initializes: ow
initializes: erc721[ownable := ow]

exports: (
    erc721.owner,
    erc721.transfer_ownership,
    erc721.balanceOf,
    erc721.ownerOf,
    erc721.getApproved,
    erc721.isApprovedForAll,
    erc721.name,
    erc721.symbol,
    erc721.tokenURI,
    erc721.totalSupply,
    erc721.tokenByIndex,
    erc721.tokenOfOwnerByIndex,
    erc721.eip712Domain,  # ERC-5267: the domain of the device's Enrollment signature
    # Deliberately not exported: transferFrom, safeTransferFrom, approve,
    # setApprovalForAll and permit (redefined below to revert), burn,
    # safe_mint and set_minter (minting and burning are the DAO's, through
    # approve_application and revoke), renounce_ownership (the system must
    # always have its DAO).
)


# ============================== EVENTS ==============================

event Locked:  # ERC-5192
    tokenId: uint256

event Applied:
    application_id: indexed(uint256)
    applicant: indexed(address)
    device: indexed(address)
    capacity_w: uint32
    lat_udeg: int32
    lon_udeg: int32
    tilt_deg: uint8
    azimuth_deg: uint16
    uri: String[MAX_URI]
    start_total_mwh: uint128
    start_time: uint64

event Approved:
    application_id: indexed(uint256)
    token_id: indexed(uint256)
    miner: indexed(address)

event Rejected:
    application_id: indexed(uint256)
    reason: String[MAX_REASON]

event HardwareStatusChanged:
    token_id: indexed(uint256)
    status: uint8

event Revoked:
    token_id: indexed(uint256)
    reason: String[MAX_REASON]

event RegistryChanged:
    registry: indexed(address)

event MiningRecorded:
    token_id: indexed(uint256)
    online_hours: uint64
    hashes: uint256


# ============================= CONSTANTS ============================

MAX_URI: constant(uint256) = 256
MAX_REASON: constant(uint256) = 128
MAX_CAPACITY_W: constant(uint32) = 1_000_000  # 1 MWp: far above a small miner
MAX_LAT_UDEG: constant(int32) = 90_000_000  # 90 degrees
MAX_LON_UDEG: constant(int32) = 180_000_000  # 180 degrees
MAX_TILT_DEG: constant(uint8) = 90  # a vertical wall
MAX_AZIMUTH_DEG: constant(uint16) = 359  # clockwise from north
ENROLLMENT_TTL: constant(uint256) = 86_400  # [s] an enrollment is good for a day after its time
MAX_START_TOTAL_MWH: constant(uint128) = 2**64  # [mWh] 18 TWh: far above any meter, keeps the registry's totals in 96 bits
ENROLLMENT_TYPEHASH: public(constant(bytes32)) = keccak256("Enrollment(address applicant,uint128 startTotal,uint64 startTime)")

# application status
PENDING: constant(uint8) = 1
APPROVED: constant(uint8) = 2
REJECTED: constant(uint8) = 3

# hardware status of a token
ACTIVE: constant(uint8) = 1
SUSPENDED: constant(uint8) = 2
REVOKED: constant(uint8) = 3

# ERC-165 identifiers
_INTERFACES: constant(bytes4[5]) = [
    0x01FFC9A7,  # ERC-165
    0x80AC58CD,  # ERC-721
    0x5B5E139F,  # ERC-721 metadata
    0x780E9D63,  # ERC-721 enumerable
    0xB45A3C0E,  # ERC-5192 (minimal soulbound)
]


# ============================== STORAGE =============================

struct Application:
    applicant: address
    device: address
    pubkey_x: uint256
    pubkey_y: uint256
    capacity_w: uint32  # W peak
    lat_udeg: int32  # micro-degrees
    lon_udeg: int32  # micro-degrees
    status: uint8
    token_id: uint256
    uri: String[MAX_URI]
    reason: String[MAX_REASON]

struct Miner:
    device: address
    pubkey_x: uint256
    pubkey_y: uint256
    capacity_w: uint32  # W peak
    lat_udeg: int32  # micro-degrees
    lon_udeg: int32  # micro-degrees
    status: uint8  # ACTIVE, SUSPENDED or REVOKED
    online_hours: uint64  # proven online hours (accepted batches)
    hashes: uint256  # expected proof-of-work hashes, sum of 2**256 / target

applications: public(HashMap[uint256, Application])
application_count: public(uint256)
pending_application: public(HashMap[address, uint256])  # device -> application id
miners: public(HashMap[uint256, Miner])  # token id -> attributes
token_of_device: public(HashMap[address, uint256])  # device -> token id (0: none)
registry: public(address)  # the measurement registry, writes mining records
# What `device_info` returns, packed in one slot so that the registry's
# per-batch read costs one cold SLOAD instead of three: token id (bits
# 0..191) | capacity [W] (192..223) | status (224..231). Kept in step with
# `token_of_device` and `miners` by `_pack_device_info`.
_device_info: HashMap[address, uint256]
# What a device's application declares besides its token's attributes: the
# enrollment (where its measurements start) and the panel plane, of its pending
# application or of its token (an application is made only while the device
# has no token): total [mWh] (bits 0..127) | time of that total [s]
# (128..191) | tilt [deg] (192..199) | azimuth [deg] (200..215).
_device_start: HashMap[address, uint256]
DS_TIME: constant(uint256) = 128
DS_TILT: constant(uint256) = 192
DS_AZIMUTH: constant(uint256) = 200


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__():
    ow.__init__()
    erc721.__init__("Green Energy Miner", "GEM", "", "GreenEnergyMiners", "1")


# ============================= EXTERNAL =============================

@external
def apply(
    device: address,
    pubkey: Bytes[64],
    capacity_w: uint32,
    lat_udeg: int32,
    lon_udeg: int32,
    tilt_deg: uint8,
    azimuth_deg: uint16,
    uri: String[MAX_URI],
    start_total_mwh: uint128,
    start_time: uint64,
    enrollment_signature: Bytes[65],
) -> uint256:
    """
    @notice Apply for a miner token with the device's signed enrollment;
            the DAO approves or rejects.
    @param device The device's address (last 20 bytes of keccak256(pubkey)).
    @param pubkey The device's uncompressed secp256k1 public key, x ‖ y, 64 bytes.
    @param capacity_w Peak capacity in W (kWp × 1000).
    @param lat_udeg Latitude in micro-degrees.
    @param lon_udeg Longitude in micro-degrees.
    @param tilt_deg The panels' tilt from horizontal [deg], 0 .. 90.
    @param azimuth_deg The direction they face [deg clockwise from north], 0 .. 359.
    @param uri Metadata URI (panel, inverter, photos).
    @param start_total_mwh The device's cumulative energy at enrollment [mWh], at most 2**64.
    @param start_time Time of that total [s], at most ENROLLMENT_TTL (1 day) ago.
    @param enrollment_signature The device key's signature (r ‖ s ‖ v) of the
           EIP-712 Enrollment(applicant = the caller, startTotal, startTime).
    @return uint256 The application id.
    """
    assert len(pubkey) == 64, "sbt: public key must be 64 bytes"
    assert convert(slice(keccak256(pubkey), 12, 20), address) == device, "sbt: key does not match device"
    x: uint256 = convert(slice(pubkey, 0, 32), uint256)
    y: uint256 = convert(slice(pubkey, 32, 32), uint256)
    assert secp256k1._on_curve(x, y), "sbt: key not on secp256k1"
    assert convert(start_time, uint256) <= block.timestamp, "sbt: enrollment from the future"
    assert block.timestamp - convert(start_time, uint256) <= ENROLLMENT_TTL, "sbt: enrollment expired"
    assert start_total_mwh <= MAX_START_TOTAL_MWH, "sbt: bad start total"
    assert secp256k1._recover(
        self._enrollment_digest(msg.sender, start_total_mwh, start_time), enrollment_signature
    ) == device, "sbt: enrollment not signed by the device"
    assert capacity_w > 0 and capacity_w <= MAX_CAPACITY_W, "sbt: bad capacity"
    assert lat_udeg >= -MAX_LAT_UDEG and lat_udeg <= MAX_LAT_UDEG, "sbt: bad location"
    assert lon_udeg >= -MAX_LON_UDEG and lon_udeg <= MAX_LON_UDEG, "sbt: bad location"
    assert tilt_deg <= MAX_TILT_DEG and azimuth_deg <= MAX_AZIMUTH_DEG, "sbt: bad orientation"
    known: uint256 = self.token_of_device[device]
    if known != 0:
        assert self.miners[known].status != REVOKED, "sbt: device revoked"
        raise "sbt: device already admitted"
    assert self.pending_application[device] == 0, "sbt: application pending"

    app_id: uint256 = self.application_count + 1
    self.application_count = app_id
    self.applications[app_id] = Application(
        applicant=msg.sender,
        device=device,
        pubkey_x=x,
        pubkey_y=y,
        capacity_w=capacity_w,
        lat_udeg=lat_udeg,
        lon_udeg=lon_udeg,
        status=PENDING,
        token_id=0,
        uri=uri,
        reason="",
    )
    self._device_start[device] = (
        convert(start_total_mwh, uint256)
        | (convert(start_time, uint256) << DS_TIME)
        | (convert(tilt_deg, uint256) << DS_TILT)
        | (convert(azimuth_deg, uint256) << DS_AZIMUTH)
    )
    self.pending_application[device] = app_id
    log Applied(
        application_id=app_id,
        applicant=msg.sender,
        device=device,
        capacity_w=capacity_w,
        lat_udeg=lat_udeg,
        lon_udeg=lon_udeg,
        tilt_deg=tilt_deg,
        azimuth_deg=azimuth_deg,
        uri=uri,
        start_total_mwh=start_total_mwh,
        start_time=start_time,
    )
    return app_id


@external
def approve_application(application_id: uint256) -> uint256:
    """
    @notice Admit a miner: mint its soulbound token to the applicant.
    @param application_id A pending application.
    @return uint256 The new token id.
    """
    ow._check_owner()
    app: Application = self._pending(application_id)
    erc721._counter += 1
    token_id: uint256 = erc721._counter
    erc721._mint(app.applicant, token_id)
    erc721._set_token_uri(token_id, app.uri)
    self.miners[token_id] = Miner(
        device=app.device,
        pubkey_x=app.pubkey_x,
        pubkey_y=app.pubkey_y,
        capacity_w=app.capacity_w,
        lat_udeg=app.lat_udeg,
        lon_udeg=app.lon_udeg,
        status=ACTIVE,
        online_hours=0,
        hashes=0,
    )
    self.token_of_device[app.device] = token_id
    self._pack_device_info(token_id)
    self.pending_application[app.device] = 0
    self.applications[application_id].status = APPROVED
    self.applications[application_id].token_id = token_id
    log Approved(application_id=application_id, token_id=token_id, miner=app.applicant)
    log Locked(tokenId=token_id)
    return token_id


@external
def reject_application(application_id: uint256, reason: String[MAX_REASON]):
    """
    @notice Refuse an application; the device may apply again.
    @param application_id A pending application.
    @param reason Why, for the applicant.
    """
    ow._check_owner()
    app: Application = self._pending(application_id)
    assert len(reason) > 0, "sbt: reason required"
    self.pending_application[app.device] = 0
    self.applications[application_id].status = REJECTED
    self.applications[application_id].reason = reason
    log Rejected(application_id=application_id, reason=reason)


@external
def set_hardware_status(token_id: uint256, status: uint8):
    """
    @notice Suspend or reactivate a miner's hardware.
    @param token_id An existing token.
    @param status ACTIVE (1) or SUSPENDED (2); revocation is `revoke`.
    """
    ow._check_owner()
    erc721._require_minted(token_id)
    assert status == ACTIVE or status == SUSPENDED, "sbt: bad status"
    self.miners[token_id].status = status
    self._pack_device_info(token_id)
    log HardwareStatusChanged(token_id=token_id, status=status)


@external
def revoke(token_id: uint256, reason: String[MAX_REASON]):
    """
    @notice Burn a miner's token for good; its device can never re-apply.
    @param token_id An existing token.
    @param reason Why, for the record.
    """
    ow._check_owner()
    erc721._require_minted(token_id)
    erc721._burn(token_id)
    self.miners[token_id].status = REVOKED
    self._pack_device_info(token_id)
    log HardwareStatusChanged(token_id=token_id, status=REVOKED)
    log Revoked(token_id=token_id, reason=reason)


@external
def set_registry(registry: address):
    """
    @notice Point the SBT at the measurement registry that writes mining records.
    @param registry The registry contract (a module update is a DAO proposal).
    """
    ow._check_owner()
    self.registry = registry
    log RegistryChanged(registry=registry)


@external
def record_mining(token_id: uint256, online_hours: uint64, hashes: uint256):
    """
    @notice Add proven online hours and expected hashes to a miner's pool record.
    @param token_id The miner's token.
    @param online_hours Hours to add (accepted batches).
    @param hashes Expected hashes to add (2**256 / target per batch).
    """
    assert msg.sender == self.registry, "sbt: only the registry"
    assert self.miners[token_id].status != 0, "sbt: unknown token"
    self.miners[token_id].online_hours += online_hours
    self.miners[token_id].hashes += hashes
    log MiningRecorded(
        token_id=token_id,
        online_hours=self.miners[token_id].online_hours,
        hashes=self.miners[token_id].hashes,
    )


# Soulbound: every transfer and approval path refuses.

@external
def transferFrom(owner: address, to: address, token_id: uint256):
    raise "sbt: soulbound"


@external
def safeTransferFrom(owner: address, to: address, token_id: uint256, data: Bytes[1_024] = b""):
    raise "sbt: soulbound"


@external
def approve(to: address, token_id: uint256):
    raise "sbt: soulbound"


@external
def setApprovalForAll(operator: address, approved: bool):
    raise "sbt: soulbound"


@external
def permit(spender: address, token_id: uint256, deadline: uint256, v: uint8, r: bytes32, s: bytes32):
    raise "sbt: soulbound"


@external
@view
def locked(tokenId: uint256) -> bool:
    """
    @notice ERC-5192: every existing token is locked to its owner.
    @param tokenId An existing token.
    @return bool Always true.
    """
    erc721._require_minted(tokenId)
    return True


@external
@view
def supportsInterface(interface_id: bytes4) -> bool:
    """
    @notice ERC-165, answering ERC-721, its metadata and enumerable parts, and ERC-5192.
    @param interface_id The 4-byte interface identifier.
    @return bool Whether it is implemented.
    """
    return interface_id in _INTERFACES


@external
@view
def device_of(token_id: uint256) -> address:
    """
    @notice The device address of a token (also for a revoked one).
    @param token_id A token id.
    @return address The device, or the zero address if never minted.
    """
    return self.miners[token_id].device


@external
@view
def device_pubkey(token_id: uint256) -> (uint256, uint256):
    """
    @notice The device's secp256k1 public key.
    @param token_id A token id.
    @return (uint256, uint256) The point (x, y).
    """
    return self.miners[token_id].pubkey_x, self.miners[token_id].pubkey_y


@external
@view
def device_info(device: address) -> (uint256, uint32, uint8):
    """
    @notice What the measurement registry checks for a device, in one call.
    @param device A device address.
    @return (uint256, uint32, uint8) Token id (0: unknown), capacity [W], hardware status.
    """
    word: uint256 = self._device_info[device]
    return word & (2**192 - 1), convert((word >> 192) & (2**32 - 1), uint32), convert(word >> 224, uint8)


@external
@view
def device_start(device: address) -> (uint128, uint64):
    """
    @notice Where a device's measurements start: the total and time of the
            enrollment of its token (or of its pending application). Its first
            batch continues from there.
    @param device A device address.
    @return (uint128, uint64) Total [mWh] and time [s]; zeros if it never applied.
    """
    word: uint256 = self._device_start[device]
    return convert(word & (2**128 - 1), uint128), convert((word >> DS_TIME) & (2**64 - 1), uint64)


@external
@view
def device_plane(device: address) -> (uint8, uint16):
    """
    @notice The panel plane a device's owner declared (with its token's application).
    @param device A device address.
    @return (uint8, uint16) Tilt from horizontal [deg] and azimuth clockwise from north [deg].
    """
    word: uint256 = self._device_start[device]
    return convert((word >> DS_TILT) & 255, uint8), convert((word >> DS_AZIMUTH) & 65535, uint16)


@external
@view
def enrollment_digest(applicant: address, start_total_mwh: uint128, start_time: uint64) -> bytes32:
    """
    @notice The EIP-712 digest a device signs to enroll with an applicant.
    @param applicant The wallet that will apply (and own the token).
    @param start_total_mwh The device's total [mWh].
    @param start_time Time of that total [s].
    @return bytes32 The digest (domain "GreenEnergyMiners", "1", this chain, this contract).
    """
    return self._enrollment_digest(applicant, start_total_mwh, start_time)


@external
@view
def is_active(token_id: uint256) -> bool:
    """
    @notice Whether the token exists and its hardware status is ACTIVE.
    @param token_id A token id.
    @return bool
    """
    return self.miners[token_id].status == ACTIVE


# ============================= INTERNAL =============================

@internal
@view
def _pending(application_id: uint256) -> Application:
    app: Application = self.applications[application_id]
    assert app.status != 0, "sbt: unknown application"
    assert app.status == PENDING, "sbt: application not pending"
    return app


@internal
def _pack_device_info(token_id: uint256):
    # field by field: copying the whole Miner would read nine slots
    capacity: uint256 = convert(self.miners[token_id].capacity_w, uint256)
    status: uint256 = convert(self.miners[token_id].status, uint256)
    self._device_info[self.miners[token_id].device] = token_id | (capacity << 192) | (status << 224)


@internal
@view
def _enrollment_digest(applicant: address, start_total_mwh: uint128, start_time: uint64) -> bytes32:
    return erc721.eip712_domain_separator._hash_typed_data_v4(
        keccak256(abi_encode(ENROLLMENT_TYPEHASH, applicant, start_total_mwh, start_time))
    )
