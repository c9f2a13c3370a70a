"""Talking to the TechnicalDAO: proposal calls, state names, and a full ballot on a local chain."""

STATES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")
SUPPORT = {"against": 0, "for": 1, "abstain": 2}

# Deploy-time defaults [s, bps]; every one of them is changed later only by a proposal.
DEFAULT_DAO_PARAMS = {
    "voting_delay": 3_600,  # 1 h between proposal and vote start
    "voting_period": 3 * 86_400,  # 3 days of voting
    "quorum_bps": 5_000,  # half the electorate must vote For
    "timelock_delay": 86_400,  # 1 day between queue and execution
    "grace_period": 14 * 86_400,  # executable for 14 days once ripe
}


def call(method, *args, amount=0):
    """One proposal call ``(target, amount [wei], calldata)`` for a contract method handler.

    ``method`` is an ape handler such as ``sbt.approve_application``.
    """
    return (method.contract.address, amount, method.encode_input(*args))


def state_name(dao, proposal_id):
    """The proposal's state as GovernorBravo names it."""
    return STATES[dao.state(proposal_id)]


def pass_proposal(chain, dao, members, calls, description):
    """Propose, let every member vote For, queue and execute, moving the local chain's clock.

    Only for local chains (the embedded test chain or Anvil), where time can be moved.
    Returns the execution receipt.
    """
    tx = dao.propose(calls, description, sender=members[0])
    proposal_id = tx.decode_logs(dao.ProposalCreated)[0].proposal_id
    chain.pending_timestamp += dao.voting_delay() + 1
    for member in members:
        dao.cast_vote(proposal_id, SUPPORT["for"], sender=member)
    chain.pending_timestamp += dao.voting_period() + 1
    dao.queue(proposal_id, sender=members[0])
    chain.pending_timestamp += dao.timelock_delay() + 1
    return dao.execute(proposal_id, sender=members[0])
