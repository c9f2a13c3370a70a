# pragma version ~=0.4.3
"""
@title GreenCertificate: GEC, one base unit per verified mWh, retired for good
@license MIT
@notice A snekmate ERC-20 (6 decimals, so 1.0 GEC = 1 kWh, as ENERGY) of
        green-energy certificates. After an epoch's reward table is posted
        (RewardDistributor), the oracle posts the Merkle root of the same
        table's certificate rows (`post`): every miner of the table whose
        authenticity reached `min_a_bps` (the DAO's threshold, in force at
        the post and logged with it) is owed its credited energy `v_mwh`.
        Anyone then issues a row (`issue`), once per epoch and token: the
        contract checks the proof, that the epoch's issued total stays within
        the posted total and that the energy is within three times what the
        token's declared capacity can make in an hour, and mints to the
        token's owner. Each issue records the avoided CO2 of its energy from
        the emission factor of the token's grid region (`set_region`, the
        DAO's, each with its source named): a region is a box of latitude
        and longitude; region 0 is the default for a token in no box.
        A holder retires certificates (`retire`) with a beneficiary and a
        reason: they are burned and the retirement is stored for good
        (`retirements`); nothing un-retires. Units: energy in mWh, emission
        factors in gCO2e/kWh, avoided CO2 in µgCO2e (1 mWh × 1 g/kWh = 1 µg).
        Leaf (OpenZeppelin standard tree, twin offchain.oracle.certify.leaf):
            keccak256(keccak256(abi.encode(uint64 epoch, uint256 token_id, uint256 mwh)))
@custom:security (1) One certificate per verified mWh: the registry books a
        device's energy once per hour (its totals are monotonic), the
        oracle's table credits each token once per epoch, and this contract
        issues each (epoch, token) row once. A certificate says nothing of
        where the energy went afterwards (stored, sold, consumed): ENERGY
        tokens are energy held in a node, GEC its green attribute.
        (2) The CO2 of a retirement is the average of the certificates alive
        when it is made (`live_co2_ug` / supply), because GEC is fungible: a
        holder who needs one region's figure reads the `Certified` events of
        the certificates it bought. The sum of all retirements' CO2 never
        exceeds the CO2 of all issues.
        (3) The oracle is trusted to post the table's certificate root; the
        root is recomputed by `ape run oracle verify` from the published table.
        (4) The owner (the TechnicalDAO) sets the oracles, the threshold and
        the regions; it cannot mint, move or retire anyone's certificates.
"""

from snekmate.auth import ownable as ow
from snekmate.tokens import erc20

initializes: ow
initializes: erc20[ownable := ow]

exports: (
    erc20.owner,
    erc20.transfer_ownership,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.transfer,
    erc20.approve,
    erc20.transferFrom,
    erc20.permit,
    erc20.nonces,
    erc20.DOMAIN_SEPARATOR,
    erc20.eip712Domain,
    # Deliberately not exported: mint and set_minter (only `issue` mints),
    # burn and burn_from (only `retire` destroys, and records why),
    # renounce_ownership (the DAO must stay owner).
)


# ============================ INTERFACES ============================

interface IRewardDistributor:
    def epoch_rewards(epoch: uint64) -> (bytes32, uint256, uint256, uint8): view
    def sbt() -> address: view

interface IMinerSBT:
    def ownerOf(token_id: uint256) -> address: view
    def miners(token_id: uint256) -> (address, uint256, uint256, uint32, int32, int32, uint8, uint64, uint256): view


# ============================== EVENTS ==============================

event CertificatesPosted:
    epoch: indexed(uint64)
    root: bytes32
    total_mwh: uint256
    uri: String[MAX_URI]
    min_a_bps: uint16  # threshold in force when posted

event Certified:
    epoch: indexed(uint64)
    token_id: indexed(uint256)
    owner: indexed(address)
    mwh: uint256
    region: uint256
    co2_ug: uint256  # µgCO2e avoided

event Retired:
    retirement_id: indexed(uint256)
    holder: indexed(address)
    mwh: uint256
    co2_ug: uint256
    beneficiary: String[MAX_BENEFICIARY]
    reason: String[MAX_REASON]

event RegionSet:
    region: indexed(uint256)
    name: String[MAX_NAME]
    factor_g_per_kwh: uint32
    source: String[MAX_SOURCE]

event OracleChanged:
    oracle: indexed(address)
    enabled: bool

event ThresholdChanged:
    min_a_bps: uint16


# ============================= CONSTANTS ============================

MAX_URI: constant(uint256) = 256
MAX_PROOF: constant(uint256) = 32
MAX_NAME: constant(uint256) = 32
MAX_SOURCE: constant(uint256) = 128
MAX_BENEFICIARY: constant(uint256) = 64
MAX_REASON: constant(uint256) = 128
MAX_REGIONS: constant(uint256) = 16  # region 0 (the default) and 15 boxes
MAX_FACTOR: constant(uint32) = 2_000  # gCO2e/kWh, above any grid's (lignite is about 1 100)
MAX_LAT_UDEG: constant(int32) = 90_000_000
MAX_LON_UDEG: constant(int32) = 180_000_000
# An hour of energy is at most three times the token's capacity (1 W for 1 h
# = 1 000 mWh): above the distributor's widest margin of the clear-sky bound.
MAX_MWH_PER_W: constant(uint256) = 3_000
POSTED: constant(uint8) = 1  # RewardDistributor's status of a posted epoch


# ============================== STORAGE =============================

struct Region:
    name: String[MAX_NAME]
    south_udeg: int32  # box, micro-degrees, edges included
    north_udeg: int32
    west_udeg: int32
    east_udeg: int32
    factor_g_per_kwh: uint32  # grid emission factor
    source: String[MAX_SOURCE]  # where the factor comes from

struct EpochCertificates:
    root: bytes32
    total_mwh: uint256  # posted
    issued_mwh: uint256  # so far

struct Retirement:
    holder: address
    mwh: uint256
    co2_ug: uint256
    time: uint256  # [s]
    beneficiary: String[MAX_BENEFICIARY]
    reason: String[MAX_REASON]

REWARDS: immutable(address)
SBT: immutable(address)

is_oracle: public(HashMap[address, bool])
min_a_bps: public(uint16)  # authenticity a row needs to be certified
regions: public(HashMap[uint256, Region])
region_count: public(uint256)  # regions 0 .. region_count − 1 are set
epochs: public(HashMap[uint64, EpochCertificates])
issued: public(HashMap[uint64, HashMap[uint256, bool]])  # epoch -> token -> issued
retirements: public(HashMap[uint256, Retirement])
retirement_count: public(uint256)
issued_mwh: public(uint256)  # all time
retired_mwh: public(uint256)  # all time
issued_co2_ug: public(uint256)  # all time
retired_co2_ug: public(uint256)  # all time
live_co2_ug: public(uint256)  # of the certificates not retired


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(rewards: address, min_a_bps: uint16, default_name: String[MAX_NAME],
             default_factor_g_per_kwh: uint32, default_source: String[MAX_SOURCE]):
    """
    @param rewards The RewardDistributor whose posted epochs are certified.
    @param min_a_bps Authenticity a table row needs [bps], 1 .. 10 000.
    @param default_name Name of region 0, the default region.
    @param default_factor_g_per_kwh Its emission factor [gCO2e/kWh].
    @param default_source Where that factor comes from.
    """
    ow.__init__()
    erc20.__init__("Green Energy Certificate", "GEC", 6, "Green Energy Certificate", "1")
    assert rewards != empty(address), "cert: zero address"
    REWARDS = rewards
    SBT = staticcall IRewardDistributor(rewards).sbt()
    self._set_threshold(min_a_bps)
    self._set_region(0, default_name, -MAX_LAT_UDEG, MAX_LAT_UDEG, -MAX_LON_UDEG, MAX_LON_UDEG,
                     default_factor_g_per_kwh, default_source)


# ============================= EXTERNAL =============================

@external
def post(epoch: uint64, root: bytes32, total_mwh: uint256, uri: String[MAX_URI]):
    """
    @notice Post the root of an epoch's certificate rows (oracle), once, after
            its reward table is posted. The threshold in force is logged.
    @param epoch An epoch posted on the RewardDistributor.
    @param root Merkle root of the rows (epoch, token id, mWh).
    @param total_mwh Sum of the rows' energy [mWh].
    @param uri Where the rows and the table they come from are published.
    """
    assert self.is_oracle[msg.sender], "cert: not an oracle"
    status: uint8 = 0
    root_: bytes32 = empty(bytes32)
    a: uint256 = 0
    b: uint256 = 0
    root_, a, b, status = staticcall IRewardDistributor(REWARDS).epoch_rewards(epoch)
    assert status == POSTED, "cert: rewards not posted"
    assert self.epochs[epoch].root == empty(bytes32), "cert: already posted"
    assert root != empty(bytes32), "cert: zero root"
    self.epochs[epoch] = EpochCertificates(root=root, total_mwh=total_mwh, issued_mwh=0)
    log CertificatesPosted(epoch=epoch, root=root, total_mwh=total_mwh, uri=uri, min_a_bps=self.min_a_bps)


@external
def issue(epoch: uint64, token_id: uint256, mwh: uint256, proof: DynArray[bytes32, MAX_PROOF]):
    """
    @notice Issue a row's certificates to the token's owner (anyone), once.
    @param epoch A posted epoch.
    @param token_id The miner's token.
    @param mwh Its certified energy [mWh].
    @param proof Merkle proof of the row, sibling hashes from the leaf up.
    """
    ep: EpochCertificates = self.epochs[epoch]
    assert ep.root != empty(bytes32), "cert: not posted"
    assert not self.issued[epoch][token_id], "cert: already issued"
    leaf: bytes32 = keccak256(keccak256(abi_encode(epoch, token_id, mwh)))
    assert self._process_proof(proof, leaf) == ep.root, "cert: bad proof"
    assert ep.issued_mwh + mwh <= ep.total_mwh, "cert: above total"
    owner: address = staticcall IMinerSBT(SBT).ownerOf(token_id)
    lat: int32 = 0
    lon: int32 = 0
    capacity: uint32 = 0
    capacity, lat, lon = self._miner(token_id)
    assert mwh <= convert(capacity, uint256) * MAX_MWH_PER_W, "cert: above capacity"
    region: uint256 = self._region_of(lat, lon)
    co2: uint256 = mwh * convert(self.regions[region].factor_g_per_kwh, uint256)
    self.issued[epoch][token_id] = True
    self.epochs[epoch].issued_mwh = ep.issued_mwh + mwh
    self.issued_mwh += mwh
    self.issued_co2_ug += co2
    self.live_co2_ug += co2
    erc20._mint(owner, mwh)
    log Certified(epoch=epoch, token_id=token_id, owner=owner, mwh=mwh, region=region, co2_ug=co2)


@external
def retire(mwh: uint256, beneficiary: String[MAX_BENEFICIARY], reason: String[MAX_REASON]) -> uint256:
    """
    @notice Retire some of your certificates for a beneficiary: burned, recorded, final.
    @param mwh Energy [mWh] (GEC base units), more than 0, at most your balance.
    @param beneficiary Who the green energy is claimed for, not empty.
    @param reason Why (e.g. the year and use it covers).
    @return uint256 The retirement's id.
    """
    assert mwh > 0, "cert: zero amount"
    assert len(beneficiary) > 0, "cert: no beneficiary"
    assert erc20.balanceOf[msg.sender] >= mwh, "cert: above balance"
    co2: uint256 = mwh * self.live_co2_ug // erc20.totalSupply
    erc20._burn(msg.sender, mwh)
    self.live_co2_ug -= co2
    self.retired_mwh += mwh
    self.retired_co2_ug += co2
    rid: uint256 = self.retirement_count
    self.retirements[rid] = Retirement(
        holder=msg.sender, mwh=mwh, co2_ug=co2, time=block.timestamp, beneficiary=beneficiary, reason=reason
    )
    self.retirement_count = rid + 1
    log Retired(retirement_id=rid, holder=msg.sender, mwh=mwh, co2_ug=co2, beneficiary=beneficiary, reason=reason)
    return rid


# DAO setters

@external
def set_oracle(oracle: address, enabled: bool):
    """
    @notice Allow or disallow an address to post certificate roots (DAO).
    @param oracle The oracle's address, not zero.
    @param enabled True to allow.
    """
    self._check_dao()
    assert oracle != empty(address), "cert: zero oracle"
    self.is_oracle[oracle] = enabled
    log OracleChanged(oracle=oracle, enabled=enabled)


@external
def set_threshold(min_a_bps: uint16):
    """
    @notice Set the authenticity a row needs to be certified (DAO).
    @param min_a_bps 1 .. 10 000 bps.
    """
    self._check_dao()
    self._set_threshold(min_a_bps)


@external
def set_region(region: uint256, name: String[MAX_NAME], south_udeg: int32, north_udeg: int32, west_udeg: int32,
               east_udeg: int32, factor_g_per_kwh: uint32, source: String[MAX_SOURCE]):
    """
    @notice Set a grid region's box and emission factor (DAO): an existing one, or the next.
            Region 0's box is the whole earth whatever is given.
    @param region 0 .. region_count (region_count appends one), below 16.
    @param name The region's name.
    @param south_udeg South edge [µdeg], at most the north edge.
    @param north_udeg North edge [µdeg].
    @param west_udeg West edge [µdeg], at most the east edge.
    @param east_udeg East edge [µdeg].
    @param factor_g_per_kwh Emission factor of its grid [gCO2e/kWh], at most 2 000.
    @param source Where the factor comes from (publisher, year), not empty.
    """
    self._check_dao()
    assert region <= self.region_count and region < MAX_REGIONS, "cert: bad region"
    if region == 0:
        self._set_region(0, name, -MAX_LAT_UDEG, MAX_LAT_UDEG, -MAX_LON_UDEG, MAX_LON_UDEG, factor_g_per_kwh, source)
    else:
        self._set_region(region, name, south_udeg, north_udeg, west_udeg, east_udeg, factor_g_per_kwh, source)


# Views

@external
@view
def rewards() -> address:
    """
    @notice The RewardDistributor whose posted epochs are certified.
    @return address Its address.
    """
    return REWARDS


@external
@view
def sbt() -> address:
    """
    @notice The MinerSBT (certificates go to a token's owner).
    @return address Its address.
    """
    return SBT


@external
@view
def region_of(token_id: uint256) -> uint256:
    """
    @notice The grid region of a token: the first box holding its location, else 0.
    @param token_id A token id.
    @return uint256 The region.
    """
    capacity: uint32 = 0
    lat: int32 = 0
    lon: int32 = 0
    capacity, lat, lon = self._miner(token_id)
    return self._region_of(lat, lon)


# ============================= INTERNAL =============================

@internal
@pure
def _process_proof(proof: DynArray[bytes32, MAX_PROOF], leaf: bytes32) -> bytes32:
    """
    @dev The root a proof leads to from a leaf, hashing sorted pairs
         (OpenZeppelin's MerkleProof, as RewardDistributor).
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
def _miner(token_id: uint256) -> (uint32, int32, int32):
    device: address = empty(address)
    px: uint256 = 0
    py: uint256 = 0
    capacity: uint32 = 0
    lat: int32 = 0
    lon: int32 = 0
    status: uint8 = 0
    hours: uint64 = 0
    hashes: uint256 = 0
    device, px, py, capacity, lat, lon, status, hours, hashes = staticcall IMinerSBT(SBT).miners(token_id)
    return capacity, lat, lon


@internal
@view
def _region_of(lat: int32, lon: int32) -> uint256:
    count: uint256 = self.region_count
    for i: uint256 in range(1, MAX_REGIONS):
        if i >= count:
            break
        # the box's fields only: the whole struct would also read the name and the source
        if self.regions[i].south_udeg <= lat and lat <= self.regions[i].north_udeg:
            if self.regions[i].west_udeg <= lon and lon <= self.regions[i].east_udeg:
                return i
    return 0


@internal
def _check_dao():
    assert msg.sender == ow.owner, "cert: only the DAO"


@internal
def _set_threshold(min_a_bps: uint16):
    assert min_a_bps > 0 and min_a_bps <= 10_000, "cert: bad threshold"
    self.min_a_bps = min_a_bps
    log ThresholdChanged(min_a_bps=min_a_bps)


@internal
def _set_region(region: uint256, name: String[MAX_NAME], south: int32, north: int32, west: int32, east: int32,
                factor: uint32, source: String[MAX_SOURCE]):
    assert -MAX_LAT_UDEG <= south and south <= north and north <= MAX_LAT_UDEG, "cert: bad box"
    assert -MAX_LON_UDEG <= west and west <= east and east <= MAX_LON_UDEG, "cert: bad box"
    assert factor <= MAX_FACTOR, "cert: factor above 2000 g/kWh"
    assert len(source) > 0, "cert: no source"
    self.regions[region] = Region(name=name, south_udeg=south, north_udeg=north, west_udeg=west, east_udeg=east,
                                  factor_g_per_kwh=factor, source=source)
    if region == self.region_count:
        self.region_count = region + 1
    log RegionSet(region=region, name=name, factor_g_per_kwh=factor, source=source)
