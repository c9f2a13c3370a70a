# pragma version ~=0.4.3
"""
@title StorageNode: battery sites, deliveries in, energy out, ENERGY parity
@license MIT
@notice The DAO registers storage nodes (meter key, capacity in mWh,
        location) and may suspend them. Energy enters a node as a delivery
        from a miner, recorded from two signed meter statements for the same
        delivery id, period and device: what the miner's device sent and what
        the node's meter received from that device (received <= sent; the
        loss is the difference).
        Received energy is credited to the miner, pending payment; the
        PaymentDesk reserves credited deliveries for a request, releases them
        when the DAO rejects it, and settles them when it approves (ENERGY is
        then minted for them: the energy becomes tokenized).
        Energy leaves a node only as tokenized energy: a holder escrows
        ENERGY with a request, the node's meter fills it with a signed
        delivered amount, that amount is burned and the rest refunded; a
        request not filled by its deadline (or at a suspended node) may be
        cancelled and refunded.
        Parity, per node and in total: stored = tokenized + unpaid credit,
        and the sum of tokenized energy over all nodes = ENERGY supply.
@custom:security Meter statements are EIP-712 typed data (domain
        "GreenEnergyMiners", version "1", this chain, this contract): replay
        is barred by the delivery id (per node) and the request id, not by
        the signature bytes. Each statement names its counterpart (`party`):
        the meter's "received" names the device it received from, the
        device's "sent" names itself and the meter's "delivered out" names
        the request's buyer, so no statement pairs with another device's or
        serves another buyer's request.
"""

from snekmate.auth import ownable as ow
from snekmate.utils import eip712_domain_separator as eip712
from ethereum.ercs import IERC20

import secp256k1

initializes: ow
initializes: eip712

exports: (
    ow.owner,
    eip712.eip712Domain,
    # Deliberately not exported: renounce_ownership (the DAO must stay
    # owner); transfer_ownership has its own reason below.
)


interface IMinerSBT:
    def token_of_device(device: address) -> uint256: view
    def is_active(token_id: uint256) -> bool: view

interface IEnergyToken:
    def burn(amount: uint256): nonpayable


# ============================== EVENTS ==============================

event NodeRegistered:
    node: indexed(uint256)
    meter: indexed(address)
    capacity_mwh: uint256
    lat_udeg: int32
    lon_udeg: int32

event NodeStatusChanged:
    node: indexed(uint256)
    active: bool

event Delivered:
    key: indexed(uint256)
    node: indexed(uint256)
    token_id: indexed(uint256)
    delivery_id: uint256
    period_start: uint256
    period_end: uint256
    sent_mwh: uint256
    received_mwh: uint256
    loss_mwh: uint256

event DeliveryStatusChanged:
    key: indexed(uint256)
    status: uint8

event EnergyRequested:
    request_id: indexed(uint256)
    node: indexed(uint256)
    buyer: indexed(address)
    amount_mwh: uint256
    deadline: uint256

event EnergyFilled:
    request_id: indexed(uint256)
    node: indexed(uint256)
    delivered_mwh: uint256
    refunded_mwh: uint256

event EnergyRequestCancelled:
    request_id: indexed(uint256)
    refunded_mwh: uint256

event DeskChanged:
    desk: indexed(address)


# ============================= CONSTANTS ============================

MAX_KEYS: constant(uint256) = 32  # deliveries per payment request
MAX_REQUEST_WINDOW: constant(uint256) = 30 * 86_400  # [s] longest time a node has to fill
MAX_LAT_UDEG: constant(int32) = 90_000_000  # 90 degrees
MAX_LON_UDEG: constant(int32) = 180_000_000  # 180 degrees
MASK_32: constant(uint256) = 2**32 - 1
MASK_64: constant(uint256) = 2**64 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_160: constant(uint256) = 2**160 - 1

# Meter statement kinds
SENT: constant(uint8) = 0  # by the miner's device: energy sent into the node
RECEIVED: constant(uint8) = 1  # by the node's meter: energy received from the miner
DELIVERED_OUT: constant(uint8) = 2  # by the node's meter: energy delivered out for a request

# party: the miner's device (kinds SENT and RECEIVED), the request's buyer (DELIVERED_OUT)
STATEMENT_TYPEHASH: public(constant(bytes32)) = keccak256(
    "MeterStatement(uint256 node,uint256 id,address party,uint64 periodStart,uint64 periodEnd,uint128 energy,uint8 kind)"
)

# Delivery status
CREDITED: constant(uint8) = 1  # received, credited to the miner, payable
REQUESTED: constant(uint8) = 2  # part of a pending payment request
PAID: constant(uint8) = 3  # paid: its energy is tokenized

# Energy request status
OPEN: constant(uint8) = 1
FILLED: constant(uint8) = 2
CANCELLED: constant(uint8) = 3


# ============================== STORAGE =============================

struct Node:
    meter: address
    capacity_mwh: uint256
    lat_udeg: int32  # micro-degrees
    lon_udeg: int32  # micro-degrees
    active: bool
    tokenized_mwh: uint256  # paid for: backs ENERGY
    unpaid_mwh: uint256  # received, credited to miners, not yet paid

struct Delivery:
    node: uint256
    delivery_id: uint256
    token_id: uint256
    period_start: uint256  # [s]
    period_end: uint256  # [s]
    sent_mwh: uint256
    received_mwh: uint256
    loss_mwh: uint256
    status: uint8

struct EnergyRequest:
    buyer: address
    node: uint256
    amount_mwh: uint256  # escrowed ENERGY
    created: uint256  # [s]
    deadline: uint256  # [s]
    status: uint8
    delivered_mwh: uint256

nodes: public(HashMap[uint256, Node])
node_count: public(uint256)
# An energy request in three words (what `requests` returns, packed):
# _rq_who: buyer (bits 0..159) | node (160..191) | status (192..199)
# _rq_energy: amount [mWh] (0..127) | delivered [mWh] (128..255)
# _rq_when: created (0..63) | deadline (64..127)
_rq_who: HashMap[uint256, uint256]
_rq_energy: HashMap[uint256, uint256]
_rq_when: HashMap[uint256, uint256]
request_count: public(uint256)
# Unpaid (credited or requested) energy per miner token [mWh].
credit_of: public(HashMap[uint256, uint256])
desk: public(address)  # the PaymentDesk: reserves, releases and settles deliveries

# A delivery is keyed by node << 64 | delivery id, in two words:
# _d_meta: token id (bits 0..63) | period start (64..127) | period end (128..191) | status (192..199)
# _d_energy: sent [mWh] (bits 0..127) | received [mWh] (128..255)
_d_meta: HashMap[uint256, uint256]
_d_energy: HashMap[uint256, uint256]

SBT: public(immutable(address))
ENERGY: public(immutable(address))


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(sbt: address, energy: address):
    """
    @param sbt The MinerSBT (device -> token, hardware status).
    @param energy The EnergyToken this contract burns on delivery out.
    """
    ow.__init__()
    eip712.__init__("GreenEnergyMiners", "1")
    SBT = sbt
    ENERGY = energy


# ============================= EXTERNAL =============================

@external
def register_node(meter: address, capacity_mwh: uint256, lat_udeg: int32, lon_udeg: int32) -> uint256:
    """
    @notice Register a storage node. DAO only.
    @param meter Address of the node meter's signing key.
    @param capacity_mwh Storage capacity in mWh.
    @param lat_udeg Latitude in micro-degrees.
    @param lon_udeg Longitude in micro-degrees.
    @return uint256 The node id (from 1).
    """
    self._check_dao()
    assert meter != empty(address), "storage: zero meter"
    assert self.node_count < MASK_32, "storage: too many nodes"
    assert capacity_mwh > 0 and capacity_mwh <= MASK_128, "storage: bad capacity"
    assert -MAX_LAT_UDEG <= lat_udeg and lat_udeg <= MAX_LAT_UDEG, "storage: bad location"
    assert -MAX_LON_UDEG <= lon_udeg and lon_udeg <= MAX_LON_UDEG, "storage: bad location"
    node: uint256 = self.node_count + 1
    self.node_count = node
    self.nodes[node] = Node(
        meter=meter, capacity_mwh=capacity_mwh, lat_udeg=lat_udeg, lon_udeg=lon_udeg,
        active=True, tokenized_mwh=0, unpaid_mwh=0,
    )
    log NodeRegistered(node=node, meter=meter, capacity_mwh=capacity_mwh, lat_udeg=lat_udeg, lon_udeg=lon_udeg)
    return node


@external
def set_node_active(node: uint256, active: bool):
    """
    @notice Suspend (False) or reactivate (True) a node. DAO only. A
            suspended node takes no delivery and no request and fills
            nothing; its open requests may be cancelled at once.
    @param node A node id.
    @param active The new status.
    """
    self._check_dao()
    self._existing(node)
    assert self.nodes[node].active != active, "storage: status unchanged"
    self.nodes[node].active = active
    log NodeStatusChanged(node=node, active=active)


@external
def record_delivery(
    node: uint256,
    delivery_id: uint256,
    device: address,
    period_start: uint256,
    period_end: uint256,
    sent_mwh: uint256,
    sent_signature: Bytes[65],
    received_mwh: uint256,
    received_signature: Bytes[65],
) -> uint256:
    """
    @notice Record a delivery from a miner into a node from its two signed
            meter statements; anyone may submit them. Both name the miner's
            device as their party: the device signs what it sent, the node's
            meter what it received from that device. The received energy is
            credited to the device's miner.
    @param node The node id.
    @param delivery_id The node's id of this delivery, 1 .. 2**64 - 1.
    @param device The miner's device: the sent statement's signer and the
           party of both statements.
    @param period_start Start of the delivery [s].
    @param period_end End of the delivery [s], not in the future.
    @param sent_mwh Energy sent by the miner [mWh], signed by its device.
    @param sent_signature The device's 65-byte signature (r ‖ s ‖ v).
    @param received_mwh Energy received by the node [mWh], signed by its meter.
    @param received_signature The meter's 65-byte signature (r ‖ s ‖ v).
    @return uint256 The delivery's key, node << 64 | delivery_id.
    """
    n: Node = self._active(node)
    assert delivery_id > 0 and delivery_id <= MASK_64, "storage: bad delivery id"
    key: uint256 = self._key(node, delivery_id)
    assert self._d_meta[key] == 0, "storage: delivery recorded"
    assert period_start < period_end and period_end <= block.timestamp, "storage: bad period"
    assert received_mwh > 0, "storage: nothing received"
    assert received_mwh <= sent_mwh, "storage: received exceeds sent"
    assert sent_mwh <= MASK_128, "storage: bad amount"
    assert n.tokenized_mwh + n.unpaid_mwh + received_mwh <= n.capacity_mwh, "storage: node full"
    assert self._signer(
        self._statement_digest(node, delivery_id, device, period_start, period_end, sent_mwh, SENT), sent_signature
    ) == device, "storage: sent not signed by the device"
    token_id: uint256 = staticcall IMinerSBT(SBT).token_of_device(device)
    assert token_id != 0, "storage: sender not a miner's device"
    assert staticcall IMinerSBT(SBT).is_active(token_id), "storage: miner not active"
    assert token_id <= MASK_64, "storage: token id too large"
    meter: address = self._signer(
        self._statement_digest(node, delivery_id, device, period_start, period_end, received_mwh, RECEIVED),
        received_signature,
    )
    assert meter == n.meter, "storage: not the node's meter"

    self._d_meta[key] = token_id | (period_start << 64) | (period_end << 128) | (convert(CREDITED, uint256) << 192)
    self._d_energy[key] = sent_mwh | (received_mwh << 128)
    self.nodes[node].unpaid_mwh = n.unpaid_mwh + received_mwh
    self.credit_of[token_id] += received_mwh
    log Delivered(
        key=key, node=node, token_id=token_id, delivery_id=delivery_id, period_start=period_start,
        period_end=period_end, sent_mwh=sent_mwh, received_mwh=received_mwh, loss_mwh=sent_mwh - received_mwh,
    )
    return key


@external
def request_energy(node: uint256, amount_mwh: uint256, deadline: uint256) -> uint256:
    """
    @notice Ask a node for energy: `amount_mwh` ENERGY moves from the caller
            into escrow here (approve it first, or use permit).
    @param node The node id.
    @param amount_mwh Energy wanted [mWh] = ENERGY base units escrowed.
    @param deadline Last moment [s] the node may fill; after it the request
           may be cancelled. At most 30 days ahead.
    @return uint256 The request id (from 1).
    """
    n: Node = self._active(node)
    assert amount_mwh > 0, "storage: zero amount"
    assert amount_mwh <= MASK_128, "storage: bad amount"
    assert amount_mwh <= n.tokenized_mwh, "storage: node holds less tokenized energy"
    assert deadline > block.timestamp and deadline <= block.timestamp + MAX_REQUEST_WINDOW, "storage: bad deadline"
    request_id: uint256 = self.request_count + 1
    self.request_count = request_id
    self._rq_who[request_id] = (
        convert(convert(msg.sender, uint160), uint256) | (node << 160) | (convert(OPEN, uint256) << 192)
    )
    self._rq_energy[request_id] = amount_mwh
    self._rq_when[request_id] = block.timestamp | (deadline << 64)
    assert extcall IERC20(ENERGY).transferFrom(msg.sender, self, amount_mwh, default_return_value=True)
    log EnergyRequested(request_id=request_id, node=node, buyer=msg.sender, amount_mwh=amount_mwh, deadline=deadline)
    return request_id


@external
def fill(
    request_id: uint256, delivered_mwh: uint256, period_start: uint256, period_end: uint256, signature: Bytes[65]
):
    """
    @notice Fill an open request with the node meter's signed statement of
            the energy delivered out to the request's buyer (its party);
            anyone may submit it. The delivered ENERGY is burned, the rest
            refunded to the buyer.
    @param request_id The request.
    @param delivered_mwh Energy delivered out [mWh], at most the amount asked.
    @param period_start Start of the delivery out [s], not before the request.
    @param period_end End of the delivery out [s], not in the future.
    @param signature The meter's 65-byte signature (r ‖ s ‖ v).
    """
    r: EnergyRequest = self._request(request_id)
    assert r.status == OPEN, "storage: request not open"
    assert block.timestamp <= r.deadline, "storage: request expired"
    n: Node = self._active(r.node)
    assert delivered_mwh <= r.amount_mwh, "storage: delivered exceeds request"
    assert delivered_mwh <= n.tokenized_mwh, "storage: node holds less tokenized energy"
    assert r.created <= period_start and period_start < period_end and period_end <= block.timestamp, \
        "storage: bad period"
    meter: address = self._signer(
        self._statement_digest(r.node, request_id, r.buyer, period_start, period_end, delivered_mwh, DELIVERED_OUT),
        signature,
    )
    assert meter == n.meter, "storage: not the node's meter"

    self._set_request_status(request_id, FILLED)
    self._rq_energy[request_id] = r.amount_mwh | (delivered_mwh << 128)
    self.nodes[r.node].tokenized_mwh = n.tokenized_mwh - delivered_mwh
    refund: uint256 = r.amount_mwh - delivered_mwh
    if delivered_mwh > 0:
        extcall IEnergyToken(ENERGY).burn(delivered_mwh)
    if refund > 0:
        assert extcall IERC20(ENERGY).transfer(r.buyer, refund, default_return_value=True)
    log EnergyFilled(request_id=request_id, node=r.node, delivered_mwh=delivered_mwh, refunded_mwh=refund)


@external
def cancel_request(request_id: uint256):
    """
    @notice The buyer takes back the escrow of a request not filled by its
            deadline, or at once if the node is suspended.
    @param request_id The request.
    """
    r: EnergyRequest = self._request(request_id)
    assert r.status == OPEN, "storage: request not open"
    assert msg.sender == r.buyer, "storage: not the buyer"
    assert block.timestamp > r.deadline or not self.nodes[r.node].active, "storage: request still open"
    self._set_request_status(request_id, CANCELLED)
    assert extcall IERC20(ENERGY).transfer(r.buyer, r.amount_mwh, default_return_value=True)
    log EnergyRequestCancelled(request_id=request_id, refunded_mwh=r.amount_mwh)


@external
def reserve(
    keys: DynArray[uint256, MAX_KEYS], token_id: uint256, period_start: uint256, period_end: uint256
) -> (uint256, uint256):
    """
    @notice Reserve credited deliveries of one miner, inside one period, for
            a payment request. PaymentDesk only.
    @param keys Delivery keys (node << 64 | delivery id), each once.
    @param token_id The miner's token; every delivery must be its own.
    @param period_start Start of the requested period [s].
    @param period_end End of the requested period [s].
    @return (uint256, uint256) Energy sent and received [mWh], summed.
    """
    self._check_desk()
    sent: uint256 = 0
    received: uint256 = 0
    for key: uint256 in keys:
        meta: uint256 = self._d_meta[key]
        assert meta != 0, "storage: unknown delivery"
        assert meta & MASK_64 == token_id, "storage: not the miner's delivery"
        assert (meta >> 192) == convert(CREDITED, uint256), "storage: delivery not payable"
        assert (meta >> 64) & MASK_64 >= period_start and (meta >> 128) & MASK_64 <= period_end, \
            "storage: delivery outside the period"
        self._set_status(key, meta, REQUESTED)
        energy: uint256 = self._d_energy[key]
        sent += energy & MASK_128
        received += energy >> 128
    return sent, received


@external
def release(keys: DynArray[uint256, MAX_KEYS]):
    """
    @notice Return reserved deliveries to credited (a rejected request).
            PaymentDesk only.
    @param keys Delivery keys, all reserved.
    """
    self._check_desk()
    for key: uint256 in keys:
        meta: uint256 = self._d_meta[key]
        assert (meta >> 192) == convert(REQUESTED, uint256), "storage: delivery not reserved"
        self._set_status(key, meta, CREDITED)


@external
def settle(keys: DynArray[uint256, MAX_KEYS]) -> uint256:
    """
    @notice Mark reserved deliveries paid (an approved request): their energy
            moves from unpaid credit to tokenized, node by node. PaymentDesk
            only; it mints the matching ENERGY in the same transaction.
    @param keys Delivery keys, all reserved.
    @return uint256 Energy received [mWh], summed: the ENERGY to mint.
    """
    self._check_desk()
    total: uint256 = 0
    for key: uint256 in keys:
        meta: uint256 = self._d_meta[key]
        assert (meta >> 192) == convert(REQUESTED, uint256), "storage: delivery not reserved"
        self._set_status(key, meta, PAID)
        received: uint256 = self._d_energy[key] >> 128
        node: uint256 = key >> 64
        self.nodes[node].unpaid_mwh -= received
        self.nodes[node].tokenized_mwh += received
        self.credit_of[meta & MASK_64] -= received
        total += received
    return total


@external
def set_desk(desk: address):
    """
    @notice Name the PaymentDesk. DAO only.
    @param desk The PaymentDesk contract.
    """
    self._check_dao()
    assert desk != empty(address), "storage: zero address"
    self.desk = desk
    log DeskChanged(desk=desk)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the contract to a new owner (the DAO, at deployment).
    @param new_owner The new owner.
    """
    self._check_dao()
    assert new_owner != empty(address), "storage: zero address"
    ow._transfer_ownership(new_owner)


@external
@view
def delivery(key: uint256) -> Delivery:
    """
    @notice A recorded delivery (all zero if none).
    @param key node << 64 | delivery id.
    @return Delivery Node, ids, period [s], sent, received and loss [mWh], status.
    """
    meta: uint256 = self._d_meta[key]
    energy: uint256 = self._d_energy[key]
    sent: uint256 = energy & MASK_128
    received: uint256 = energy >> 128
    return Delivery(
        node=key >> 64 if meta != 0 else 0,
        delivery_id=key & MASK_64 if meta != 0 else 0,
        token_id=meta & MASK_64,
        period_start=(meta >> 64) & MASK_64,
        period_end=(meta >> 128) & MASK_64,
        sent_mwh=sent,
        received_mwh=received,
        loss_mwh=sent - received,
        status=convert(meta >> 192, uint8),
    )


@external
@view
def requests(request_id: uint256) -> EnergyRequest:
    """
    @notice An energy request (all zero if none).
    @param request_id The request.
    @return EnergyRequest Buyer, node, ENERGY escrowed [mWh], created and
            deadline [s], status (1 open, 2 filled, 3 cancelled), delivered [mWh].
    """
    return self._request(request_id)


@external
@view
def delivery_key(node: uint256, delivery_id: uint256) -> uint256:
    """
    @notice The key of a node's delivery.
    @param node The node id.
    @param delivery_id The node's delivery id.
    @return uint256 node << 64 | delivery_id.
    """
    return self._key(node, delivery_id)


@external
@view
def stored_mwh(node: uint256) -> uint256:
    """
    @notice Energy held by a node [mWh]: tokenized plus unpaid credit.
    @param node The node id.
    @return uint256 Energy in mWh.
    """
    return self.nodes[node].tokenized_mwh + self.nodes[node].unpaid_mwh


@external
@view
def free_capacity_mwh(node: uint256) -> uint256:
    """
    @notice Room left in a node [mWh].
    @param node The node id.
    @return uint256 Energy in mWh.
    """
    n: Node = self.nodes[node]
    return n.capacity_mwh - n.tokenized_mwh - n.unpaid_mwh


@external
@view
def statement_digest(
    node: uint256,
    id: uint256,
    party: address,
    period_start: uint256,
    period_end: uint256,
    energy_mwh: uint256,
    kind: uint8,
) -> bytes32:
    """
    @notice The EIP-712 digest a device or meter signs.
    @param node The node id.
    @param id The delivery id (kinds 0, 1) or the request id (kind 2).
    @param party The miner's device (kinds 0, 1) or the request's buyer (kind 2).
    @param period_start Start [s].
    @param period_end End [s].
    @param energy_mwh Energy in mWh.
    @param kind 0 sent (device), 1 received (meter), 2 delivered out (meter).
    @return bytes32 The digest.
    """
    return self._statement_digest(node, id, party, period_start, period_end, energy_mwh, kind)


# ============================= INTERNAL =============================

@internal
@view
def _check_dao():
    assert msg.sender == ow.owner, "storage: only the DAO"


@internal
@view
def _check_desk():
    assert msg.sender == self.desk, "storage: only the payment desk"


@internal
@pure
def _key(node: uint256, delivery_id: uint256) -> uint256:
    # node ids stay below 2**32 and delivery ids below 2**64 (checked where they enter)
    return (node << 64) | delivery_id


@internal
@view
def _existing(node: uint256):
    assert node != 0 and node <= self.node_count, "storage: unknown node"


@internal
@view
def _active(node: uint256) -> Node:
    self._existing(node)
    n: Node = self.nodes[node]
    assert n.active, "storage: node suspended"
    return n


@internal
@view
def _request(request_id: uint256) -> EnergyRequest:
    who: uint256 = self._rq_who[request_id]
    energy: uint256 = self._rq_energy[request_id]
    at: uint256 = self._rq_when[request_id]
    return EnergyRequest(
        buyer=convert(convert(who & MASK_160, uint160), address),
        node=(who >> 160) & MASK_32,
        amount_mwh=energy & MASK_128,
        created=at & MASK_64,
        deadline=at >> 64,
        status=convert(who >> 192, uint8),
        delivered_mwh=energy >> 128,
    )


@internal
def _set_request_status(request_id: uint256, status: uint8):
    who: uint256 = self._rq_who[request_id]
    self._rq_who[request_id] = (who & (2**192 - 1)) | (convert(status, uint256) << 192)


@internal
def _set_status(key: uint256, meta: uint256, status: uint8):
    self._d_meta[key] = (meta & (2**192 - 1)) | (convert(status, uint256) << 192)
    log DeliveryStatusChanged(key=key, status=status)


@internal
@view
def _statement_digest(
    node: uint256,
    id: uint256,
    party: address,
    period_start: uint256,
    period_end: uint256,
    energy_mwh: uint256,
    kind: uint8,
) -> bytes32:
    """
    @dev EIP-712 digest of MeterStatement(node, id, party, periodStart, periodEnd, energy, kind).
    """
    assert period_start <= MASK_64 and period_end <= MASK_64 and energy_mwh <= MASK_128, "storage: bad statement"
    return eip712._hash_typed_data_v4(
        keccak256(abi_encode(STATEMENT_TYPEHASH, node, id, party, period_start, period_end, energy_mwh, kind))
    )


@internal
@pure
def _signer(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of `digest` (r ‖ s ‖ v, v in {27, 28}, low s); reverts
         with this contract's reason on a malformed signature.
    """
    assert len(signature) == 65, "storage: bad signature"
    # v, r and s apart: a call with the 65 bytes would copy them into the module's frame
    signer: address = secp256k1._recover_vrs(
        digest, convert(slice(signature, 64, 1), uint8), extract32(signature, 0), extract32(signature, 32)
    )
    assert signer != empty(address), "storage: bad signature"
    return signer
