"""Ballot fixtures shared by the TechnicalDAO tests: a proposal, and the clock moved through it."""

import pytest

from offchain.governance import SUPPORT, call


@pytest.fixture
def propose(dao, dao_members):
    """Create a proposal from the first member; returns its id."""

    def make(*calls, sender=None, description="raise the quorum"):
        calls = list(calls) or [call(dao.set_parameter, "quorum_bps", 6_000)]
        tx = dao.propose(calls, description, sender=sender or dao_members[0])
        return tx.decode_logs(dao.ProposalCreated)[0].proposal_id

    return make


@pytest.fixture
def voting(chain, dao):
    """Move the clock into the voting period of a proposal."""

    def move(pid):
        chain.pending_timestamp = max(chain.pending_timestamp, dao.proposals(pid).vote_start)
        chain.mine()

    return move


@pytest.fixture
def after_vote(chain, dao):
    """Move the clock past the voting period of a proposal."""

    def move(pid):
        chain.pending_timestamp = dao.proposals(pid).vote_end + 1
        chain.mine()

    return move


@pytest.fixture
def succeeded(dao, dao_members, propose, voting, after_vote):
    """A proposal every member voted For, voting over."""

    def make(*calls):
        pid = propose(*calls)
        voting(pid)
        for m in dao_members:
            dao.cast_vote(pid, SUPPORT["for"], sender=m)
        after_vote(pid)
        return pid

    return make
