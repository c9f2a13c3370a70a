"""Actors and contracts for the contract tests (embedded chain)."""

import pytest
from eth_account import Account
from registry_kit import (
    ATTACKER_KEY,
    CAPACITY_W,
    DEVICE_KEY,
    EPOCH_SECONDS,
    GRACE_PERIOD,
    MARGIN_BPS,
    POW_TARGET,
    ZERO32,
    hour_readings,
    make_batch,
)

from offchain.protocol.enroll import send_application


@pytest.fixture
def device_key():
    return DEVICE_KEY


@pytest.fixture
def device(device_key):
    return Account.from_key(device_key)


@pytest.fixture
def attacker_key():
    return ATTACKER_KEY


@pytest.fixture
def sbt(project, owner):
    return owner.deploy(project.MinerSBT)


@pytest.fixture
def admit(chain, sbt, owner):
    """Factory: apply for a device key as `applicant` (the device enrolled now with total
    `start_total` [mWh]) and approve it as `owner`; returns the token id."""

    def admit(key, applicant, capacity_w=CAPACITY_W, start_total=0):
        send_application(chain, sbt, applicant, key, capacity_w, 48_000_000, 11_000_000, "ipfs://miner", start_total)
        sbt.approve_application(sbt.application_count(), sender=owner)
        return sbt.token_of_device(Account.from_key(key).address)

    return admit


@pytest.fixture
def genesis(chain):
    return chain.pending_timestamp - 1


@pytest.fixture
def registry(project, owner, sbt, genesis, epoch_keys):
    reg = owner.deploy(project.MeasurementRegistry, sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)
    sbt.set_registry(reg, sender=owner)
    reg.set_epoch_keys(epoch_keys, sender=owner)
    return reg


@pytest.fixture
def token_id(admit, device_key, miner):
    return admit(device_key, miner)


@pytest.fixture
def at_epoch_end(chain, genesis):
    """Move time to `offset` seconds after the end of epoch `e` (only forward).

    With `mine`, also mine a block there, so that calls (eth_call runs on the
    latest block on Anvil) see the new time too.
    """

    def at_epoch_end(e, offset=60, mine=False):
        ts = genesis + EPOCH_SECONDS * (e + 1) + offset
        if chain.pending_timestamp < ts:
            chain.pending_timestamp = ts
        if mine:
            chain.mine()
        return ts

    return at_epoch_end


@pytest.fixture
def batch_for(chain, registry, genesis):
    """Factory: a signed batch for this registry (see registry_kit.make_batch).

    With `readings` omitted: 12 readings over epoch `e` at 3 kW, continuing `total`.
    """

    def batch_for(key, e, seq, *, prev=ZERO32, readings=None, total=0, target=None, **kw):
        if readings is None:
            readings, _ = hour_readings(genesis + EPOCH_SECONDS * e, total)
        return make_batch(
            key,
            e,
            seq,
            readings,
            chain_id=chain.chain_id,
            registry=registry.address,
            target=target or registry.pow_target(),
            prev=prev,
            **kw,
        )

    return batch_for
