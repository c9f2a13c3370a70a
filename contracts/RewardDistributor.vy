# pragma version ~=0.4.3
"""
@title RewardDistributor: per-epoch Merkle roots of PoGG rewards, paid in DECA
@license MIT
@notice After an epoch's key is revealed (EpochKeys), the oracle posts the
        Merkle root of the epoch's reward table, its total and the URI of
        the full table (`post`). The contract mints the rest of the epoch's
        emission (emission − total) to the vault at once; each winner's row
        is minted to the token's current owner when claimed (`claim`, by
        anyone), once, after the contract has checked the row's Merkle
        proof and re-checked the lottery: the ECDH point, N > 0 and SEED = 0
        (module `lottery`, the rule of `EpochKeys.is_winner`). An epoch not
        posted by its deadline pays its whole emission to the vault
        (`sweep`). DECA minted per epoch never exceeds the epoch's emission.
        The DAO sets PoGG's scoring parameters here (`set_scoring_params`,
        twin offchain.scoring.authenticity.ScoringParams) and each `Posted` event
        carries the hash of those in force (`scoring_params_hash`), so that
        an auditor can check a published table's parameters against the
        chain:
            keccak256(abi.encode(17 × uint32, in the struct's order))
        Leaf (OpenZeppelin standard tree, twin offchain.protocol.merkle.leaf):
            keccak256(keccak256(abi.encode(uint64 epoch, uint256 token_id,
                uint256 amount, uint16 a_bps, uint16 q_bps, uint256 v_mwh)))
@custom:security (1) This contract must be a DECA minter
        (`DecaToken.set_minter`, by the DAO).
        (2) Claims are open for 14 days after an epoch's end: a claim
        re-checks N in the registry, whose legal counts are exact for at
        least that long. Rows never claimed are never minted.
        (3) `post` copies SK_e⁻¹, the entropy and K of the epoch from
        EpochKeys; they never change once revealed.
        (4) A revoked token has no owner: its claim reverts in the SBT
        ("erc721: invalid token ID"). A suspended one is still paid; the
        oracle's table decides whether it has a row.
        (5) The contract does not score: `Posted.params_hash` only says which
        parameters the oracle had to use (those in force at the post). That
        the table follows from them is checked off chain, from the published
        inputs. A table scored before a change of the parameters and posted
        after it commits to the new ones: the oracle must re-score it.
"""

from snekmate.auth import ownable as ow

from . import lottery

initializes: ow

exports: (
    ow.owner,
    # Deliberately not exported: renounce_ownership (the distributor must
    # always have its DAO), and transfer_ownership, redefined below with
    # this contract's revert strings.
)


# ============================ INTERFACES ============================

interface IDecaToken:
    def mint(owner: address, amount: uint256): nonpayable

interface IEpochKeys:
    def secret(epoch: uint64) -> uint256: view
    def entropy(epoch: uint64) -> bytes32: view
    def epoch_params(epoch: uint64) -> (uint256, uint256): view
    def genesis() -> uint64: view
    def registry() -> address: view
    def sbt() -> address: view

interface IMinerSBT:
    def ownerOf(token_id: uint256) -> address: view


# ============================== EVENTS ==============================

event Posted:
    epoch: indexed(uint64)
    root: bytes32
    total: uint256  # DECA wei
    uri: String[MAX_URI]
    params_hash: bytes32  # scoring_params_hash when posted

event Swept:
    epoch: indexed(uint64)
    amount: uint256  # DECA wei

event Claimed:
    epoch: indexed(uint64)
    token_id: indexed(uint256)
    owner: indexed(address)
    amount: uint256  # DECA wei

event OracleChanged:
    oracle: indexed(address)
    enabled: bool

event ParameterChanged:
    name: String[32]
    value: uint256

event ScoringParamsChanged:
    params_hash: indexed(bytes32)  # keccak256(abi_encode(params))
    params: ScoringParams


# ============================= CONSTANTS ============================

EPOCH_SECONDS: public(constant(uint256)) = 3_600  # one epoch is one hour
MAX_URI: constant(uint256) = 256
MAX_PROOF: constant(uint256) = 32  # proof depth: up to 2**32 rows
MAX_EMISSION: constant(uint256) = 2**96 - 1  # DECA wei per epoch (7.9e10 DECA)
# Posting needs the grace period (at most 1 h, registry), B blocks (at most
# 128, about 26 min at 12 s) and the scoring: a shorter deadline would
# sweep every epoch.
MIN_POST_DEADLINE: constant(uint256) = 2 * 3_600  # s
MAX_POST_DEADLINE: constant(uint256) = 7 * 86_400  # s
# Claims are open this long after an epoch's end: the registry's legal
# counts, which a claim re-checks, are exact for at least 14 days.
CLAIM_PERIOD: constant(uint256) = 14 * 86_400  # s

# Epoch word, from bit 0: claimed 96 | total 96 | K 32 | status 8
EP_TOTAL: constant(uint256) = 96
EP_K: constant(uint256) = 192
EP_STATUS: constant(uint256) = 224
MASK_96: constant(uint256) = 2**96 - 1
MASK_32: constant(uint256) = 2**32 - 1
POSTED: constant(uint256) = 1
SWEPT: constant(uint256) = 2

# Claimed flags: per token a ring of CLAIM_SLOTS reused words, each for a
# window of 192 epochs (one bit each) under a 64-bit tag (window + 1).
# A word is reused for window w + 3 only by a claim made after epoch
# 192·(w + 3) ended, 385 h after the end of window w's last epoch: later
# than CLAIM_PERIOD (336 h), so no claimable bit is ever dropped.
CLAIM_WINDOW: constant(uint256) = 192  # epochs per word
CLAIM_SLOTS: constant(uint256) = 3
CLAIM_TAG: constant(uint256) = 192  # bit of the tag

# PoGG's scoring parameters (offchain.scoring.authenticity.ScoringParams): the
# defaults set at deployment, then each one's range (`set_scoring_params`).
DEFAULT_RADIUS_M: constant(uint32) = 25_000  # m
DEFAULT_NEIGHBOURS: constant(uint32) = 10
DEFAULT_MARGIN_BPS: constant(uint32) = 15_000  # bps of clear sky
DEFAULT_FLOOR_BPS: constant(uint32) = 100  # bps of capacity
DEFAULT_SKEW_S: constant(uint32) = 600  # s
DEFAULT_CHECK_EPOCHS: constant(uint32) = 48  # epochs
DEFAULT_YIELD_TOLERANCE_BPS: constant(uint32) = 5_000  # bps
DEFAULT_YIELD_LIMIT_BPS: constant(uint32) = 15_000  # bps
DEFAULT_WEATHER_TOLERANCE_BPS: constant(uint32) = 3_500  # bps
DEFAULT_WEATHER_LIMIT_BPS: constant(uint32) = 8_000  # bps
DEFAULT_SHAPE_TOLERANCE_BPS: constant(uint32) = 3_000  # bps
DEFAULT_SHAPE_LIMIT_BPS: constant(uint32) = 7_000  # bps
DEFAULT_SMOOTH_BPS: constant(uint32) = 300  # bps
DEFAULT_COPY_RESIDUAL_BPS: constant(uint32) = 250  # bps
DEFAULT_COPY_WEATHER_BPS: constant(uint32) = 0  # bps
DEFAULT_LONE_BPS: constant(uint32) = 2_500  # bps
DEFAULT_REFERENCE_KWH: constant(uint32) = 1_000  # kWh

MIN_RADIUS_M: constant(uint32) = 1  # m
MAX_RADIUS_M: constant(uint32) = 1_000_000  # m
MIN_NEIGHBOURS: constant(uint32) = 1
MAX_NEIGHBOURS: constant(uint32) = 32
MIN_MARGIN_BPS: constant(uint32) = 10_000  # bps: the bound is at least clear sky
MAX_MARGIN_BPS: constant(uint32) = 30_000  # bps
MAX_FLOOR_BPS: constant(uint32) = 1_000  # bps
MAX_SKEW_S: constant(uint32) = 3_600  # s
MIN_CHECK_EPOCHS: constant(uint32) = 4  # epochs: the weather fit needs four
MAX_CHECK_EPOCHS: constant(uint32) = 168  # epochs (a week)
MAX_YIELD_TOLERANCE_BPS: constant(uint32) = 10_000  # bps
MAX_YIELD_LIMIT_BPS: constant(uint32) = 100_000  # bps, above the tolerance
MAX_WEATHER_TOLERANCE_BPS: constant(uint32) = 100_000  # bps
MAX_WEATHER_LIMIT_BPS: constant(uint32) = 200_000  # bps, above the tolerance
MAX_SHAPE_TOLERANCE_BPS: constant(uint32) = 10_000  # bps: 1 − correlation, at most 1
MAX_SHAPE_LIMIT_BPS: constant(uint32) = 10_000  # bps, above the tolerance
MAX_SMOOTH_BPS: constant(uint32) = 10_000  # bps
MAX_COPY_RESIDUAL_BPS: constant(uint32) = 10_000  # bps
MAX_COPY_WEATHER_BPS: constant(uint32) = 100_000  # bps
MAX_LONE_BPS: constant(uint32) = 10_000  # bps: authenticity at most 1
MIN_REFERENCE_KWH: constant(uint32) = 1  # kWh: the payout divides by it
MAX_REFERENCE_KWH: constant(uint32) = 1_000_000_000  # kWh (1 TWh)


# ============================== STORAGE =============================

# What a claim reads of an epoch. `post` copies SK⁻¹, the entropy and K
# from EpochKeys (fixed once revealed), so that a claim reads them here
# instead of calling EpochKeys (a cold account and a slot less, about 5.7k
# gas).
struct EpochRewards:
    root: bytes32  # Merkle root of the table
    word: uint256  # packed, see EP_*
    sk_inv: uint256  # SK_e⁻¹ mod n, what a claim's point check needs
    entropy: bytes32  # entropy_e

# PoGG's scoring parameters, twin offchain.scoring.authenticity.ScoringParams (same
# fields, order and units). Their hash is the 17 fields ABI-encoded as
# uint32 words.
struct ScoringParams:
    radius_m: uint32  # m, neighbours within
    neighbours: uint32  # at most this many
    margin_bps: uint32  # bps of clear sky: cloud-edge enhancement of the bound
    floor_bps: uint32  # bps of capacity: sensor offset of the bound
    skew_s: uint32  # s, clock tolerance of the bound
    check_epochs: uint32  # epochs of the scale, weather, shape and copy checks
    yield_tolerance_bps: uint32  # bps of clear-sky index above the consensus, no loss
    yield_limit_bps: uint32  # bps ... from which authenticity is 0
    weather_tolerance_bps: uint32  # bps of roughness of the log-ratio to the consensus, no loss
    weather_limit_bps: uint32  # bps ... from which authenticity is 0
    shape_tolerance_bps: uint32  # bps of 1 − correlation with the clear-sky curve, no loss
    shape_limit_bps: uint32  # bps ... from which authenticity is 0
    smooth_bps: uint32  # bps of roughness of its own clear-sky index under which it has no weather
    copy_residual_bps: uint32  # bps of RMS log-ratio residual under which a series is a copy
    copy_weather_bps: uint32  # bps of weather the older series must show for a copy to be called
    lone_bps: uint32  # bps of authenticity of a miner no neighbour can vouch for
    reference_kwh: uint32  # kWh credited in an epoch (at full scores) that earns its whole emission

DECA: immutable(address)
KEYS: immutable(address)  # EpochKeys
SBT: immutable(address)  # MinerSBT
REGISTRY: immutable(address)  # MeasurementRegistry (legal counts), the keys'
VAULT: immutable(address)  # the DAO's treasury
GENESIS: immutable(uint256)  # start of epoch 0 [s since 1970]
START_EPOCH: immutable(uint64)  # first epoch with an emission

is_oracle: public(HashMap[address, bool])
emission: public(uint256)  # DECA wei per epoch
post_deadline: public(uint256)  # s after an epoch's end
scoring_params: public(ScoringParams)  # in force, set by the DAO
scoring_params_hash: public(bytes32)  # keccak256(abi_encode(scoring_params))

_epochs: HashMap[uint64, EpochRewards]
_claimed: HashMap[uint256, HashMap[uint256, uint256]]  # token -> ring slot -> tag | bits


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(deca: address, keys: address, sbt: address, vault: address, emission: uint256, post_deadline: uint256):
    """
    @param deca The DECA token (this contract must become a minter).
    @param keys The EpochKeys contract.
    @param sbt The MinerSBT (rewards go to a token's owner).
    @param vault The DAO's treasury, which receives unpaid emission.
    @param emission DECA wei per epoch, at most 2**96 − 1.
    @param post_deadline Seconds after an epoch's end to post its root, 2 h .. 7 days.
    @dev The scoring parameters start at the DEFAULT_* constants.
    """
    ow.__init__()
    assert deca != empty(address) and keys != empty(address), "rewards: zero address"
    assert sbt != empty(address) and vault != empty(address), "rewards: zero address"
    DECA = deca
    KEYS = keys
    SBT = sbt
    VAULT = vault
    assert staticcall IEpochKeys(keys).sbt() == sbt, "rewards: sbt is not the keys' sbt"
    REGISTRY = staticcall IEpochKeys(keys).registry()
    GENESIS = convert(staticcall IEpochKeys(keys).genesis(), uint256)
    START_EPOCH = convert((block.timestamp - GENESIS) // EPOCH_SECONDS, uint64)
    self._set_emission(emission)
    self._set_post_deadline(post_deadline)
    self._set_scoring_params(ScoringParams(
        radius_m=DEFAULT_RADIUS_M,
        neighbours=DEFAULT_NEIGHBOURS,
        margin_bps=DEFAULT_MARGIN_BPS,
        floor_bps=DEFAULT_FLOOR_BPS,
        skew_s=DEFAULT_SKEW_S,
        check_epochs=DEFAULT_CHECK_EPOCHS,
        yield_tolerance_bps=DEFAULT_YIELD_TOLERANCE_BPS,
        yield_limit_bps=DEFAULT_YIELD_LIMIT_BPS,
        weather_tolerance_bps=DEFAULT_WEATHER_TOLERANCE_BPS,
        weather_limit_bps=DEFAULT_WEATHER_LIMIT_BPS,
        shape_tolerance_bps=DEFAULT_SHAPE_TOLERANCE_BPS,
        shape_limit_bps=DEFAULT_SHAPE_LIMIT_BPS,
        smooth_bps=DEFAULT_SMOOTH_BPS,
        copy_residual_bps=DEFAULT_COPY_RESIDUAL_BPS,
        copy_weather_bps=DEFAULT_COPY_WEATHER_BPS,
        lone_bps=DEFAULT_LONE_BPS,
        reference_kwh=DEFAULT_REFERENCE_KWH,
    ))


# ============================= EXTERNAL =============================

@external
def post(epoch: uint64, root: bytes32, total: uint256, uri: String[MAX_URI]):
    """
    @notice Post an epoch's reward table (oracle); mints emission − total to the vault.
            The `Posted` event commits to the scoring parameters in force
            (`scoring_params_hash`): the table must have been scored with them.
    @param epoch A revealed epoch, before its deadline.
    @param root Merkle root of the table's rows.
    @param total Sum of the rows' amounts [DECA wei], at most the emission.
    @param uri Where the full table, its inputs and parameters are published.
    """
    assert self.is_oracle[msg.sender], "rewards: not an oracle"
    assert epoch >= START_EPOCH, "rewards: epoch before start"
    sk: uint256 = staticcall IEpochKeys(KEYS).secret(epoch)
    assert sk != 0, "rewards: not revealed"
    status: uint256 = self._epochs[epoch].word >> EP_STATUS
    assert status != POSTED, "rewards: already posted"
    assert status != SWEPT, "rewards: already settled"
    emission: uint256 = self.emission
    assert total <= emission, "rewards: total above emission"
    assert block.timestamp < self._deadline(epoch), "rewards: too late"
    delay: uint256 = 0
    k: uint256 = 0
    delay, k = staticcall IEpochKeys(KEYS).epoch_params(epoch)
    # total <= emission < 2**96; K < 2**32 (EpochKeys bounds it)
    self._epochs[epoch] = EpochRewards(
        root=root,
        word=(total << EP_TOTAL) | (k << EP_K) | (POSTED << EP_STATUS),
        sk_inv=lottery._inverse(sk),
        entropy=staticcall IEpochKeys(KEYS).entropy(epoch),
    )
    if emission > total:
        extcall IDecaToken(DECA).mint(VAULT, emission - total)
    log Posted(epoch=epoch, root=root, total=total, uri=uri, params_hash=self.scoring_params_hash)


@external
def sweep(epoch: uint64):
    """
    @notice Pay a never-posted epoch's whole emission to the vault (anyone).
    @param epoch An epoch whose post deadline has passed (revealed or not).
    """
    assert epoch >= START_EPOCH, "rewards: epoch before start"
    assert self._epochs[epoch].word == 0, "rewards: already settled"
    assert block.timestamp >= self._deadline(epoch), "rewards: deadline not passed"
    self._epochs[epoch].word = SWEPT << EP_STATUS
    emission: uint256 = self.emission
    if emission > 0:
        extcall IDecaToken(DECA).mint(VAULT, emission)
    log Swept(epoch=epoch, amount=emission)


@external
def claim(
    epoch: uint64,
    token_id: uint256,
    amount: uint256,
    a_bps: uint16,
    q_bps: uint16,
    v_mwh: uint256,
    proof: DynArray[bytes32, MAX_PROOF],
    px: uint256,
    py: uint256,
):
    """
    @notice Claim a winner's row (anyone); pays the token's current owner.
    @param epoch A posted epoch, at most 14 days after its end.
    @param token_id The winning MinerSBT token.
    @param amount Reward [DECA wei].
    @param a_bps Authenticity [bps].
    @param q_bps Quantity [bps].
    @param v_mwh Volume: the epoch's credited energy [mWh].
    @param proof Merkle proof of the row, sibling hashes from the leaf up.
    @param px x-coordinate of SK_e·PK_device (the lottery's ECDH point).
    @param py y-coordinate of SK_e·PK_device.
    """
    ep: uint256 = self._epochs[epoch].word
    assert (ep >> EP_STATUS) == POSTED, "rewards: not posted"
    assert block.timestamp < self._epoch_end(epoch) + CLAIM_PERIOD, "rewards: claim expired"
    slot: uint256 = 0
    flags: uint256 = 0
    bit: uint256 = 0
    slot, flags, bit = self._claim_flags(epoch, token_id)
    assert flags & bit == 0, "rewards: already claimed"

    leaf: bytes32 = keccak256(keccak256(abi_encode(epoch, token_id, amount, a_bps, q_bps, v_mwh)))
    assert self._process_proof(proof, leaf) == self._epochs[epoch].root, "rewards: bad proof"
    assert lottery._wins(
        SBT, REGISTRY, epoch, token_id, px, py,
        self._epochs[epoch].sk_inv, self._epochs[epoch].entropy, (ep >> EP_K) & MASK_32,
    ), "rewards: not a winner"
    # unsafe: ep & MASK_96 < 2**96, so a sum that wraps needs amount >= 2**96, refused here
    claimed: uint256 = unsafe_add(ep & MASK_96, amount)
    assert amount <= MASK_96 and claimed <= (ep >> EP_TOTAL) & MASK_96, "rewards: above total"

    self._claimed[token_id][slot] = flags | bit
    self._epochs[epoch].word = (ep & ~MASK_96) | claimed
    owner: address = staticcall IMinerSBT(SBT).ownerOf(token_id)
    extcall IDecaToken(DECA).mint(owner, amount)
    log Claimed(epoch=epoch, token_id=token_id, owner=owner, amount=amount)


# DAO setters

@external
def set_oracle(oracle: address, enabled: bool):
    """
    @notice Allow or disallow an address to post roots (DAO).
    @param oracle The oracle's address, not zero.
    @param enabled True to allow.
    """
    self._check_dao()
    assert oracle != empty(address), "rewards: zero oracle"
    self.is_oracle[oracle] = enabled
    log OracleChanged(oracle=oracle, enabled=enabled)


@external
def set_emission(emission: uint256):
    """
    @notice Set the emission of epochs settled from now on (DAO).
    @param emission DECA wei per epoch, at most 2**96 − 1.
    """
    self._check_dao()
    self._set_emission(emission)


@external
def set_post_deadline(post_deadline: uint256):
    """
    @notice Set how long after its end an epoch's root may be posted (DAO).
    @param post_deadline Seconds, 2 h .. 7 days.
    """
    self._check_dao()
    self._set_post_deadline(post_deadline)


@external
def set_scoring_params(params: ScoringParams):
    """
    @notice Set PoGG's scoring parameters for the epochs posted from now on (DAO).
    @param params Each field in its range: radius_m [m] 1 .. 1e6;
           neighbours 1 .. 32; margin_bps [bps] 10 000 .. 30 000; floor_bps
           [bps] ≤ 1 000; skew_s [s] ≤ 3 600; check_epochs [epochs] 4 .. 168;
           yield_tolerance_bps [bps] ≤ 10 000, yield_limit_bps [bps] above
           it, ≤ 100 000; weather_tolerance_bps [bps] ≤ 100 000,
           weather_limit_bps [bps] above it, ≤ 200 000; shape_tolerance_bps
           [bps] ≤ 10 000, shape_limit_bps [bps] above it, ≤ 10 000;
           smooth_bps [bps] ≤ 10 000; copy_residual_bps [bps] ≤ 10 000;
           copy_weather_bps [bps] ≤ 100 000; lone_bps [bps] ≤ 10 000;
           reference_kwh [kWh] 1 .. 1e9.
    """
    self._check_dao()
    self._set_scoring_params(params)


@external
def transfer_ownership(new_owner: address):
    """
    @notice Hand the distributor to another DAO (DAO).
    @param new_owner The new owner, not the zero address.
    """
    self._check_dao()
    assert new_owner != empty(address), "rewards: zero owner"
    ow._transfer_ownership(new_owner)


# Views

@external
@view
def deca() -> address:
    """
    @notice The DECA token this contract mints.
    @return address The token.
    """
    return DECA


@external
@view
def keys() -> address:
    """
    @notice The EpochKeys contract.
    @return address The keys.
    """
    return KEYS


@external
@view
def sbt() -> address:
    """
    @notice The MinerSBT whose owners are paid.
    @return address The SBT.
    """
    return SBT


@external
@view
def vault() -> address:
    """
    @notice The DAO's treasury, which receives unpaid emission.
    @return address The vault.
    """
    return VAULT


@external
@view
def start_epoch() -> uint64:
    """
    @notice The first epoch with an emission (the one running at deployment).
    @return uint64 The epoch.
    """
    return START_EPOCH


@external
@view
def deadline(epoch: uint64) -> uint256:
    """
    @notice When an epoch's root can no longer be posted (and it can be swept).
    @param epoch An epoch.
    @return uint256 End of the epoch + post_deadline [s since 1970].
    """
    return self._deadline(epoch)


@external
@view
def claim_deadline(epoch: uint64) -> uint256:
    """
    @notice When an epoch's rows can no longer be claimed.
    @param epoch An epoch.
    @return uint256 End of the epoch + 14 days [s since 1970].
    """
    return self._epoch_end(epoch) + CLAIM_PERIOD


@external
@view
def epoch_rewards(epoch: uint64) -> (bytes32, uint256, uint256, uint8):
    """
    @notice What is known of an epoch's rewards.
    @param epoch An epoch.
    @return (bytes32, uint256, uint256, uint8) Root, total [DECA wei],
            claimed so far [DECA wei], status (0 open, 1 posted, 2 swept).
    """
    ep: uint256 = self._epochs[epoch].word
    return self._epochs[epoch].root, (ep >> EP_TOTAL) & MASK_96, ep & MASK_96, convert(ep >> EP_STATUS, uint8)


@external
@view
def is_claimed(epoch: uint64, token_id: uint256) -> bool:
    """
    @notice Whether a token's row of an epoch was claimed.
    @param epoch An epoch (the answer is kept until its claims expire).
    @param token_id A MinerSBT token.
    @return bool
    """
    slot: uint256 = 0
    flags: uint256 = 0
    bit: uint256 = 0
    slot, flags, bit = self._claim_flags(epoch, token_id)
    return flags & bit != 0


# ============================= INTERNAL =============================

@internal
@pure
def _process_proof(proof: DynArray[bytes32, MAX_PROOF], leaf: bytes32) -> bytes32:
    """
    @dev The root a proof leads to from a leaf, hashing sorted pairs: the
         loop of snekmate's `merkle_proof_verification._process_proof`
         (OpenZeppelin's MerkleProof), written here because that module
         copies the proof into two 255-entry memory frames, 2.8k gas of
         memory per claim (bench/test_gas_rewards.py).
    """
    computed: bytes32 = leaf
    for sibling: bytes32 in proof:
        if convert(computed, uint256) < convert(sibling, uint256):
            computed = keccak256(concat(computed, sibling))
        else:
            computed = keccak256(concat(sibling, computed))
    return computed


@internal
@view
def _claim_flags(epoch: uint64, token_id: uint256) -> (uint256, uint256, uint256):
    """
    @dev The token's ring slot for the epoch, its claimed flags for the
         epoch's window (a word left by an older window reads as none
         claimed, with the new tag) and the epoch's bit.
    """
    e: uint256 = convert(epoch, uint256)
    window: uint256 = e // CLAIM_WINDOW
    slot: uint256 = window % CLAIM_SLOTS
    flags: uint256 = self._claimed[token_id][slot]
    if flags >> CLAIM_TAG != window + 1:
        # another window's word: an older one, whose claims have all expired
        # (see CLAIM_SLOTS), or a newer one if this epoch's claims expired
        # (`claim` refuses those first)
        flags = (window + 1) << CLAIM_TAG
    return slot, flags, 1 << (e % CLAIM_WINDOW)


@internal
@view
def _epoch_end(epoch: uint64) -> uint256:
    return GENESIS + (convert(epoch, uint256) + 1) * EPOCH_SECONDS


@internal
@view
def _deadline(epoch: uint64) -> uint256:
    return self._epoch_end(epoch) + self.post_deadline


@internal
@view
def _check_dao():
    # own reason instead of snekmate's "ownable: caller is not the owner"
    assert msg.sender == ow.owner, "rewards: only the DAO"


@internal
def _set_emission(emission: uint256):
    assert emission <= MAX_EMISSION, "rewards: bad emission"
    self.emission = emission
    log ParameterChanged(name="emission", value=emission)


@internal
def _set_post_deadline(post_deadline: uint256):
    assert post_deadline >= MIN_POST_DEADLINE and post_deadline <= MAX_POST_DEADLINE, "rewards: bad post deadline"
    self.post_deadline = post_deadline
    log ParameterChanged(name="post_deadline", value=post_deadline)


@internal
def _set_scoring_params(p: ScoringParams):
    assert p.radius_m >= MIN_RADIUS_M and p.radius_m <= MAX_RADIUS_M, "rewards: bad radius"
    assert p.neighbours >= MIN_NEIGHBOURS and p.neighbours <= MAX_NEIGHBOURS, "rewards: bad neighbours"
    assert p.margin_bps >= MIN_MARGIN_BPS and p.margin_bps <= MAX_MARGIN_BPS, "rewards: bad margin"
    assert p.floor_bps <= MAX_FLOOR_BPS, "rewards: bad floor"
    assert p.skew_s <= MAX_SKEW_S, "rewards: bad skew"
    assert p.check_epochs >= MIN_CHECK_EPOCHS and p.check_epochs <= MAX_CHECK_EPOCHS, "rewards: bad check epochs"
    assert p.yield_tolerance_bps <= MAX_YIELD_TOLERANCE_BPS, "rewards: bad yield tolerance"
    assert p.yield_limit_bps > p.yield_tolerance_bps and p.yield_limit_bps <= MAX_YIELD_LIMIT_BPS, "rewards: bad yield limit"
    assert p.weather_tolerance_bps <= MAX_WEATHER_TOLERANCE_BPS, "rewards: bad weather tolerance"
    assert p.weather_limit_bps > p.weather_tolerance_bps and p.weather_limit_bps <= MAX_WEATHER_LIMIT_BPS, "rewards: bad weather limit"
    assert p.shape_tolerance_bps <= MAX_SHAPE_TOLERANCE_BPS, "rewards: bad shape tolerance"
    assert p.shape_limit_bps > p.shape_tolerance_bps and p.shape_limit_bps <= MAX_SHAPE_LIMIT_BPS, "rewards: bad shape limit"
    assert p.smooth_bps <= MAX_SMOOTH_BPS, "rewards: bad smooth"
    assert p.copy_residual_bps <= MAX_COPY_RESIDUAL_BPS, "rewards: bad copy residual"
    assert p.copy_weather_bps <= MAX_COPY_WEATHER_BPS, "rewards: bad copy weather"
    assert p.lone_bps <= MAX_LONE_BPS, "rewards: bad lone"
    assert p.reference_kwh >= MIN_REFERENCE_KWH and p.reference_kwh <= MAX_REFERENCE_KWH, "rewards: bad reference"
    params_hash: bytes32 = keccak256(abi_encode(p))
    self.scoring_params = p
    self.scoring_params_hash = params_hash
    log ScoringParamsChanged(params_hash=params_hash, params=p)
