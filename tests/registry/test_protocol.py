"""The protocol module (greenminer.protocol) against the deployed contracts' own constants.

The contracts keep the protocol's facts as Vyper constants; the board and the off-chain side
take them from ``greenminer.protocol``. Deployed as for real, the two must agree.
"""

import pytest
from eth_utils import keccak

from greenminer import protocol
from offchain.deploy import deploy_system


@pytest.fixture(scope="module")
def system(project, chain, accounts):
    return deploy_system(project, chain, accounts[0], [accounts[1]], accounts[2])


def test_epoch_and_readings__every_contract_that_counts_them__same_as_the_protocol(system):
    assert system.registry.EPOCH_SECONDS() == protocol.EPOCH_SECONDS
    assert system.keys.EPOCH_SECONDS() == protocol.EPOCH_SECONDS
    assert system.rewards.EPOCH_SECONDS() == protocol.EPOCH_SECONDS
    assert system.registry.MAX_READINGS() == protocol.MAX_READINGS
    assert protocol.MAX_READINGS * protocol.SAMPLE_SECONDS == protocol.EPOCH_SECONDS


def test_signed_types__typehashes_of_the_contracts__hash_the_protocol_strings(system):
    assert bytes(system.registry.BATCH_TYPEHASH()) == keccak(text=protocol.BATCH_TYPE)
    assert bytes(system.sbt.ENROLLMENT_TYPEHASH()) == keccak(text=protocol.ENROLLMENT_TYPE)
    assert bytes(system.storage.STATEMENT_TYPEHASH()) == keccak(text=protocol.STATEMENT_TYPE)


@pytest.mark.parametrize("name", ["registry", "storage", "sbt"])
def test_eip712_domain__each_verifying_contract__the_protocol_name_and_version(system, chain, name):
    contract = getattr(system, name)
    _, domain_name, version, chain_id, verifying, *_ = contract.eip712Domain()
    assert (domain_name, version) == (protocol.DOMAIN_NAME, protocol.DOMAIN_VERSION)
    assert (chain_id, verifying) == (chain.chain_id, contract.address)
