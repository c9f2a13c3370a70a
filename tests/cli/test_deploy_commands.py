"""`ape run deploy`: checks every input before it sends anything; records what it deployed."""

import json
from pathlib import Path

import pytest
from cli_kit import FAST_DAO, alias, invoke, refused, run

from scripts import deploy


def _args(accounts, *extra, members=None, oracle=None):
    members = members if members is not None else [a.address for a in accounts[1:4]]
    args = ["--account", alias(accounts[0]), "--oracle", oracle or accounts[7].address]
    for m in members:
        args += ["--member", m]
    return args + list(extra)


def test_deploy__json__records_every_contract_owned_by_the_dao(accounts, chain, deployments):
    out = json.loads(run(deploy.cli, *_args(accounts, "--json", "--replace")))
    contracts = out["contracts"]
    assert out["chain_id"] == chain.chain_id
    record = json.loads(open(out["record"]).read())
    assert record["contracts"] == contracts
    every = json.loads((deployments / "networks.json").read_text())  # the one file naming every network
    assert every[f"ethereum:local:{chain.chain_id}"] == {"ecosystem": "ethereum", "network": "local",
                                                         "record": Path(out["record"]).name, **record}
    assert set(contracts) == {"dao", "sbt", "registry", "deca", "keys", "rewards", "energy", "storage", "pool", "desk",
                              "certificate", "green_pool"}
    for name, address in contracts.items():
        assert chain.provider.get_code(address), name


def test_deploy__again_on_the_same_chain__refused_unless_replace(accounts, chain):
    run(deploy.cli, *_args(accounts, "--replace"))
    nonce = accounts[0].nonce
    line = refused(deploy.cli, *_args(accounts))
    assert "records a deployment that is on this chain; --replace" in line
    assert accounts[0].nonce == nonce


@pytest.mark.parametrize("change, expected", [
    (dict(members=["0x12"]), "'0x12' is not an address"),
    (dict(oracle="0xnothex"), "'0xnothex' is not an address"),
    (dict(members=[]), "Missing option '--member'"),
    (dict(extra=["--quorum-bps", "0"]), "quorum_bps 0: must be 1 to 10000"),
    (dict(extra=["--voting-period", "0"]), "voting_period must be more than 0 s"),
    (dict(extra=["--grace-period", str(366 * 86_400)]), "grace_period 31622400 s: must be 0 to 31536000"),
    (dict(members="twice"), "a member is named twice"),
    (dict(members=["0x" + "00" * 20]), "the zero address cannot be a member"),
])
def test_deploy__bad_input__one_line_and_nothing_sent(accounts, change, expected):
    members = change.get("members")
    if members == "twice":
        members = [accounts[1].address, accounts[1].address.lower()]
    nonce = accounts[0].nonce
    result = invoke(deploy.cli, *_args(accounts, *change.get("extra", []), "--replace", members=members,
                                       oracle=change.get("oracle")))
    assert result.exit_code != 0
    assert expected in result.output
    assert "Traceback" not in result.output
    assert accounts[0].nonce == nonce


def test_deploy__fast_ballot_options__set_on_the_dao(system):
    dao = system.dao
    assert (dao.voting_delay(), dao.voting_period(), dao.timelock_delay()) == (
        FAST_DAO["--voting-delay"], FAST_DAO["--voting-period"], FAST_DAO["--timelock-delay"])
