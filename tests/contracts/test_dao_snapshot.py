"""TechnicalDAO: a proposal is judged by the rules in force when it was created or queued.

Seating, removal and every parameter change go through a proposal of their own, so each test
prepares that proposal up front (`ripe`: voted through and queued) and executes it (`enact`)
at the moment the attack needs. `one_block` puts several transactions in one block, at one
timestamp, in the order they are sent.
"""

from contextlib import contextmanager

import ape
import pytest

from offchain.governance import SUPPORT, call, state_name

AGAINST, FOR = SUPPORT["against"], SUPPORT["for"]
GAS = 1_000_000  # explicit gas limit: a transaction in an unmined block cannot be estimated


@contextmanager
def one_block(chain):
    """Send the transactions of the ``with`` body into one block, then mine it.

    A transaction that reverts in a block being built is included silently, so every one of
    the block's transactions is checked once it is mined.
    """
    chain.provider.auto_mine = False
    try:
        yield
        chain.mine()
    finally:
        chain.provider.auto_mine = True
    for txn in chain.blocks.head.transactions:
        assert chain.provider.get_receipt(txn.txn_hash.hex()).status == 1, "a transaction of the block reverted"


@pytest.fixture
def ripe(dao, dao_members, succeeded):
    """A proposal every member voted For, queued; it is executed later with `enact`."""

    def make(*calls):
        pid = succeeded(*calls)
        dao.queue(pid, sender=dao_members[0])
        return pid

    return make


@pytest.fixture
def enact(chain, dao, dao_members):
    """Execute a ripe proposal now, or at its eta if that is later."""

    def run(pid, **kw):
        chain.pending_timestamp = max(chain.pending_timestamp, dao.proposals(pid).eta)
        return dao.execute(pid, sender=dao_members[0], **kw)

    return run


# ---------------------------- who may vote ----------------------------


def test_vote__seated_in_proposal_block_after_it__reverts(chain, dao, dao_members, accounts, ripe, voting):
    newcomer = accounts[6]
    seat = ripe(call(dao.add_member, newcomer))
    chain.pending_timestamp = dao.proposals(seat).eta
    pid = dao.proposal_count() + 1
    with one_block(chain):  # the proposal first, then the seat, at one timestamp
        dao.propose([call(dao.set_parameter, "quorum_bps", 6_000)], "same block", sender=dao_members[0], gas=GAS)
        dao.execute(seat, sender=dao_members[1], gas=GAS)
    assert dao.is_member(newcomer) and dao.proposals(pid).electorate == 3
    assert dao.seated_before(newcomer) == pid + 1
    voting(pid)
    for m in dao_members:
        dao.cast_vote(pid, FOR, sender=m)
    with ape.reverts("dao: seated after proposal"):
        dao.cast_vote(pid, FOR, sender=newcomer)
    assert dao.proposals(pid).for_votes == 3


def test_vote__seated_in_proposal_block_before_it__counts(chain, dao, dao_members, accounts, ripe, voting):
    newcomer = accounts[6]
    seat = ripe(call(dao.add_member, newcomer))
    chain.pending_timestamp = dao.proposals(seat).eta
    pid = dao.proposal_count() + 1
    with one_block(chain):  # the seat first, then the proposal
        dao.execute(seat, sender=dao_members[1], gas=GAS)
        dao.propose([call(dao.set_parameter, "quorum_bps", 6_000)], "same block", sender=dao_members[0], gas=GAS)
    assert dao.proposals(pid).electorate == 4 and dao.seated_before(newcomer) == pid
    voting(pid)
    dao.cast_vote(pid, FOR, sender=newcomer)
    assert dao.proposals(pid).for_votes == 1


def test_vote__removed_then_reseated_in_proposal_block__reverts(chain, dao, dao_members, ripe, enact, voting):
    member = dao_members[2]
    remove, readd = ripe(call(dao.remove_member, member)), ripe(call(dao.add_member, member))
    enact(remove)
    chain.pending_timestamp = dao.proposals(readd).eta
    pid = dao.proposal_count() + 1
    with one_block(chain):  # proposed while the member is out, re-seated right after
        dao.propose([call(dao.set_parameter, "quorum_bps", 6_000)], "without them", sender=dao_members[0], gas=GAS)
        dao.execute(readd, sender=dao_members[1], gas=GAS)
    assert dao.is_member(member) and dao.proposals(pid).electorate == 2
    voting(pid)
    with ape.reverts("dao: seated after proposal"):
        dao.cast_vote(pid, AGAINST, sender=member)
    assert dao.proposals(pid).against_votes == 0


def test_vote__removed_mid_ballot_then_reseated__reverts(dao, dao_members, ripe, enact, propose, voting):
    member = dao_members[2]
    remove, readd = ripe(call(dao.remove_member, member)), ripe(call(dao.add_member, member))
    pid = propose()  # the member is in its electorate
    voting(pid)
    enact(remove)
    with ape.reverts("dao: not a member"):
        dao.cast_vote(pid, FOR, sender=member)
    enact(readd)
    assert dao.is_member(member) and state_name(dao, pid) == "Active"
    with ape.reverts("dao: seated after proposal"):
        dao.cast_vote(pid, FOR, sender=member)
    # a proposal created after re-seating counts the member again
    later = propose()
    voting(later)
    dao.cast_vote(later, FOR, sender=member)


# ------------------------------- quorum -------------------------------


@pytest.mark.parametrize("when", ["during vote", "after vote"])
@pytest.mark.parametrize(
    "bps,votes,outcome",
    [(10_000, [FOR, FOR], "Succeeded"), (1, [FOR], "Defeated")],
    ids=["raised to unanimity", "lowered to one vote"],
)
def test_outcome__quorum_changed__counts_creation_quorum(
    dao, dao_members, attacker, ripe, enact, propose, voting, after_vote, when, bps, votes, outcome
):
    change = ripe(call(dao.set_parameter, "quorum_bps", bps))
    pid = propose(call(dao.add_member, attacker))
    assert dao.quorum(pid) == 2  # 50 % of 3 members, rounded up
    voting(pid)
    for m, support in zip(dao_members, votes):
        dao.cast_vote(pid, support, sender=m)
    if when == "during vote":
        enact(change)
    after_vote(pid)
    if when == "after vote":
        enact(change)
    assert dao.quorum_bps() == bps
    assert (state_name(dao, pid), dao.quorum(pid)) == (outcome, 2)
    if outcome == "Defeated":  # a defeated proposal stays dead: nobody can queue it
        with ape.reverts("dao: proposal not succeeded"):
            dao.queue(pid, sender=attacker)
    else:
        dao.queue(pid, sender=attacker)
        assert state_name(dao, pid) == "Queued"


def test_execute__quorum_raised_after_queue__still_executes(
    chain, dao, dao_members, accounts, ripe, enact, propose, voting, after_vote
):
    newcomer = accounts[6]
    raise_quorum = ripe(call(dao.set_parameter, "quorum_bps", 10_000))
    pid = propose(call(dao.add_member, newcomer))
    voting(pid)
    dao.cast_vote(pid, FOR, sender=dao_members[0])
    dao.cast_vote(pid, FOR, sender=dao_members[1])
    after_vote(pid)
    dao.queue(pid, sender=dao_members[0])
    enact(raise_quorum)
    assert state_name(dao, pid) == "Queued"
    chain.pending_timestamp = dao.proposals(pid).eta
    tx = dao.execute(pid, sender=dao_members[2])
    assert [e.member for e in tx.decode_logs(dao.MemberAdded)] == [newcomer.address]
    assert state_name(dao, pid) == "Executed"


def test_quorum__changed_before_proposal__applies_to_it(dao, pass_proposal, propose):
    pass_proposal(call(dao.set_parameter, "quorum_bps", 10_000))
    assert dao.quorum(propose()) == 3


# ---------------------------- grace period ----------------------------


@pytest.mark.parametrize("when", ["after expiry", "while queued"])
def test_execute__grace_raised__expiry_fixed_at_queue(chain, dao, dao_members, attacker, ripe, enact, succeeded, when):
    pid = succeeded(call(dao.add_member, attacker))
    dao.queue(pid, sender=dao_members[0])
    expiry = dao.proposals(pid).eta + dao.grace_period()
    longer = ripe(call(dao.set_parameter, "grace_period", 60 * 86_400))
    if when == "after expiry":
        chain.pending_timestamp = expiry
        chain.mine()
        assert state_name(dao, pid) == "Expired"
    enact(longer)
    assert dao.grace_period() == 60 * 86_400
    chain.pending_timestamp = max(chain.pending_timestamp, expiry)
    chain.mine()
    assert state_name(dao, pid) == "Expired"
    with ape.reverts("dao: proposal not queued"):
        dao.execute(pid, sender=attacker)
    with ape.reverts("dao: proposal not succeeded"):
        dao.queue(pid, sender=attacker)
    assert not dao.is_member(attacker)


def test_execute__grace_lowered_after_queue__expiry_fixed_at_queue(chain, dao, dao_members, accounts, ripe, enact, succeeded):
    newcomer = accounts[6]
    shorter = ripe(call(dao.set_parameter, "grace_period", 3_600))
    pid = succeeded(call(dao.add_member, newcomer))
    dao.queue(pid, sender=dao_members[0])
    eta = dao.proposals(pid).eta
    assert dao.proposals(pid).expires == eta + 14 * 86_400
    enact(shorter)
    chain.pending_timestamp = eta + 2 * 3_600  # past eta + the new grace period
    chain.mine()
    assert state_name(dao, pid) == "Queued"
    dao.execute(pid, sender=dao_members[1])
    assert dao.is_member(newcomer) and state_name(dao, pid) == "Executed"


def test_queue__after_grace_change__uses_new_grace(chain, dao, dao_members, pass_proposal, succeeded):
    pass_proposal(call(dao.set_parameter, "grace_period", 3_600))
    pid = succeeded()
    dao.queue(pid, sender=dao_members[0])
    chain.pending_timestamp = dao.proposals(pid).eta + 3_600
    chain.mine()
    assert state_name(dao, pid) == "Expired"


# ---------------------- timing fixed at creation or queue ----------------------


@pytest.mark.parametrize("name,value", [("voting_delay", 7 * 86_400), ("voting_period", 86_400)])
def test_ballot__timing_changed_while_pending__keeps_its_own(chain, dao, dao_members, ripe, enact, propose, name, value):
    change = ripe(call(dao.set_parameter, name, value))
    chain.pending_timestamp = dao.proposals(change).eta - 600  # the change lands while pending
    pid = propose()
    before = dao.proposals(pid)
    enact(change)
    assert getattr(dao, name)() == value and state_name(dao, pid) == "Pending"
    p = dao.proposals(pid)
    assert (p.vote_start, p.vote_end) == (before.vote_start, before.vote_end)
    chain.pending_timestamp = p.vote_start
    dao.cast_vote(pid, FOR, sender=dao_members[0])
    chain.pending_timestamp = p.vote_end  # inclusive
    dao.cast_vote(pid, FOR, sender=dao_members[1])
    chain.pending_timestamp = p.vote_end + 1
    with ape.reverts("dao: voting is closed"):
        dao.cast_vote(pid, FOR, sender=dao_members[2])


def test_ballot__voting_period_changed_during_vote__keeps_its_own(chain, dao, dao_members, ripe, enact, propose, voting):
    shorter = ripe(call(dao.set_parameter, "voting_period", 3_600))
    pid = propose()
    voting(pid)
    enact(shorter)
    vote_end = dao.proposals(pid).vote_end
    chain.pending_timestamp = vote_end
    tx = dao.cast_vote(pid, FOR, sender=dao_members[0])
    assert len(tx.decode_logs(dao.VoteCast)) == 1


@pytest.mark.parametrize("value", [0, 30 * 86_400], ids=["lowered to zero", "raised to 30 days"])
def test_execute__timelock_changed_after_queue__keeps_eta(chain, dao, dao_members, ripe, enact, succeeded, value):
    change = ripe(call(dao.set_parameter, "timelock_delay", value))
    pid = succeeded()
    tx = dao.queue(pid, sender=dao_members[0])
    eta = tx.decode_logs(dao.ProposalQueued)[0].eta
    enact(change)
    assert dao.timelock_delay() == value and dao.proposals(pid).eta == eta
    chain.pending_timestamp = eta - 10
    with ape.reverts("dao: timelock not elapsed"):
        dao.execute(pid, sender=dao_members[0])
    chain.pending_timestamp = eta
    dao.execute(pid, sender=dao_members[0])
    assert state_name(dao, pid) == "Executed"


# ------------------------- cancel and re-queue -------------------------


def test_cancel__proposer_removed__still_withdraws(dao, dao_members, ripe, enact, propose, voting):
    proposer = dao_members[2]
    remove = ripe(call(dao.remove_member, proposer))
    pid = propose(sender=proposer)
    voting(pid)
    enact(remove)
    assert not dao.is_member(proposer)
    tx = dao.cancel(pid, sender=proposer)
    assert [e.proposal_id for e in tx.decode_logs(dao.ProposalCanceled)] == [pid]
    assert state_name(dao, pid) == "Canceled"


def test_queue__queued_or_expired__reverts(chain, dao, dao_members, attacker, succeeded):
    pid = succeeded()
    dao.queue(pid, sender=dao_members[0])
    eta = dao.proposals(pid).eta
    with ape.reverts("dao: proposal not succeeded"):
        dao.queue(pid, sender=attacker)
    chain.pending_timestamp = eta + dao.grace_period()
    chain.mine()
    assert state_name(dao, pid) == "Expired"
    with ape.reverts("dao: proposal not succeeded"):
        dao.queue(pid, sender=attacker)
    assert dao.proposals(pid).eta == eta


# ------------------------------ queue deadline ------------------------------


def test_queue__after_the_deadline_copied_at_creation__expired(chain, dao, dao_members, attacker, succeeded):
    """A succeeded proposal left unqueued expires at vote_end + grace_period (the grace period
    of its creation): an old result cannot be queued and executed months later, under a DAO
    whose members and parameters moved on."""
    pid = succeeded()
    deadline = dao.proposals(pid).vote_end + dao.grace_period()
    assert dao.proposals(pid).expires == deadline
    chain.pending_timestamp = deadline - 1
    chain.mine()
    assert state_name(dao, pid) == "Succeeded"
    chain.pending_timestamp = deadline
    chain.mine()
    assert state_name(dao, pid) == "Expired"
    with ape.reverts("dao: proposal not succeeded"):
        dao.queue(pid, sender=attacker)


def test_queue__grace_raised_after_creation__deadline_kept(chain, dao, dao_members, attacker, propose, voting,
                                                           ripe, enact):
    raise_grace = ripe(call(dao.set_parameter, "grace_period", 365 * 86_400))
    pid = propose()
    voting(pid)
    for m in dao_members:
        dao.cast_vote(pid, FOR, sender=m)
    deadline = dao.proposals(pid).expires
    enact(raise_grace)
    chain.pending_timestamp = max(chain.pending_timestamp, deadline)
    chain.mine()
    assert state_name(dao, pid) == "Expired"
    with ape.reverts("dao: proposal not succeeded"):
        dao.queue(pid, sender=attacker)
