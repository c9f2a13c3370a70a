"""TechnicalDAO: ballots, states, timelock, self-governance, module directory and vault."""

import ape
import pytest

from offchain.governance import SUPPORT, call, state_name

AGAINST, FOR, ABSTAIN = SUPPORT["against"], SUPPORT["for"], SUPPORT["abstain"]


def test_constructor__seats_members_and_parameters(dao, dao_members, sbt):
    assert dao.members() == [m.address for m in dao_members]
    assert all(dao.is_member(m) and dao.seated_before(m) == 1 for m in dao_members)
    assert dao.voting_delay() == 3_600 and dao.voting_period() == 3 * 86_400
    assert dao.quorum_bps() == 5_000 and dao.timelock_delay() == 86_400 and dao.grace_period() == 14 * 86_400
    assert dao.modules("sbt") == sbt.address
    assert sbt.owner() == dao.address


def test_propose__records_calls_and_events(dao, dao_members, sbt, propose):
    c = call(dao.set_parameter, "voting_delay", 60)
    tx = dao.propose([c, c], "two calls", sender=dao_members[1])
    created = tx.decode_logs(dao.ProposalCreated)
    assert len(created) == 1
    pid = created[0].proposal_id
    assert created[0].proposer == dao_members[1].address and created[0].electorate == 3
    assert created[0].description == "two calls"
    calls = tx.decode_logs(dao.ProposalCall)
    assert [(e.index, e.target, e.amount, bytes(e.data)) for e in calls] == [(i, dao.address, 0, bytes(c[2])) for i in range(2)]
    assert [(x.target, x.amount, bytes(x.data)) for x in dao.calls(pid)] == [(dao.address, 0, bytes(c[2]))] * 2
    assert state_name(dao, pid) == "Pending"
    assert dao.quorum(pid) == 2


def test_propose__non_member__reverts(dao, attacker):
    with ape.reverts("dao: not a member"):
        dao.propose([call(dao.add_member, attacker)], "let me in", sender=attacker)


def test_propose__no_calls__reverts(dao, dao_members):
    with ape.reverts("dao: no calls"):
        dao.propose([], "nothing", sender=dao_members[0])


def test_propose__no_description__reverts(dao, dao_members):
    with ape.reverts("dao: no description"):
        dao.propose([call(dao.set_parameter, "quorum_bps", 6_000)], "", sender=dao_members[0])


def test_propose__call_to_zero_address__reverts(dao, dao_members):
    with ape.reverts("dao: call to zero address"):
        dao.propose([("0x" + "00" * 20, 0, b"")], "void", sender=dao_members[0])


def test_full_ballot__states_in_order_and_execution(chain, dao, dao_members, propose, voting, after_vote):
    pid = propose(call(dao.set_parameter, "quorum_bps", 6_000))
    assert state_name(dao, pid) == "Pending"
    voting(pid)
    assert state_name(dao, pid) == "Active"
    tx = dao.cast_vote(pid, FOR, "good idea", sender=dao_members[0])
    vote = tx.decode_logs(dao.VoteCast)
    assert len(vote) == 1 and (vote[0].voter, vote[0].support, vote[0].reason) == (dao_members[0].address, FOR, "good idea")
    dao.cast_vote(pid, FOR, sender=dao_members[1])
    dao.cast_vote(pid, AGAINST, sender=dao_members[2])
    p = dao.proposals(pid)
    assert (p.for_votes, p.against_votes, p.abstain_votes) == (2, 1, 0)
    assert dao.has_voted(pid, dao_members[2])
    after_vote(pid)
    assert state_name(dao, pid) == "Succeeded"
    tx = dao.queue(pid, sender=dao_members[2])
    eta = tx.decode_logs(dao.ProposalQueued)[0].eta
    assert state_name(dao, pid) == "Queued" and dao.proposals(pid).eta == eta
    assert dao.proposals(pid).expires == eta + dao.grace_period()
    chain.pending_timestamp = eta
    tx = dao.execute(pid, sender=dao_members[1])
    assert len(tx.decode_logs(dao.ProposalExecuted)) == 1
    assert [(e.name, e.value) for e in tx.decode_logs(dao.ParameterChanged)] == [("quorum_bps", 6_000)]
    assert dao.quorum_bps() == 6_000
    assert state_name(dao, pid) == "Executed"


def test_execute__by_anyone_once_ripe(chain, dao, attacker, succeeded):
    pid = succeeded(call(dao.set_parameter, "voting_period", 86_400))
    dao.queue(pid, sender=attacker)
    chain.pending_timestamp += dao.timelock_delay()
    dao.execute(pid, sender=attacker)
    assert dao.voting_period() == 86_400


def test_vote__before_start__reverts(dao, dao_members, propose):
    pid = propose()
    with ape.reverts("dao: voting is closed"):
        dao.cast_vote(pid, FOR, sender=dao_members[0])


def test_vote__after_end__reverts(dao, dao_members, propose, after_vote):
    pid = propose()
    after_vote(pid)
    with ape.reverts("dao: voting is closed"):
        dao.cast_vote(pid, FOR, sender=dao_members[0])


def test_vote__non_member__reverts(dao, attacker, propose, voting):
    pid = propose()
    voting(pid)
    with ape.reverts("dao: not a member"):
        dao.cast_vote(pid, FOR, sender=attacker)


def test_vote__twice__reverts(dao, dao_members, propose, voting):
    pid = propose()
    voting(pid)
    dao.cast_vote(pid, FOR, sender=dao_members[0])
    with ape.reverts("dao: already voted"):
        dao.cast_vote(pid, AGAINST, sender=dao_members[0])
    assert dao.proposals(pid).against_votes == 0


def test_vote__bad_support__reverts(dao, dao_members, propose, voting):
    pid = propose()
    voting(pid)
    with ape.reverts("dao: bad support value"):
        dao.cast_vote(pid, 3, sender=dao_members[0])


def test_vote__unknown_proposal__reverts(dao, dao_members):
    with ape.reverts("dao: unknown proposal"):
        dao.cast_vote(77, FOR, sender=dao_members[0])


def test_vote__member_seated_after_proposal__reverts(chain, dao, dao_members, accounts, succeeded, propose, voting):
    newcomer = accounts[6]
    seat = succeeded(call(dao.add_member, newcomer))
    dao.queue(seat, sender=dao_members[0])
    pid = propose()  # created while the newcomer is not yet seated
    chain.pending_timestamp += dao.timelock_delay()
    dao.execute(seat, sender=dao_members[0])
    assert dao.is_member(newcomer) and dao.proposals(pid).electorate == 3
    assert dao.seated_before(newcomer) == pid + 1  # votes from the next proposal on
    voting(pid)
    assert state_name(dao, pid) == "Active"
    with ape.reverts("dao: seated after proposal"):
        dao.cast_vote(pid, FOR, sender=newcomer)
    # a proposal created after seating counts the newcomer
    pid2 = propose()
    voting(pid2)
    dao.cast_vote(pid2, FOR, sender=newcomer)
    assert dao.proposals(pid2).electorate == 4


def test_outcome__more_against__defeated(dao, dao_members, propose, voting, after_vote):
    pid = propose()
    voting(pid)
    dao.cast_vote(pid, FOR, sender=dao_members[0])
    dao.cast_vote(pid, AGAINST, sender=dao_members[1])
    dao.cast_vote(pid, AGAINST, sender=dao_members[2])
    after_vote(pid)
    assert state_name(dao, pid) == "Defeated"


def test_outcome__tie__defeated(dao, dao_members, propose, voting, after_vote):
    pid = propose()
    voting(pid)
    dao.cast_vote(pid, FOR, sender=dao_members[0])
    dao.cast_vote(pid, AGAINST, sender=dao_members[1])
    after_vote(pid)
    assert state_name(dao, pid) == "Defeated"


def test_outcome__below_quorum__defeated(dao, dao_members, propose, voting, after_vote):
    pid = propose()
    voting(pid)
    dao.cast_vote(pid, FOR, sender=dao_members[0])  # 1 For of 3: quorum is 2
    dao.cast_vote(pid, ABSTAIN, sender=dao_members[1])
    dao.cast_vote(pid, ABSTAIN, sender=dao_members[2])
    after_vote(pid)
    assert state_name(dao, pid) == "Defeated"


@pytest.mark.parametrize("step,reason", [("queue", "dao: proposal not succeeded"), ("execute", "dao: proposal not queued")])
def test_queue_or_execute__defeated__reverts(dao, dao_members, propose, voting, after_vote, step, reason):
    pid = propose()
    voting(pid)
    dao.cast_vote(pid, AGAINST, sender=dao_members[0])
    after_vote(pid)
    with ape.reverts(reason):
        getattr(dao, step)(pid, sender=dao_members[0])


def test_queue__twice__reverts(dao, dao_members, succeeded):
    pid = succeeded()
    dao.queue(pid, sender=dao_members[0])
    with ape.reverts("dao: proposal not succeeded"):
        dao.queue(pid, sender=dao_members[0])


def test_execute__not_queued__reverts(dao, dao_members, succeeded):
    pid = succeeded()
    with ape.reverts("dao: proposal not queued"):
        dao.execute(pid, sender=dao_members[0])


def test_execute__before_timelock__reverts(chain, dao, dao_members, succeeded):
    pid = succeeded()
    dao.queue(pid, sender=dao_members[0])
    chain.pending_timestamp = dao.proposals(pid).eta - 10
    with ape.reverts("dao: timelock not elapsed"):
        dao.execute(pid, sender=dao_members[0])
    assert state_name(dao, pid) == "Queued"


def test_execute__after_grace__expired(chain, dao, dao_members, succeeded):
    pid = succeeded()
    dao.queue(pid, sender=dao_members[0])
    chain.pending_timestamp = dao.proposals(pid).eta + dao.grace_period()
    chain.mine()
    assert state_name(dao, pid) == "Expired"
    with ape.reverts("dao: proposal not queued"):
        dao.execute(pid, sender=dao_members[0])


def test_execute__twice__reverts(chain, dao, dao_members, succeeded):
    pid = succeeded()
    dao.queue(pid, sender=dao_members[0])
    chain.pending_timestamp += dao.timelock_delay()
    dao.execute(pid, sender=dao_members[0])
    with ape.reverts("dao: proposal not queued"):
        dao.execute(pid, sender=dao_members[0])


def test_execute__failing_call__reverts_all_with_its_reason(chain, dao, dao_members, succeeded):
    pid = succeeded(call(dao.set_parameter, "quorum_bps", 7_000), call(dao.add_member, dao_members[0]))
    dao.queue(pid, sender=dao_members[0])
    chain.pending_timestamp += dao.timelock_delay()
    with ape.reverts("dao: already a member"):
        dao.execute(pid, sender=dao_members[0])
    assert dao.quorum_bps() == 5_000  # the first call was rolled back too
    assert state_name(dao, pid) == "Queued"


def test_cancel__by_proposer_while_pending_or_active(dao, dao_members, propose, voting):
    pid = propose()
    tx = dao.cancel(pid, sender=dao_members[0])
    assert len(tx.decode_logs(dao.ProposalCanceled)) == 1
    assert state_name(dao, pid) == "Canceled"
    pid = propose()
    voting(pid)
    dao.cancel(pid, sender=dao_members[0])
    assert state_name(dao, pid) == "Canceled"
    with ape.reverts("dao: voting is closed"):
        dao.cast_vote(pid, FOR, sender=dao_members[1])


def test_cancel__not_proposer__reverts(dao, dao_members, propose):
    pid = propose()
    with ape.reverts("dao: not the proposer"):
        dao.cancel(pid, sender=dao_members[1])


def test_cancel__unknown_proposal__reverts(dao, dao_members, propose):
    pid = propose()
    with ape.reverts("dao: unknown proposal"):
        dao.cancel(pid + 1, sender=dao_members[0])


def test_cancel__after_voting__reverts(dao, dao_members, succeeded):
    pid = succeeded()
    with ape.reverts("dao: too late to cancel"):
        dao.cancel(pid, sender=dao_members[0])


@pytest.mark.parametrize(
    "method,args",
    [
        ("add_member", ("attacker",)),
        ("remove_member", ("member",)),
        ("set_parameter", ("quorum_bps", 1)),
        ("set_module", ("sbt", "attacker")),
    ],
)
def test_self_governed__direct_call__reverts(dao, dao_members, attacker, method, args):
    args = [{"attacker": attacker, "member": dao_members[0]}.get(a, a) for a in args]
    for sender in (attacker, dao_members[0]):
        with ape.reverts("dao: only by proposal"):
            getattr(dao, method)(*args, sender=sender)


def test_membership__add_and_remove_by_proposal(dao, dao_members, accounts, pass_proposal):
    newcomer = accounts[6]
    tx = pass_proposal(call(dao.add_member, newcomer))
    assert [e.member for e in tx.decode_logs(dao.MemberAdded)] == [newcomer.address]
    tx = pass_proposal(call(dao.remove_member, dao_members[2]))
    assert [e.member for e in tx.decode_logs(dao.MemberRemoved)] == [dao_members[2].address]
    assert sorted(dao.members()) == sorted([dao_members[0].address, dao_members[1].address, newcomer.address])
    assert not dao.is_member(dao_members[2])


@pytest.mark.parametrize(
    "calls,reason",
    [
        (lambda dao, m, a: [call(dao.remove_member, a)], "dao: not a member"),
        (lambda dao, m, a: [call(dao.add_member, "0x" + "00" * 20)], "dao: zero member"),
        (lambda dao, m, a: [call(dao.set_parameter, "quorum_bps", 0)], "dao: bad quorum"),
        (lambda dao, m, a: [call(dao.set_parameter, "quorum_bps", 10_001)], "dao: bad quorum"),
        (lambda dao, m, a: [call(dao.set_parameter, "voting_period", 0)], "dao: zero voting period"),
        (lambda dao, m, a: [call(dao.set_parameter, "grace_period", 0)], "dao: zero grace period"),
        (lambda dao, m, a: [call(dao.set_parameter, "timelock_delay", 366 * 86_400)], "dao: period too long"),
        (lambda dao, m, a: [call(dao.set_parameter, "coffee", 1)], "dao: unknown parameter"),
        (lambda dao, m, a: [call(dao.set_module, "", a)], "dao: empty module name"),
    ],
    ids=[
        "remove-non-member", "zero-member", "quorum-0", "quorum-over-100%", "period-0", "grace-0", "delay-too-long",
        "unknown", "module-name",
    ],
)
def test_self_governed__bad_values__revert_execution(dao, dao_members, attacker, pass_proposal, calls, reason):
    with ape.reverts(reason):
        pass_proposal(*calls(dao, dao_members, attacker))


def test_remove_member__last_member__reverts(project, deployer, accounts, sbt, chain):
    from offchain.governance import DEFAULT_DAO_PARAMS
    from testbed.localchain import pass_proposal

    solo = accounts[7]
    dao = deployer.deploy(project.TechnicalDAO, [solo], *DEFAULT_DAO_PARAMS.values(), [], [])
    with ape.reverts("dao: last member"):
        pass_proposal(chain, dao, [solo], [call(dao.remove_member, solo)], "leave")


def test_constructor__bad_arguments__revert(project, deployer, dao_members, sbt):
    from offchain.governance import DEFAULT_DAO_PARAMS

    params = list(DEFAULT_DAO_PARAMS.values())
    with ape.reverts("dao: no members"):
        deployer.deploy(project.TechnicalDAO, [], *params, [], [])
    with ape.reverts("dao: module list mismatch"):
        deployer.deploy(project.TechnicalDAO, dao_members, *params, ["sbt"], [])
    with ape.reverts("dao: already a member"):
        deployer.deploy(project.TechnicalDAO, [dao_members[0]] * 2, *params, [], [])


def test_module_update__is_a_proposal(dao, sbt, accounts, pass_proposal):
    new_registry = accounts[8]
    tx = pass_proposal(call(dao.set_module, "registry", new_registry), call(sbt.set_registry, new_registry))
    assert [(e.module) for e in tx.decode_logs(dao.ModuleSet)] == [new_registry.address]
    assert dao.modules("registry") == new_registry.address
    assert sbt.registry() == new_registry.address


def test_vault__holds_ether_and_deca__pays_only_by_proposal(project, deployer, dao, dao_members, miner, attacker, pass_proposal):
    deca = deployer.deploy(project.DecaToken)
    deca.mint(dao, 10**21, sender=deployer)
    deployer.transfer(dao, 10**18)
    assert deca.balanceOf(dao) == 10**21 and dao.balance == 10**18
    # nobody moves the vault's tokens directly
    with ape.reverts("erc20: insufficient allowance"):
        deca.transferFrom(dao, attacker, 1, sender=attacker)
    before = miner.balance
    pass_proposal(call(deca.transfer, miner, 4 * 10**20), (miner.address, 10**17, b""), description="pay a miner")
    assert deca.balanceOf(miner) == 4 * 10**20 and deca.balanceOf(dao) == 6 * 10**20
    assert miner.balance == before + 10**17 and dao.balance == 9 * 10**17


# ------------------------------------------------ attacks on the vault


@pytest.fixture
def funded_vault(project, deployer, dao):
    """The DAO holding 1 000 DECA and 1 ETH; returns the DECA token."""
    deca = deployer.deploy(project.DecaToken)
    deca.mint(dao, 10**21, sender=deployer)
    deployer.transfer(dao, 10**18)
    return deca


def _vault(deca, dao, who):
    return deca.balanceOf(dao), dao.balance, deca.balanceOf(who)


@pytest.mark.parametrize("votes", [(), (FOR, AGAINST, AGAINST), (FOR, ABSTAIN)], ids=["no-votes", "defeated", "below-quorum"])
def test_vault_drain__no_passing_vote__attacker_cannot_queue_or_execute(
    chain, dao, dao_members, attacker, funded_vault, propose, voting, after_vote, votes
):
    """A (compromised) member proposes to send the whole vault, DECA and ETH, to the attacker;
    the vote does not pass. At every phase the attacker's queue and execute are refused."""
    deca = funded_vault
    before = _vault(deca, dao, attacker)
    assert before == (10**21, 10**18, 0)
    pid = propose(call(deca.transfer, attacker, 10**21), (attacker.address, 10**18, b""), description="drain")

    def attempt(state):
        assert state_name(dao, pid) == state
        with ape.reverts("dao: proposal not succeeded"):
            dao.queue(pid, sender=attacker)
        with ape.reverts("dao: proposal not queued"):
            dao.execute(pid, sender=attacker)
        with ape.reverts("dao: proposal not queued"):  # paying the call's ETH along changes nothing
            dao.execute(pid, sender=attacker, value=10**18)
        assert _vault(deca, dao, attacker) == before

    attempt("Pending")
    voting(pid)
    for member, support in zip(dao_members, votes, strict=False):
        dao.cast_vote(pid, support, sender=member)
    attempt("Active")
    after_vote(pid)
    attempt("Defeated")
    chain.pending_timestamp += dao.timelock_delay() + dao.grace_period()  # long after: still refused
    chain.mine()
    attempt("Defeated")
    assert dao.proposals(pid).eta == 0 and not dao.proposals(pid).executed


@pytest.mark.parametrize("target", ["other", "itself"])
def test_execute__proposal_reenters_execute__lock_reverts_nothing_moves(
    chain, dao, dao_members, miner, funded_vault, succeeded, target
):
    """A passed, queued proposal whose call is `dao.execute(pid)`: for another queued proposal
    (a payment) or for itself. Vyper's @nonreentrant lock refuses the inner call; its revert
    carries no reason and `execute` bubbles it up, so the whole execution reverts."""
    deca = funded_vault
    payment = succeeded(call(deca.transfer, miner, 4 * 10**20), (miner.address, 10**17, b""))
    dao.queue(payment, sender=dao_members[0])
    reentrant_pid = dao.proposal_count() + 1  # the id `succeeded` will get
    inner = payment if target == "other" else reentrant_pid
    assert succeeded(call(dao.execute, inner)) == reentrant_pid
    dao.queue(reentrant_pid, sender=dao_members[0])
    chain.pending_timestamp = dao.proposals(reentrant_pid).eta
    before = _vault(deca, dao, miner) + (miner.balance,)

    with ape.reverts() as err:
        dao.execute(reentrant_pid, sender=dao_members[1])
    # ape's text for a revert without reason data: the lock's, not a "dao: ..." reason (without the
    # lock, "itself" would fail with "dao: proposal not queued" and "other" would pay the miner)
    assert err.value.revert_message == "Transaction failed."
    assert state_name(dao, payment) == "Queued" and state_name(dao, reentrant_pid) == "Queued"
    assert not dao.proposals(payment).executed and not dao.proposals(reentrant_pid).executed
    assert _vault(deca, dao, miner) + (miner.balance,) == before

    # the payment still runs once on its own, and only once
    dao.execute(payment, sender=dao_members[1])
    assert deca.balanceOf(miner) == 4 * 10**20 and dao.balance == 9 * 10**17
    with ape.reverts("dao: proposal not queued"):
        dao.execute(payment, sender=dao_members[1])
