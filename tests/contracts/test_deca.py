"""DecaToken: an ERC-20 whose minters only the DAO names."""

import ape
import pytest

from offchain.governance import call


@pytest.fixture
def deca(project, deployer, dao):
    token = deployer.deploy(project.DecaToken)
    token.transfer_ownership(dao, sender=deployer)
    return token


def test_metadata(deca):
    assert (deca.name(), deca.symbol(), deca.decimals()) == ("Deca", "DECA", 18)


def test_ownership__moves_minter_role_to_dao(deca, dao, deployer):
    assert deca.owner() == dao.address
    assert deca.is_minter(dao) and not deca.is_minter(deployer)
    with ape.reverts("erc20: access is denied"):
        deca.mint(deployer, 1, sender=deployer)


def test_set_minter__by_dao_proposal__lets_that_contract_mint(deca, dao, accounts, miner, pass_proposal):
    distributor = accounts[8]
    pass_proposal(call(deca.set_minter, distributor, True))
    tx = deca.mint(miner, 5 * 10**18, sender=distributor)
    assert len(tx.decode_logs(deca.Transfer)) == 1
    assert deca.balanceOf(miner) == deca.totalSupply() == 5 * 10**18


def test_set_minter__not_by_dao__reverts(deca, attacker):
    with ape.reverts("ownable: caller is not the owner"):
        deca.set_minter(attacker, True, sender=attacker)


def test_burn__holder_burns_own_tokens(deca, dao, accounts, miner, pass_proposal):
    pass_proposal(call(deca.set_minter, accounts[8], True))
    deca.mint(miner, 10, sender=accounts[8])
    deca.burn(4, sender=miner)
    assert deca.balanceOf(miner) == 6 and deca.totalSupply() == 6
