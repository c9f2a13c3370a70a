"""The whole energy market against a Python model: ENERGY parity and the pool's invariants.

A stateful test (hypothesis) drives random sequences of deliveries, payment requests,
approvals and rejections by the DAO (the owner stands in for it), swaps both ways, liquidity
added and removed by miners, energy requests, fills, cancels and time moves, on a fresh
market per example. After every step, outside any ``chain.isolate()`` block:

- ENERGY parity: Σ tokenized over nodes = ENERGY supply; per node stored = tokenized +
  unpaid ≤ capacity; Σ unpaid over nodes = Σ ``credit_of`` over tokens; and the model's
  energy received, paid and delivered out per node gives each node's tokenized and unpaid;
- the pool: reserves ≤ balances, every LP share is redeemable (Σ ``quote_remove`` over all
  holders ≤ reserves), k never decreases across a swap, and every swap, add and remove
  moves exactly what ``testbed.amm`` computes for the same reserves and fee.
"""

import copy

import ape
import pytest
from conftest import DEVICE_KEYS, METER_KEYS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from storage_kit import DAO_SHARE_BPS, HOUR, MIN_PAYMENT_MWH, PRICE_BAND_BPS, REFERENCE_PRICE, deploy_market

from testbed import amm

DEAD = amm.DEAD
DAY = 86_400
MAX_PERIOD = 92 * DAY
PRICE_SCALE = 10**18
MAX = 2**256 - 1
CAPACITIES = (20_000_000, 6_000_000)  # mWh: the second node fills up now and then
MODEL = ("m", "tokens", "nodes", "received", "paid", "out", "deliveries", "payments", "energy_requests")


class MarketMachine(RuleBasedStateMachine):
    """One market per example; ``project``, ``chain`` and ``accounts`` are set by the test.

    The market is built once; every example starts from a ``chain.snapshot()`` of it and a
    copy of the model as built.
    """

    project = chain = accounts = None
    template = snapshot = None  # the market as built, and the chain's snapshot of it

    def __init__(self):
        super().__init__()
        a, chain = self.accounts, self.chain
        self.owner = a[0]
        self.miners = [a[4], a[5], a[6]]
        self.buyer, self.trader, self.relayer = a[11], a[12], a[10]
        cls = type(self)
        if cls.template is None:
            self._build()
            cls.template = {k: getattr(self, k) for k in MODEL}
            cls.template["next_delivery"] = dict(self.m.next_delivery)
        else:  # back to the market as built, and a new snapshot for the next example
            chain.restore(cls.snapshot)
        cls.snapshot = chain.snapshot()
        t = copy.deepcopy({k: v for k, v in cls.template.items() if k != "m"})
        self.m = cls.template["m"]
        self.vault = self.m.vault
        self.m.next_delivery = t.pop("next_delivery")
        self.__dict__.update(t)
        self.checked_at = None  # chain height at the last invariant check
        self.fee_bps = self.m.pool.fee_bps()  # the DAO does not change it here

    def _build(self):
        """Deploy and wire the market, admit three miners, register two nodes, seed the pool."""
        chain = self.chain
        m = self.m = deploy_market(self.project, chain, self.owner, chain.pending_timestamp - 1)
        self.vault = m.vault
        self.tokens = [m.admit(w, k) for w, k in zip(self.miners, DEVICE_KEYS)]
        self.nodes = [m.register_node(k, capacity=c) for k, c in zip(METER_KEYS, CAPACITIES)]
        # model
        self.received = {n: 0 for n in self.nodes}  # mWh recorded into the node
        self.paid = {n: 0 for n in self.nodes}  # mWh of those deliveries paid (tokenized)
        self.out = {n: 0 for n in self.nodes}  # mWh delivered out for requests (burned)
        self.deliveries = {}  # key -> [token, node, received, period_start, status]
        self.payments = {}  # payment request id -> (token, keys)
        self.energy_requests = {}  # request id -> (node, amount, deadline)
        for w in self.miners + [self.trader, self.buyer]:
            m.deca.approve(m.pool, MAX, sender=w)
            m.energy.approve(m.pool, MAX, sender=w)
        m.energy.approve(m.storage, MAX, sender=self.buyer)
        # the first payment seeds the pool at the reference price
        key = self._deliver(0, 0, 4_000_000, 3_800_000)
        self._approve(self._request_payment(0, [key]))
        chain.pending_timestamp += HOUR
        for w in self.miners:  # DECA to add liquidity with
            m.deca.mint(w, 10**19, sender=self.owner)

    # ------------------------------------------------------------ helpers
    def _deliver(self, who, node_index, sent, received):
        node, token = self.nodes[node_index], self.tokens[who]
        key = self.m.deliver(token, node, sent, received, sender=self.relayer)
        d = self.m.storage.delivery(key)
        self.deliveries[key] = [token, node, received, d.period_start, 1]
        self.received[node] += received
        return key

    def _request_payment(self, who, keys):
        start = min(self.deliveries[k][3] for k in keys)
        end = self.chain.pending_timestamp
        assert end - start <= MAX_PERIOD
        if sum(self.deliveries[k][2] for k in keys) < MIN_PAYMENT_MWH:
            with ape.reverts("desk: less than 1 Wh to pay"):
                self.m.request_payment(self.tokens[who], keys, sender=self.miners[who], start=start, end=end)
            return None
        request_id = self.m.request_payment(self.tokens[who], keys, sender=self.miners[who], start=start, end=end)
        for k in keys:
            self.deliveries[k][4] = 2
        self.payments[request_id] = (who, keys)
        return request_id

    def _approve(self, request_id):
        m = self.m
        who, keys = self.payments.pop(request_id)
        miner = self.miners[who]
        energy = sum(self.deliveries[k][2] for k in keys)
        energy_supply, deca_supply = m.energy.totalSupply(), m.deca.totalSupply()
        vault_deca, miner_shares, miner_energy = m.deca.balanceOf(self.vault), m.pool.balanceOf(miner), \
            m.energy.balanceOf(miner)
        price = m.pool.spot_price() or REFERENCE_PRICE  # the DAO votes the pool's price
        tx = m.desk.approve(request_id, price, sender=self.owner)
        [e] = tx.decode_logs(m.desk.PaymentApproved)
        assert e.price == price
        assert e.energy_mwh == energy and m.energy.totalSupply() == energy_supply + energy
        assert e.deca_added <= energy * e.price // PRICE_SCALE
        assert m.deca.totalSupply() - deca_supply == e.deca_added + e.dao_deca
        assert m.deca.balanceOf(self.vault) - vault_deca == e.dao_deca
        assert m.pool.balanceOf(miner) - miner_shares == e.shares > 0
        assert m.energy.balanceOf(miner) - miner_energy == e.energy_to_miner
        for k in keys:
            self.deliveries[k][4] = 3
            self.paid[self.deliveries[k][1]] += self.deliveries[k][2]

    def _pool_state(self):
        rd, re, _ = self.m.pool.reserves()
        return rd, re

    def _supply_with_vault(self):
        return self.m.pool.totalSupply() + self.m.pool.pending_vault_shares()

    def _swap(self, who, deca_in, exact_in, amount):
        """A swap checked against the twin; returns (amount in, amount out)."""
        m = self.m
        rd, re = self._pool_state()
        r_in, r_out = (rd, re) if deca_in else (re, rd)
        token_in = m.deca if deca_in else m.energy
        if exact_in:
            expected_in, expected_out = amount, amm.amount_out(amount, r_in, r_out, self.fee_bps)
            if expected_out == 0:
                with ape.reverts("pool: insufficient output"):
                    m.pool.swap_exact_in(token_in, amount, 0, who, self.chain.pending_timestamp + 60, sender=who)
                return 0, 0
        else:
            expected_in, expected_out = amm.amount_in(amount, r_in, r_out, self.fee_bps), amount
        if deca_in and m.deca.balanceOf(who) < expected_in:
            m.deca.mint(who, expected_in, sender=self.owner)
        assert token_in.balanceOf(who) >= expected_in
        deadline = self.chain.pending_timestamp + 60
        if exact_in:
            tx = m.pool.swap_exact_in(token_in, amount, 0, who, deadline, sender=who)
        else:
            tx = m.pool.swap_exact_out(token_in, amount, MAX, who, deadline, sender=who)
        [s] = tx.decode_logs(m.pool.Swap)
        assert (s.amount_in, s.amount_out) == (expected_in, expected_out)  # the contract = testbed.amm
        rd2, re2 = self._pool_state()
        assert (rd2, re2) == ((rd + expected_in, re - expected_out) if deca_in else (rd - expected_out,
                                                                                      re + expected_in))
        assert rd2 * re2 >= rd * re  # k never decreases across a swap
        return expected_in, expected_out

    def _energy_for(self, who, amount):
        """Top ``who`` up to ``amount`` ENERGY by buying the shortfall with DECA; False if the pool can't."""
        short = amount - self.m.energy.balanceOf(who)
        if short <= 0:
            return True
        if short >= self._pool_state()[1]:
            return False
        self._swap(who, True, False, short)
        return True

    # -------------------------------------------------------------- rules
    @rule(who=st.integers(0, 2), node_index=st.integers(0, 1), received=st.integers(1, 8_000_000),
          loss=st.integers(0, 500_000))
    def deliver(self, who, node_index, received, loss):
        node = self.nodes[node_index]
        free = self.m.storage.free_capacity_mwh(node)
        if received > free:
            args = self.m.delivery_args(self.tokens[who], node, received + loss, received)
            with ape.reverts("storage: node full"):
                self.m.storage.record_delivery(*args, sender=self.relayer)
            event("delivery: node full")
            return
        event("delivery: recorded")
        self._deliver(who, node_index, received + loss, received)

    @rule(who=st.integers(0, 2), data=st.data())
    def request_payment(self, who, data):
        token = self.tokens[who]
        credited = [k for k, d in self.deliveries.items() if d[0] == token and d[4] == 1]
        if not credited:
            return
        keys = data.draw(st.lists(st.sampled_from(credited), min_size=1, max_size=8, unique=True), label="keys")
        self._request_payment(who, keys)

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def approve(self, data):
        self._approve(data.draw(st.sampled_from(sorted(self.payments)), label="request"))
        event("payment: approved")

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def reject(self, data):
        request_id = data.draw(st.sampled_from(sorted(self.payments)), label="request")
        _, keys = self.payments.pop(request_id)
        tx = self.m.desk.reject(request_id, "meter check first", sender=self.owner)
        assert len(tx.decode_logs(self.m.desk.PaymentRejected)) == 1
        for k in keys:
            self.deliveries[k][4] = 1
        event("payment: rejected")

    @rule(deca_in=st.booleans(), exact_in=st.booleans(), bps=st.integers(1, 3_000))
    def swap(self, deca_in, exact_in, bps):
        m = self.m
        rd, re = self._pool_state()
        if exact_in:
            if deca_in:
                amount = max(1, rd * bps // 10_000)
            else:
                amount = max(1, re * bps // 10_000)
                if not self._energy_for(self.trader, amount):
                    return
        else:
            amount = max(1, (re if deca_in else rd) * bps // 10_000)
            if not deca_in:
                need = amm.amount_in(amount, re, rd, self.fee_bps)
                if not self._energy_for(self.trader, need):
                    return
                rd, re = self._pool_state()  # the top-up moved the price: buy at most what is asked
                if amm.amount_in(amount, re, rd, self.fee_bps) > m.energy.balanceOf(self.trader):
                    return
        self._swap(self.trader, deca_in, exact_in, amount)
        event(f"swap: {'DECA' if deca_in else 'ENERGY'} in, exact {'in' if exact_in else 'out'}")

    @rule(who=st.integers(0, 2), deca_bps=st.integers(1, 10_000), energy_bps=st.integers(1, 10_000))
    def add_liquidity(self, who, deca_bps, energy_bps):
        m, w = self.m, self.miners[who]
        d_des = m.deca.balanceOf(w) * deca_bps // 10_000
        e_des = m.energy.balanceOf(w) * energy_bps // 10_000
        if d_des == 0 or e_des == 0:
            return
        rd, re = self._pool_state()
        d, e, n = amm.quote_add(d_des, e_des, rd, re, self._supply_with_vault())
        deadline = self.chain.pending_timestamp + 60
        if n == 0:
            with ape.reverts("pool: insufficient shares minted"):
                m.pool.add_liquidity(d_des, e_des, 0, 0, w, deadline, sender=w)
            return
        shares = m.pool.balanceOf(w)
        tx = m.pool.add_liquidity(d_des, e_des, 0, 0, w, deadline, sender=w)
        [ev] = tx.decode_logs(m.pool.Mint)
        assert (ev.deca, ev.energy, ev.shares) == (d, e, n)
        assert m.pool.balanceOf(w) - shares == n
        assert self._pool_state() == (rd + d, re + e)
        event("liquidity: added")

    @rule(who=st.integers(0, 2), bps=st.integers(1, 10_000))
    def remove_liquidity(self, who, bps):
        m, w = self.m, self.miners[who]
        shares = m.pool.balanceOf(w) * bps // 10_000
        if shares == 0:
            return
        rd, re = self._pool_state()
        d, e = amm.quote_remove(shares, rd, re, self._supply_with_vault())
        deadline = self.chain.pending_timestamp + 60
        if d == 0 or e == 0:
            with ape.reverts("pool: insufficient liquidity burned"):
                m.pool.remove_liquidity(shares, 0, 0, w, deadline, sender=w)
            return
        tx = m.pool.remove_liquidity(shares, 0, 0, w, deadline, sender=w)
        [ev] = tx.decode_logs(m.pool.Burn)
        assert (ev.deca, ev.energy, ev.shares) == (d, e, shares)
        assert self._pool_state() == (rd - d, re - e)
        event("liquidity: removed")

    @rule(node_index=st.integers(0, 1), bps=st.integers(1, 10_000), window=st.integers(HOUR, 2 * DAY))
    def request_energy(self, node_index, bps, window):
        m, node = self.m, self.nodes[node_index]
        tokenized = m.storage.nodes(node).tokenized_mwh
        amount = min(tokenized * bps // 10_000, self._pool_state()[1] // 2 + m.energy.balanceOf(self.buyer))
        if amount == 0 or not self._energy_for(self.buyer, amount):
            return
        balance = m.energy.balanceOf(self.buyer)
        deadline = self.chain.pending_timestamp + window
        tx = m.storage.request_energy(node, amount, deadline, sender=self.buyer)
        [ev] = tx.decode_logs(m.storage.EnergyRequested)
        assert (ev.node, ev.amount_mwh, ev.deadline) == (node, amount, deadline)
        assert m.energy.balanceOf(self.buyer) == balance - amount
        self.energy_requests[ev.request_id] = (node, amount, deadline)
        event("energy: requested")

    @precondition(lambda self: self.energy_requests)
    @rule(data=st.data(), bps=st.integers(0, 10_000))
    def fill(self, data, bps):
        m = self.m
        request_id = data.draw(st.sampled_from(sorted(self.energy_requests)), label="request")
        node, amount, deadline = self.energy_requests[request_id]
        if self.chain.pending_timestamp + 60 > deadline:
            return  # expired: only a cancel is left
        self.chain.pending_timestamp += 60
        delivered = amount * bps // 10_000
        args = m.fill_args(request_id, delivered)
        if delivered > m.storage.nodes(node).tokenized_mwh:  # other fills took the node's energy
            with ape.reverts("storage: node holds less tokenized energy"):
                m.storage.fill(*args, sender=self.relayer)
            event("energy: fill refused, node holds less tokenized energy")
            return
        supply, balance = m.energy.totalSupply(), m.energy.balanceOf(self.buyer)
        tx = m.storage.fill(*args, sender=self.relayer)
        [ev] = tx.decode_logs(m.storage.EnergyFilled)
        assert (ev.delivered_mwh, ev.refunded_mwh) == (delivered, amount - delivered)
        assert m.energy.totalSupply() == supply - delivered
        assert m.energy.balanceOf(self.buyer) == balance + amount - delivered
        del self.energy_requests[request_id]
        self.out[node] += delivered
        event("energy: filled")

    @precondition(lambda self: self.energy_requests)
    @rule(data=st.data())
    def cancel(self, data):
        m = self.m
        request_id = data.draw(st.sampled_from(sorted(self.energy_requests)), label="request")
        _, amount, deadline = self.energy_requests.pop(request_id)
        if self.chain.pending_timestamp <= deadline:
            self.chain.pending_timestamp = deadline + 1
        balance = m.energy.balanceOf(self.buyer)
        tx = m.storage.cancel_request(request_id, sender=self.buyer)
        assert [ev.refunded_mwh for ev in tx.decode_logs(m.storage.EnergyRequestCancelled)] == [amount]
        assert m.energy.balanceOf(self.buyer) == balance + amount
        event("energy: cancelled")

    @rule(seconds=st.integers(1, DAY))
    def move_time(self, seconds):
        self.chain.pending_timestamp += seconds

    # --------------------------------------------------------- invariants
    @invariant()
    def market_sound(self):
        # Only a mined transaction changes the market: a step that sent none is not re-checked.
        height = self.chain.blocks.height
        if height == self.checked_at:
            return
        self._energy_parity()
        self._pool_solvent()
        self.checked_at = height

    def _energy_parity(self):
        s = self.m.storage
        tokenized = unpaid = 0
        for node in self.nodes:
            n = s.nodes(node)
            assert s.stored_mwh(node) == n.tokenized_mwh + n.unpaid_mwh <= n.capacity_mwh
            assert n.tokenized_mwh == self.paid[node] - self.out[node]
            assert n.unpaid_mwh == self.received[node] - self.paid[node]
            tokenized += n.tokenized_mwh
            unpaid += n.unpaid_mwh
        assert tokenized == self.m.energy.totalSupply()
        assert unpaid == sum(s.credit_of(t) for t in self.tokens)

    def _pool_solvent(self):
        m = self.m
        rd, re = self._pool_state()
        assert rd <= m.deca.balanceOf(m.pool) and re <= m.energy.balanceOf(m.pool)
        holders = [w.address for w in self.miners] + [self.vault.address, DEAD]
        shares = [m.pool.balanceOf(h) for h in holders]
        assert sum(shares) == m.pool.totalSupply()  # no other holder
        paid = [m.pool.quote_remove(n) for n in shares if n]
        assert sum(d for d, _ in paid) <= rd and sum(e for _, e in paid) <= re


def test_market__random_sequences__keep_parity_and_the_pool_sound(project, chain, accounts):
    MarketMachine.project, MarketMachine.chain, MarketMachine.accounts = project, chain, accounts
    MarketMachine.template = MarketMachine.snapshot = None
    run_state_machine_as_test(MarketMachine, settings=settings(
        max_examples=10, stateful_step_count=15, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.filter_too_much],
    ))


# ------------------------------------------------------------ one approval

@pytest.fixture(scope="module")
def markets(project, chain, accounts):
    """A market whose pool is empty and one whose pool holds a first payment."""
    owner, miner = accounts[0], accounts[4]
    built = {}
    for seeded in (False, True):
        m = deploy_market(project, chain, owner, chain.pending_timestamp - 1)
        token = m.admit(miner, DEVICE_KEYS[0])
        node = m.register_node(METER_KEYS[0])
        if seeded:
            m.pay(token, [m.deliver(token, node, 10_000_000, 9_600_000, sender=miner)], sender=miner)
            m.deca.approve(m.pool, MAX, sender=accounts[12])
        built[seeded] = (m, token, node)
    return built


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seeded=st.booleans(), received=st.integers(MIN_PAYMENT_MWH, 20_000_000),
       loss=st.integers(0, 1_000_000), swap_bps=st.integers(0, 3_000), wait=st.integers(0, 3 * HOUR),
       off_bps=st.integers(-1_500, 1_500))
def test_approve__any_amounts__mints_the_received_energy_at_the_voted_price_or_refuses(
    markets, chain, accounts, seeded, received, loss, swap_bps, wait, off_bps
):
    """Whatever the amounts and whoever moved the pool: an approval at a voted price off the
    spot by more than the band is refused with nothing minted; otherwise it mints the received
    ENERGY and DECA at exactly the voted price, of which the pool takes what its ratio allows
    (the rest burned)."""
    m, token, node = markets[seeded]
    miner, trader = accounts[4], accounts[12]
    next_delivery = dict(m.next_delivery)
    snapshot = chain.snapshot()
    try:
        if seeded and swap_bps:  # someone moves the spot price first
            amount = m.pool.reserves()[0] * swap_bps // 10_000
            m.deca.mint(trader, amount, sender=m.owner)
            m.pool.swap_exact_in(m.deca, amount, 0, trader, chain.pending_timestamp + 60, sender=trader)
        chain.pending_timestamp += wait
        request_id = m.request_payment(token, [m.deliver(token, node, received + loss, received, sender=miner)],
                                       sender=miner)
        energy, deca, vault_deca = m.energy.totalSupply(), m.deca.totalSupply(), m.deca.balanceOf(m.desk.vault())
        rd, re, _ = m.pool.reserves()
        spot = m.pool.spot_price()
        price = (spot or REFERENCE_PRICE) * (10_000 + off_bps) // 10_000
        refused = spot and abs(price - spot) * 10_000 > price * PRICE_BAND_BPS
        if refused:
            with ape.reverts("desk: pool price off the voted price"):
                m.desk.approve(request_id, price, sender=m.owner)
            assert (m.energy.totalSupply(), m.deca.totalSupply()) == (energy, deca)
            return
        tx = m.desk.approve(request_id, price, sender=m.owner)
        [e] = tx.decode_logs(m.desk.PaymentApproved)
        after = (m.energy.totalSupply() - energy, m.deca.totalSupply() - deca,
                 m.deca.balanceOf(m.desk.vault()) - vault_deca, m.pool.reserves()[:2])
        tokenized, supply, per_node = m.parity()
    finally:
        chain.restore(snapshot)
        m.next_delivery = next_delivery
    energy_minted, deca_minted, vault_got, (rd2, re2) = after
    assert energy_minted == e.energy_mwh == received
    assert deca_minted == e.deca_added + e.dao_deca  # what the pool did not take was burned
    assert vault_got == e.dao_deca == e.deca_added * DAO_SHARE_BPS // 10_000
    assert e.price == price and e.deca_added <= received * price // PRICE_SCALE
    assert (rd2 - rd, re2 - re + e.energy_to_miner) == (e.deca_added, received)
    assert tokenized == supply and per_node
