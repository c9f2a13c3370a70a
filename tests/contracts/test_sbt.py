"""MinerSBT: applications, DAO approval, soulbound behaviour, attributes."""

import ape
import pytest
from eth_utils import keccak, to_checksum_address

from offchain.governance import call

CAPACITY_W = 4_200
LAT, LON = 39_742_000, -105_178_000  # µdeg


@pytest.fixture
def applied(sbt, miner, device_key):
    """A pending application of `miner` for a fresh device: (application id, device account, pubkey)."""
    dev, pub = device_key()
    tx = sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, "ipfs://miner-1", sender=miner)
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


def test_apply__event_carries_the_application(sbt, miner, device_key):
    dev, pub = device_key()
    tx = sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, "ipfs://x", sender=miner)
    logs = tx.decode_logs(sbt.Applied)
    assert len(logs) == 1
    assert logs[0].applicant == miner.address and logs[0].device == dev.address
    assert logs[0].capacity_w == CAPACITY_W and logs[0].uri == "ipfs://x"


def test_apply__key_of_another_device__reverts(sbt, miner, device_key):
    dev, _ = device_key()
    _, other_pub = device_key()
    with ape.reverts("sbt: key does not match device"):
        sbt.apply(dev.address, other_pub, CAPACITY_W, LAT, LON, "", sender=miner)


def test_apply__short_key__reverts(sbt, miner, device_key):
    dev, pub = device_key()
    with ape.reverts("sbt: public key must be 64 bytes"):
        sbt.apply(dev.address, pub[:63], CAPACITY_W, LAT, LON, "", sender=miner)


def test_apply__point_off_the_curve__reverts(sbt, miner):
    bogus = (5).to_bytes(32, "big") + (7).to_bytes(32, "big")
    device = to_checksum_address(keccak(bogus)[12:])  # the address the bogus key maps to
    with ape.reverts("sbt: key not on secp256k1"):
        sbt.apply(device, bogus, CAPACITY_W, LAT, LON, "", sender=miner)


@pytest.mark.parametrize("capacity", [0, 1_000_001])
def test_apply__bad_capacity__reverts(sbt, miner, device_key, capacity):
    dev, pub = device_key()
    with ape.reverts("sbt: bad capacity"):
        sbt.apply(dev.address, pub, capacity, LAT, LON, "", sender=miner)


@pytest.mark.parametrize("lat,lon", [(90_000_001, 0), (-90_000_001, 0), (0, 180_000_001), (0, -180_000_001)])
def test_apply__location_off_the_globe__reverts(sbt, miner, device_key, lat, lon):
    dev, pub = device_key()
    with ape.reverts("sbt: bad location"):
        sbt.apply(dev.address, pub, CAPACITY_W, lat, lon, "", sender=miner)


def test_apply__twice_for_one_device__reverts(sbt, other_miner, applied):
    _, dev, pub = applied
    with ape.reverts("sbt: application pending"):
        sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, "", sender=other_miner)


def test_apply__device_holding_a_token__reverts(sbt, miner, applied, admitted):
    _, dev, pub = applied
    with ape.reverts("sbt: device already admitted"):
        sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, "", sender=miner)


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


def test_reject__by_dao__records_reason_and_frees_device(sbt, miner, pass_proposal, applied):
    app_id, dev, pub = applied
    tx = pass_proposal(call(sbt.reject_application, app_id, "panel photos missing"))
    logs = tx.decode_logs(sbt.Rejected)
    assert len(logs) == 1 and logs[0].reason == "panel photos missing"
    assert sbt.applications(app_id).status == 3
    assert sbt.applications(app_id).reason == "panel photos missing"
    assert sbt.totalSupply() == 0
    # the device may apply again with corrected data
    tx = sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, "ipfs://fixed", sender=miner)
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


def test_revoke__burns_token_and_bars_the_device(sbt, miner, pass_proposal, applied, admitted):
    _, dev, pub = applied
    token_id, _ = admitted
    tx = pass_proposal(call(sbt.revoke, token_id, "inflated readings"))
    assert tx.decode_logs(sbt.Revoked)[0].reason == "inflated readings"
    assert sbt.balanceOf(miner) == 0 and sbt.totalSupply() == 0
    assert sbt.device_info(dev.address) == (token_id, CAPACITY_W, 3)
    with ape.reverts("erc721: invalid token ID"):
        sbt.ownerOf(token_id)
    with ape.reverts("sbt: device revoked"):
        sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, "", sender=miner)


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


def test_enumeration__tokens_listed_per_owner(sbt, miner, pass_proposal, device_key):
    ids = []
    for i in range(2):
        dev, pub = device_key()
        tx = sbt.apply(dev.address, pub, CAPACITY_W, LAT, LON, f"ipfs://{i}", sender=miner)
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
