"""A local chain's clock (the embedded test chain, Anvil, or Ganache via ape's node provider),
and a whole DAO ballot run on it by moving that clock."""

from ape.exceptions import APINotImplementedError

from offchain.governance import SUPPORT, state_name


def advance(chain, seconds):
    """Let `seconds` pass on a local chain, then mine a block.

    Ape's embedded chain and Anvil take ``chain.pending_timestamp``; the generic node provider
    (used for Ganache) does not, so the ``evm_increaseTime`` RPC that Ganache understands is
    the fallback.
    """
    try:
        chain.pending_timestamp += seconds
    except APINotImplementedError:
        chain.provider.make_request("evm_increaseTime", [seconds])
    mine(chain)


def mine(chain, blocks=1):
    """Mine ``blocks`` blocks on a local chain (``evm_mine`` where ape's provider cannot)."""
    try:
        chain.mine(blocks)
    except APINotImplementedError:
        for _ in range(blocks):
            chain.provider.make_request("evm_mine", [])


def now(chain):
    """The timestamp [s] the next block will carry (every local chain answers "pending")."""
    return chain.pending_timestamp


def advance_to(chain, timestamp):
    """Let a local chain's clock run to ``timestamp`` [s] (never backwards), then mine a block."""
    advance(chain, max(0, timestamp - now(chain)))


def run_ballot(chain, dao, members, calls, description, against=()):
    """Propose, vote (For, or Against for members in `against`), queue and execute.

    Moves the local chain's clock through the voting delay, period and timelock, so it is only
    for local chains. Returns ``(proposal_id, execution receipt or None if not succeeded)``.
    """
    tx = dao.propose(calls, description, sender=members[0])
    proposal_id = tx.decode_logs(dao.ProposalCreated)[0].proposal_id
    advance(chain, dao.voting_delay() + 1)
    for member in members:
        dao.cast_vote(proposal_id, SUPPORT["against" if member in against else "for"], sender=member)
    advance(chain, dao.voting_period() + 1)
    if state_name(dao, proposal_id) != "Succeeded":
        return proposal_id, None
    dao.queue(proposal_id, sender=members[0])
    advance(chain, dao.timelock_delay() + 1)
    return proposal_id, dao.execute(proposal_id, sender=members[-1])


def pass_proposal(chain, dao, members, calls, description):
    """`run_ballot` with every member For; returns the execution receipt."""
    return run_ballot(chain, dao, members, calls, description)[1]
