"""MinerSBT.device_info, the registry's one read per batch (packed slot)."""

from eth_account import Account
from registry_kit import CAPACITY_W

ACTIVE, SUSPENDED, REVOKED = 1, 2, 3


def test_device_info__lifecycle__follows_token_and_status(sbt, owner, miner, admit, device_key):
    device = Account.from_key(device_key).address
    assert sbt.device_info(device) == (0, 0, 0)
    token_id = admit(device_key, miner)
    assert sbt.device_info(device) == (token_id, CAPACITY_W, ACTIVE)
    sbt.set_hardware_status(token_id, SUSPENDED, sender=owner)
    assert sbt.device_info(device) == (token_id, CAPACITY_W, SUSPENDED)
    sbt.set_hardware_status(token_id, ACTIVE, sender=owner)
    assert sbt.device_info(device) == (token_id, CAPACITY_W, ACTIVE)
    sbt.revoke(token_id, "meter tampered", sender=owner)
    assert sbt.device_info(device) == (token_id, CAPACITY_W, REVOKED)
    assert sbt.device_info(device) == (sbt.token_of_device(device), sbt.miners(token_id).capacity_w, sbt.miners(token_id).status)
