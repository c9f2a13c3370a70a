# pragma version ~=0.4.3
"""
@title PaymentDesk: payment for energy delivered into storage nodes
@license MIT
@notice A miner (its SBT's owner) requests payment for credited deliveries
        of one period (a month by default in the scripts). The DAO sees in
        one view (`review`) what it must check: the measurements (sent,
        received, loss), the miner's online record and hardware status, and
        what approval would mint; then a proposal approves or rejects.
        Approved: ENERGY equal to the received mWh and the matching DECA at
        the price the DAO voted in the approval (`approve(request, price)`)
        are minted and added to the DECA/ENERGY pool on the miner's behalf:
        the miner receives the LP shares, and the DAO vault `dao_share_bps`
        of the DECA added. The first approval seeds the pool at that price
        (this desk is the pool's seeder). Rejected: the reason is recorded
        and the deliveries stay credited for a corrected request.
@custom:security The payment price is the DAO's vote, so nobody can move
        what a payment mints: not a stranger who trades just before the
        ballot executes (anyone may execute it at its ETA), not the miner.
        `review` suggests a price the requester cannot move cheaply either:
        the pool's time-weighted price since the request was filed (a window
        that spans the whole ballot), else the spot, else the DAO's
        reference price. An approval refuses when the pool's spot price is
        off the voted price by more than `price_band_bps`: a market that
        moved since the vote, or a swap placed before the execution to
        sandwich the liquidity it adds, stops the payment instead of
        pricing it. Within the band, the pool takes DECA and ENERGY at its
        spot ratio: the DECA it does not take is burned, the ENERGY it does
        not take goes to the miner (it is the miner's tokenized energy).
"""

from snekmate.auth import ownable as ow

initializes: ow

exports: (
    ow.owner,
    # Deliberately not exported: renounce_ownership (the DAO must stay
    # owner); transfer_ownership has its own reason below.
)


interface IMintable:
    def mint(owner: address, amount: uint256): nonpayable
    def approve(spender: address, amount: uint256) -> bool: nonpayable
    def transfer(to: address, amount: uint256) -> bool: nonpayable
    def balanceOf(owner: address) -> uint256: view

interface IDeca:
    def burn(amount: uint256): nonpayable

interface IStorageNode:
    def reserve(
        keys: DynArray[uint256, MAX_KEYS], token_id: uint256, period_start: uint256, period_end: uint256
    ) -> (uint256, uint256): nonpayable
    def release(keys: DynArray[uint256, MAX_KEYS]): nonpayable
    def settle(keys: DynArray[uint256, MAX_KEYS]) -> uint256: nonpayable

interface IPool:
    def add_liquidity(
        deca_desired: uint256, energy_desired: uint256, deca_min: uint256, energy_min: uint256,
        to: address, deadline: uint256
    ) -> (uint256, uint256, uint256): nonpayable
    def cumulative_prices() -> (uint256, uint256): view
    def spot_price() -> uint256: view

struct MinerRecord:
    device: address
    pubkey_x: uint256
    pubkey_y: uint256
    capacity_w: uint32
    lat_udeg: int32
    lon_udeg: int32
    status: uint8
    online_hours: uint64
    hashes: uint256

interface IMinerSBT:
    def ownerOf(token_id: uint256) -> address: view
    def miners(token_id: uint256) -> MinerRecord: view

interface IRegistry:
    def device_state(device: address) -> (uint128, uint64, uint64, bytes32): view


# ============================== EVENTS ==============================

event PaymentRequested:
    request_id: indexed(uint256)
    token_id: indexed(uint256)
    miner: indexed(address)
    period_start: uint256
    period_end: uint256
    sent_mwh: uint256
    received_mwh: uint256
    deliveries: uint256

event PaymentApproved:
    request_id: indexed(uint256)
    token_id: indexed(uint256)
    energy_mwh: uint256  # ENERGY minted
    deca_added: uint256  # DECA wei into the pool
    shares: uint256  # LP shares to the miner
    energy_to_miner: uint256  # ENERGY the pool did not take, sent to the miner
    dao_deca: uint256  # DECA wei to the vault
    price: uint256  # DECA wei per ENERGY unit, x 1e18

event PaymentRejected:
    request_id: indexed(uint256)
    token_id: indexed(uint256)
    reason: String[MAX_REASON]

event ParameterChanged:
    name: String[32]
    value: uint256


# ============================= CONSTANTS ============================

MAX_KEYS: constant(uint256) = 32  # deliveries per request
MAX_REASON: constant(uint256) = 128
MAX_BPS: constant(uint256) = 10_000  # 100 %
MAX_DAO_SHARE_BPS: constant(uint256) = 5_000  # 50 %
MAX_PRICE_BAND_BPS: constant(uint256) = 5_000  # 50 %: the widest band around a voted price
MAX_PERIOD: constant(uint256) = 92 * 86_400  # [s] a request covers at most a quarter
TWAP_WINDOW: constant(uint256) = 3_600  # [s] shortest window of the suggested time-weighted price
PRICE_SCALE: constant(uint256) = 10**18  # prices: DECA wei per ENERGY unit (mWh) x 1e18
MIN_PAYMENT_MWH: constant(uint256) = 1_000  # 1 Wh: below it the pool's share of a payment can round to 0
MASK_64: constant(uint256) = 2**64 - 1
MASK_128: constant(uint256) = 2**128 - 1
MASK_160: constant(uint256) = 2**160 - 1

# request status
PENDING: constant(uint8) = 1
APPROVED: constant(uint8) = 2
REJECTED: constant(uint8) = 3

# hardware status of a token (MinerSBT)
HW_ACTIVE: constant(uint8) = 1


# ============================== STORAGE =============================

struct PaymentRequest:
    token_id: uint256
    miner: address  # the SBT's owner when filed: receives the LP shares
    period_start: uint256  # [s]
    period_end: uint256  # [s]
    sent_mwh: uint256
    received_mwh: uint256
    filed: uint256  # [s]
    status: uint8
    reason: String[MAX_REASON]
    deca_added: uint256  # DECA wei, once approved
    shares: uint256  # LP shares, once approved

struct Review:
    token_id: uint256
    miner: address
    status: uint8
    period_start: uint256  # [s]
    period_end: uint256  # [s]
    deliveries: uint256
    sent_mwh: uint256
    received_mwh: uint256
    loss_mwh: uint256
    loss_bps: uint256  # loss / sent
    hardware_status: uint8  # MinerSBT: 1 active, 2 suspended, 3 revoked
    online_hours: uint64  # proven online hours (accepted batches)
    hashes: uint256  # expected proof-of-work hashes
    last_seen: uint64  # timestamp [s] of the device's last accepted reading
    energy_to_mint: uint256  # ENERGY base units = mWh
    deca_to_mint: uint256  # DECA wei offered to the pool at `price`
    dao_deca: uint256  # DECA wei to the vault, at most
    price: uint256  # suggested: DECA wei per ENERGY unit, x 1e18 (the TWAP, else spot, else reference)
    twap_price: uint256  # the pool's time-weighted price since filing, 0 if under TWAP_WINDOW or none
    spot_price: uint256  # the pool's price now, 0 while it is empty
    last_price: uint256  # the price of the last approved payment, 0 before the first
    reason: String[MAX_REASON]

# A request in three words (what `requests` returns, packed; each field is
# range-checked when filed), plus the payment and the reason once decided:
# _req_who: miner (bits 0..159) | token id (160..223) | status (224..231)
# _req_when: period start (0..63) | period end (64..127) | filed (128..191)
# _req_energy: sent [mWh] (0..127) | received [mWh] (128..255)
# _req_paid: DECA added [wei] (0..127) | LP shares (128..255)
_req_who: HashMap[uint256, uint256]
_req_when: HashMap[uint256, uint256]
_req_energy: HashMap[uint256, uint256]
_req_paid: HashMap[uint256, uint256]
_req_reason: HashMap[uint256, String[MAX_REASON]]
# The pool's cumulative price when the request was filed, plus one: the start
# of the request's suggested TWAP (0: none, the pool was empty at filing). The
# one keeps a pool seeded in the filing's own second (cumulative still 0) apart
# from an empty one.
_req_cumulative: HashMap[uint256, uint256]
request_count: public(uint256)
request_deliveries: HashMap[uint256, DynArray[uint256, MAX_KEYS]]

reference_price: public(uint256)  # DECA wei per ENERGY unit x 1e18, suggested while the pool is empty
dao_share_bps: public(uint256)  # of the DECA added, minted to the vault
price_band_bps: public(uint256)  # how far the pool's spot may be from the voted price at approval
vault: public(address)
last_price: public(uint256)  # DECA wei per ENERGY unit x 1e18 of the last approved payment

DECA: public(immutable(address))
ENERGY: public(immutable(address))
STORAGE: public(immutable(address))
POOL: public(immutable(address))
SBT: public(immutable(address))
REGISTRY: public(immutable(address))


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(
    deca: address,
    energy: address,
    storage: address,
    pool: address,
    sbt: address,
    registry: address,
    vault: address,
    reference_price: uint256,
    dao_share_bps: uint256,
    price_band_bps: uint256,
):
    """
    @param deca The DecaToken (this contract must be one of its minters).
    @param energy The EnergyToken (this contract must be its minter).
    @param storage The StorageNode contract (this contract is its desk).
    @param pool The DECA/ENERGY LiquidityPool.
    @param sbt The MinerSBT.
    @param registry The MeasurementRegistry (a device's last reading).
    @param vault The DAO vault.
    @param reference_price DECA wei per ENERGY unit (mWh) x 1e18, suggested while the pool is empty.
    @param dao_share_bps Share of the DECA added that the vault receives [bps].
    @param price_band_bps How far the pool's spot may be from a voted price [bps], 1 .. 5 000.
    """
    ow.__init__()
    DECA = deca
    ENERGY = energy
    STORAGE = storage
    POOL = pool
    SBT = sbt
    REGISTRY = registry
    self._set_vault(vault)
    self._set_reference_price(reference_price)
    self._set_dao_share_bps(dao_share_bps)
    self._set_price_band_bps(price_band_bps)


# ============================= EXTERNAL =============================

@external
def request_payment(
    token_id: uint256, period_start: uint256, period_end: uint256, deliveries: DynArray[uint256, MAX_KEYS]
) -> uint256:
    """
    @notice Ask to be paid for credited deliveries of one period. Only the
            token's owner may; each delivery must be the token's own, credited
            and inside the period.
    @param token_id The miner's SBT.
    @param period_start Start of the period [s].
    @param period_end End of the period [s], at most 92 days after its start.
    @param deliveries Delivery keys (StorageNode: node << 64 | delivery id).
    @return uint256 The request id (from 1).
    """
    assert staticcall IMinerSBT(SBT).ownerOf(token_id) == msg.sender, "desk: not the token's owner"
    assert self._miner(token_id).status == HW_ACTIVE, "desk: miner not active"
    assert period_start < period_end and period_end - period_start <= MAX_PERIOD, "desk: bad period"
    assert len(deliveries) > 0, "desk: no deliveries"
    assert token_id <= MASK_64 and period_end <= MASK_64, "desk: out of range"
    sent: uint256 = 0
    received: uint256 = 0
    sent, received = extcall IStorageNode(STORAGE).reserve(deliveries, token_id, period_start, period_end)
    assert received >= MIN_PAYMENT_MWH, "desk: less than 1 Wh to pay"
    assert sent <= MASK_128, "desk: out of range"
    request_id: uint256 = self.request_count + 1
    self.request_count = request_id
    self._req_who[request_id] = (
        convert(convert(msg.sender, uint160), uint256) | (token_id << 160) | (convert(PENDING, uint256) << 224)
    )
    self._req_when[request_id] = period_start | (period_end << 64) | (block.timestamp << 128)
    self._req_energy[request_id] = sent | (received << 128)
    self.request_deliveries[request_id] = deliveries
    if staticcall IPool(POOL).spot_price() != 0:
        self._req_cumulative[request_id] = (staticcall IPool(POOL).cumulative_prices())[0] + 1
    log PaymentRequested(
        request_id=request_id, token_id=token_id, miner=msg.sender, period_start=period_start,
        period_end=period_end, sent_mwh=sent, received_mwh=received, deliveries=len(deliveries),
    )
    return request_id


@external
def approve(request_id: uint256, price: uint256) -> uint256:
    """
    @notice Pay a pending request at the price the DAO votes: mint ENERGY =
            received mWh and DECA = ENERGY × price, add both to the pool for
            the miner, and the DAO's share of DECA to the vault. DAO only (by
            proposal). Refused when the pool's spot price is off `price` by
            more than `price_band_bps`; the first approval seeds the pool.
    @param request_id The request.
    @param price DECA wei per ENERGY unit (mWh) x 1e18, as voted (`review`
           suggests one).
    @return uint256 LP shares minted to the miner.
    """
    self._check_dao()
    r: PaymentRequest = self._pending(request_id)
    assert price > 0, "desk: zero price"
    spot: uint256 = staticcall IPool(POOL).spot_price()
    if spot != 0:
        gap: uint256 = max(spot, price) - min(spot, price)
        assert gap * MAX_BPS <= price * self.price_band_bps, "desk: pool price off the voted price"
    energy: uint256 = extcall IStorageNode(STORAGE).settle(self.request_deliveries[request_id])
    deca: uint256 = energy * price // PRICE_SCALE
    assert deca > 0, "desk: payment worth no DECA"

    extcall IMintable(ENERGY).mint(self, energy)
    extcall IMintable(DECA).mint(self, deca)
    extcall IMintable(ENERGY).approve(POOL, energy)
    extcall IMintable(DECA).approve(POOL, deca)
    deca_added: uint256 = 0
    energy_added: uint256 = 0
    shares: uint256 = 0
    deca_added, energy_added, shares = extcall IPool(POOL).add_liquidity(
        deca, energy, 0, 0, r.miner, block.timestamp
    )
    energy_left: uint256 = energy - energy_added
    if energy_left > 0:
        extcall IMintable(ENERGY).approve(POOL, 0)
        assert extcall IMintable(ENERGY).transfer(r.miner, energy_left, default_return_value=True)
    if deca > deca_added:
        extcall IMintable(DECA).approve(POOL, 0)
        extcall IDeca(DECA).burn(deca - deca_added)
    dao_deca: uint256 = deca_added * self.dao_share_bps // MAX_BPS
    if dao_deca > 0:
        extcall IMintable(DECA).mint(self.vault, dao_deca)

    self._set_status(request_id, APPROVED)
    assert deca_added <= MASK_128, "desk: out of range"
    self._req_paid[request_id] = deca_added | (shares << 128)
    self.last_price = price
    log PaymentApproved(
        request_id=request_id, token_id=r.token_id, energy_mwh=energy, deca_added=deca_added, shares=shares,
        energy_to_miner=energy_left, dao_deca=dao_deca, price=price,
    )
    return shares


@external
def reject(request_id: uint256, reason: String[MAX_REASON]):
    """
    @notice Refuse a pending request with a reason; its deliveries stay
            credited for a corrected request. DAO only (by proposal).
    @param request_id The request.
    @param reason Why, for the miner.
    """
    self._check_dao()
    r: PaymentRequest = self._pending(request_id)
    assert len(reason) > 0, "desk: reason required"
    extcall IStorageNode(STORAGE).release(self.request_deliveries[request_id])
    self._set_status(request_id, REJECTED)
    self._req_reason[request_id] = reason
    log PaymentRejected(request_id=request_id, token_id=r.token_id, reason=reason)


@external
def set_reference_price(price: uint256):
    """
    @notice The price `review` suggests while the pool is empty. DAO only.
    @param price DECA wei per ENERGY unit (mWh) x 1e18, above 0.
    """
    self._check_dao()
    self._set_reference_price(price)


@external
def set_dao_share_bps(share_bps: uint256):
    """
    @notice The vault's share of the DECA added per payment. DAO only.
    @param share_bps At most 5 000 bps.
    """
    self._check_dao()
    self._set_dao_share_bps(share_bps)


@external
def set_price_band_bps(band_bps: uint256):
    """
    @notice How far the pool's spot price may be from a voted price at approval. DAO only.
    @param band_bps 1 .. 5 000 bps.
    """
    self._check_dao()
    self._set_price_band_bps(band_bps)


@external
def set_vault(vault: address):
    """
    @notice Where the DAO's share goes. DAO only.
    @param vault The vault address.
    """
    self._check_dao()
    self._set_vault(vault)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the contract to a new owner (the DAO, at deployment).
    @param new_owner The new owner.
    """
    self._check_dao()
    assert new_owner != empty(address), "desk: zero address"
    ow._transfer_ownership(new_owner)


@external
@view
def review(request_id: uint256) -> Review:
    """
    @notice Everything the DAO checks before it votes, in one call.
    @param request_id The request.
    @return Review Measurements [mWh], the miner's record and hardware
            status, the prices to vote from (the pool's TWAP since filing,
            its spot, the last payment's) and what approval would mint at
            the suggested one.
    """
    r: PaymentRequest = self._request(request_id)
    assert r.status != 0, "desk: unknown request"
    m: MinerRecord = self._miner(r.token_id)
    last_seen: uint64 = (staticcall IRegistry(REGISTRY).device_state(m.device))[1]
    loss: uint256 = r.sent_mwh - r.received_mwh
    twap: uint256 = self._twap_since_filing(request_id, r.filed)
    spot: uint256 = staticcall IPool(POOL).spot_price()
    price: uint256 = twap
    if price == 0:
        price = spot
    if price == 0:
        price = self.reference_price
    deca: uint256 = r.received_mwh * price // PRICE_SCALE
    return Review(
        token_id=r.token_id,
        miner=r.miner,
        status=r.status,
        period_start=r.period_start,
        period_end=r.period_end,
        deliveries=len(self.request_deliveries[request_id]),
        sent_mwh=r.sent_mwh,
        received_mwh=r.received_mwh,
        loss_mwh=loss,
        loss_bps=loss * MAX_BPS // r.sent_mwh,
        hardware_status=m.status,
        online_hours=m.online_hours,
        hashes=m.hashes,
        last_seen=last_seen,
        energy_to_mint=r.received_mwh,
        deca_to_mint=deca,
        dao_deca=deca * self.dao_share_bps // MAX_BPS,
        price=price,
        twap_price=twap,
        spot_price=spot,
        last_price=self.last_price,
        reason=r.reason,
    )


@external
@view
def requests(request_id: uint256) -> PaymentRequest:
    """
    @notice A payment request (all zero if none).
    @param request_id The request.
    @return PaymentRequest Token, miner, period and filing time [s], energy
            sent and received [mWh], status (1 pending, 2 approved,
            3 rejected), the reason of a rejection, and once approved the
            DECA added [wei] and the LP shares minted.
    """
    return self._request(request_id)


@external
@view
def deliveries_of(request_id: uint256) -> DynArray[uint256, MAX_KEYS]:
    """
    @notice The delivery keys a request covers.
    @param request_id The request.
    @return DynArray[uint256, 32] StorageNode delivery keys.
    """
    return self.request_deliveries[request_id]


# ============================= INTERNAL =============================

@internal
@view
def _check_dao():
    assert msg.sender == ow.owner, "desk: only the DAO"


@internal
@view
def _request(request_id: uint256) -> PaymentRequest:
    who: uint256 = self._req_who[request_id]
    at: uint256 = self._req_when[request_id]
    energy: uint256 = self._req_energy[request_id]
    paid: uint256 = self._req_paid[request_id]
    return PaymentRequest(
        token_id=(who >> 160) & MASK_64,
        miner=convert(convert(who & MASK_160, uint160), address),
        period_start=at & MASK_64,
        period_end=(at >> 64) & MASK_64,
        sent_mwh=energy & MASK_128,
        received_mwh=energy >> 128,
        filed=at >> 128,
        status=convert(who >> 224, uint8),
        reason=self._req_reason[request_id],
        deca_added=paid & MASK_128,
        shares=paid >> 128,
    )


@internal
def _set_status(request_id: uint256, status: uint8):
    who: uint256 = self._req_who[request_id]
    self._req_who[request_id] = (who & (2**224 - 1)) | (convert(status, uint256) << 224)


@internal
@view
def _pending(request_id: uint256) -> PaymentRequest:
    r: PaymentRequest = self._request(request_id)
    assert r.status != 0, "desk: unknown request"
    assert r.status == PENDING, "desk: request not pending"
    return r


@internal
@view
def _miner(token_id: uint256) -> MinerRecord:
    return staticcall IMinerSBT(SBT).miners(token_id)


@internal
@view
def _twap_since_filing(request_id: uint256, filed: uint256) -> uint256:
    """
    @dev The pool's time-weighted price from the request's filing to now, or
         0 when the pool was empty at filing (the cumulative
         price grows only while the pool holds liquidity, so a window that
         started before would count the empty time at price 0) or less than
         TWAP_WINDOW passed.
    """
    start: uint256 = self._req_cumulative[request_id]
    if start == 0 or block.timestamp < filed + TWAP_WINDOW:
        return 0
    cumulative: uint256 = (staticcall IPool(POOL).cumulative_prices())[0]
    return (cumulative - (start - 1)) // (block.timestamp - filed)


@internal
def _set_reference_price(price: uint256):
    assert price > 0, "desk: zero price"
    self.reference_price = price
    log ParameterChanged(name="reference_price", value=price)


@internal
def _set_dao_share_bps(share_bps: uint256):
    assert share_bps <= MAX_DAO_SHARE_BPS, "desk: share too high"
    self.dao_share_bps = share_bps
    log ParameterChanged(name="dao_share_bps", value=share_bps)


@internal
def _set_price_band_bps(band_bps: uint256):
    assert band_bps > 0 and band_bps <= MAX_PRICE_BAND_BPS, "desk: bad price band"
    self.price_band_bps = band_bps
    log ParameterChanged(name="price_band_bps", value=band_bps)


@internal
def _set_vault(vault: address):
    assert vault != empty(address), "desk: zero address"
    self.vault = vault
    log ParameterChanged(name="vault", value=convert(convert(vault, uint160), uint256))
