# pragma version ~=0.4.3
"""
@title TechnicalDAO: ballot, timelock and vault of the system
@license MIT
@notice Members hold one vote each. A proposal is a list of calls
        (target, value, calldata) with a description. After a voting
        delay, members vote For, Against or Abstain during the voting
        period; a proposal succeeds with at least `quorum_bps` of the
        electorate voting For (both as they were when it was created) and
        more For than Against. A succeeded proposal is queued within the grace
        period after its vote (as it was when created), and after the
        timelock delay anyone may execute it, until the grace period (as it
        was when queued) expires. The proposer may cancel before
        voting ends. States follow Compound's GovernorBravo.
        Membership and every parameter change only through an executed
        proposal (the DAO calls itself). The DAO owns every other contract
        and is the vault: it holds DECA, other tokens and ether, and pays
        out only through a proposal. It also keeps the module directory
        (name -> address) through which the system finds its contracts, so
        a module update is one proposal.
@custom:security Time is block time in seconds. A proposal is judged by the
        rules in force when it was created (electorate, who may vote, For votes
        needed, voting window, deadline to queue) or queued (eta, expiry); a
        succeeded proposal not queued by its deadline expires, so an old
        result cannot be carried out under a later DAO; later changes of the
        members or the parameters apply only to later proposals. Who may vote
        is decided by transaction order, not time: a member seated after a
        proposal was created, even in the same block, cannot vote on it.
"""

# ============================== EVENTS ==============================

event ProposalCreated:
    proposal_id: indexed(uint256)
    proposer: indexed(address)
    vote_start: uint256
    vote_end: uint256
    electorate: uint256
    description: String[MAX_DESCRIPTION]

event ProposalCall:
    proposal_id: indexed(uint256)
    index: uint256
    target: indexed(address)
    amount: uint256
    data: Bytes[MAX_CALLDATA]

event VoteCast:
    voter: indexed(address)
    proposal_id: indexed(uint256)
    support: uint8
    reason: String[MAX_REASON]

event ProposalQueued:
    proposal_id: indexed(uint256)
    eta: uint256

event ProposalExecuted:
    proposal_id: indexed(uint256)

event ProposalCanceled:
    proposal_id: indexed(uint256)

event MemberAdded:
    member: indexed(address)

event MemberRemoved:
    member: indexed(address)

event ParameterChanged:
    name: String[32]
    value: uint256

event ModuleSet:
    name: indexed(String[32])
    module: indexed(address)


# ============================= CONSTANTS ============================

MAX_CALLS: constant(uint256) = 16
MAX_CALLDATA: constant(uint256) = 1_024  # bytes per call
MAX_DESCRIPTION: constant(uint256) = 1_024
MAX_REASON: constant(uint256) = 256
MAX_MEMBERS: constant(uint256) = 64
MAX_MODULES: constant(uint256) = 16
MAX_BPS: constant(uint256) = 10_000  # 100 %
MAX_PERIOD: constant(uint256) = 365 * 86_400  # seconds, bound on every delay

# vote support
VOTE_AGAINST: constant(uint8) = 0
VOTE_FOR: constant(uint8) = 1
VOTE_ABSTAIN: constant(uint8) = 2

# proposal state (as in GovernorBravo)
PENDING: constant(uint8) = 0
ACTIVE: constant(uint8) = 1
CANCELED: constant(uint8) = 2
DEFEATED: constant(uint8) = 3
SUCCEEDED: constant(uint8) = 4
QUEUED: constant(uint8) = 5
EXPIRED: constant(uint8) = 6
EXECUTED: constant(uint8) = 7


# ============================== STORAGE =============================

struct Call:
    target: address
    amount: uint256  # wei sent with the call
    data: Bytes[MAX_CALLDATA]

struct Proposal:
    proposer: address
    created: uint256  # timestamp [s]
    vote_start: uint256  # timestamp [s]
    vote_end: uint256  # timestamp [s], inclusive
    eta: uint256  # timestamp [s] from which it may execute, 0 until queued
    expires: uint256  # timestamp [s] from which it may no longer be queued (vote_end + grace_period, set
    #                   when created) or, once queued, executed (eta + grace_period)
    electorate: uint256  # members when created
    quorum_votes: uint256  # For votes needed: ceil(electorate × quorum_bps / 10 000) when created
    for_votes: uint256
    against_votes: uint256
    abstain_votes: uint256
    canceled: bool
    executed: bool

proposals: public(HashMap[uint256, Proposal])
proposal_calls: HashMap[uint256, DynArray[Call, MAX_CALLS]]
proposal_count: public(uint256)
has_voted: public(HashMap[uint256, HashMap[address, bool]])

member_list: DynArray[address, MAX_MEMBERS]
# Proposal id from which the member may vote (proposal_count + 1 when seated): a member votes
# on proposal pid iff seated_before[member] <= pid, i.e. seated before pid was created. 0 if not
# a member.
seated_before: public(HashMap[address, uint256])

voting_delay: public(uint256)  # seconds from proposal to vote start
voting_period: public(uint256)  # seconds of voting
quorum_bps: public(uint256)  # share of the electorate that must vote For
timelock_delay: public(uint256)  # seconds from queue to execution
grace_period: public(uint256)  # seconds a queued proposal stays executable

modules: public(HashMap[String[32], address])


# ============================ CONSTRUCTOR ===========================

@deploy
def __init__(
    members: DynArray[address, MAX_MEMBERS],
    voting_delay: uint256,
    voting_period: uint256,
    quorum_bps: uint256,
    timelock_delay: uint256,
    grace_period: uint256,
    module_names: DynArray[String[32], MAX_MODULES],
    module_addrs: DynArray[address, MAX_MODULES],
):
    """
    @param members The founding members (at least one).
    @param voting_delay Seconds between proposal and vote start.
    @param voting_period Seconds of voting.
    @param quorum_bps Share of the electorate that must vote For [bps].
    @param timelock_delay Seconds between queue and execution.
    @param grace_period Seconds a queued proposal stays executable.
    @param module_names Names of the system's contracts, deployed before the DAO.
    @param module_addrs Their addresses, same order.
    """
    assert len(members) > 0, "dao: no members"
    for m: address in members:
        self._add_member(m)
    self._set_parameter("voting_delay", voting_delay)
    self._set_parameter("voting_period", voting_period)
    self._set_parameter("quorum_bps", quorum_bps)
    self._set_parameter("timelock_delay", timelock_delay)
    self._set_parameter("grace_period", grace_period)
    assert len(module_names) == len(module_addrs), "dao: module list mismatch"
    for i: uint256 in range(MAX_MODULES):
        if i >= len(module_names):
            break
        self._set_module(module_names[i], module_addrs[i])


# ============================= EXTERNAL =============================

@external
@payable
def __default__():
    """
    @notice The vault accepts ether.
    """
    pass


@external
def propose(calls: DynArray[Call, MAX_CALLS], description: String[MAX_DESCRIPTION]) -> uint256:
    """
    @notice Propose a list of calls, executed in order once the vote passes.
    @param calls (target, amount [wei], calldata) for each call, 1 to 16.
    @param description What the proposal does and why.
    @return uint256 The proposal id.
    """
    self._check_member(msg.sender)
    assert len(calls) > 0, "dao: no calls"
    assert len(description) > 0, "dao: no description"
    for c: Call in calls:
        assert c.target != empty(address), "dao: call to zero address"

    pid: uint256 = self.proposal_count + 1
    self.proposal_count = pid
    start: uint256 = block.timestamp + self.voting_delay
    end: uint256 = start + self.voting_period
    electorate: uint256 = len(self.member_list)
    # A new id's fields are all zero: only the non-zero ones are written (each write of a zero
    # would cost a storage access for nothing). The rest (eta, votes, flags) start at 0.
    self.proposals[pid].proposer = msg.sender
    self.proposals[pid].created = block.timestamp
    self.proposals[pid].vote_start = start
    self.proposals[pid].vote_end = end
    self.proposals[pid].electorate = electorate
    self.proposals[pid].quorum_votes = self._quorum(electorate)
    self.proposals[pid].expires = end + self.grace_period  # the deadline to queue
    self.proposal_calls[pid] = calls
    log ProposalCreated(
        proposal_id=pid,
        proposer=msg.sender,
        vote_start=start,
        vote_end=end,
        electorate=electorate,
        description=description,
    )
    i: uint256 = 0
    for c: Call in calls:
        log ProposalCall(proposal_id=pid, index=i, target=c.target, amount=c.amount, data=c.data)
        i += 1
    return pid


@external
def cast_vote(proposal_id: uint256, support: uint8, reason: String[MAX_REASON] = ""):
    """
    @notice Vote on an active proposal, once, if seated before it was created.
    @param proposal_id The proposal.
    @param support 0 Against, 1 For, 2 Abstain.
    @param reason Optional explanation, logged.
    """
    self._check_member(msg.sender)
    assert self._state(proposal_id) == ACTIVE, "dao: voting is closed"
    assert self.seated_before[msg.sender] <= proposal_id, "dao: seated after proposal"
    assert not self.has_voted[proposal_id][msg.sender], "dao: already voted"
    assert support <= VOTE_ABSTAIN, "dao: bad support value"
    self.has_voted[proposal_id][msg.sender] = True
    if support == VOTE_FOR:
        self.proposals[proposal_id].for_votes += 1
    elif support == VOTE_AGAINST:
        self.proposals[proposal_id].against_votes += 1
    else:
        self.proposals[proposal_id].abstain_votes += 1
    log VoteCast(voter=msg.sender, proposal_id=proposal_id, support=support, reason=reason)


@external
def queue(proposal_id: uint256):
    """
    @notice Start the timelock of a succeeded proposal, before its deadline to queue;
        anyone may call. Its eta and expiry (eta + grace_period) are fixed now.
    @param proposal_id The proposal.
    """
    assert self._state(proposal_id) == SUCCEEDED, "dao: proposal not succeeded"
    eta: uint256 = block.timestamp + self.timelock_delay
    self.proposals[proposal_id].eta = eta
    self.proposals[proposal_id].expires = eta + self.grace_period
    log ProposalQueued(proposal_id=proposal_id, eta=eta)


@external
@payable
@nonreentrant
def execute(proposal_id: uint256):
    """
    @notice Run a queued proposal's calls after its timelock; anyone may call.
        A failing call reverts the whole execution with that call's reason.
    @param proposal_id The proposal.
    """
    state: uint8 = self._state(proposal_id)
    assert state == QUEUED, "dao: proposal not queued"
    assert block.timestamp >= self.proposals[proposal_id].eta, "dao: timelock not elapsed"
    self.proposals[proposal_id].executed = True
    for c: Call in self.proposal_calls[proposal_id]:
        raw_call(c.target, c.data, value=c.amount)
    log ProposalExecuted(proposal_id=proposal_id)


@external
def cancel(proposal_id: uint256):
    """
    @notice The proposer withdraws a proposal before voting ends.
    @param proposal_id The proposal.
    """
    state: uint8 = self._state(proposal_id)
    assert self.proposals[proposal_id].proposer == msg.sender, "dao: not the proposer"
    assert state == PENDING or state == ACTIVE, "dao: too late to cancel"
    self.proposals[proposal_id].canceled = True
    log ProposalCanceled(proposal_id=proposal_id)


# Called by the DAO itself, through an executed proposal.

@external
def add_member(member: address):
    """
    @notice Seat a member (only through a proposal).
    @param member The new member's address.
    """
    self._check_self()
    self._add_member(member)


@external
def remove_member(member: address):
    """
    @notice Unseat a member (only through a proposal); one member must remain.
    @param member A current member.
    """
    self._check_self()
    self._check_member(member)
    assert len(self.member_list) > 1, "dao: last member"
    n: uint256 = len(self.member_list)
    for i: uint256 in range(MAX_MEMBERS):
        if i >= n:
            break
        if self.member_list[i] == member:
            self.member_list[i] = self.member_list[n - 1]
            self.member_list.pop()
            break
    self.seated_before[member] = 0
    log MemberRemoved(member=member)


@external
def set_parameter(name: String[32], new_value: uint256):
    """
    @notice Change a governance parameter (only through a proposal). Proposals already
        created keep their voting window and quorum, queued ones their eta and expiry.
    @param name voting_delay, voting_period, timelock_delay, grace_period [s] or quorum_bps [bps].
    @param new_value The new value.
    """
    self._check_self()
    self._set_parameter(name, new_value)


@external
def set_module(name: String[32], module: address):
    """
    @notice Point the system at a contract version (only through a proposal).
    @param name The module's name, e.g. "sbt".
    @param module Its address.
    """
    self._check_self()
    self._set_module(name, module)


@external
@view
def state(proposal_id: uint256) -> uint8:
    """
    @notice 0 Pending, 1 Active, 2 Canceled, 3 Defeated, 4 Succeeded, 5 Queued, 6 Expired, 7 Executed.
    @param proposal_id The proposal.
    @return uint8 The state.
    """
    return self._state(proposal_id)


@external
@view
def calls(proposal_id: uint256) -> DynArray[Call, MAX_CALLS]:
    """
    @notice The calls a proposal will make.
    @param proposal_id The proposal.
    @return DynArray[Call, MAX_CALLS] (target, amount [wei], calldata) each.
    """
    return self.proposal_calls[proposal_id]


@external
@view
def members() -> DynArray[address, MAX_MEMBERS]:
    """
    @notice The current members.
    @return DynArray[address, MAX_MEMBERS]
    """
    return self.member_list


@external
@view
def is_member(account: address) -> bool:
    """
    @param account Any address.
    @return bool Whether it holds a seat.
    """
    return self.seated_before[account] != 0


@external
@view
def quorum(proposal_id: uint256) -> uint256:
    """
    @notice For votes needed by a proposal: ceil(electorate × quorum_bps / 10 000), with
        the quorum_bps in force when it was created.
    @param proposal_id The proposal.
    @return uint256 Votes.
    """
    return self.proposals[proposal_id].quorum_votes


# ============================= INTERNAL =============================

@internal
@view
def _check_member(account: address):
    assert self.seated_before[account] != 0, "dao: not a member"


@internal
@view
def _check_self():
    assert msg.sender == self, "dao: only by proposal"


@internal
def _add_member(member: address):
    assert member != empty(address), "dao: zero member"
    assert self.seated_before[member] == 0, "dao: already a member"
    assert len(self.member_list) < MAX_MEMBERS, "dao: too many members"
    self.member_list.append(member)
    self.seated_before[member] = self.proposal_count + 1
    log MemberAdded(member=member)


@internal
def _set_parameter(name: String[32], new_value: uint256):
    if name == "quorum_bps":
        assert new_value > 0 and new_value <= MAX_BPS, "dao: bad quorum"
        self.quorum_bps = new_value
    else:
        assert new_value <= MAX_PERIOD, "dao: period too long"
        if name == "voting_delay":
            self.voting_delay = new_value
        elif name == "voting_period":
            assert new_value > 0, "dao: zero voting period"
            self.voting_period = new_value
        elif name == "timelock_delay":
            self.timelock_delay = new_value
        elif name == "grace_period":
            assert new_value > 0, "dao: zero grace period"
            self.grace_period = new_value
        else:
            raise "dao: unknown parameter"
    log ParameterChanged(name=name, value=new_value)


@internal
def _set_module(name: String[32], module: address):
    assert len(name) > 0, "dao: empty module name"
    self.modules[name] = module
    log ModuleSet(name=name, module=module)


@internal
@view
def _quorum(electorate: uint256) -> uint256:
    # the current quorum_bps: called only when a proposal is created
    return (electorate * self.quorum_bps + MAX_BPS - 1) // MAX_BPS


@internal
@view
def _state(proposal_id: uint256) -> uint8:
    # Reads only the proposal's own fields, fixed at creation or queue, never a current
    # parameter. Field by field rather than the whole struct: each field is a storage read
    # and most states need only a few of them.
    assert self.proposals[proposal_id].proposer != empty(address), "dao: unknown proposal"
    if self.proposals[proposal_id].canceled:
        return CANCELED
    if self.proposals[proposal_id].executed:
        return EXECUTED
    if block.timestamp < self.proposals[proposal_id].vote_start:
        return PENDING
    if block.timestamp <= self.proposals[proposal_id].vote_end:
        return ACTIVE
    for_votes: uint256 = self.proposals[proposal_id].for_votes
    if for_votes <= self.proposals[proposal_id].against_votes or for_votes < self.proposals[proposal_id].quorum_votes:
        return DEFEATED
    if block.timestamp >= self.proposals[proposal_id].expires:
        return EXPIRED  # not queued by its deadline, or not executed by its expiry
    if self.proposals[proposal_id].eta == 0:
        return SUCCEEDED
    return QUEUED
