"""Actors and deployed system shared by every contract test."""

import pytest
from eth_account import Account

from offchain.governance import DEFAULT_DAO_PARAMS
from testbed.localchain import pass_proposal as _pass_proposal

Account.enable_unaudited_hdwallet_features()


@pytest.fixture(scope="session")
def deployer(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def dao_members(accounts):
    return [accounts[1], accounts[2], accounts[3]]


@pytest.fixture(scope="session")
def miner(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def other_miner(accounts):
    return accounts[5]


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[9]


@pytest.fixture(scope="session")
def owner(deployer):
    """Stands in for the TechnicalDAO as owner of every contract (the DAO's own path is
    tested in tests/contracts)."""
    return deployer


@pytest.fixture(scope="session")
def vault(accounts):
    """Stands in for the DAO's treasury."""
    return accounts[8]


@pytest.fixture(scope="session")
def stranger(accounts):
    """Anyone: relays, reveals, sweeps, claims or fills for others."""
    return accounts[10]


@pytest.fixture
def sbt(project, deployer):
    return deployer.deploy(project.MinerSBT)


@pytest.fixture
def dao(project, deployer, dao_members, sbt):
    dao = deployer.deploy(
        project.TechnicalDAO,
        dao_members,
        *DEFAULT_DAO_PARAMS.values(),
        ["sbt"],
        [sbt.address],
    )
    sbt.transfer_ownership(dao, sender=deployer)
    return dao


@pytest.fixture
def pass_proposal(chain, dao, dao_members):
    """Propose calls, vote them through with every member, queue and execute."""

    def run(*calls, description="test proposal"):
        return _pass_proposal(chain, dao, dao_members, list(calls), description)

    return run


@pytest.fixture
def device_key():
    """A fresh device key: (eth_account LocalAccount, 64-byte public key)."""

    def make():
        acct = Account.create()
        return acct, acct._key_obj.public_key.to_bytes()

    return make
