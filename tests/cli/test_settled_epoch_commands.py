"""A settled epoch from the miner's side: `ape run miner claim` takes its DECA; `ape run certificate` issues its
certified energy, retires it for a beneficiary, lists retirements, regions and totals; every refusal one line,
nothing sent."""

import json
from types import SimpleNamespace

import pytest
from cli_kit import alias, refused, refused_unsent, run
from oracle_cli_kit import Device, current_epoch, finish, json_of

from offchain import oracle
from offchain.governance import call
from offchain.oracle.certify import certificates_path, get_certificates
from scripts import certificate as certificate_cli
from scripts import miner as miner_cli
from scripts import oracle as oracle_cli
from testbed.localchain import advance_to, pass_proposal

REGION = (1, "SERF box", 39_000_000, 40_000_000, -106_000_000, -105_000_000, 550, "test figure, named source")


@pytest.fixture(scope="module")
def certified(system, chain, accounts, tmp_path_factory):
    """One miner's batch in epoch E (late morning), settled and certified by `oracle run`. A lone miner's
    authenticity is the DAO's `lone_bps` (0.25), so the DAO first lowers the threshold to 1 bps; it also sets the
    miner's region, and K = 1 (the miner wins)."""
    members, miner = accounts[1:4], accounts[4]
    cert = system.certificate
    pass_proposal(chain, system.dao, members, [call(cert.set_threshold, 1), call(cert.set_region, *REGION),
                                               call(system.keys.set_lottery_k, 1)],
                  "certify every credited row; the SERF's grid; every draw wins")
    device = Device(chain, system, members, miner, 1)
    hour = chain.pending_timestamp // 3_600
    advance_to(chain, (hour + (18 - hour) % 24) * 3_600 + 60)  # 18:00 UTC: late morning at the SERF, the sun high
    epoch = current_epoch(chain, system)
    device.submit(epoch, accounts[6])
    finish(chain, system, epoch)
    folder = tmp_path_factory.mktemp("oracle")
    json_of(oracle_cli.cli, "run", "--account", alias(accounts[7]), "--store", folder / "store.sqlite", "--once",
            "--mine")
    rows = get_certificates(certificates_path(folder, epoch).as_uri()).rows
    return SimpleNamespace(system=system, device=device, epoch=epoch, folder=folder, miner=miner, rows=rows)




def test_oracle_run__certifies_the_posted_epoch_and_verify_recomputes_it(certified):
    cert, e = certified.system.certificate, certified.epoch
    (row,) = certified.rows
    assert row.token_id == certified.device.token_id and row.mwh > 0
    root, total, issued = cert.epochs(e)
    assert (total, issued) == (row.mwh, 0) and bytes(root) == row.leaf  # one row: the root is its leaf
    assert oracle.verify_epoch(certified.system, e, oracle.table_path(certified.folder, e)) == []


def test_miner_claim__the_winning_row_paid_once(certified, accounts):
    system, miner, token, e = certified.system, certified.miner, certified.device.token_id, certified.epoch
    row = next(r for r in oracle.read_table(oracle.table_path(certified.folder, e)).rows if r.token_id == token)
    assert row.winner and row.amount > 0
    before = system.deca.balanceOf(miner)
    out = json.loads(run(miner_cli.cli, "claim", "--account", alias(miner), "--json"))
    assert out["claimed"] == [{"epoch": e, "token_id": token, "deca_wei": row.amount, "tx_hash": out["claimed"][0]
                               ["tx_hash"]}] and out["deca_wei"] == row.amount
    assert system.deca.balanceOf(miner) == before + row.amount and system.rewards.is_claimed(e, token)
    nonce = miner.nonce
    assert run(miner_cli.cli, "claim", "--account", alias(miner)).strip() == "nothing to claim"
    assert miner.nonce == nonce
    assert refused(miner_cli.cli, "claim", "--account", alias(accounts[9])) == (
        f"Error: {accounts[9].address} holds no miner token")
    assert refused(miner_cli.cli, "claim", "--account", alias(accounts[9]), "--token", token) == (
        f"Error: token {token} belongs to {miner.address}, not to {accounts[9].address}")


def test_issue__by_a_stranger__mints_to_the_owner_once(certified, accounts):
    cert, token, stranger = certified.system.certificate, certified.device.token_id, accounts[9]
    (row,) = certified.rows
    out = json.loads(run(certificate_cli.cli, "issue", "--account", alias(stranger), "--token", token, "--json"))
    assert [(i["epoch"], i["token_id"], i["mwh"]) for i in out["issued"]] == [(certified.epoch, token, row.mwh)]
    assert cert.balanceOf(certified.miner) == row.mwh and cert.balanceOf(stranger) == 0
    assert cert.issued_co2_ug() == row.mwh * REGION[6]  # the miner's box
    nonce = certified.miner.nonce
    assert run(certificate_cli.cli, "issue", "--account", alias(certified.miner)).strip() == "nothing to issue"
    assert certified.miner.nonce == nonce


@pytest.mark.parametrize("args, expected", [
    (["--mwh", 10**12, "--beneficiary", "x"], "holds {held} mWh of GEC, fewer than 1000000000000"),
    (["--mwh", 1, "--beneficiary", " "], "Invalid value for --beneficiary: empty"),
    (["--mwh", 1, "--beneficiary", "b" * 65], "Invalid value for --beneficiary: 65 bytes, at most 64"),
    (["--mwh", 1, "--beneficiary", "x", "--reason", "r" * 129], "Invalid value for --reason: 129 bytes, at most 128"),
    (["--mwh", 0, "--beneficiary", "x"], "Invalid value for '--mwh': 0 is not in the range x>=1."),
])
def test_retire__bad_input__one_line_nothing_sent(certified, args, expected):
    miner = certified.miner
    held = certified.system.certificate.balanceOf(miner)
    line = refused_unsent(certificate_cli.cli, miner, "retire", "--account", alias(miner), *args)
    assert line.endswith(expected.format(held=held)), line


def test_issue__no_token__one_line(certified, accounts):
    assert refused_unsent(certificate_cli.cli, accounts[9], "issue", "--account", alias(accounts[9])) == (
        f"Error: {accounts[9].address} holds no miner token; name one with --token")
    assert refused_unsent(certificate_cli.cli, accounts[9], "issue", "--account", alias(accounts[9]), "--token", 999) == (
        "Error: there is no miner token 999")


def test_retire__recorded_for_good_and_listed_by_the_auditor(certified):
    cert, miner = certified.system.certificate, certified.miner
    run(certificate_cli.cli, "issue", "--account", alias(miner))
    held = cert.balanceOf(miner)
    part = held // 3
    out = json.loads(run(certificate_cli.cli, "retire", "--account", alias(miner), "--mwh", part, "--beneficiary",
                         "Golden library", "--reason", "test", "--json"))
    assert out["mwh"] == part and out["co2_ug"] == part * REGION[6]  # one region alive: its factor exactly
    assert cert.balanceOf(miner) == held - part and cert.retired_mwh() == part
    listed = json.loads(run(certificate_cli.cli, "retirements", "--json"))
    (r,) = [x for x in listed["retirements"] if x["retirement_id"] == out["retirement_id"]]
    assert (r["holder"], r["mwh"], r["beneficiary"], r["reason"]) == (miner.address, part, "Golden library", "test")
    text = run(certificate_cli.cli, "retirements")
    assert "Golden library" in text and f"{part / 1e6:,.3f}" in text
    shown = json.loads(run(certificate_cli.cli, "show", "--address", miner.address, "--json"))
    assert shown["retired_mwh"] == cert.retired_mwh() and shown["holder"]["gec_mwh"] == held - part
    assert shown["live_mwh"] == cert.totalSupply() == cert.issued_mwh() - cert.retired_mwh()


def test_regions__every_region_with_its_factor_and_source(certified):
    out = json.loads(run(certificate_cli.cli, "regions", "--json"))
    assert [(r["region"], r["factor_g_per_kwh"]) for r in out["regions"]] == [(0, 480), (1, REGION[6])]
    assert out["regions"][1]["source"] == REGION[7] and out["min_a_bps"] == 1
    text = run(certificate_cli.cli, "regions")
    assert "whole earth (default)" in text and "lat 39..40, lon -106..-105" in text
