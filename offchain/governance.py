"""Talking to the TechnicalDAO: proposal calls, state names, the tally rules' twins.

A whole ballot on a local chain (moving its clock) is ``testbed.localchain.run_ballot``.
"""

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


# The constructor's bounds (twins of TechnicalDAO's MAX_MEMBERS, MAX_PERIOD, MAX_BPS).
MAX_MEMBERS = 64
MAX_PERIOD = 365 * 86_400
MAX_BPS = 10_000
ZERO_ADDRESS = "0x" + "00" * 20


def dao_setup_problems(members, params):
    """Why the TechnicalDAO's constructor would refuse ``members`` and ``params``, as lines
    (empty when it would accept them): the same rules, checked before anything is sent."""
    problems = []
    if not members:
        problems.append("no founding member")
    if len(members) > MAX_MEMBERS:
        problems.append(f"{len(members)} members; at most {MAX_MEMBERS}")
    if len({m.lower() for m in members}) != len(members):
        problems.append("a member is named twice")
    if any(m.lower() == ZERO_ADDRESS for m in members):
        problems.append("the zero address cannot be a member")
    for name in DEFAULT_DAO_PARAMS:
        value = params[name]
        if name == "quorum_bps":
            if not 0 < value <= MAX_BPS:
                problems.append(f"quorum_bps {value}: must be 1 to {MAX_BPS}")
        elif not 0 <= value <= MAX_PERIOD:
            problems.append(f"{name} {value} s: must be 0 to {MAX_PERIOD} (a year)")
        elif value == 0 and name in ("voting_period", "grace_period"):
            problems.append(f"{name} must be more than 0 s")
    return problems


def quorum(electorate, quorum_bps):
    """For votes a proposal needs: ceil(electorate × quorum_bps / 10 000) (twin of `TechnicalDAO._quorum`)."""
    return -(-electorate * quorum_bps // 10_000)


def tally_outcome(for_votes, against_votes, quorum_votes):
    """"Succeeded" or "Defeated" once voting has ended (twin of `TechnicalDAO._state`'s tally rule).

    ``quorum_votes`` is the proposal's own quorum, fixed when it was created:
    ``quorum(electorate, quorum_bps)`` with the ``quorum_bps`` of that moment (``dao.quorum(pid)``).
    A later change of ``quorum_bps`` does not move it.
    """
    passed = for_votes > against_votes and for_votes >= quorum_votes
    return "Succeeded" if passed else "Defeated"


def call(method, *args, amount=0):
    """One proposal call ``(target, amount [wei], calldata)`` for a contract method handler.

    ``method`` is an ape handler such as ``sbt.approve_application``.
    """
    return (method.contract.address, amount, method.encode_input(*args))


def state_name(dao, proposal_id):
    """The proposal's state as GovernorBravo names it."""
    return STATES[dao.state(proposal_id)]
