"""RewardDistributor across many epochs against a Python ledger (hypothesis state machine).

Random sequences of epochs run through EpochKeys' commit-reveal (``run_epoch``), tables
posted with any total up to the emission (and one above it first), claims by the winners
(valid, twice, wrong amount, another row's proof, another token's point, beyond the total,
after the 14 days), sweeps (early, of posted epochs, of epochs never revealed), time moves
to and across the deadlines, and DAO changes of the emission and of the post deadline.

What the contract does with an epoch's emission E (read at settlement, not at the epoch):
``post`` mints E − total to the vault at once; a claim mints its row to the token's owner,
up to ``total`` in all, until the epoch's end + 14 days; rows never claimed are never
minted (nothing is swept after the claim period). ``sweep`` settles only a never-posted
epoch, once its post deadline has passed, minting the whole E to the vault.

The ledger keeps per epoch: E at settlement, total, DECA minted to the vault, claimed (each
also checked in the transaction's event). After every step that mined a block:

- DECA supply == Σ vault parts + Σ claimed (the distributor is the only minter used here),
  the vault's balance == Σ vault parts (E − total per posted epoch, E per swept one), each
  owner's balance == its claims, and supply ≤ Σ E of settled epochs;
- per posted epoch: ``epoch_rewards`` equals the ledger (root, total, claimed, status) and
  claimed ≤ total ≤ E, so E = (E − total, to the vault) + claimed + (total − claimed, never
  minted); per swept epoch: total == claimed == 0; claimed flags as claimed while claimable,
  claimed frozen once the claim period is over.

Each example starts from the same fresh deployment (``chain.snapshot``/``chain.restore``).
"""

import copy
import sys
from dataclasses import dataclass, field

import ape
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from rewards_kit import EMISSION, EPOCH_SECONDS, POST_DEADLINE, SECP256K1_N, Table, filler_rows, move_to

RUN = settings(max_examples=8, stateful_step_count=12, deadline=None, derandomize=True)
DAY = 86_400
CLAIM_PERIOD = 14 * DAY  # RewardDistributor.CLAIM_PERIOD
MAX_EMISSION = 2**96 - 1  # RewardDistributor.MAX_EMISSION
OPEN, POSTED, SWEPT = 0, 1, 2  # epoch_rewards' status
PPM = 10**6
TABLE_ROWS = st.lists(st.integers(0, PPM * 6 // 10), min_size=3, max_size=3)  # a, b, c's rows [ppm of E]
TOTALS = st.one_of(st.none(), st.integers(0, PPM))  # the rows' sum (up to E), or any total [ppm of E]
HOWS = st.sampled_from(["valid", "valid", "valid", "twice", "amount", "proof", "point"])  # a claim's row and point
OVER = st.integers(1, 10**20)  # DECA wei above E, for a total refused
TABLE = st.tuples(TABLE_ROWS, st.integers(1, 3), TOTALS, OVER)  # rows, fillers, total, excess
CLAIM = st.tuples(st.sampled_from([0, 0, 1, 1, 2]), HOWS)  # (who, how), see claim_once
CLAIMS = st.lists(CLAIM, min_size=1, max_size=3)
READINGS = st.sampled_from([0, 1, 5, 12])  # N of a token in an epoch (0: no batch, not a winner)
EMISSIONS = st.one_of(st.sampled_from([0, 1, EMISSION // 3, EMISSION, MAX_EMISSION]), st.integers(0, MAX_EMISSION))
RUN_ARGS = dict(
    na=READINGS, nb=READINGS,  # readings of a and b (c never sends any)
    sk=st.integers(1, SECP256K1_N - 1),  # SK_e
    gap=st.sampled_from([0, 0, 0, 1, 7, 30, 340]),  # epochs never committed first (340: 14 days)
    table=st.one_of(st.none(), TABLE, TABLE), claims=CLAIMS, keeper=st.one_of(st.none(), st.integers(0, 2**16)),
    emission=st.one_of(st.none(), st.none(), EMISSIONS), late=st.booleans(),
)
# every kind of outcome reached, every run (derandomized)
REACHED = (
    "run", "post", "post: rewards: total above emission", "post: rewards: already posted",
    "claim", "claim: rewards: already claimed", "claim: rewards: bad proof", "claim: rewards: not a winner",
    "claim: rewards: claim expired", "sweep", "sweep: rewards: deadline not passed",
    "sweep: rewards: already settled", "set_emission",
)


def reader(chain, contract, signature, returns):
    """A view of `contract` read straight through the provider (eth_call): about a third cheaper
    than an ape call, for the invariants' reads after every step."""
    selector = function_signature_to_4byte_selector(signature)
    types = [t for t in signature[signature.index("(") + 1:-1].split(",") if t]
    web3 = chain.provider.web3

    def read(*args):
        out = decode(returns, web3.eth.call({"to": contract.address, "data": selector + encode(types, args)}))
        return out[0] if len(out) == 1 else out

    return read


def row(token_id, amount):
    return (token_id, amount, 9_500, 6_000, 12_345)


@dataclass
class Epoch:
    """The ledger of one epoch."""

    counts: dict  # token -> readings anchored (N); empty if none or never revealed
    sk: int | None = None  # SK_e once revealed
    status: int = OPEN
    emission: int = 0  # E at settlement (post or sweep)
    total: int = 0  # posted total
    vault: int = 0  # DECA minted to the vault for this epoch: E − total at posting, E at a sweep
    claimed: int = 0  # DECA minted to owners for this epoch (rows claimed)
    claimed_by: set = field(default_factory=set)
    table: Table | None = None
    frozen: int | None = None  # claimed when the claim period ended
    final: bool = False  # can no longer change (swept, or frozen), and checked so


def test_rewards__many_epochs__minted_within_emissions_and_every_pool_accounted(
    chain, dist, deca, keys, vault, owner, stranger, oracle_account, miner, other_miner, miners, genesis,
    run_epoch, post_table, point_of,
):
    keys.set_lottery_k(1, sender=owner)  # K = 1 (k_one): every token with N > 0 wins
    keys.set_reveal_delay(1, sender=owner)  # B = 1: a reveal one block after the commit (speed)
    a, b, c = miners.admit(0xA11CE, miner), miners.admit(0xB0B, other_miner), miners.admit(0xC0C0, miner)
    tokens = (a, b, c)  # c never sends readings
    owner_of = {a: miner.address, b: other_miner.address, c: miner.address}
    batches = copy.deepcopy((miners.seq, miners.prev, miners.total))  # the registry's chains as snapshotted
    supply_of = reader(chain, deca, "totalSupply()", ["uint256"])
    balance_of = reader(chain, deca, "balanceOf(address)", ["uint256"])
    epoch_rewards = reader(chain, dist, "epoch_rewards(uint64)", ["bytes32", "uint256", "uint256", "uint8"])
    is_claimed = reader(chain, dist, "is_claimed(uint64,uint256)", ["bool"])
    snap = [chain.snapshot()]
    done = {}  # outcomes seen, per rule and revert reason

    class RewardsMachine(RuleBasedStateMachine):
        @initialize(**dict(RUN_ARGS, table=TABLE))
        def fresh(self, **first):
            """The same fresh deployment, then a first epoch run and posted."""
            chain.restore(snap[0])
            snap[0] = chain.snapshot()
            miners.seq, miners.prev, miners.total = copy.deepcopy(batches)
            self.emission, self.post_deadline = EMISSION, POST_DEADLINE
            self.epochs = {}  # epoch -> Epoch, every epoch touched (revealed or settled)
            self.next = 0  # the next epoch to run: epochs run in order, time only moves forward
            self.paid = {miner.address: 0, other_miner.address: 0}
            self.checked_at = None  # chain height at the last invariant check
            self.paid_to = set(tokens)  # tokens paid since the last check: their flags and owners re-read
            self.run(**first)

        # ---------------------------------------------------------------- model

        def now_epoch(self):
            return (chain.pending_timestamp - genesis) // EPOCH_SECONDS

        def epoch_end(self, e):
            return genesis + EPOCH_SECONDS * (e + 1)

        def deadline(self, e):
            return self.epoch_end(e) + self.post_deadline  # the deadline in force now

        def passed_over(self, oldest=False):
            """The last (or first) ended epoch this example never touched (never committed), if any."""
            ended = range(self.now_epoch()) if oldest else range(self.now_epoch() - 1, -1, -1)
            return next((e for e in ended if e not in self.epochs), None)

        def pick(self, n, epochs):
            return epochs[n % len(epochs)] if epochs else None

        def expect(self, name, reason, call):
            """`call` reverts with `reason`, or goes through if None; returns the receipt."""
            key = name if reason is None else f"{name}: {reason}"
            done[key] = done.get(key, 0) + 1
            if reason is None:
                tx = call()
                assert chain.provider.get_block(tx.block_number).timestamp == self.ts, "time model"
                return tx
            with ape.reverts(reason):
                call()  # a refusal mines a block (the invariants then re-read the supply)
            return None

        # ---------------------------------------------------------------- rules

        @rule(**RUN_ARGS)
        def run(self, na, nb, sk, gap, table, claims, keeper, emission, late):
            """The oracle's round: the next epoch not yet over, or `gap` epochs later (those
            between are never committed): anchor readings (0 = none), commit and reveal; then,
            if `emission` is not None, the DAO sets E (as `dao`: the post settles at the new E), and
            if `table`, post it (as `post`) and try `claims` (as `claim`). First, if `keeper` is
            not None, a stranger sweeps the first epoch passed over or an epoch touched (as `sweep`).
            Last, if `late`, the first winner of the first epoch posted claims (refused after the
            14 days, e.g. after a gap)."""
            if keeper is not None:
                first = self.passed_over(oldest=True)
                target = first if keeper % 2 == 0 and first is not None else self.pick(keeper, sorted(self.epochs))
                if target is not None:
                    self.sweep_epoch(target)
            e = max(self.next, self.now_epoch()) + gap
            counts = {t: n for t, n in ((a, na), (b, nb)) if n}
            run_epoch(e, counts, sk)
            self.epochs[e] = Epoch(counts, sk)
            self.next = e + 1
            done["run"] = done.get("run", 0) + 1
            if emission is not None:
                self.set_emission(emission)
            if table is not None:
                self.post_epoch(e, *table)
                for who, how in claims:
                    self.claim_once(e, who, how)
            posted = [x for x, ep in sorted(self.epochs.items()) if ep.status == POSTED]
            if late and posted:
                self.claim_once(posted[0], 0, "valid")

        @rule(n=st.integers(0, 2**16), ppm=TABLE_ROWS, fillers=st.integers(1, 3), total_ppm=TOTALS, over=OVER)
        def post(self, n, ppm, fillers, total_ppm, over):
            """Mostly the last revealed epoch not settled, else any epoch touched or passed over."""
            ready = [e for e, ep in sorted(self.epochs.items()) if ep.sk is not None and ep.status == OPEN]
            if ready and n % 4:  # mostly the last revealed epoch not settled
                e = ready[-1]
            else:  # any epoch touched (the first one run is always there), or one passed over (never revealed)
                e = self.pick(n // 4, sorted(self.epochs) + [x for x in [self.passed_over()] if x is not None])
            self.post_epoch(e, ppm, fillers, total_ppm, over)

        def post_epoch(self, e, ppm, fillers, total_ppm, over):
            """A table of a, b, c and fillers, with its rows' sum as total (up to E) or any total
            up to E; first, if the epoch can be posted, the same with a total above E."""
            ep = self.epochs.get(e, Epoch({}))
            rows = [row(t, self.emission * p // PPM) for t, p in zip(tokens, ppm)] + filler_rows(fillers)
            sum3 = sum(r[1] for r in rows[:3])
            total = min(sum3, self.emission) if total_ppm is None else self.emission * total_ppm // PPM
            if ep.sk is not None and ep.status == OPEN:  # (else refused for its state, above E or not)
                self.post_once(e, ep, rows, self.emission + over)
            self.post_once(e, ep, rows, total)

        def post_once(self, e, ep, rows, total):
            self.ts = chain.pending_timestamp
            if ep.sk is None:
                reason = "rewards: not revealed"
            elif ep.status == POSTED:
                reason = "rewards: already posted"
            elif ep.status == SWEPT:
                reason = "rewards: already settled"
            elif total > self.emission:
                reason = "rewards: total above emission"
            elif self.ts >= self.deadline(e):
                reason = "rewards: too late"
            else:
                reason = None
            posted = []
            if reason is not None:
                self.expect("post", reason, lambda: post_table(e, rows, total=total))
                return
            tx = self.expect("post", reason, lambda: posted.append(post_table(e, rows, total=total)) or posted[0][1])
            (log,) = tx.decode_logs(dist.Posted)
            assert (log.epoch, log.root, log.total) == (e, posted[0][0].root, total)
            ep.status, ep.emission, ep.total, ep.table = POSTED, self.emission, total, posted[0][0]
            ep.vault = self.emission - total  # minted to the vault now (the invariants check the balances)
            self.epochs[e] = ep

        @rule(n=st.integers(0, 2**16), attempts=st.lists(CLAIM, min_size=1, max_size=4))
        def claim(self, n, attempts):
            """Rows of one revealed epoch (posted or not), by a stranger, paid to the token's owner."""
            now = chain.pending_timestamp
            posted = [e for e, ep in sorted(self.epochs.items()) if ep.status == POSTED]
            live = [e for e in posted if now < self.epoch_end(e) + CLAIM_PERIOD]
            others = [e for e, ep in sorted(self.epochs.items()) if ep.sk is not None and ep.status != POSTED]
            # mostly a posted epoch still open to claims, sometimes any posted one, now and then one not posted
            e = self.pick(n // 8, (live if n % 8 > 2 else posted if n % 8 else others) or posted or others)
            if e is None:
                return
            for who, how in attempts:
                self.claim_once(e, who, how)

        def claim_once(self, e, who, how):
            """A token's row as posted ("valid", "twice": then again), or with amount + 1, another
            row's proof or another token's point. `who` indexes the tokens, the winners that have
            not claimed yet first."""
            ep = self.epochs[e]
            order = sorted(tokens, key=lambda x: (x in ep.claimed_by or not ep.counts.get(x), x))
            t, other = order[who], order[(who + 1) % 3]
            if how == "twice":
                self.claim_once(e, who, "valid")
            table = ep.table or Table(e, [row(x, 1) for x in tokens])
            args = list(table.claim_args(t, point_of(ep.sk, t)))
            if how == "amount":  # (a "twice" is now a valid claim again)
                args[2] += 1
            elif how == "proof":
                args[6] = table.proof(other)
            elif how == "point":
                args[7:9] = point_of(ep.sk, other)
            amount = args[2]
            self.ts = chain.pending_timestamp
            if ep.status != POSTED:
                reason = "rewards: not posted"
            elif self.ts >= self.epoch_end(e) + CLAIM_PERIOD:
                reason = "rewards: claim expired"
            elif t in ep.claimed_by:
                reason = "rewards: already claimed"
            elif how in ("amount", "proof"):
                reason = "rewards: bad proof"
            elif how == "point" or ep.counts.get(t, 0) == 0:
                reason = "rewards: not a winner"
            elif ep.claimed + amount > ep.total:
                reason = "rewards: above total"
            else:
                reason = None
            payee = owner_of[t]
            if reason is not None:
                supply = deca.totalSupply() if reason == "rewards: claim expired" else None
                self.expect("claim", reason, lambda: dist.claim(*args, sender=stranger))
                assert supply is None or deca.totalSupply() == supply  # a claim after the 14 days never mints
                return
            tx = self.expect("claim", reason, lambda: dist.claim(*args, sender=stranger))
            (log,) = tx.decode_logs(dist.Claimed)
            assert (log.epoch, log.token_id, log.owner, log.amount) == (e, t, payee, amount)
            ep.claimed += amount  # minted to the owner (the invariants check the balances)
            ep.claimed_by.add(t)
            self.paid[payee] += amount
            self.paid_to.add(t)

        @rule(n=st.integers(0, 2**16))
        def sweep(self, n):
            """By a stranger: an epoch never committed (the first or the last), any epoch touched
            or the one running."""
            choices = [self.passed_over(oldest=True), self.passed_over()]
            if n % 3 < 2 and choices[n % 3] is not None:  # never committed, past or before the deadline
                self.sweep_epoch(choices[n % 3])
            else:  # any epoch touched, or the one running
                self.sweep_epoch(self.pick(n // 3, sorted(self.epochs) + [self.now_epoch()]))

        def sweep_epoch(self, e):
            ep = self.epochs.get(e, Epoch({}))
            self.ts = chain.pending_timestamp
            if ep.status != OPEN:
                reason = "rewards: already settled"
            elif self.ts < self.deadline(e):
                reason = "rewards: deadline not passed"
            else:
                reason = None
            if reason is not None:
                self.expect("sweep", reason, lambda: dist.sweep(e, sender=stranger))
                return
            tx = self.expect("sweep", reason, lambda: dist.sweep(e, sender=stranger))
            (log,) = tx.decode_logs(dist.Swept)
            assert (log.epoch, log.amount) == (e, self.emission)  # E in force at the sweep
            ep.status, ep.emission, ep.vault = SWEPT, self.emission, self.emission  # all to the vault
            self.epochs[e] = ep

        @rule(kind=st.sampled_from(["hours", "days", "post deadline", "claim deadline"]), n=st.integers(0, 2**16))
        def wait(self, kind, n):
            """Seconds to hours, days, or to a second before an epoch's post deadline (mostly an
            epoch not settled) or claim deadline, then act on the epoch there and, one block later,
            at the deadline: post it or sweep it (twice), or claim rows (twice)."""
            now = chain.pending_timestamp
            if kind == "post deadline":
                unsettled = [e for e, ep in sorted(self.epochs.items()) if ep.status == OPEN] + [self.passed_over()]
                ahead = [e for e in unsettled if e is not None and self.deadline(e) > now]
                e = self.pick(n, ahead or [e for e in sorted(self.epochs) if self.deadline(e) > now])
            else:
                ahead = [e for e, ep in sorted(self.epochs.items()) if ep.status == POSTED]
                e = self.pick(n, [e for e in ahead if self.epoch_end(e) + CLAIM_PERIOD > now])
            if kind == "hours":
                move_to(chain, now + 1 + n % (3 * EPOCH_SECONDS))
            elif kind == "days" or e is None:
                move_to(chain, now + DAY * (1 + n % 15))
            elif kind == "post deadline":
                move_to(chain, self.deadline(e) - 1)
                ep = self.epochs.get(e, Epoch({}))
                rows = [row(t, self.emission // 4) for t in tokens] + filler_rows(1)
                for at_deadline in (False, True):  # every call mines a block, one second later
                    if (n >> at_deadline) % 2 and ep.sk is not None:
                        self.post_once(e, ep, rows, sum(r[1] for r in rows[:3]))
                    else:
                        self.sweep_epoch(e)
            else:
                move_to(chain, self.epoch_end(e) + CLAIM_PERIOD - 1)
                self.claim_once(e, 0, "valid")
                self.claim_once(e, 0, "valid")  # at the deadline: refused

        @rule(emission=st.one_of(st.none(), EMISSIONS), hours=st.one_of(st.none(), st.integers(2, 7 * 24)),
              refused=st.sampled_from([None, None, "stranger", "too big"]))
        def dao(self, emission, hours, refused):
            """The DAO changes E (for epochs settled from now on) and/or the post deadline (of every
            epoch not settled, 2 h .. 7 days); first, if `refused`, a stranger's change or E ≥ 2**96."""
            if emission is not None or refused is not None:
                self.set_emission(emission or 0, refused)
            if hours is not None:
                dist.set_post_deadline(hours * 3_600, sender=owner)
                self.post_deadline = hours * 3_600
                assert dist.deadline(self.next) == self.deadline(self.next)

        def set_emission(self, value, refused=None):
            if refused == "stranger":
                with ape.reverts("rewards: only the DAO"):
                    dist.set_emission(value, sender=stranger)
            elif refused == "too big":
                with ape.reverts("rewards: bad emission"):
                    dist.set_emission(MAX_EMISSION + 1 + value, sender=owner)
            dist.set_emission(value, sender=owner)
            self.emission = value
            assert dist.emission() == value
            done["set_emission"] = done.get("set_emission", 0) + 1

        # ---------------------------------------------------------------- invariants

        @invariant()
        def state_matches_ledger(self):
            # Only a mined block changes the distributor (a refusal mines one too): a step that
            # sent nothing is not re-checked.
            if not hasattr(self, "epochs") or chain.blocks.height == self.checked_at:
                return
            self.minted_within_emissions()
            self.every_pool_accounted(final_too=False)
            self.checked_at = chain.blocks.height

        def teardown(self):
            # (hypothesis runs this in a `finally`: not after a failed step, whose error it would hide)
            if hasattr(self, "epochs") and sys.exc_info()[1] is None:
                self.paid_to = set(tokens)
                self.minted_within_emissions()
                self.every_pool_accounted(final_too=True)

        def minted_within_emissions(self):
            eps = self.epochs.values()
            to_vault, claimed = sum(ep.vault for ep in eps), sum(ep.claimed for ep in eps)
            supply = supply_of()
            assert supply == to_vault + claimed
            assert balance_of(vault.address) == to_vault
            assert supply <= sum(ep.emission for ep in eps if ep.status != OPEN)
            assert sum(self.paid.values()) == claimed
            if self.paid_to:  # the owners' balances move only by claims
                assert {p: balance_of(p) for p in self.paid} == self.paid

        def every_pool_accounted(self, final_too):
            """Every epoch's record; one that can no longer change (swept, or posted and past its
            claim period, once checked so) only at the end of the example (`teardown`)."""
            now = chain.pending_timestamp
            for e, ep in self.epochs.items():
                if ep.final and not final_too:
                    continue
                root, total, claimed, status = epoch_rewards(e)
                assert status == ep.status, e
                if ep.status == POSTED:
                    assert (root, total, claimed) == (ep.table.root, ep.total, ep.claimed), e
                    # E = (E − total, to the vault at posting) + claimed + (total − claimed, never minted)
                    assert claimed <= total <= ep.emission <= MAX_EMISSION, e
                    if now >= self.epoch_end(e) + CLAIM_PERIOD:  # closed: nothing more is ever minted
                        ep.frozen = claimed if ep.frozen is None else ep.frozen
                        assert claimed == ep.frozen, e
                        ep.final = True
                    else:  # a claim writes the token's word of 192 epochs: its flags re-read in all
                        assert all(is_claimed(e, t) == (t in ep.claimed_by) for t in self.paid_to), e
                else:
                    assert total == claimed == ep.claimed == 0, e
                    assert ep.vault == (ep.emission if ep.status == SWEPT else 0), e
                    ep.final = ep.status == SWEPT
            self.paid_to = set()

    run_state_machine_as_test(RewardsMachine, settings=RUN)
    missed = [k for k in REACHED if not done.get(k)]
    assert not missed, (missed, done)  # the rules did reach every outcome
