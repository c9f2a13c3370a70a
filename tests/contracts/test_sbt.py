"""MinerSBT: applications, DAO approval, soulbound behaviour, attributes."""

import ape
import pytest
from eth_utils import keccak, to_checksum_address

from offchain.governance import call
from offchain.protocol.enroll import sign_enrollment

CAPACITY_W = 4_200
LAT, LON = 39_742_000, -105_178_000  # µdeg
TILT, AZIMUTH = 35, 190  # deg


@pytest.fixture
def enroll(chain, sbt):
    """Factory: device `dev`'s signed enrollment naming `applicant` (now, total 0 by default)."""

    def enroll(dev, applicant, start_total=0, start_time=None, chain_id=None, contract=None):
        return sign_enrollment(
            dev.key, chain_id or chain.chain_id, contract or sbt.address, applicant.address, start_total,
            chain.blocks.head.timestamp if start_time is None else start_time,
        )

    return enroll


@pytest.fixture
def apply(sbt, enroll):
    """Factory: `wallet` applies for device `dev` with the device's enrollment (or the one given)."""

    def apply(dev, wallet, capacity=CAPACITY_W, lat=LAT, lon=LON, uri="", pubkey=None, enrollment=None,
              tilt=TILT, azimuth=AZIMUTH):
        args = list((enrollment or enroll(dev, wallet)).apply_args(capacity, lat, lon, tilt, azimuth, uri))
        if pubkey is not None:
            args[1] = pubkey
        return sbt.apply(*args, sender=wallet)

    return apply


@pytest.fixture
def applied(sbt, miner, device_key, apply):
    """A pending application of `miner` for a fresh device: (application id, device account, pubkey)."""
    dev, pub = device_key()
    tx = apply(dev, miner, uri="ipfs://miner-1")
    return tx.decode_logs(sbt.Applied)[0].application_id, dev, pub


@pytest.fixture
def admitted(sbt, dao, pass_proposal, applied):
    """`applied`, approved by the DAO: (token id, device account)."""
    app_id, dev, _ = applied
    tx = pass_proposal(call(sbt.approve_application, app_id))
    return tx.decode_logs(sbt.Approved)[0].token_id, dev


def test_apply__valid_key__records_pending_application(sbt, miner, applied):
    app_id, dev, pub = applied
    app = sbt.applications(app_id)
    assert app.applicant == miner.address
    assert app.device == dev.address
    assert app.pubkey_x == int.from_bytes(pub[:32], "big")
    assert app.pubkey_y == int.from_bytes(pub[32:], "big")
    assert (app.capacity_w, app.lat_udeg, app.lon_udeg) == (CAPACITY_W, LAT, LON)
    assert app.status == 1
    assert sbt.pending_application(dev.address) == app_id
    assert sbt.application_count() == 1


def test_apply__event_carries_the_application(sbt, miner, device_key, apply):
    dev, pub = device_key()
    tx = apply(dev, miner, uri="ipfs://x")
    logs = tx.decode_logs(sbt.Applied)
    assert len(logs) == 1
    assert logs[0].applicant == miner.address and logs[0].device == dev.address
    assert logs[0].capacity_w == CAPACITY_W and logs[0].uri == "ipfs://x"


def test_apply__key_of_another_device__reverts(miner, device_key, apply):
    dev, _ = device_key()
    _, other_pub = device_key()
    with ape.reverts("sbt: key does not match device"):
        apply(dev, miner, pubkey=other_pub)


def test_apply__short_key__reverts(miner, device_key, apply):
    dev, pub = device_key()
    with ape.reverts("sbt: public key must be 64 bytes"):
        apply(dev, miner, pubkey=pub[:63])


def test_apply__point_off_the_curve__reverts(sbt, chain, miner):
    bogus = (5).to_bytes(32, "big") + (7).to_bytes(32, "big")
    device = to_checksum_address(keccak(bogus)[12:])  # the address the bogus key maps to
    with ape.reverts("sbt: key not on secp256k1"):
        sbt.apply(device, bogus, CAPACITY_W, LAT, LON, TILT, AZIMUTH, "", 0, chain.blocks.head.timestamp, b"\x00" * 65,
                  sender=miner)


@pytest.mark.parametrize("capacity", [0, 1_000_001])
def test_apply__bad_capacity__reverts(miner, device_key, apply, capacity):
    dev, _ = device_key()
    with ape.reverts("sbt: bad capacity"):
        apply(dev, miner, capacity=capacity)


@pytest.mark.parametrize("tilt,azimuth", [(91, 180), (30, 360)])
def test_apply__orientation_off_the_compass__reverts(miner, device_key, apply, tilt, azimuth):
    dev, _ = device_key()
    with ape.reverts("sbt: bad orientation"):
        apply(dev, miner, tilt=tilt, azimuth=azimuth)


def test_apply__declares_the_plane__kept_for_the_scoring(sbt, miner, device_key, apply):
    dev, _ = device_key()
    tx = apply(dev, miner, tilt=90, azimuth=359)
    [log] = tx.decode_logs(sbt.Applied)
    assert (log.tilt_deg, log.azimuth_deg) == (90, 359)
    assert sbt.device_plane(dev.address) == (90, 359)
    assert sbt.device_start(dev.address)[0] == 0  # the packed word keeps its other fields apart


@pytest.mark.parametrize("lat,lon", [(90_000_001, 0), (-90_000_001, 0), (0, 180_000_001), (0, -180_000_001)])
def test_apply__location_off_the_globe__reverts(miner, device_key, apply, lat, lon):
    dev, _ = device_key()
    with ape.reverts("sbt: bad location"):
        apply(dev, miner, lat=lat, lon=lon)


def test_apply__twice_for_one_device__reverts(other_miner, applied, apply):
    _, dev, _ = applied
    with ape.reverts("sbt: application pending"):
        apply(dev, other_miner)  # the device enrolled with both wallets


def test_apply__device_holding_a_token__reverts(miner, applied, admitted, apply):
    _, dev, _ = applied
    with ape.reverts("sbt: device already admitted"):
        apply(dev, miner)


# ================== the device names its applicant (device squatting) ==================


def test_apply__someone_elses_device_key__reverts(sbt, miner, attacker, device_key, enroll, apply):
    """The attack: a stranger who has seen the device's public key (every batch shows it)
    applies first. Without the device's enrollment naming the stranger, it is refused, and
    the real owner's application goes through."""
    dev, pub = device_key()
    squatter_key, _ = device_key()
    forged = enroll(squatter_key, attacker)._replace(device=dev.address, pubkey=pub)
    with ape.reverts("sbt: enrollment not signed by the device"):
        apply(dev, attacker, enrollment=forged)
    assert sbt.pending_application(dev.address) == 0
    tx = apply(dev, miner)
    assert tx.decode_logs(sbt.Applied)[0].applicant == miner.address


def test_apply__owners_enrollment_sent_by_another_wallet__reverts(sbt, miner, attacker, device_key, enroll, apply):
    """The owner's enrollment is public once sent (or seen in the mempool): it names the
    owner, so a front-runner who copies it is refused."""
    dev, _ = device_key()
    with ape.reverts("sbt: enrollment not signed by the device"):
        apply(dev, attacker, enrollment=enroll(dev, miner))
    assert sbt.pending_application(dev.address) == 0


@pytest.mark.parametrize("field", ["start_total_mwh", "start_time"])
def test_apply__enrollment_altered__reverts(miner, device_key, enroll, apply, field):
    dev, _ = device_key()
    e = enroll(dev, miner, start_total=5_000)
    altered = e._replace(**{field: getattr(e, field) - 1})
    with ape.reverts("sbt: enrollment not signed by the device"):
        apply(dev, miner, enrollment=altered)


def test_apply__enrollment_for_another_chain__reverts(chain, miner, device_key, enroll, apply):
    dev, _ = device_key()
    with ape.reverts("sbt: enrollment not signed by the device"):
        apply(dev, miner, enrollment=enroll(dev, miner, chain_id=chain.chain_id + 1))


def test_apply__enrollment_for_another_contract__reverts(project, deployer, miner, device_key, enroll, apply):
    dev, _ = device_key()
    other = deployer.deploy(project.MinerSBT)
    with ape.reverts("sbt: enrollment not signed by the device"):
        apply(dev, miner, enrollment=enroll(dev, miner, contract=other.address))


def test_apply__malleable_twin_of_the_signature__reverts(miner, device_key, enroll, apply):
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    dev, _ = device_key()
    e = enroll(dev, miner)
    r, s, v = e.signature[:32], int.from_bytes(e.signature[32:64], "big"), e.signature[64]
    twin = r + (n - s).to_bytes(32, "big") + bytes([55 - v])
    with ape.reverts("sbt: enrollment not signed by the device"):
        apply(dev, miner, enrollment=e._replace(signature=twin))


def test_apply__enrollment_older_than_a_day__reverts(chain, miner, device_key, enroll, apply):
    dev, _ = device_key()
    chain.mine(timestamp=chain.blocks.head.timestamp + 86_400 + 10)
    with ape.reverts("sbt: enrollment expired"):
        apply(dev, miner, enrollment=enroll(dev, miner, start_time=chain.blocks.head.timestamp - 86_402))


def test_apply__enrollment_from_the_future__reverts(chain, miner, device_key, enroll, apply):
    dev, _ = device_key()
    with ape.reverts("sbt: enrollment from the future"):
        apply(dev, miner, enrollment=enroll(dev, miner, start_time=chain.blocks.head.timestamp + 3_600))


def test_apply__start_total_beyond_2_pow_64__reverts(miner, device_key, enroll, apply):
    dev, _ = device_key()
    with ape.reverts("sbt: bad start total"):
        apply(dev, miner, enrollment=enroll(dev, miner, start_total=2**64 + 1))


def test_apply__keeps_where_the_device_starts(sbt, chain, miner, pass_proposal, device_key, enroll, apply):
    dev, _ = device_key()
    start_time = chain.blocks.head.timestamp
    tx = apply(dev, miner, enrollment=enroll(dev, miner, start_total=123_456, start_time=start_time))
    [log] = tx.decode_logs(sbt.Applied)
    assert (log.start_total_mwh, log.start_time) == (123_456, start_time)
    assert sbt.device_start(dev.address) == (123_456, start_time)
    pass_proposal(call(sbt.approve_application, log.application_id))
    assert sbt.device_start(dev.address) == (123_456, start_time)


def test_enrollment_digest__same_bytes_on_device_off_chain_and_contract(sbt, chain, miner):
    from greenminer import enroll as device_enroll
    from offchain.protocol.enroll import enrollment_digest

    args = (chain.chain_id, sbt.address, miner.address, 987_654_321, 1_750_000_000)
    assert sbt.enrollment_digest(*args[2:]) == device_enroll.enrollment_digest(*args) == enrollment_digest(*args)


def test_approve__by_dao__mints_locked_token_to_applicant(sbt, miner, applied, admitted):
    app_id, dev, pub = applied
    token_id, _ = admitted
    assert sbt.ownerOf(token_id) == miner.address
    assert sbt.balanceOf(miner) == 1
    assert sbt.totalSupply() == 1
    assert sbt.locked(token_id) is True
    assert sbt.tokenURI(token_id) == "ipfs://miner-1"
    assert sbt.token_of_device(dev.address) == token_id
    assert sbt.device_of(token_id) == dev.address
    assert sbt.device_pubkey(token_id) == (int.from_bytes(pub[:32], "big"), int.from_bytes(pub[32:], "big"))
    assert sbt.device_info(dev.address) == (token_id, CAPACITY_W, 1)
    assert sbt.is_active(token_id)
    assert sbt.applications(app_id).status == 2
    assert sbt.applications(app_id).token_id == token_id
    assert sbt.pending_application(dev.address) == 0


def test_approve__emits_locked_event(sbt, pass_proposal, applied):
    app_id, _, _ = applied
    tx = pass_proposal(call(sbt.approve_application, app_id))
    locked = tx.decode_logs(sbt.Locked)
    assert len(locked) == 1
    assert locked[0].tokenId == tx.decode_logs(sbt.Approved)[0].token_id


@pytest.mark.parametrize("who", ["miner", "attacker", "deployer"])
def test_approve__not_by_dao__reverts(sbt, dao, applied, request, who):
    app_id, _, _ = applied
    with ape.reverts("ownable: caller is not the owner"):
        sbt.approve_application(app_id, sender=request.getfixturevalue(who))


def test_approve__unknown_application__reverts(sbt, dao, pass_proposal):
    with ape.reverts("sbt: unknown application"):
        pass_proposal(call(sbt.approve_application, 42))


def test_approve__rejected_application__reverts(sbt, dao, pass_proposal, applied):
    app_id, _, _ = applied
    pass_proposal(call(sbt.reject_application, app_id, "no inverter datasheet"))
    with ape.reverts("sbt: application not pending"):
        pass_proposal(call(sbt.approve_application, app_id))


def test_reject__by_dao__records_reason_and_frees_device(sbt, miner, pass_proposal, applied, apply):
    app_id, dev, pub = applied
    tx = pass_proposal(call(sbt.reject_application, app_id, "panel photos missing"))
    logs = tx.decode_logs(sbt.Rejected)
    assert len(logs) == 1 and logs[0].reason == "panel photos missing"
    assert sbt.applications(app_id).status == 3
    assert sbt.applications(app_id).reason == "panel photos missing"
    assert sbt.totalSupply() == 0
    # the device may apply again with corrected data
    tx = apply(dev, miner, uri="ipfs://fixed")
    assert tx.decode_logs(sbt.Applied)[0].application_id == app_id + 1


def test_reject__without_reason__reverts(sbt, pass_proposal, applied):
    app_id, _, _ = applied
    with ape.reverts("sbt: reason required"):
        pass_proposal(call(sbt.reject_application, app_id, ""))


def test_reject__not_by_dao__reverts(sbt, dao, attacker, applied):
    with ape.reverts("ownable: caller is not the owner"):
        sbt.reject_application(applied[0], "nope", sender=attacker)


@pytest.mark.parametrize(
    "attempt",
    [
        lambda sbt, t, owner, to: sbt.transferFrom(owner, to, t, sender=owner),
        lambda sbt, t, owner, to: sbt.safeTransferFrom(owner, to, t, sender=owner),
        lambda sbt, t, owner, to: sbt.safeTransferFrom(owner, to, t, b"data", sender=owner),
        lambda sbt, t, owner, to: sbt.approve(to, t, sender=owner),
        lambda sbt, t, owner, to: sbt.setApprovalForAll(to, True, sender=owner),
        lambda sbt, t, owner, to: sbt.permit(to, t, 2**64, 27, b"\x01" * 32, b"\x01" * 32, sender=owner),
    ],
    ids=["transferFrom", "safeTransferFrom", "safeTransferFrom+data", "approve", "setApprovalForAll", "permit"],
)
def test_transfer_paths__soulbound__revert(sbt, miner, attacker, admitted, attempt):
    token_id, _ = admitted
    with ape.reverts("sbt: soulbound"):
        attempt(sbt, token_id, miner, attacker)
    assert sbt.ownerOf(token_id) == miner.address
    assert sbt.getApproved(token_id) == "0x0000000000000000000000000000000000000000"


def test_locked__unminted_token__reverts(sbt):
    with ape.reverts("erc721: invalid token ID"):
        sbt.locked(7)


@pytest.mark.parametrize(
    "interface_id,expected",
    [
        ("0x01ffc9a7", True),  # ERC-165
        ("0x80ac58cd", True),  # ERC-721
        ("0x5b5e139f", True),  # ERC-721 metadata
        ("0x780e9d63", True),  # ERC-721 enumerable
        ("0xb45a3c0e", True),  # ERC-5192
        ("0xffffffff", False),
        ("0x49064906", False),  # ERC-4906: not claimed
    ],
)
def test_supports_interface(sbt, interface_id, expected):
    assert sbt.supportsInterface(interface_id) is expected


def test_hardware_status__dao_suspends_and_reactivates(sbt, pass_proposal, admitted):
    token_id, dev = admitted
    tx = pass_proposal(call(sbt.set_hardware_status, token_id, 2))
    assert [log.status for log in tx.decode_logs(sbt.HardwareStatusChanged)] == [2]
    assert not sbt.is_active(token_id)
    assert sbt.device_info(dev.address)[2] == 2
    pass_proposal(call(sbt.set_hardware_status, token_id, 1))
    assert sbt.is_active(token_id)


@pytest.mark.parametrize("status", [0, 3, 4])
def test_hardware_status__bad_value__reverts(sbt, pass_proposal, admitted, status):
    with ape.reverts("sbt: bad status"):
        pass_proposal(call(sbt.set_hardware_status, admitted[0], status))


def test_hardware_status__not_by_dao__reverts(sbt, miner, admitted):
    with ape.reverts("ownable: caller is not the owner"):
        sbt.set_hardware_status(admitted[0], 2, sender=miner)


def test_revoke__burns_token_and_bars_the_device(sbt, miner, pass_proposal, applied, admitted, apply):
    _, dev, pub = applied
    token_id, _ = admitted
    tx = pass_proposal(call(sbt.revoke, token_id, "inflated readings"))
    assert tx.decode_logs(sbt.Revoked)[0].reason == "inflated readings"
    assert sbt.balanceOf(miner) == 0 and sbt.totalSupply() == 0
    assert sbt.device_info(dev.address) == (token_id, CAPACITY_W, 3)
    with ape.reverts("erc721: invalid token ID"):
        sbt.ownerOf(token_id)
    with ape.reverts("sbt: device revoked"):
        apply(dev, miner)


def test_revoke__not_by_dao__reverts(sbt, attacker, admitted):
    with ape.reverts("ownable: caller is not the owner"):
        sbt.revoke(admitted[0], "x", sender=attacker)


def test_record_mining__only_registry(sbt, pass_proposal, accounts, attacker, admitted):
    token_id, _ = admitted
    registry = accounts[8]
    with ape.reverts("sbt: only the registry"):
        sbt.record_mining(token_id, 1, 256, sender=attacker)
    tx = pass_proposal(call(sbt.set_registry, registry))
    assert tx.decode_logs(sbt.RegistryChanged)[0].registry == registry.address
    sbt.record_mining(token_id, 1, 256, sender=registry)
    tx = sbt.record_mining(token_id, 2, 512, sender=registry)
    logs = tx.decode_logs(sbt.MiningRecorded)
    assert len(logs) == 1 and (logs[0].online_hours, logs[0].hashes) == (3, 768)
    miner_rec = sbt.miners(token_id)
    assert (miner_rec.online_hours, miner_rec.hashes) == (3, 768)
    with ape.reverts("sbt: unknown token"):
        sbt.record_mining(99, 1, 1, sender=registry)


def test_set_registry__not_by_dao__reverts(sbt, dao, attacker):
    with ape.reverts("ownable: caller is not the owner"):
        sbt.set_registry(attacker, sender=attacker)


def test_enumeration__tokens_listed_per_owner(sbt, miner, pass_proposal, device_key, apply):
    ids = []
    for i in range(2):
        dev, _ = device_key()
        tx = apply(dev, miner, uri=f"ipfs://{i}")
        app_id = tx.decode_logs(sbt.Applied)[0].application_id
        ids.append(pass_proposal(call(sbt.approve_application, app_id)).decode_logs(sbt.Approved)[0].token_id)
    assert [sbt.tokenOfOwnerByIndex(miner, i) for i in range(2)] == ids
    assert [sbt.tokenByIndex(i) for i in range(2)] == ids
    assert sbt.name() == "Green Energy Miner" and sbt.symbol() == "GEM"


def test_transfer_ownership__only_by_dao_proposal(project, deployer, sbt, dao, dao_members, attacker, pass_proposal):
    with ape.reverts("ownable: caller is not the owner"):
        sbt.transfer_ownership(attacker, sender=attacker)
    successor = deployer.deploy(project.TechnicalDAO, dao_members, 1, 60, 5_000, 0, 60, [], [])
    pass_proposal(call(sbt.transfer_ownership, successor))
    assert sbt.owner() == successor.address
