"""Actors and deployed system shared by every contract test."""

import os

import pytest
from ape.logging import logger
from eth_account import Account

from offchain.governance import DEFAULT_DAO_PARAMS
from scripts._system import cache_custom_networks
from testbed import embedded
from testbed.localchain import pass_proposal as _pass_proposal

Account.enable_unaudited_hdwallet_features()
if os.environ.get("PYTEST_XDIST_WORKER"):  # `ape test` sets WARNING in its own process; `-n` workers start at INFO,
    logger.set_level("WARNING")  # whose confirmations would land in the output of the commands under test
embedded.install()  # the embedded chain without its walk over every block per receipt, nor its accounts per call
cache_custom_networks()  # ape's custom networks built once, not at every transaction


# Every actor once: one test account each, the same in every folder.
ACTORS = {
    "deployer": 0,  # deploys; stands in for the DAO as `owner` outside tests/contracts
    "miner": 4,
    "other_miner": 5,
    "relayer": 6,  # the gateway's account: relays device batches (anyone may)
    "oracle_account": 7,  # holds the oracle role on EpochKeys, RewardDistributor and GreenCertificate
    "vault": 8,  # stands in for the DAO's treasury
    "attacker": 9,
    "stranger": 10,  # anyone: relays, reveals, sweeps, claims or fills for others
    "alice": 11,  # pool traders
    "bob": 12,
    "carol": 13,
    "buyer": 14,  # holds ENERGY and takes energy out of a node
    "epoch_keys": 15,  # stands in for the EpochKeys contract in the registry's tests
}


def _actor(name, index):
    def fixture(accounts):
        return accounts[index]

    fixture.__name__ = name
    return pytest.fixture(scope="session", name=name)(fixture)


for _name, _index in ACTORS.items():
    globals()[_name] = _actor(_name, _index)


@pytest.fixture(scope="session")
def dao_members(accounts):
    return [accounts[1], accounts[2], accounts[3]]


@pytest.fixture(scope="session")
def owner(deployer):
    """Stands in for the TechnicalDAO as owner of every contract (the DAO's own path is
    tested in tests/contracts)."""
    return deployer


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
