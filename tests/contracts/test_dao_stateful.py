"""TechnicalDAO as a state machine: only the documented state transitions occur.

A stateful test (hypothesis) drives random sequences of proposals (parameter changes, small
vault payments, seating and unseating members, a module pointer), votes (For, Against,
Abstain and invalid ones: twice, by a non-member, by a member seated too late, outside the
voting period, a bad support value), queues, executions and cancels by members and
strangers (early, late, twice), and clock moves (multiples of the voting delay, voting
period, timelock and grace period, or to one second around a proposal's own deadlines).
Every example starts from the same fresh DAO (``chain.snapshot``/``chain.restore``).

The model predicts each transaction's outcome; a refusal must carry the exact reason and
change nothing. After every step, for every proposal, the state read with ``state_name``:

- differs from the previous one only along ``GRAPH`` (the clock's edges, plus the one edge
  of the step's own transaction on that proposal); a terminal state never changes;
- equals the model's (a twin of ``_state`` whose tally is ``offchain.governance.tally_outcome``);
- Executed only after Queued, with the recorded votes passing ``tally_outcome`` against the
  quorum fixed at creation (``quorum(electorate, quorum_bps)`` of that moment).

The vault (DECA and ether), the payee, the members and the parameters move only by an
executed proposal, exactly as its calls say.
"""

from types import SimpleNamespace

import ape
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from offchain.governance import DEFAULT_DAO_PARAMS, SUPPORT, call, quorum, state_name, tally_outcome
from testbed.localchain import advance, advance_to

# The documented state graph of contracts/TechnicalDAO.vy (docstring l. 6-14: "States follow
# Compound's GovernorBravo"; `_state` l. 482-502). Each edge is labelled with what takes it:
# the clock ("time": `_state` compares block.timestamp with the proposal's own vote_start,
# vote_end, expires, all fixed at creation or queue) or one transaction on that proposal.
TIME = "time"
GRAPH = {
    # propose l. 214-225: vote_start = now + voting_delay; with a delay of 0 Pending lasts 0 s (l. 491)
    None: {"Pending": "propose"},
    # l. 491-494 (clock); cancel l. 303-306 (proposer only, Pending or Active)
    "Pending": {"Active": TIME, "Canceled": "cancel"},
    # l. 493-497, 501 after vote_end: tally (l. 496) -> Defeated or Succeeded; cancel l. 305
    "Active": {"Defeated": TIME, "Succeeded": TIME, "Canceled": "cancel"},
    # queue l. 272-275 (eta set); l. 498-499: not queued by expires = vote_end + grace (l. 225)
    "Succeeded": {"Queued": "queue", "Expired": TIME},
    # execute l. 289-291 (from eta on); l. 498-499: expires = eta + grace (l. 275)
    "Queued": {"Executed": "execute", "Expired": TIME},
    # terminal: canceled/executed flags are never reset (l. 487-490), votes move only while
    # Active (l. 251), expires only in queue (l. 275, needs Succeeded), and time only goes forward
    "Canceled": {},
    "Defeated": {},
    "Expired": {},
    "Executed": {},
}
TERMINAL = {s for s, out in GRAPH.items() if s is not None and not out}

AGAINST, FOR, ABSTAIN = SUPPORT["against"], SUPPORT["for"], SUPPORT["abstain"]
BAD_SUPPORT = 3
ZERO_ADDRESS = "0x" + "00" * 20
MAX_PROPOSALS = 6
KINDS = st.sampled_from(["param", "seat", "pay", "unseat", "module"])  # what a proposal does
PARAM_CHOICES = {  # valid values only: a refused setter is a unit test (test_dao.py)
    "voting_delay": (0, 600, 3_600, 7_200),
    "voting_period": (600, 3_600, 86_400, 3 * 86_400),
    "quorum_bps": (1, 3_334, 5_000, 10_000),
    "timelock_delay": (0, 600, 86_400, 2 * 86_400),
    "grace_period": (600, 3_600, 86_400, 14 * 86_400),
}
# the periods a clock move is a multiple of; the grace period less often, it ends every ballot
PERIODS = ("voting_delay", "voting_delay", "voting_period", "timelock_delay", "timelock_delay", "grace_period")
VAULT_DECA, VAULT_ETH = 10**21, 10**18
RUN = settings(max_examples=10, stateful_step_count=20, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def reachable(a, b, action):
    """Whether state ``b`` follows ``a`` in GRAPH by clock edges and at most one edge of ``action``
    (the step's transaction on this proposal, or None)."""
    frontier, seen = [(a, False)], set()
    while frontier:
        state, used = frontier.pop()
        for nxt, trigger in GRAPH.get(state, {}).items():
            if trigger == TIME:
                step = (nxt, used)
            elif trigger == action and not used:
                step = (nxt, True)
            else:
                continue
            if nxt == b:
                return True
            if step not in seen:
                seen.add(step)
                frontier.append(step)
    return False


def model_state(p, t):
    """The state of model proposal ``p`` at block time ``t`` (twin of `TechnicalDAO._state`)."""
    if p.canceled:
        return "Canceled"
    if p.executed:
        return "Executed"
    if t < p.vote_start:
        return "Pending"
    if t <= p.vote_end:
        return "Active"
    if tally_outcome(p.votes[FOR], p.votes[AGAINST], p.quorum) == "Defeated":
        return "Defeated"
    if t >= p.expires:
        return "Expired"
    return "Succeeded" if p.eta == 0 else "Queued"


def test_dao__random_ballots__only_documented_transitions(project, chain, accounts, deployer, dao, dao_members,
                                                          stranger, attacker, miner):
    deca = deployer.deploy(project.DecaToken)
    deca.mint(dao, VAULT_DECA, sender=deployer)
    deployer.transfer(dao, VAULT_ETH)
    payee = miner  # sends no transaction here: its ether moves only by the DAO's payments
    advance(chain, 365 * 86_400)  # ahead of the wall clock: each block then one second after the last
    candidates = [accounts[16], accounts[17]]  # seated and unseated by proposals
    people = list(dao_members) + candidates + [stranger, attacker]
    anyone = [stranger, attacker] + list(dao_members)  # who queues and executes: a stranger first
    snap = [chain.snapshot()]
    done = {}  # what the run reached: edges, refusals, successes

    def count(key):
        done[key] = done.get(key, 0) + 1

    class DaoMachine(RuleBasedStateMachine):
        @initialize()
        def fresh(self):
            """The same fresh DAO (3 members, default parameters, a funded vault) for every example."""
            chain.restore(snap[0])
            snap[0] = chain.snapshot()
            self.params = dict(DEFAULT_DAO_PARAMS)
            self.seated = {m.address: 1 for m in dao_members}  # address -> seated_before
            self.props = {}  # pid -> model proposal
            self.count = 0
            self.vault = [VAULT_DECA, VAULT_ETH, deca.balanceOf(payee), payee.balance]
            self.module = dao.modules("registry")
            self.action = None  # (kind, pid) of the step's successful transaction
            self.checked_at = None  # chain height at the last check: a view call reads the last block

        # ------------------------------------------------------------ helpers
        def now(self):
            """The timestamp of the next transaction's block."""
            return chain.pending_timestamp

        def pick(self, data, fitting):
            """A proposal id: mostly one in a ``fitting`` state now, else any, or one not created yet."""
            now = self.now()
            fit = [pid for pid, p in self.props.items() if model_state(p, now) in fitting]
            which = data.draw(st.integers(0, 9), label="fitting, any or unknown")  # hypothesis favours 0
            if which == 9:
                return self.count + 1
            if fit and which < 7:
                return data.draw(st.sampled_from(fit), label="pid")
            return data.draw(st.sampled_from(sorted(self.props)), label="pid")

        def someone(self, data, fitting):
            """Mostly one of ``fitting`` (if any), else anyone of ``people``."""
            if fitting and data.draw(st.integers(0, 3), label="fitting sender") < 3:
                return data.draw(st.sampled_from(fitting), label="sender")
            return data.draw(st.sampled_from(people), label="sender")

        def fields(self, pid):
            """The model's `Proposal` struct (all zero for an id not created)."""
            p = self.props.get(pid)
            if p is None:
                return (ZERO_ADDRESS,) + (0,) * 10 + (False, False)
            return (p.proposer, p.created, p.vote_start, p.vote_end, p.eta, p.expires, p.electorate, p.quorum,
                    p.votes[FOR], p.votes[AGAINST], p.votes[ABSTAIN], p.canceled, p.executed)

        def check_fields(self, pid):
            assert tuple(dao.proposals(pid)) == self.fields(pid), f"proposal {pid}: fields differ from the model"

        def check_vault(self):
            """The vault and the payee hold what the executed payments left (DECA and ether)."""
            assert [deca.balanceOf(dao), dao.balance, deca.balanceOf(payee), payee.balance] == self.vault

        def check_governance(self):
            """Members (and from which proposal each votes), parameters and the module pointer."""
            assert sorted(dao.members()) == sorted(self.seated)
            assert all(dao.seated_before(a) == n for a, n in self.seated.items())
            assert [getattr(dao, name)() for name in DEFAULT_DAO_PARAMS] == list(self.params.values())
            assert dao.modules("registry") == self.module

        def refused(self, reason, send, pid, voter=None):
            """``send`` is refused with exactly ``reason`` and changes nothing: the proposal's fields
            stay the model's (checked after its every change), the voter's ballot and the proposal
            count too; the vault and the states are checked by the invariant after the step."""
            with ape.reverts(reason):
                send()
            assert tuple(dao.proposals(pid)) == self.fields(pid), f"refused ({reason}) but the proposal changed"
            p = self.props.get(pid)
            if voter is not None:
                assert dao.has_voted(pid, voter) == bool(p and voter.address in p.voters)
            if pid > self.count:
                assert dao.proposal_count() == self.count, f"refused ({reason}) but a proposal was created"
            count(f"refused: {reason}")

        def outcome(self, effects):
            """Run a proposal's calls on a copy of the model: (first failing call's reason or None, copy)."""
            params, seated, vault, module = dict(self.params), dict(self.seated), list(self.vault), self.module
            for kind, *arg in effects:
                if kind == "param":
                    params[arg[0]] = arg[1]
                elif kind == "pay":
                    vault = [vault[0] - arg[0], vault[1] - arg[1], vault[2] + arg[0], vault[3] + arg[1]]
                elif kind == "seat":
                    if arg[0] in seated:
                        return "dao: already a member", None
                    seated[arg[0]] = self.count + 1
                elif kind == "unseat":
                    if arg[0] not in seated:
                        return "dao: not a member", None
                    if len(seated) == 1:
                        return "dao: last member", None
                    del seated[arg[0]]
                elif kind == "module":
                    module = arg[0]
            return None, (params, seated, vault, module)

        def vote_refusal(self, pid, voter, support):
            """Why ``cast_vote`` would be refused now (in `cast_vote`'s order, l. 250-254), or None."""
            p, a = self.props.get(pid), voter.address
            if a not in self.seated:
                return "dao: not a member"
            if p is None:
                return "dao: unknown proposal"
            if model_state(p, self.now()) != "Active":
                return "dao: voting is closed"
            if self.seated[a] > pid:
                return "dao: seated after proposal"
            if a in p.voters:
                return "dao: already voted"
            if support == BAD_SUPPORT:
                return "dao: bad support value"
            return None

        def vote(self, pid, voter, support):
            tx = dao.cast_vote(pid, support, sender=voter)
            assert [(e.voter, e.proposal_id, e.support) for e in tx.decode_logs(dao.VoteCast)] == [
                (voter.address, pid, support)]
            p = self.props[pid]
            p.votes[support] += 1
            p.voters.add(voter.address)
            self.action = ("vote", pid)
            count("voted")

        # -------------------------------------------------------------- rules
        @precondition(lambda self: self.count < MAX_PROPOSALS)
        @rule(data=st.data(), kind=KINDS, i=st.integers(0, 7), amount=st.integers(0, 10**15))
        def propose(self, data, kind, i, amount):
            """By a member mostly, else by anyone (a non-member is refused)."""
            self.propose_it(self.someone(data, [m for m in people if m.address in self.seated]), kind, i, amount)

        def propose_it(self, proposer, kind, i, amount):
            if kind == "param":
                name = sorted(PARAM_CHOICES)[i % len(PARAM_CHOICES)]
                value = PARAM_CHOICES[name][i % 4]
                calls, effects = [call(dao.set_parameter, name, value)], [("param", name, value)]
            elif kind == "pay":  # at most 0.001 DECA and 0.001 ETH: the vault never runs dry
                calls = [call(deca.transfer, payee, amount), (payee.address, amount // 7, b"")]
                effects = [("pay", amount, amount // 7)]
            else:
                # seat mostly a candidate, unseat mostly a founder; the others fail when executed
                target = (candidates + list(dao_members) if kind == "seat" else list(dao_members) + candidates)[i % 5].address
                method = {"seat": dao.add_member, "unseat": dao.remove_member, "module": dao.set_module}[kind]
                calls = [call(method, "registry", target) if kind == "module" else call(method, target)]
                effects = [(kind, target)]
            send = lambda: dao.propose(calls, f"{kind} {i}", sender=proposer)  # noqa: E731
            if proposer.address not in self.seated:
                return self.refused("dao: not a member", send, self.count + 1)
            now = self.now()
            tx = send()
            self.count += 1
            assert [e.proposal_id for e in tx.decode_logs(dao.ProposalCreated)] == [self.count]
            electorate, params = len(self.seated), self.params
            p = SimpleNamespace(
                proposer=proposer.address, created=now, vote_start=now + params["voting_delay"], eta=0,
                electorate=electorate, bps=params["quorum_bps"], quorum=quorum(electorate, params["quorum_bps"]),
                votes={AGAINST: 0, FOR: 0, ABSTAIN: 0}, voters=set(), canceled=False, executed=False,
                effects=effects, history=[], tried_early=False,
            )
            p.vote_end = p.vote_start + params["voting_period"]
            p.expires = p.vote_end + params["grace_period"]  # the deadline to queue
            self.props[self.count] = p
            self.check_fields(self.count)
            self.action = ("propose", self.count)
            count(f"proposed: {kind}")

        @precondition(lambda self: self.props)
        @rule(data=st.data(), support=st.sampled_from([FOR, FOR, AGAINST, ABSTAIN, BAD_SUPPORT]))
        def cast_vote(self, data, support):
            """One vote by anyone: a member who may vote, or one voting twice, seated too late,
            a non-member, outside the voting period, or a bad support value."""
            pid = self.pick(data, {"Active"})
            p = self.props.get(pid)
            kind = data.draw(st.sampled_from(["may vote", "may vote", "voted", "seated after", "anyone"]), label="voter kind")
            voters = [m for m in people if p and {
                "may vote": self.vote_refusal(pid, m, FOR) is None,
                "voted": m.address in p.voters,
                "seated after": self.seated.get(m.address, 0) > pid,
                "anyone": True,
            }[kind]]
            voter = data.draw(st.sampled_from(voters or people), label="voter")
            self.try_vote(pid, voter, support)

        def try_vote(self, pid, voter, support):
            """A vote, or its exact refusal."""
            reason = self.vote_refusal(pid, voter, support)
            if reason:
                return self.refused(reason, lambda: dao.cast_vote(pid, support, sender=voter), pid, voter)
            self.vote(pid, voter, support)
            self.check_fields(pid)

        def ballot_on(self, data, pid):
            """Members who may still vote on proposal ``pid`` vote (or not: None), a transaction each."""
            voters = [m for m in people if self.vote_refusal(pid, m, FOR) is None]
            supports = data.draw(st.lists(st.sampled_from([FOR] * 5 + [AGAINST, ABSTAIN, None]), min_size=len(voters),
                                          max_size=len(voters)), label="supports")
            for voter, support in zip(voters, supports):  # each vote a block later: the period may end
                if support is not None:
                    self.try_vote(pid, voter, support)

        def probe(self, pid, state):
            """A move the proposal's ``state`` must refuse, with its exact reason: a vote before the
            start, a second vote (or a bad support value), a late cancel, an early execution, a
            second queue."""
            p = self.props[pid]
            proposer = next(m for m in people if m.address == p.proposer)
            voted = [m for m in people if m.address in p.voters]
            if state == "Pending":
                self.try_vote(pid, proposer, FOR)
            elif state == "Active":
                self.try_vote(pid, voted[0], AGAINST) if voted else self.try_vote(pid, proposer, BAD_SUPPORT)
            elif state == "Succeeded":
                self.cancel_it(pid, proposer)
            elif self.now() < p.eta:
                self.execute_it(pid, stranger)
            else:
                self.queue_it(pid, stranger)

        def open_pid(self, data):
            """The oldest proposal not in a terminal state (mostly), or another one, or None."""
            now = self.now()
            live = [pid for pid, p in self.props.items() if model_state(p, now) not in TERMINAL]
            if not live or data.draw(st.integers(0, 3), label="oldest open") < 3:
                return live[0] if live else None
            return data.draw(st.sampled_from(live), label="open pid")

        def progress(self, data):
            """The next move of an open proposal's life, one transaction or one clock move: to
            its vote start; a ballot; past its vote end; queue; to its eta; execute (by anyone),
            or, if one of its calls would fail, mostly let it expire; with no open proposal, a new one.
            Sometimes a move its state must refuse (`probe`; once in each queued life, an early
            execution), or its end: its proposer cancels it (Pending, Active), or a block at its
            expiry or a second before (Succeeded, Queued)."""
            pid = self.open_pid(data)
            if pid is None:  # a new life
                if self.count < MAX_PROPOSALS:
                    members = [m for m in people if m.address in self.seated]
                    self.propose_it(data.draw(st.sampled_from(members), label="proposer"), data.draw(KINDS, label="kind"),
                                    data.draw(st.integers(0, 7), label="i"), data.draw(st.integers(0, 10**15), label="amount"))
                return
            p, now = self.props[pid], self.now()
            state = model_state(p, now)
            count(f"progress: {state}")
            fate = data.draw(st.integers(0, 7), label="fate")  # 0-3 go on (0 is drawn most), 4 probe, 5-7 end
            ripe = state == "Queued" and now >= p.eta
            if fate == 4 and not ripe or state == "Queued" and not ripe and not p.tried_early:
                p.tried_early = state == "Queued"  # once in a queued life: an execution before its eta
                self.probe(pid, state)
            elif fate == 7 and state in ("Pending", "Active"):
                self.cancel_it(pid, next(m for m in people if m.address == p.proposer))
            elif fate >= 5 and state in ("Succeeded", "Queued") or fate == 4 and ripe:
                advance_to(chain, p.expires - (fate <= 5))  # a block at its expiry, or a second before
                count(f"left to expire: {state}")
            elif state == "Pending":  # the next transaction (a vote) at the first second of voting
                chain.pending_timestamp = p.vote_start
            elif state == "Active" and any(self.vote_refusal(pid, m, FOR) is None for m in people):
                self.ballot_on(data, pid)
            elif state == "Active":
                advance_to(chain, p.vote_end + 1)  # a block at the first second after voting
            elif state == "Succeeded":
                self.queue_it(pid, data.draw(st.sampled_from(anyone), label="sender"))
            elif now < p.eta:
                chain.pending_timestamp = p.eta  # the next transaction (execute) at its eta
            elif self.outcome(p.effects)[0] and data.draw(st.integers(0, 3), label="try it") < 3:
                advance_to(chain, p.expires)
            else:
                self.execute_it(pid, data.draw(st.sampled_from(anyone), label="sender"))

        @rule(data=st.data())
        def progress_a(self, data):
            self.progress(data)

        @rule(data=st.data())
        def progress_b(self, data):  # more copies: a proposal's life takes six moves in twenty steps
            self.progress(data)

        @rule(data=st.data())
        def progress_c(self, data):
            self.progress(data)

        @rule(data=st.data())
        def progress_d(self, data):
            self.progress(data)

        @rule(data=st.data())
        def progress_e(self, data):
            self.progress(data)

        @rule(data=st.data())
        def progress_f(self, data):
            self.progress(data)

        @precondition(lambda self: self.props)
        @rule(data=st.data(), who=st.integers(0, len(people) - 1))
        def queue(self, data, who):
            pid = self.pick(data, {"Succeeded"})
            self.queue_it(pid, people[who])

        def queue_it(self, pid, sender):
            p = self.props.get(pid)
            send = lambda: dao.queue(pid, sender=sender)  # noqa: E731
            now = self.now()
            if p is None:
                return self.refused("dao: unknown proposal", send, pid)
            if model_state(p, now) != "Succeeded":
                return self.refused("dao: proposal not succeeded", send, pid)
            tx = send()
            p.eta = now + self.params["timelock_delay"]
            p.expires = p.eta + self.params["grace_period"]
            assert [e.eta for e in tx.decode_logs(dao.ProposalQueued)] == [p.eta]
            self.check_fields(pid)
            self.action = ("queue", pid)
            count("queued")

        @precondition(lambda self: self.props)
        @rule(data=st.data(), who=st.integers(0, len(people) - 1))
        def execute(self, data, who):
            """By anyone: a member, a stranger; early, late, twice, or with a call that fails."""
            self.execute_it(self.pick(data, {"Queued"}), people[who])

        def execute_it(self, pid, sender):
            p = self.props.get(pid)
            send = lambda: dao.execute(pid, sender=sender)  # noqa: E731
            now = self.now()
            if p is None:
                return self.refused("dao: unknown proposal", send, pid)
            if model_state(p, now) != "Queued":
                return self.refused("dao: proposal not queued", send, pid)
            if now < p.eta:
                self.refused("dao: timelock not elapsed", send, pid)
                return self.check_vault()
            reason, after = self.outcome(p.effects)
            if reason:  # a failing call reverts the whole execution with its reason
                self.refused(reason, send, pid)
                return self.check_vault()
            tx = send()
            assert [e.proposal_id for e in tx.decode_logs(dao.ProposalExecuted)] == [pid]
            self.params, self.seated, self.vault, self.module = after
            p.executed = True
            self.check_fields(pid)
            self.check_governance()
            self.check_vault()
            self.action = ("execute", pid)
            count("executed by a member" if sender.address in self.seated else "executed by a non-member")
            count(f"executed: {p.effects[0][0]}")

        @precondition(lambda self: self.props)
        @rule(data=st.data(), who=st.integers(0, len(people) - 1), by_proposer=st.integers(0, 5))
        def cancel(self, data, who, by_proposer):
            """By the proposer (a sixth of the time), else by anyone."""
            pid = self.pick(data, {"Pending", "Active"})
            p = self.props.get(pid)
            sender = next(m for m in people if m.address == p.proposer) if p and by_proposer == 5 else people[who]
            self.cancel_it(pid, sender)

        def cancel_it(self, pid, sender):
            p = self.props.get(pid)
            send = lambda: dao.cancel(pid, sender=sender)  # noqa: E731
            if p is None:
                return self.refused("dao: unknown proposal", send, pid)
            if sender.address != p.proposer:
                return self.refused("dao: not the proposer", send, pid)
            if model_state(p, self.now()) not in ("Pending", "Active"):
                return self.refused("dao: too late to cancel", send, pid)
            tx = send()
            assert [e.proposal_id for e in tx.decode_logs(dao.ProposalCanceled)] == [pid]
            p.canceled = True
            self.check_fields(pid)
            self.action = ("cancel", pid)
            count("canceled")

        @rule(period=st.sampled_from(PERIODS), quarters=st.integers(1, 6))
        def wait(self, period, quarters):
            """Let a multiple of a quarter of a current period pass (at least a second), mine a block."""
            advance(chain, max(1, self.params[period] * quarters // 4))

        @precondition(lambda self: self.props)
        @rule(data=st.data(), moment=st.sampled_from(["vote_start", "vote_end", "eta", "expires"]),
              offset=st.integers(-1, 1))
        def wait_until(self, data, moment, offset):
            """Mine a block at a proposal's own deadline (``moment``, or its next one still ahead), or a
            second before or after it: the next transaction comes a second later."""
            pid = self.pick(data, {"Pending", "Active", "Succeeded", "Queued"})
            p = self.props.get(pid)
            moments = ["vote_start", "vote_end", "eta", "expires"]
            ahead = [m for m in moments[moments.index(moment):] + moments if p and getattr(p, m) + offset > self.now()]
            if ahead and (ahead[0] != "eta" or p.eta):
                advance_to(chain, getattr(p, ahead[0]) + offset)
                count(f"moved to {ahead[0]} {offset:+d}")

        # --------------------------------------------------------- invariants
        @invariant()
        def only_documented_transitions(self):
            height = chain.blocks.height
            if not hasattr(self, "props") or height == self.checked_at:
                return  # no block since the last check: no view can have changed
            self.checked_at = height
            action, self.action = self.action, None
            t = chain.blocks.head.timestamp  # a view call reads the last mined block
            for pid, p in self.props.items():
                seen = state_name(dao, pid)
                prev = p.history[-1] if p.history else None
                if seen != prev:
                    trigger = action[0] if action and action[1] == pid else None
                    assert prev not in TERMINAL, f"proposal {pid}: terminal {prev} became {seen}"
                    assert reachable(prev, seen, trigger), f"proposal {pid}: {prev} -> {seen} ({trigger or TIME})"
                    count(f"edge: {prev} -> {seen}")
                assert seen == model_state(p, t), f"proposal {pid} at {t}: {seen}, model {model_state(p, t)}"
                if seen == "Executed" and prev != "Executed":
                    assert "Queued" in p.history, f"proposal {pid}: executed, never seen queued"
                    assert tally_outcome(p.votes[FOR], p.votes[AGAINST], p.quorum) == "Succeeded"
                    assert dao.quorum(pid) == p.quorum == quorum(p.electorate, p.bps)
                p.history.append(seen)
            # the vault's ether and the payee's move only by an executed payment (DECA: `check_vault`)
            assert [dao.balance, payee.balance] == self.vault[1::2]

        def teardown(self):
            if hasattr(self, "props"):
                self.check_governance()
                self.check_vault()

    run_state_machine_as_test(DaoMachine, settings=RUN)
    print(sorted(done.items()))  # with -s: what the run reached
    edges = {f"edge: {a} -> {b}" for a, out in GRAPH.items() for b in out}
    assert edges <= set(done), sorted(edges - set(done))  # the run did walk every documented edge
