# pragma version ~=0.4.3
"""
@title MeasurementRegistry: signed hourly batches of solar readings
@license MIT
@notice Each admitted device (MinerSBT) signs one batch per epoch (hour)
        as EIP-712 typed data: up to 12 packed readings
        (timestamp << 192 | power mW << 128 | total mWh), its sequence
        number, the digest of its previous accepted batch and a
        proof-of-work nonce. The registry checks the batch against the
        device's token, its previous state, the epoch window and the
        declared capacity, then emits the readings in `BatchAccepted`
        (the chain's logs are the measurement database) and keeps only
        what later checks need: one packed state word and the last batch
        digest per device, and the legal count N of each epoch.
        Encodings: docs/protocol.md. Every check lives in `_check`, used
        by `submit` (reverts with the reason) and `submit_many` (skips a
        bad batch with `BatchSkipped`).
@custom:security (1) Mining records are written to the SBT in bulk: a
        device's proven hours (and their expected hashes) are pending in its
        state word and flushed to `MinerSBT.record_mining` when the device
        enters a new block of 16 epochs, when the PoW target changed since
        its last batch, or when anyone calls `sync_mining`. The SBT's record
        lags by at most 16 hours; `mining_pending` shows the lag.
        (2) Legal counts are kept for the device's current block of 16
        epochs and, in a per-device ring of 8 reused slots, for the
        previous 7 to 8 superblocks of 48 epochs (at least 14 days back).
        Older counts read as 0.
        (3) Closing is monotone: `close_epoch(e)` closes every epoch up to
        `e`. With a grace period of at most one epoch and `e` already over,
        every earlier epoch was closed by time anyway.
        (4) The SBT must name this registry (`MinerSBT.set_registry`):
        otherwise a batch that flushes mining records reverts.
        (5) A device's first batch continues from its enrollment (the total
        and time the device signed when its owner applied,
        `MinerSBT.device_start`): its readings come after that time and its
        totals grow from that total within capacity × margin × the time
        elapsed, like every later batch from the one before.
"""

from snekmate.auth import ownable as ow
from snekmate.utils import eip712_domain_separator as eip712

import secp256k1

initializes: ow
initializes: eip712

exports: (
    ow.owner,
    eip712.eip712Domain,
    # Deliberately not exported: renounce_ownership (the registry must
    # always have its DAO), and transfer_ownership, redefined below with
    # this contract's revert strings.
)


# ============================ INTERFACES ============================

interface IMinerSBT:
    def device_info(device: address) -> (uint256, uint32, uint8): view
    def device_start(device: address) -> (uint128, uint64): view
    def record_mining(token_id: uint256, online_hours: uint64, hashes: uint256): nonpayable


# ============================== EVENTS ==============================

event BatchAccepted:
    device: indexed(address)
    token_id: indexed(uint256)
    epoch: indexed(uint64)
    seq: uint64
    batch_hash: bytes32
    prev_batch: bytes32
    pow_nonce: uint256
    signature: Bytes[65]  # r ‖ s ‖ v
    # ABI type uint256[]; an accepted batch has at most MAX_READINGS (12)
    readings: DynArray[uint256, READINGS_BOUND]

event BatchSkipped:
    device: indexed(address)
    seq: uint64
    reason: String[MAX_REASON]

event EpochClosed:
    epoch: indexed(uint64)

event ParameterChanged:
    name: String[32]
    value: uint256

event EpochKeysChanged:
    epoch_keys: indexed(address)


# ============================= CONSTANTS ============================

EPOCH_SECONDS: public(constant(uint256)) = 3_600  # one epoch is one hour
MAX_READINGS: public(constant(uint256)) = 12  # one reading every 5 minutes
# ABI bound of `readings`, above MAX_READINGS so that an overlong batch
# still decodes and is refused with a reason
READINGS_BOUND: constant(uint256) = 16
MAX_BATCHES: constant(uint256) = 64  # per submit_many call
MAX_REASON: constant(uint256) = 64
MAX_QUERY: constant(uint256) = 256  # devices per legal_counts call

MAX_BPS: constant(uint256) = 10_000  # 100 %
MAX_MARGIN_BPS: constant(uint256) = 100_000  # 1 000 %: power at most 10 × capacity
MIN_POW_TARGET: constant(uint256) = 2**128  # at most 2**128 expected hashes a batch
MW_PER_W: constant(uint256) = 1_000
# Energy bound: Δe [mWh] · 3 600 [s/h] · 10 000 [bps] <= capacity [mW] · margin [bps] · Δt [s]
MWH_TO_MW_S_BPS: constant(uint256) = EPOCH_SECONDS * MAX_BPS

# hardware status in MinerSBT
ACTIVE: constant(uint8) = 1

BATCH_TYPEHASH: public(constant(bytes32)) = keccak256(
    "Batch(address device,uint64 epoch,uint64 seq,bytes32 readingsHash,bytes32 prevBatch,uint256 powNonce)"
)

# Packed reading (protocol.md): ts << 192 | power mW << 128 | total mWh
MASK_64: constant(uint256) = 2**64 - 1
MASK_128: constant(uint256) = 2**128 - 1

# Device state word, from bit 0:
#   total    96 bits  last total [mWh]; < 2**65 since the enrollment's
#                     total is at most 2**64 (MinerSBT) and every increase
#                     from it is bounded by capacity (uint32 W) × margin ×
#                     elapsed time (< 2**74 mWh over the 40-bit time range)
#   ts       40 bits  last timestamp [s] (until the year 36 812)
#   seq      32 bits  next expected seq = accepted batches (hourly: 490 000 years)
#   pending   8 bits  accepted batches not yet recorded on the SBT (<= 16)
#   gen      16 bits  PoW target generation of the pending batches
#   ring     64 bits  16 × 4-bit legal counts of the current block of 16 epochs
ST_TS: constant(uint256) = 96
ST_SEQ: constant(uint256) = 136
ST_PENDING: constant(uint256) = 168
ST_GEN: constant(uint256) = 176
ST_RING: constant(uint256) = 192
MASK_96: constant(uint256) = 2**96 - 1
MASK_40: constant(uint256) = 2**40 - 1
MASK_32: constant(uint256) = 2**32 - 1
MASK_16: constant(uint256) = 2**16 - 1
MASK_8: constant(uint256) = 2**8 - 1
MASK_4: constant(uint256) = 2**4 - 1

BLOCK_EPOCHS: constant(uint256) = 16  # legal counts in one 64-bit block
SUPER_BLOCKS: constant(uint256) = 3  # blocks in one archive slot, under a 64-bit tag
SUPER_EPOCHS: constant(uint256) = BLOCK_EPOCHS * SUPER_BLOCKS  # 48
ARCHIVE_SLOTS: constant(uint256) = 8  # ring of reused slots per device
ARCHIVE_TAG: constant(uint256) = 192  # tag = superblock + 1 in the top 64 bits

# Parameter word, from bit 0: margin [bps] 32 | grace [s] 32 | closed-through + 1 64 | gen 16
PR_GRACE: constant(uint256) = 32
PR_CLOSED: constant(uint256) = 64
PR_GEN: constant(uint256) = 128

REASON_OK: constant(String[MAX_REASON]) = ""


# ============================== STORAGE =============================

struct SignedBatch:
    device: address
    epoch: uint64
    seq: uint64
    prev_batch: bytes32
    pow_nonce: uint256
    readings: DynArray[uint256, READINGS_BOUND]  # packed, see protocol.md
    v: uint8
    r: bytes32
    s: bytes32

# Parameters as read once per call (memory only).
struct Params:
    target: uint256  # PoW target
    margin_bps: uint256  # power margin over capacity [bps]
    grace: uint256  # seconds after an epoch's end during which it takes batches
    closed: uint256  # epochs below this were closed by `close_epoch`
    gen: uint256  # PoW target generation

# What `_check` found, for `_accept` (memory only).
struct Verdict:
    digest: bytes32
    token_id: uint256
    state: uint256  # the device's state word before this batch

SBT: immutable(address)  # MinerSBT
GENESIS: immutable(uint64)  # start of epoch 0 [s since 1970]

epoch_keys: public(address)  # the only caller of close_epoch

_params: uint256  # packed, see PR_*
_pow_target: uint256
_gen_hashes: HashMap[uint256, uint256]  # target generation -> 2**256 // target

_state: HashMap[address, uint256]  # device -> packed state, see ST_*
_last_hash: HashMap[address, bytes32]  # device -> digest of its last accepted batch
_archive: HashMap[address, HashMap[uint256, uint256]]  # device -> ring slot -> tag | 3 blocks


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(
    sbt: address,
    genesis: uint64,
    pow_target: uint256,
    capacity_margin_bps: uint256,
    grace_period: uint256,
):
    """
    @param sbt The MinerSBT that knows devices, capacities and status.
    @param genesis Start of epoch 0 [s since 1970], not in the future.
    @param pow_target PoW target, 2**128 .. 2**256 - 1 (expected hashes 2**256 // target).
    @param capacity_margin_bps Allowed power over declared capacity [bps], 10 000 .. 100 000.
    @param grace_period Seconds after an epoch's end during which it takes batches, 1 .. 3 600.
    """
    ow.__init__()
    eip712.__init__("GreenEnergyMiners", "1")
    assert sbt != empty(address), "registry: zero sbt"
    assert genesis != 0 and convert(genesis, uint256) <= block.timestamp, "registry: bad genesis"
    SBT = sbt
    GENESIS = genesis
    self._set_pow_target(pow_target)
    self._set_capacity_margin_bps(capacity_margin_bps)
    self._set_grace_period(grace_period)


# ============================= EXTERNAL =============================

@external
def submit(b: SignedBatch) -> bytes32:
    """
    @notice Anchor one signed batch; reverts with the reason if it is refused.
    @param b The batch: device, epoch, seq, prev_batch, pow_nonce,
           readings (packed: ts [s] << 192 | power [mW] << 128 | total [mWh]),
           and the device's signature (v, r, s) of its EIP-712 digest.
    @return bytes32 The batch digest (its identity, the next batch's prev_batch).
    """
    p: Params = self._read_params()
    reason: String[MAX_REASON] = REASON_OK
    v: Verdict = empty(Verdict)
    reason, v = self._check(b, p)
    if len(reason) != 0:
        raise reason
    self._accept(b, p, v)
    return v.digest


@external
def submit_many(batches: DynArray[SignedBatch, MAX_BATCHES]) -> uint256:
    """
    @notice Anchor several batches (a gateway's hourly relay); a refused
            batch is skipped with `BatchSkipped(device, seq, reason)`.
    @param batches Up to 64 batches, checked and accepted in order (so the
           same device may appear with consecutive seqs).
    @return uint256 How many were accepted.
    """
    p: Params = self._read_params()
    accepted: uint256 = 0
    for b: SignedBatch in batches:
        reason: String[MAX_REASON] = REASON_OK
        v: Verdict = empty(Verdict)
        reason, v = self._check(b, p)
        if len(reason) != 0:
            log BatchSkipped(device=b.device, seq=b.seq, reason=reason)
            continue
        self._accept(b, p, v)
        accepted += 1
    return accepted


@external
def sync_mining(device: address):
    """
    @notice Record a device's pending proven hours on its SBT now (anyone).
    @param device A device address.
    """
    st: uint256 = self._state[device]
    pending: uint256 = (st >> ST_PENDING) & MASK_8
    if pending == 0:
        return
    token_id: uint256 = 0
    capacity_w: uint32 = 0
    status: uint8 = 0
    token_id, capacity_w, status = staticcall IMinerSBT(SBT).device_info(device)
    self._state[device] = st & ~(MASK_8 << ST_PENDING)
    self._record(token_id, pending, (st >> ST_GEN) & MASK_16, self._read_params())


@external
def close_epoch(epoch: uint64):
    """
    @notice Close an epoch (and every earlier one) to batches: its legal
            counts N are final. Called by EpochKeys when it commits the key.
    @param epoch An epoch that is over.
    """
    assert msg.sender == self.epoch_keys, "registry: only epoch keys"
    assert block.timestamp >= self._epoch_end(convert(epoch, uint256)), "registry: epoch not over"
    prm: uint256 = self._params
    if convert(epoch, uint256) + 1 > (prm >> PR_CLOSED) & MASK_64:
        prm = (prm & ~(MASK_64 << PR_CLOSED)) | ((convert(epoch, uint256) + 1) << PR_CLOSED)
        self._params = prm
    log EpochClosed(epoch=epoch)


# DAO setters

@external
def set_pow_target(target: uint256):
    """
    @notice Set the proof-of-work target (DAO).
    @param target 2**128 .. 2**256 - 1; a batch needs keccak256(digest ‖ nonce) < target.
    """
    self._check_dao()
    self._set_pow_target(target)


@external
def set_capacity_margin_bps(margin_bps: uint256):
    """
    @notice Set how far power may exceed the declared capacity (DAO).
    @param margin_bps Allowed power as a share of capacity [bps], 10 000 .. 100 000.
    """
    self._check_dao()
    self._set_capacity_margin_bps(margin_bps)


@external
def set_grace_period(grace_period: uint256):
    """
    @notice Set how long after its end an epoch takes batches (DAO).
    @param grace_period Seconds, 1 .. 3 600.
    """
    self._check_dao()
    self._set_grace_period(grace_period)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the registry to another DAO (DAO).
    @param new_owner The new owner, not the zero address.
    """
    self._check_dao()
    assert new_owner != empty(address), "registry: zero owner"
    ow._transfer_ownership(new_owner)


@external
def set_epoch_keys(epoch_keys: address):
    """
    @notice Set the EpochKeys contract, the only caller of `close_epoch` (DAO).
    @param epoch_keys Its address (zero: nobody closes epochs early).
    """
    self._check_dao()
    self.epoch_keys = epoch_keys
    log EpochKeysChanged(epoch_keys=epoch_keys)


# Views

@external
@view
def sbt() -> address:
    """
    @notice The MinerSBT that knows devices, their capacity and status.
    @return address The SBT contract.
    """
    return SBT


@external
@view
def genesis() -> uint64:
    """
    @notice Start of epoch 0; epoch e is [genesis + 3 600 e, genesis + 3 600 (e + 1)).
    @return uint64 Seconds since 1970.
    """
    return GENESIS


@external
@view
def pow_target() -> uint256:
    """
    @notice The proof-of-work target.
    @return uint256 A batch needs uint256(keccak256(digest ‖ nonce)) below it.
    """
    return self._pow_target


@external
@view
def capacity_margin_bps() -> uint256:
    """
    @notice Allowed power over the declared capacity.
    @return uint256 Margin [bps]; power [mW] may reach capacity [W] × 1 000 × margin / 10 000.
    """
    return self._params & MASK_32


@external
@view
def grace_period() -> uint256:
    """
    @notice How long after its end an epoch still takes batches.
    @return uint256 Seconds.
    """
    return (self._params >> PR_GRACE) & MASK_32


@external
@view
def hashes_per_batch() -> uint256:
    """
    @notice Expected hashes of one accepted batch under the current target.
    @return uint256 2**256 // pow_target.
    """
    return self._hashes(self._pow_target)


@external
@view
def domain_separator() -> bytes32:
    """
    @notice The EIP-712 domain separator ("GreenEnergyMiners", "1", chain id, this registry).
    @return bytes32 The separator.
    """
    return eip712._domain_separator_v4()


@external
@view
def batch_digest(b: SignedBatch) -> bytes32:
    """
    @notice The EIP-712 digest of a batch (the device signs it; it is the batch's identity).
    @param b A batch; v, r and s are ignored.
    @return bytes32 The digest.
    """
    return self._digest(b)


@external
@view
def current_epoch() -> uint64:
    """
    @notice The epoch now running.
    @return uint64 (now - genesis) // 3 600.
    """
    return convert((block.timestamp - convert(GENESIS, uint256)) // EPOCH_SECONDS, uint64)


@external
@view
def epoch_closed(epoch: uint64) -> bool:
    """
    @notice Whether an epoch no longer takes batches.
    @param epoch An epoch.
    @return bool True once its grace period is over or `close_epoch` closed it.
    """
    p: Params = self._read_params()
    e: uint256 = convert(epoch, uint256)
    return e < p.closed or block.timestamp >= self._epoch_end(e) + p.grace


@external
@view
def device_state(device: address) -> (uint128, uint64, uint64, bytes32):
    """
    @notice Where a device's next batch continues from: its last accepted
            reading, or before its first batch its enrollment (MinerSBT).
    @param device A device address.
    @return (uint128, uint64, uint64, bytes32) Last total [mWh], its
            timestamp [s], next seq, digest of the last accepted batch
            (zero before the first batch; total and time are the
            enrollment's then, zeros for a device never admitted).
    """
    return self._device_state(device)


@external
@view
def device_check(device: address) -> (uint256, uint32, uint8, uint128, uint64, uint64, bytes32):
    """
    @notice What a gateway checks before it queues a device's batch, in one
            call and one state: `MinerSBT.device_info`, then `device_state`.
    @param device A device address.
    @return (uint256, uint32, uint8, uint128, uint64, uint64, bytes32) Token id
            (0: unknown), capacity [W], hardware status, then as `device_state`.
    """
    token_id: uint256 = 0
    capacity_w: uint32 = 0
    status: uint8 = 0
    token_id, capacity_w, status = staticcall IMinerSBT(SBT).device_info(device)
    total: uint128 = 0
    ts: uint64 = 0
    seq: uint64 = 0
    last: bytes32 = empty(bytes32)
    total, ts, seq, last = self._device_state(device)
    return token_id, capacity_w, status, total, ts, seq, last


@internal
@view
def _device_state(device: address) -> (uint128, uint64, uint64, bytes32):
    st: uint256 = self._state[device]
    total: uint256 = 0
    ts: uint256 = 0
    total, ts = self._continues_from(device, st)
    return convert(total, uint128), convert(ts, uint64), convert((st >> ST_SEQ) & MASK_32, uint64), self._last_hash[device]


@external
@view
def legal_count(device: address, epoch: uint64) -> uint256:
    """
    @notice N, the number of legal readings a device anchored for an epoch.
    @param device A device address.
    @param epoch An epoch, at most about 14 days before the device's last batch.
    @return uint256 N (0 .. 12); 0 if none or forgotten.
    """
    return self._legal_count(device, epoch)


@external
@view
def legal_counts(devices: DynArray[address, MAX_QUERY], epoch: uint64) -> DynArray[uint256, MAX_QUERY]:
    """
    @notice N of each device for one epoch (`legal_count`, up to 256 devices a call):
            the oracle and the auditors read every device of an epoch.
    @param devices Device addresses.
    @param epoch An epoch, as for `legal_count`.
    @return DynArray[uint256, 256] N of each device, in order.
    """
    out: DynArray[uint256, MAX_QUERY] = []
    for device: address in devices:
        out.append(self._legal_count(device, epoch))
    return out


@internal
@view
def _legal_count(device: address, epoch: uint64) -> uint256:
    st: uint256 = self._state[device]
    if st == 0:
        return 0
    e: uint256 = convert(epoch, uint256)
    last_epoch: uint256 = self._epoch_of((st >> ST_TS) & MASK_40)
    if e > last_epoch:
        return 0
    if e // BLOCK_EPOCHS == last_epoch // BLOCK_EPOCHS:
        return (st >> (ST_RING + 4 * (e % BLOCK_EPOCHS))) & MASK_4
    sup: uint256 = e // SUPER_EPOCHS
    word: uint256 = self._archive[device][sup % ARCHIVE_SLOTS]
    if word >> ARCHIVE_TAG != sup + 1:
        return 0
    bit: uint256 = 64 * ((e // BLOCK_EPOCHS) % SUPER_BLOCKS) + 4 * (e % BLOCK_EPOCHS)
    return (word >> bit) & MASK_4


@external
@view
def mining_pending(device: address) -> (uint256, uint256):
    """
    @notice Proven hours of a device not yet recorded on its SBT.
    @param device A device address.
    @return (uint256, uint256) Online hours and expected hashes pending.
    """
    st: uint256 = self._state[device]
    pending: uint256 = (st >> ST_PENDING) & MASK_8
    return pending, pending * self._gen_hashes[(st >> ST_GEN) & MASK_16]


# ============================= INTERNAL =============================

@internal
@view
def _check(b: SignedBatch, p: Params) -> (String[MAX_REASON], Verdict):
    """
    @dev Every rule a batch must pass, in order; returns the first broken
         rule's reason (empty if none) and what `_accept` needs.
    """
    v: Verdict = empty(Verdict)
    capacity_w: uint32 = 0
    status: uint8 = 0
    v.token_id, capacity_w, status = staticcall IMinerSBT(SBT).device_info(b.device)
    if v.token_id == 0:
        return "registry: unknown device", v
    if status != ACTIVE:
        return "registry: device not active", v

    v.digest = self._digest(b)
    if secp256k1._recover_vrs(v.digest, b.v, b.r, b.s) != b.device:
        return "registry: bad signature", v

    st: uint256 = self._state[b.device]
    v.state = st
    if convert(b.seq, uint256) != (st >> ST_SEQ) & MASK_32:
        return "registry: bad seq", v
    if b.prev_batch != self._last_hash[b.device]:
        return "registry: bad prev batch", v

    e: uint256 = convert(b.epoch, uint256)
    start: uint256 = convert(GENESIS, uint256) + e * EPOCH_SECONDS
    end: uint256 = start + EPOCH_SECONDS
    if block.timestamp < end:
        return "registry: epoch not over", v
    if e < p.closed or block.timestamp >= end + p.grace:
        return "registry: epoch closed", v
    prev_total: uint256 = 0
    prev_ts: uint256 = 0
    prev_total, prev_ts = self._continues_from(b.device, st)
    if st != 0 and e <= self._epoch_of(prev_ts):
        return "registry: stale epoch", v

    n: uint256 = len(b.readings)
    if n == 0 or n > MAX_READINGS:
        return "registry: bad readings count", v
    # strictly increasing from the first to the last: all inside iff these two are
    if b.readings[0] >> 192 < start or b.readings[n - 1] >> 192 >= end:
        return "registry: timestamp outside epoch", v

    # limit = capacity [mW] × margin [bps] < 2**32 × 2**10 × 2**17
    limit: uint256 = unsafe_mul(unsafe_mul(convert(capacity_w, uint256), MW_PER_W), p.margin_bps)
    max_power: uint256 = limit // MAX_BPS  # mW
    for r: uint256 in b.readings:
        ts: uint256 = r >> 192
        total: uint256 = r & MASK_128
        if ts <= prev_ts:
            return "registry: timestamps not increasing", v
        if total < prev_total:
            return "registry: total decreasing", v
        # unsafe: ts > prev_ts, total >= prev_total; (< 2**128) × 2**26 and 2**59 × (< 2**64) fit
        if unsafe_mul(unsafe_sub(total, prev_total), MWH_TO_MW_S_BPS) > unsafe_mul(limit, unsafe_sub(ts, prev_ts)):
            return "registry: total jump", v
        if (r >> 128) & MASK_64 > max_power:
            return "registry: power above capacity", v
        prev_ts = ts
        prev_total = total

    if convert(keccak256(concat(v.digest, convert(b.pow_nonce, bytes32))), uint256) >= p.target:
        return "registry: weak proof of work", v
    return REASON_OK, v


@internal
def _accept(b: SignedBatch, p: Params, v: Verdict):
    """
    @dev Store the new state of a checked batch, emit it, and record mining
         when the device leaves its block of 16 epochs or the target changed.
    """
    st: uint256 = v.state
    e: uint256 = convert(b.epoch, uint256)
    ring: uint256 = st >> ST_RING
    pending: uint256 = (st >> ST_PENDING) & MASK_8
    gen: uint256 = (st >> ST_GEN) & MASK_16
    flush: uint256 = 0  # pending hours to record on the SBT
    if st != 0:
        last_block: uint256 = self._epoch_of((st >> ST_TS) & MASK_40) // BLOCK_EPOCHS
        if e // BLOCK_EPOCHS != last_block:
            self._archive_block(b.device, last_block, ring)
            ring = 0
            flush = pending
        elif gen != p.gen:
            flush = pending
    if flush != 0:
        pending = 0
    last: uint256 = b.readings[len(b.readings) - 1]
    # unsafe: seq < 2**32 hourly, pending <= 16, n <= 12 fits a nibble
    st = (
        (last & MASK_96)
        | ((last >> 192) << ST_TS)
        | (unsafe_add(convert(b.seq, uint256), 1) << ST_SEQ)
        | (unsafe_add(pending, 1) << ST_PENDING)
        | (p.gen << ST_GEN)
        | ((ring | (len(b.readings) << (4 * (e % BLOCK_EPOCHS)))) << ST_RING)
    )
    self._state[b.device] = st
    self._last_hash[b.device] = v.digest
    log BatchAccepted(
        device=b.device,
        token_id=v.token_id,
        epoch=b.epoch,
        seq=b.seq,
        batch_hash=v.digest,
        prev_batch=b.prev_batch,
        pow_nonce=b.pow_nonce,
        signature=concat(b.r, b.s, convert(b.v, bytes1)),
        readings=b.readings,
    )
    if flush != 0:
        self._record(v.token_id, flush, gen, p)


@internal
def _archive_block(device: address, block_: uint256, ring: uint256):
    """
    @dev Keep a finished block of 16 legal counts in the device's ring of
         archive slots; a slot whose superblock is older is reused.
    """
    sup: uint256 = block_ // SUPER_BLOCKS
    slot: uint256 = sup % ARCHIVE_SLOTS
    word: uint256 = self._archive[device][slot]
    if word >> ARCHIVE_TAG != sup + 1:
        word = (sup + 1) << ARCHIVE_TAG
    self._archive[device][slot] = word | (ring << (64 * (block_ % SUPER_BLOCKS)))


@internal
def _record(token_id: uint256, hours: uint256, gen: uint256, p: Params):
    """
    @dev Add proven hours and their expected hashes (under the target of
         generation `gen`) to the SBT's mining record.
    """
    per_batch: uint256 = 0
    if gen == p.gen:
        per_batch = self._hashes(p.target)
    else:
        per_batch = self._gen_hashes[gen]
    extcall IMinerSBT(SBT).record_mining(token_id, convert(hours, uint64), hours * per_batch)


@internal
@view
def _continues_from(device: address, st: uint256) -> (uint256, uint256):
    """
    @dev (total [mWh], timestamp [s]) the device's next reading continues
         from: its state word's, or its enrollment's before its first batch.
    """
    if st != 0:
        return st & MASK_96, (st >> ST_TS) & MASK_40
    start_total: uint128 = 0
    start_time: uint64 = 0
    start_total, start_time = staticcall IMinerSBT(SBT).device_start(device)
    return convert(start_total, uint256), convert(start_time, uint256)


@internal
@view
def _check_dao():
    # own reason instead of snekmate's "ownable: caller is not the owner"
    assert msg.sender == ow.owner, "registry: only the DAO"


@internal
@view
def _read_params() -> Params:
    prm: uint256 = self._params
    return Params(
        target=self._pow_target,
        margin_bps=prm & MASK_32,
        grace=(prm >> PR_GRACE) & MASK_32,
        closed=(prm >> PR_CLOSED) & MASK_64,
        gen=(prm >> PR_GEN) & MASK_16,
    )


@internal
@view
def _digest(b: SignedBatch) -> bytes32:
    """
    @dev EIP-712 digest of Batch(device, epoch, seq, readingsHash, prevBatch, powNonce),
         readingsHash = keccak256 of the readings as 32-byte words.
    """
    # a bare dynamic array encodes as length ‖ items: drop the length
    readings_hash: bytes32 = keccak256(
        slice(abi_encode(b.readings, ensure_tuple=False), 32, 32 * len(b.readings))
    )
    struct_hash: bytes32 = keccak256(
        abi_encode(BATCH_TYPEHASH, b.device, b.epoch, b.seq, readings_hash, b.prev_batch, b.pow_nonce)
    )
    return eip712._hash_typed_data_v4(struct_hash)


@internal
@pure
def _hashes(target: uint256) -> uint256:
    """
    @dev Expected hashes of one proof under `target`: 2**256 // target,
         computed as (2**256 - 1) // target, plus one when target divides 2**256.
    """
    q: uint256 = max_value(uint256) // target
    if max_value(uint256) % target == target - 1:
        q += 1
    return q


@internal
@view
def _epoch_of(ts: uint256) -> uint256:
    return (ts - convert(GENESIS, uint256)) // EPOCH_SECONDS


@internal
@view
def _epoch_end(epoch: uint256) -> uint256:
    return convert(GENESIS, uint256) + (epoch + 1) * EPOCH_SECONDS


@internal
def _set_pow_target(target: uint256):
    assert target >= MIN_POW_TARGET, "registry: bad pow target"
    prm: uint256 = self._params
    gen: uint256 = (((prm >> PR_GEN) & MASK_16) + 1) & MASK_16  # 1 from the constructor
    self._params = (prm & ~(MASK_16 << PR_GEN)) | (gen << PR_GEN)
    self._pow_target = target
    self._gen_hashes[gen] = self._hashes(target)
    log ParameterChanged(name="pow_target", value=target)


@internal
def _set_capacity_margin_bps(margin_bps: uint256):
    assert margin_bps >= MAX_BPS and margin_bps <= MAX_MARGIN_BPS, "registry: bad capacity margin"
    self._params = (self._params & ~MASK_32) | margin_bps
    log ParameterChanged(name="capacity_margin_bps", value=margin_bps)


@internal
def _set_grace_period(grace_period: uint256):
    assert grace_period > 0 and grace_period <= EPOCH_SECONDS, "registry: bad grace period"
    self._params = (self._params & ~(MASK_32 << PR_GRACE)) | (grace_period << PR_GRACE)
    log ParameterChanged(name="grace_period", value=grace_period)
