"""`ape run dao`: a DAO member's commands, each checked against the chain; every refusal one line, nothing sent."""

import json

import pytest
from cli_kit import FAST_DAO, alias, refused, refused_unsent, run

from offchain.governance import SUPPORT
from scripts import dao as dao_cli
from scripts._system import when
from testbed.localchain import advance

QUORUM_CALL = "dao.set_parameter('quorum_bps', 6000)"
VOTING_DELAY, VOTING_PERIOD = FAST_DAO["--voting-delay"], FAST_DAO["--voting-period"]
TIMELOCK, GRACE = FAST_DAO["--timelock-delay"], FAST_DAO["--grace-period"]


@pytest.fixture
def members(accounts):
    return [accounts[1], accounts[2], accounts[3]]


def propose(account, *calls, description="raise the quorum to 60 %"):
    """A proposal through the command; returns its id."""
    args = ["--account", alias(account), "-d", description, "--json"]
    for c in calls or (QUORUM_CALL,):
        args += ["--call", c]
    return json.loads(run(dao_cli.cli, "propose", *args))["proposal_id"]


def vote_all(pid, members, support="for"):
    for m in members:
        run(dao_cli.cli, "vote", pid, support, "--account", alias(m))


def passed(chain, system, members, *calls):
    """A proposal every member voted For, voting over (Succeeded)."""
    pid = propose(members[0], *calls)
    advance(chain, VOTING_DELAY + 1)
    vote_all(pid, members)
    advance(chain, VOTING_PERIOD + 1)
    return pid


def queued(chain, system, members, *calls):
    pid = passed(chain, system, members, *calls)
    run(dao_cli.cli, "queue", pid, "--account", alias(members[0]))
    return pid




# ------------------------------------------------------------------ a whole ballot

def test_whole_ballot__propose_vote_queue_execute__changes_the_parameter(system, chain, members):
    dao = system.dao
    out = json.loads(run(dao_cli.cli, "propose", "--account", alias(members[0]), "--call", QUORUM_CALL,
                         "-d", "raise the quorum to 60 %", "--json"))
    pid = out["proposal_id"]
    p = dao.proposals(pid)
    assert pid == dao.proposal_count() == 1
    assert (out["state"], out["proposer"], out["vote_start"], out["vote_end"], out["expires"]) == (
        "Pending", members[0].address, p.vote_start, p.vote_end, p.expires)
    assert (out["electorate"], out["quorum"], out["description"]) == (3, 2, "raise the quorum to 60 %")
    assert out["calls"] == [{"index": 0, "target": dao.address, "module": "dao", "amount": 0,
                             "call": "set_parameter('quorum_bps', 6000)",
                             "data": "0x" + bytes(dao.calls(pid)[0].data).hex()}]
    assert out["tx"].startswith("0x") and len(out["tx"]) == 66

    advance(chain, VOTING_DELAY + 1)
    text = run(dao_cli.cli, "vote", pid, "for", "--account", alias(members[0]), "--reason", "checked")
    assert text.strip() == (f"voted for on proposal {pid}; now for 1, against 0, abstain 0; quorum 2; "
                            f"voting ends {when(p.vote_end)}")
    out = json.loads(run(dao_cli.cli, "vote", pid, "against", "--account", alias(members[1]), "--json"))
    assert (out["support"], out["voter"], out["for_votes"], out["against_votes"], out["abstain_votes"]) == (
        "against", members[1].address, 1, 1, 0)
    run(dao_cli.cli, "vote", pid, "for", "--account", alias(members[2]))
    assert (dao.proposals(pid).for_votes, dao.proposals(pid).against_votes) == (2, 1)

    advance(chain, VOTING_PERIOD + 1)
    out = json.loads(run(dao_cli.cli, "queue", pid, "--account", alias(members[1]), "--json"))
    p = dao.proposals(pid)
    assert (out["state"], out["eta"], out["expires"]) == ("Queued", p.eta, p.expires)
    assert p.expires == p.eta + GRACE

    advance(chain, TIMELOCK + 1)
    text = run(dao_cli.cli, "execute", pid, "--account", alias(members[2]))
    assert text.strip() == f"proposal {pid} executed"
    assert dao.quorum_bps() == 6_000
    assert json.loads(run(dao_cli.cli, "show", pid, "--json"))["state"] == "Executed"


# ------------------------------------------------------------------ propose

def test_propose__text__names_the_window_and_the_quorum(system, members):
    out = run(dao_cli.cli, "propose", "--account", alias(members[1]), "-d", "two calls",
              "--call", QUORUM_CALL, "--call", "dao.set_parameter('timelock_delay', 120)")
    p = system.dao.proposals(1)
    assert out.splitlines() == [
        f"proposal 1: voting {when(p.vote_start)} .. {when(p.vote_end)}, 2 of 3 members must vote for",
        "  vote with: ape run dao vote 1 for|against|abstain --account ALIAS",
    ]
    assert p.proposer == members[1].address
    assert len(system.dao.calls(1)) == 2


@pytest.mark.parametrize("call_text, expected", [
    ("nosuch.f(1)", "'nosuch.f(1)': unknown module 'nosuch'; known: dao, sbt, registry, deca, keys, rewards, "
                    "energy, storage, pool, desk, certificate, green_pool"),
    ("sbt.no_such_method(1)", "'sbt.no_such_method(1)': sbt has no method 'no_such_method'"),
    ("sbt.ownerOf(1)", "'sbt.ownerOf(1)': sbt.ownerOf only reads; a proposal calls methods that change state"),
    ("sbt.approve_application(3", "'sbt.approve_application(3': expected module.method(arg, ...)"),
    ("approve_application(3)", "'approve_application(3)': expected module.method(arg, ...)"),
    ("sbt.approve_application(x)", "'sbt.approve_application(x)': the arguments are not Python literals"),
])
def test_propose__bad_call__one_line_and_nothing_sent(system, members, call_text, expected):
    line = refused_unsent(dao_cli.cli, members[0], "propose", "--account", alias(members[0]), "-d", "x", "--call", call_text)
    assert line == f"Error: Invalid value for --call: {expected}"
    assert system.dao.proposal_count() == 0


def test_propose__wrong_arguments__one_line_naming_the_call(system, members):
    line = refused_unsent(dao_cli.cli, members[0], "propose", "--account", alias(members[0]), "-d", "x",
                          "--call", "sbt.approve_application(1, 2)")
    assert line == ("Error: Invalid value for --call: 'sbt.approve_application(1, 2)': 2 argument(s); sbt takes "
                    "approve_application(uint256 application_id)")
    line = refused_unsent(dao_cli.cli, members[0], "propose", "--account", alias(members[0]), "-d", "x",
                          "--call", "sbt.approve_application('three')")
    assert line == ("Error: Invalid value for --call: \"sbt.approve_application('three')\": No conversion registered "
                    "to handle 'three'; sbt takes approve_application(uint256 application_id)")


def test_propose__not_a_member__refused(system, accounts):
    stranger = accounts[10]
    line = refused_unsent(dao_cli.cli, stranger, "propose", "--account", alias(stranger), "-d", "x", "--call", QUORUM_CALL)
    assert line == f"Error: {stranger.address} is not a DAO member"


def test_propose__empty_description_or_too_many_calls__refused(system, members):
    line = refused_unsent(dao_cli.cli, members[0], "propose", "--account", alias(members[0]), "-d", " ", "--call", QUORUM_CALL)
    assert line == "Error: Invalid value for --description: empty; say what the proposal does"
    args = ["propose", "--account", alias(members[0]), "-d", "x"] + ["--call", QUORUM_CALL] * 17
    line = refused_unsent(dao_cli.cli, members[0], *args)
    assert line == "Error: Invalid value for --call: 17 calls; a proposal makes at most 16"


# ------------------------------------------------------------------ vote

def test_vote__refusals__one_line_and_nothing_sent(system, chain, members, accounts):
    dao = system.dao
    pid = propose(members[0])
    p = dao.proposals(pid)
    voter = members[1]
    assert refused_unsent(dao_cli.cli, voter, "vote", 7, "for", "--account", alias(voter)) == "Error: no proposal 7 (there are 1)"
    assert refused_unsent(dao_cli.cli, voter, "vote", pid, "for", "--account", alias(voter)) == (
        f"Error: voting on proposal {pid} opens at {when(p.vote_start)}")
    stranger = accounts[10]
    assert refused_unsent(dao_cli.cli, stranger, "vote", pid, "for", "--account", alias(stranger)) == (
        f"Error: {stranger.address} is not a DAO member")
    assert refused_unsent(dao_cli.cli, voter, "vote", pid, "maybe", "--account", alias(voter)) == (
        "Error: Invalid value for '{against|for|abstain}': 'maybe' is not one of 'against', 'for', 'abstain'.")

    advance(chain, VOTING_DELAY + 1)
    assert refused_unsent(dao_cli.cli, voter, "vote", pid, "for", "--account", alias(voter), "--reason", "x" * 257) == (
        "Error: Invalid value for --reason: 257 bytes; at most 256")
    run(dao_cli.cli, "vote", pid, "abstain", "--account", alias(voter))
    assert dao.has_voted(pid, voter) and dao.proposals(pid).abstain_votes == 1
    assert refused_unsent(dao_cli.cli, voter, "vote", pid, "for", "--account", alias(voter)) == (
        f"Error: {voter.address} already voted on proposal {pid}")

    advance(chain, VOTING_PERIOD + 1)
    assert refused_unsent(dao_cli.cli, members[2], "vote", pid, "for", "--account", alias(members[2])) == (
        f"Error: voting on proposal {pid} closed at {when(p.vote_end)} (it is Defeated)")
    assert not dao.has_voted(pid, members[2])


# ------------------------------------------------------------------ queue

def test_queue__before_the_vote_ends_or_defeated__refused(system, chain, members):
    dao = system.dao
    pid = propose(members[0])
    p = dao.proposals(pid)
    assert refused_unsent(dao_cli.cli, members[0], "queue", pid, "--account", alias(members[0])) == (
        f"Error: proposal {pid} is Pending: voting ends at {when(p.vote_end)}")
    advance(chain, VOTING_DELAY + 1)
    vote_all(pid, members[:2], "against")
    run(dao_cli.cli, "vote", pid, "for", "--account", alias(members[2]))
    assert refused_unsent(dao_cli.cli, members[0], "queue", pid, "--account", alias(members[0])) == (
        f"Error: proposal {pid} is Active: voting ends at {when(p.vote_end)}")
    advance(chain, VOTING_PERIOD + 1)
    assert refused_unsent(dao_cli.cli, members[0], "queue", pid, "--account", alias(members[0])) == (
        f"Error: proposal {pid} was defeated (for 1, against 2, abstain 0; quorum 2): only a Succeeded one can "
        "be queued")
    assert refused_unsent(dao_cli.cli, members[0], "queue", 9, "--account", alias(members[0])) == (
        "Error: no proposal 9 (there are 1)")


def test_queue__twice_or_too_late__refused(system, chain, members):
    dao = system.dao
    pid = queued(chain, system, members)
    assert refused_unsent(dao_cli.cli, members[1], "queue", pid, "--account", alias(members[1])) == (
        f"Error: proposal {pid} is already queued, executable from {when(dao.proposals(pid).eta)}")
    late = passed(chain, system, members)
    expires = dao.proposals(late).expires
    advance(chain, GRACE + 1)
    assert refused_unsent(dao_cli.cli, members[1], "queue", late, "--account", alias(members[1])) == (
        f"Error: proposal {late} expired: it was not queued by {when(expires)}")


def test_queue__text__names_eta_and_expiry(system, chain, members):
    pid = passed(chain, system, members)
    out = run(dao_cli.cli, "queue", pid, "--account", alias(members[2]))
    p = system.dao.proposals(pid)
    assert out.strip() == f"proposal {pid} queued, executable from {when(p.eta)} until {when(p.expires)}"


# ------------------------------------------------------------------ execute

def test_execute__json__runs_the_calls(system, chain, members):
    dao = system.dao
    pid = queued(chain, system, members, "dao.set_parameter('timelock_delay', 120)", QUORUM_CALL)
    advance(chain, TIMELOCK + 1)
    out = json.loads(run(dao_cli.cli, "execute", pid, "--account", alias(members[0]), "--json"))
    assert (out["proposal_id"], out["state"], out["calls"]) == (pid, "Executed", 2)
    receipt = chain.provider.get_receipt(out["tx"])
    assert receipt.decode_logs(dao.ProposalExecuted)[0].proposal_id == pid
    assert (dao.timelock_delay(), dao.quorum_bps()) == (120, 6_000)


def test_execute__in_timelock_not_queued_or_expired__refused(system, chain, members):
    dao = system.dao
    ripe = passed(chain, system, members)
    assert refused_unsent(dao_cli.cli, members[0], "execute", ripe, "--account", alias(members[0])) == (
        f"Error: proposal {ripe} is not queued yet: ape run dao queue {ripe}")
    run(dao_cli.cli, "queue", ripe, "--account", alias(members[0]))
    p = dao.proposals(ripe)
    assert refused_unsent(dao_cli.cli, members[0], "execute", ripe, "--account", alias(members[0])) == (
        f"Error: proposal {ripe} is in its timelock until {when(p.eta)}")
    advance(chain, TIMELOCK + GRACE + 1)
    assert refused_unsent(dao_cli.cli, members[0], "execute", ripe, "--account", alias(members[0])) == (
        f"Error: proposal {ripe} expired at {when(p.expires)}: it was not executed in time")
    assert dao.quorum_bps() == FAST_DAO["--quorum-bps"]
    fresh = propose(members[0])
    assert refused_unsent(dao_cli.cli, members[0], "execute", fresh, "--account", alias(members[0])) == (
        f"Error: proposal {fresh} is Pending, only a Queued one can be executed")


def test_execute__a_failing_call__refused_with_its_reason(system, chain, members):
    pid = queued(chain, system, members, "dao.set_parameter('no_such_parameter', 1)")
    advance(chain, TIMELOCK + 1)
    assert refused_unsent(dao_cli.cli, members[0], "execute", pid, "--account", alias(members[0])) == (
        "Error: refused: dao: unknown parameter")
    assert not system.dao.proposals(pid).executed


# ------------------------------------------------------------------ cancel

def test_cancel__by_the_proposer__canceled(system, chain, members):
    pid = propose(members[0])
    out = json.loads(run(dao_cli.cli, "cancel", pid, "--account", alias(members[0]), "--json"))
    assert (out["proposal_id"], out["state"]) == (pid, "Canceled")
    assert system.dao.proposals(pid).canceled
    other = propose(members[0])
    advance(chain, VOTING_DELAY + 1)
    assert run(dao_cli.cli, "cancel", other, "--account", alias(members[0])).strip() == f"proposal {other} canceled"
    assert system.dao.state(other) == 2


def test_cancel__not_the_proposer_or_too_late__refused(system, chain, members):
    pid = propose(members[0])
    assert refused_unsent(dao_cli.cli, members[1], "cancel", pid, "--account", alias(members[1])) == (
        f"Error: only the proposer ({members[0].address}) may cancel proposal {pid}")
    advance(chain, VOTING_DELAY + VOTING_PERIOD + 2)
    assert refused_unsent(dao_cli.cli, members[0], "cancel", pid, "--account", alias(members[0])) == (
        f"Error: proposal {pid} is Defeated: too late to cancel (only until voting ends, "
        f"{when(system.dao.proposals(pid).vote_end)})")
    assert refused_unsent(dao_cli.cli, members[0], "cancel", 5, "--account", alias(members[0])) == (
        "Error: no proposal 5 (there are 1)")


# ------------------------------------------------------------------ list, show, members

def test_list__empty_then_a_table_and_json_of_every_proposal(system, chain, members):
    assert run(dao_cli.cli, "list").strip() == "no proposals yet"
    assert json.loads(run(dao_cli.cli, "list", "--json")) == {"proposals": []}
    first = propose(members[0], description="first")
    second = propose(members[1], description="second")
    advance(chain, VOTING_DELAY + 1)
    run(dao_cli.cli, "vote", second, "for", "--account", alias(members[2]))
    lines = run(dao_cli.cli, "list").splitlines()
    assert lines[0].split() == ["id", "state", "for", "against", "abstain", "quorum", "voting", "ends", "description"]
    assert lines[2].split()[:6] == [str(first), "Active", "0", "0", "0", "2"]
    assert lines[3].split()[:6] == [str(second), "Active", "1", "0", "0", "2"]
    assert lines[3].endswith("second")
    rows = json.loads(run(dao_cli.cli, "list", "--json"))["proposals"]
    dao = system.dao
    assert [(r["proposal_id"], r["proposer"], r["description"], r["for_votes"], r["vote_end"]) for r in rows] == [
        (pid, dao.proposals(pid).proposer, d, dao.proposals(pid).for_votes, dao.proposals(pid).vote_end)
        for pid, d in ((first, "first"), (second, "second"))]


def test_show__calls_decoded_and_every_vote(system, chain, members):
    dao = system.dao
    pid = propose(members[0], QUORUM_CALL, "sbt.approve_application(3)", description="admit 3")
    advance(chain, VOTING_DELAY + 1)
    run(dao_cli.cli, "vote", pid, "for", "--account", alias(members[0]), "--reason", "site checked")
    run(dao_cli.cli, "vote", pid, "against", "--account", alias(members[1]))
    text = run(dao_cli.cli, "show", pid)
    p = dao.proposals(pid)
    assert f"proposal {pid}: Active" in text
    assert "  description: admit 3" in text
    assert f"  voting:      {when(p.vote_start)} .. {when(p.vote_end)}" in text
    assert "quorum 2 of 3 (fixed at creation)" in text
    assert "0  dao.set_parameter('quorum_bps', 6000)" in text
    assert "1  sbt.approve_application(3)" in text
    assert f"{members[0].address}  for      site checked" in text
    assert f"{members[1].address}  against" in text
    out = json.loads(run(dao_cli.cli, "show", pid, "--json"))
    assert [(c["module"], c["call"], c["target"]) for c in out["calls"]] == [
        ("dao", "set_parameter('quorum_bps', 6000)", dao.address),
        ("sbt", "approve_application(3)", system.sbt.address)]
    assert out["votes"] == [{"voter": members[0].address, "support": "for", "reason": "site checked"},
                            {"voter": members[1].address, "support": "against", "reason": ""}]
    assert (out["for_votes"], out["against_votes"], out["state"], out["eta"]) == (1, 1, "Active", 0)
    assert refused(dao_cli.cli, "show", 4) == "Error: no proposal 4 (there are 1)"


def test_members__seats_and_parameters(system, members):
    out = json.loads(run(dao_cli.cli, "members", "--json"))
    assert out["members"] == [m.address for m in members] == list(system.dao.members())
    assert out["parameters"] == {"voting_delay": VOTING_DELAY, "voting_period": VOTING_PERIOD,
                                 "quorum_bps": FAST_DAO["--quorum-bps"], "timelock_delay": TIMELOCK,
                                 "grace_period": GRACE}
    text = run(dao_cli.cli, "members")
    for m in members:
        assert f"{m.address}                    1" in text
    assert "voting delay 60 s, voting period 600 s, quorum 5000 bps, timelock 60 s, grace period 86400 s" in text


def test_support_names_are_the_contracts():
    assert dao_cli.SUPPORT_NAME == {0: "against", 1: "for", 2: "abstain"} == {v: k for k, v in SUPPORT.items()}
