"""greenminer.enroll and Miner.enrollment: the device names the wallet that applies for it."""

import json

import pytest
from devicekit import CHAIN_ID, DEVICE_KEY, GENESIS, tick_until_idle
from eth_account import Account

from greenminer import enroll
from greenminer.store import Store
from offchain.protocol.enroll import parse_enrollment, read_enrollment, sign_enrollment

SBT = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
APPLICANT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_sign_enrollment__byte_for_byte_as_eth_account():
    for total, ts in [(0, GENESIS), (123_456_789, GENESIS + 7), (2**64, 2**64 - 1)]:
        mine = enroll.sign_enrollment(DEVICE_KEY, CHAIN_ID, SBT, APPLICANT, total, ts)
        ref = sign_enrollment(DEVICE_KEY, CHAIN_ID, SBT, APPLICANT, total, ts)
        assert bytes.fromhex(mine["signature"][2:]) == ref.signature
        assert mine["device"].lower() == ref.device.lower()
        assert bytes.fromhex(mine["pubkey"][2:]) == ref.pubkey


def test_parse_enrollment__device_output__accepted_and_checked():
    obj = enroll.sign_enrollment(DEVICE_KEY, CHAIN_ID, SBT, APPLICANT, 5_000, GENESIS)
    e = parse_enrollment(obj, chain_id=CHAIN_ID, sbt=SBT)
    assert (e.device, e.applicant, e.start_total_mwh, e.start_time) == (
        Account.from_key(DEVICE_KEY).address, APPLICANT, 5_000, GENESIS)
    assert e.apply_args(4_200, 1, 2, 30, 180, "ipfs://x")[8:10] == (5_000, GENESIS)


@pytest.mark.parametrize("change,message", [
    ({"applicant": "0x" + "11" * 20}, "not signed by the device"),
    ({"start_total_mwh": 5_001}, "not signed by the device"),
    ({"pubkey": "0x" + "22" * 64}, "the public key is not the device's"),
    ({"signature": "0x12"}, "field 'signature' must be 0x and 65 bytes hex"),
    ({"start_time": -1}, "field 'start_time' must be an integer"),
    ({"chain_id": 1}, "signed for chain 1, this is chain 31337"),
])
def test_parse_enrollment__tampered__one_line_reason(change, message):
    obj = dict(enroll.sign_enrollment(DEVICE_KEY, CHAIN_ID, SBT, APPLICANT, 5_000, GENESIS), **change)
    with pytest.raises(ValueError, match=message):
        parse_enrollment(obj, chain_id=CHAIN_ID, sbt=SBT)


def test_parse_enrollment__other_sbt__refused():
    obj = enroll.sign_enrollment(DEVICE_KEY, CHAIN_ID, SBT, APPLICANT, 0, GENESIS)
    with pytest.raises(ValueError, match="signed for the MinerSBT"):
        parse_enrollment(obj, chain_id=CHAIN_ID, sbt=APPLICANT)


def test_miner_enrollment__total_and_time_of_the_last_sample(miner, clock, chip, flash):
    assert miner.enrollment(APPLICANT, SBT)["start_time"] == clock()  # before any sample: now
    chip.set_state(10.0, 0.1)  # 1 W
    for ts in (GENESIS, GENESIS + 300):
        clock.set(ts)
        tick_until_idle(miner)
    clock.set(GENESIS + 400)
    obj = miner.enrollment(APPLICANT, SBT)
    assert (obj["start_time"], obj["start_total_mwh"]) == (GENESIS + 300, miner.state["total_mwh"])
    assert obj["start_total_mwh"] > 0
    Store(flash).write_enrollment(obj)
    e = read_enrollment(flash + "/enrollment.json", chain_id=CHAIN_ID, sbt=SBT)
    assert e.start_total_mwh == obj["start_total_mwh"]


def test_read_enrollment__not_json__names_the_file(tmp_path):
    path = tmp_path / "e.json"
    path.write_text("{")
    with pytest.raises(ValueError, match="e.json: not a readable JSON file"):
        read_enrollment(str(path))
    path.write_text(json.dumps([1]))
    with pytest.raises(ValueError, match="e.json: enrollment: expected a JSON object"):
        read_enrollment(str(path))
