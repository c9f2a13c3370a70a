# pragma version ~=0.4.3
"""
@title EpochKeys: commit-reveal keys of the hourly PoGG lottery
@license MIT
@notice For each epoch e the oracle commits a fresh secp256k1 public key
        PK_e once the epoch's submission window is over (`commit`, which
        also closes the epoch in the MeasurementRegistry, so every legal
        count N is final), at block H. From block H + B anyone may reveal
        SK_e (`reveal`): the contract checks SK_e·G = PK_e and stores
        entropy_e = sha256(blockhash(H) ‖ … ‖ blockhash(H + B − 1)).
        A miner (token) with N > 0 legal readings in e wins when
            SEED = uint256(sha256(bytes32((X·N) mod p) ‖ entropy_e)) mod K
        is 0, X the x-coordinate of SK_e·PK_device (ECDH). The shared
        point is supplied by the caller and checked on chain with
        ecrecover (module `lottery`), so the whole lottery is
        verifiable and the oracle cannot choose winners.
        B and K are fixed per epoch when it is committed.
@custom:security (1) Multiplication check without a curve precompile
        (module `lottery`): ecrecover(0, 27 + (P.y & 1), P.x, P.x·k mod n)
        returns the address of k·P, compared with keccak256(Q.x ‖ Q.y)[12:]
        of the claimed point Q. A device key with x ≥ n (probability about
        2⁻¹²⁸) can never be checked: its lottery reads as lost.
        (2) The block hashes are those of the B blocks from the commit on:
        the oracle chose PK_e before any of them existed. A block producer
        can still withhold a block (grind one hash among B); the oracle can
        withhold the reveal, after which the epoch's whole emission goes to
        the vault (RewardDistributor.sweep), which it cannot gain from.
        (3) A reveal is only possible while all B hashes are readable
        (block.number ≤ H + 256).
"""

from snekmate.auth import ownable as ow

from . import lottery
import secp256k1

initializes: ow

exports: (
    ow.owner,
    # Deliberately not exported: renounce_ownership (the keys must always
    # have their DAO), and transfer_ownership, redefined below with this
    # contract's revert strings.
)


# ============================ INTERFACES ============================

interface IMeasurementRegistry:
    def close_epoch(epoch: uint64): nonpayable
    def legal_count(device: address, epoch: uint64) -> uint256: view
    def grace_period() -> uint256: view
    def genesis() -> uint64: view


# ============================== EVENTS ==============================

event Committed:
    epoch: indexed(uint64)
    pk_x: uint256
    pk_y: uint256
    # H, the commit block ("block" would clash with ape's ContractLog.block)
    committed_block: uint256

event Revealed:
    epoch: indexed(uint64)
    sk: uint256
    entropy: bytes32

event OracleChanged:
    oracle: indexed(address)
    enabled: bool

event ParameterChanged:
    name: String[32]
    value: uint256


# ============================= CONSTANTS ============================

EPOCH_SECONDS: public(constant(uint256)) = 3_600  # one epoch is one hour
BLOCKHASH_WINDOW: constant(uint256) = 256  # blocks whose hash the EVM still returns
MAX_REVEAL_DELAY: constant(uint256) = 128  # blocks; B <= 128 leaves >= 128 blocks to reveal
DEFAULT_REVEAL_DELAY: constant(uint256) = 60  # blocks
DEFAULT_LOTTERY_K: constant(uint256) = 60  # one winner in K on average
MAX_LOTTERY_K: constant(uint256) = 2**32 - 1  # RewardDistributor keeps K in 32 bits

# Epoch word (EpochKey.meta), from bit 0:
#   block     64 bits  H, the commit block (0: not committed)
#   delay      8 bits  B of this epoch
#   k         64 bits  K of this epoch
#   revealed   1 bit
EK_DELAY: constant(uint256) = 64
EK_K: constant(uint256) = 72
EK_REVEALED: constant(uint256) = 136
MASK_64: constant(uint256) = 2**64 - 1
MASK_8: constant(uint256) = 2**8 - 1


# ============================== STORAGE =============================

# Three slots per epoch, written once by `commit`; `reveal` overwrites
# them in place (PK is not needed once SK is known), so it writes no new
# slot: 3 × 2 900 gas instead of 2 × 22 100 for two fresh ones.
struct EpochKey:
    x: uint256  # PK.x before the reveal, SK after
    y: uint256  # PK.y before the reveal, entropy after
    meta: uint256  # packed, see EK_*

REGISTRY: immutable(address)  # MeasurementRegistry
SBT: immutable(address)  # MinerSBT
GENESIS: immutable(uint256)  # start of epoch 0 [s since 1970], the registry's

is_oracle: public(HashMap[address, bool])
reveal_delay: public(uint256)  # B [blocks] for epochs committed from now on
lottery_k: public(uint256)  # K for epochs committed from now on

_keys: HashMap[uint64, EpochKey]


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(registry: address, sbt: address):
    """
    @param registry The MeasurementRegistry whose epochs this contract closes;
           its owner must then call `set_epoch_keys` with this contract.
    @param sbt The MinerSBT that holds the device keys.
    """
    ow.__init__()
    assert registry != empty(address), "keys: zero registry"
    assert sbt != empty(address), "keys: zero sbt"
    REGISTRY = registry
    SBT = sbt
    GENESIS = convert(staticcall IMeasurementRegistry(registry).genesis(), uint256)
    self._set_reveal_delay(DEFAULT_REVEAL_DELAY)
    self._set_lottery_k(DEFAULT_LOTTERY_K)


# ============================= EXTERNAL =============================

@external
def commit(epoch: uint64, pk_x: uint256, pk_y: uint256):
    """
    @notice Commit the epoch's public key and close the epoch to batches (oracle).
    @param epoch An epoch whose submission window (end + registry grace period) is over.
    @param pk_x x-coordinate of PK_e, a point on secp256k1.
    @param pk_y y-coordinate of PK_e.
    """
    assert self.is_oracle[msg.sender], "keys: not an oracle"
    window_end: uint256 = self._epoch_end(epoch) + staticcall IMeasurementRegistry(REGISTRY).grace_period()
    assert block.timestamp >= window_end, "keys: window open"
    assert self._keys[epoch].meta == 0, "keys: already committed"
    assert secp256k1._on_curve(pk_x, pk_y), "keys: bad key"
    extcall IMeasurementRegistry(REGISTRY).close_epoch(epoch)
    # block.number < 2**64 and B, K within their widths (setters)
    self._keys[epoch] = EpochKey(
        x=pk_x,
        y=pk_y,
        meta=block.number | (self.reveal_delay << EK_DELAY) | (self.lottery_k << EK_K),
    )
    log Committed(epoch=epoch, pk_x=pk_x, pk_y=pk_y, committed_block=block.number)


@external
def reveal(epoch: uint64, sk: uint256):
    """
    @notice Reveal the epoch's secret key (anyone; the oracle does) and fix its entropy.
    @dev Allowed from block H + B to block H + 256 (all B hashes readable).
    @param epoch A committed epoch.
    @param sk SK_e, 1 .. n − 1, with SK_e·G = PK_e.
    """
    meta: uint256 = self._keys[epoch].meta
    assert meta != 0, "keys: not committed"
    assert (meta >> EK_REVEALED) & 1 == 0, "keys: already revealed"
    h: uint256 = meta & MASK_64
    delay: uint256 = (meta >> EK_DELAY) & MASK_8
    assert block.number >= h + delay, "keys: too early"
    assert block.number <= h + BLOCKHASH_WINDOW, "keys: too late"
    pk: address = lottery._address_of(self._keys[epoch].x, self._keys[epoch].y)
    assert sk != 0 and sk < secp256k1.SECP256K1_N, "keys: wrong key"
    assert lottery._is_multiple(sk, secp256k1.SECP256K1_GX, secp256k1.SECP256K1_GY, pk), "keys: wrong key"

    # a fixed array and a slice of its encoding: 4k gas less than a DynArray
    hashes: bytes32[MAX_REVEAL_DELAY] = empty(bytes32[MAX_REVEAL_DELAY])
    for i: uint256 in range(delay, bound=MAX_REVEAL_DELAY):
        # unsafe: h + i < block.number < 2**64
        hashes[i] = blockhash(unsafe_add(h, i))
    entropy: bytes32 = sha256(slice(abi_encode(hashes), 0, 32 * delay))

    self._keys[epoch] = EpochKey(x=sk, y=convert(entropy, uint256), meta=meta | (1 << EK_REVEALED))
    log Revealed(epoch=epoch, sk=sk, entropy=entropy)


# DAO setters

@external
def set_oracle(oracle: address, enabled: bool):
    """
    @notice Allow or disallow an address to commit keys (DAO).
    @param oracle The oracle's address, not zero.
    @param enabled True to allow.
    """
    self._check_dao()
    assert oracle != empty(address), "keys: zero oracle"
    self.is_oracle[oracle] = enabled
    log OracleChanged(oracle=oracle, enabled=enabled)


@external
def set_reveal_delay(delay: uint256):
    """
    @notice Set B for epochs committed from now on (DAO).
    @param delay Blocks between commit and reveal, 1 .. 128.
    """
    self._check_dao()
    self._set_reveal_delay(delay)


@external
def set_lottery_k(k: uint256):
    """
    @notice Set K for epochs committed from now on (DAO).
    @param k Odds: a miner with N > 0 wins with probability 1 / K; 1 .. 2**32 − 1.
    """
    self._check_dao()
    self._set_lottery_k(k)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the keys to another DAO (DAO).
    @param new_owner The new owner, not the zero address.
    """
    self._check_dao()
    assert new_owner != empty(address), "keys: zero owner"
    ow._transfer_ownership(new_owner)


# Views

@external
@view
def registry() -> address:
    """
    @notice The MeasurementRegistry whose epochs this contract closes.
    @return address The registry.
    """
    return REGISTRY


@external
@view
def sbt() -> address:
    """
    @notice The MinerSBT that holds the device keys.
    @return address The SBT.
    """
    return SBT


@external
@view
def genesis() -> uint64:
    """
    @notice Start of epoch 0 (the registry's).
    @return uint64 Seconds since 1970.
    """
    return convert(GENESIS, uint64)


@external
@view
def committed_block(epoch: uint64) -> uint256:
    """
    @notice H, the block of the epoch's commit.
    @param epoch An epoch.
    @return uint256 The block number, 0 if not committed.
    """
    return self._keys[epoch].meta & MASK_64


@external
@view
def epoch_params(epoch: uint64) -> (uint256, uint256):
    """
    @notice B and K as fixed for the epoch by its commit.
    @param epoch An epoch.
    @return (uint256, uint256) Reveal delay B [blocks] and lottery K; (0, 0) if not committed.
    """
    meta: uint256 = self._keys[epoch].meta
    return (meta >> EK_DELAY) & MASK_8, (meta >> EK_K) & MASK_64


@external
@view
def revealed(epoch: uint64) -> bool:
    """
    @notice Whether the epoch's secret key is revealed.
    @param epoch An epoch.
    @return bool
    """
    return self._is_revealed(self._keys[epoch].meta)


@external
@view
def secret(epoch: uint64) -> uint256:
    """
    @notice SK_e.
    @param epoch An epoch.
    @return uint256 The secret key, 0 before the reveal.
    """
    if not self._is_revealed(self._keys[epoch].meta):
        return 0
    return self._keys[epoch].x


@external
@view
def entropy(epoch: uint64) -> bytes32:
    """
    @notice entropy_e = sha256(blockhash(H) ‖ … ‖ blockhash(H + B − 1)).
    @param epoch An epoch.
    @return bytes32 The entropy, zero before the reveal.
    """
    if not self._is_revealed(self._keys[epoch].meta):
        return empty(bytes32)
    return convert(self._keys[epoch].y, bytes32)


@external
@view
def public_key(epoch: uint64) -> (uint256, uint256):
    """
    @notice PK_e as committed, while it is stored: between commit and reveal.
    @dev The reveal overwrites it with SK_e and the entropy; the `Committed`
         event keeps it for good.
    @param epoch An epoch.
    @return (uint256, uint256) The point (x, y); (0, 0) if not committed or already revealed.
    """
    k: EpochKey = self._keys[epoch]
    if k.meta == 0 or self._is_revealed(k.meta):
        return 0, 0
    return k.x, k.y


@external
@view
def point_ok(epoch: uint64, token_id: uint256, px: uint256, py: uint256) -> bool:
    """
    @notice Whether (px, py) = SK_e·PK_device of a token (its ECDH point).
    @param epoch A revealed epoch (false otherwise).
    @param token_id A MinerSBT token.
    @param px x-coordinate of the claimed point (X of the lottery).
    @param py y-coordinate of the claimed point.
    @return bool
    """
    if not self._is_revealed(self._keys[epoch].meta):
        return False
    device: address = empty(address)
    ok: bool = False
    device, ok = lottery._device_point(SBT, token_id, self._keys[epoch].x, px, py)
    return ok


@external
@view
def seed(epoch: uint64, token_id: uint256, px: uint256, py: uint256) -> uint256:
    """
    @notice SEED of a token in an epoch; the token wins when it is 0 and N > 0.
    @param epoch A revealed epoch.
    @param token_id A MinerSBT token.
    @param px x-coordinate of SK_e·PK_device.
    @param py y-coordinate of SK_e·PK_device.
    @return uint256 uint256(sha256(bytes32((px·N) mod p) ‖ entropy_e)) mod K, in [0, K).
    """
    k: EpochKey = self._keys[epoch]
    assert self._is_revealed(k.meta), "keys: not revealed"
    device: address = empty(address)
    ok: bool = False
    device, ok = lottery._device_point(SBT, token_id, k.x, px, py)
    assert ok, "keys: wrong point"
    n: uint256 = staticcall IMeasurementRegistry(REGISTRY).legal_count(device, epoch)
    return lottery._seed(px, n, convert(k.y, bytes32), (k.meta >> EK_K) & MASK_64)


@external
@view
def is_winner(epoch: uint64, token_id: uint256, px: uint256, py: uint256) -> bool:
    """
    @notice Whether a token wins the epoch's lottery: revealed epoch, right
            point, N > 0 and SEED = 0. Never reverts.
    @param epoch An epoch.
    @param token_id A MinerSBT token.
    @param px x-coordinate of SK_e·PK_device.
    @param py y-coordinate of SK_e·PK_device.
    @return bool
    """
    k: EpochKey = self._keys[epoch]
    if not self._is_revealed(k.meta):
        return False
    return lottery._wins(
        SBT, REGISTRY, epoch, token_id, px, py, lottery._inverse(k.x), convert(k.y, bytes32), (k.meta >> EK_K) & MASK_64
    )


@external
@pure
def lottery_seed(x: uint256, n: uint256, entropy: bytes32, k: uint256) -> uint256:
    """
    @notice The SEED formula alone, for auditors (no state).
    @param x The ECDH value X.
    @param n Legal readings N.
    @param entropy entropy_e.
    @param k Lottery K, at least 1.
    @return uint256 uint256(sha256(bytes32((x·n) mod p) ‖ entropy)) mod k.
    """
    return lottery._seed(x, n, entropy, k)


@external
@pure
def is_multiple(k: uint256, px: uint256, py: uint256, qx: uint256, qy: uint256) -> bool:
    """
    @notice The ecrecover check alone: whether Q = k·P on secp256k1 (no state).
    @param k A scalar, 1 .. n − 1.
    @param px x-coordinate of P, a curve point with px < n.
    @param py y-coordinate of P.
    @param qx x-coordinate of Q.
    @param qy y-coordinate of Q.
    @return bool
    """
    return lottery._is_multiple(k, px, py, lottery._address_of(qx, qy))


# ============================= INTERNAL =============================

@internal
@pure
def _is_revealed(meta: uint256) -> bool:
    return (meta >> EK_REVEALED) & 1 == 1


@internal
@view
def _check_dao():
    # own reason instead of snekmate's "ownable: caller is not the owner"
    assert msg.sender == ow.owner, "keys: only the DAO"


@internal
@view
def _epoch_end(epoch: uint64) -> uint256:
    return GENESIS + (convert(epoch, uint256) + 1) * EPOCH_SECONDS


@internal
def _set_reveal_delay(delay: uint256):
    assert delay >= 1 and delay <= MAX_REVEAL_DELAY, "keys: bad reveal delay"
    self.reveal_delay = delay
    log ParameterChanged(name="reveal_delay", value=delay)


@internal
def _set_lottery_k(k: uint256):
    assert k >= 1 and k <= MAX_LOTTERY_K, "keys: bad lottery k"
    self.lottery_k = k
    log ParameterChanged(name="lottery_k", value=k)
