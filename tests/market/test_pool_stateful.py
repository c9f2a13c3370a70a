"""LiquidityPool against its model ``testbed.amm.Pool``: random adds, removes, swaps
(both directions, exact in and exact out), donations, sync and skim by several actors.

After every step the contract's state equals the model's, reserves never exceed the
balances and every holder's shares are redeemable. Across swaps k never decreases;
with the vault share off, value per share (√k / supply) never decreases either (with it
on, the vault's mint is the model's, which the state check covers).
Each example starts from the same fresh deployment (``chain.snapshot``/``chain.restore``).
"""

import ape
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from market_kit import FAR

from testbed import amm

DEAD = amm.DEAD
RUN = settings(max_examples=8, stateful_step_count=10, deadline=None, derandomize=True)  # every kind of step reached, every run
DECA_FUND = 10**30  # DECA wei per actor
ENERGY_FUND = 10**16  # mWh per actor


@pytest.mark.parametrize("share_bps", [0, 1_667])
def test_pool__random_operations__matches_model_and_keeps_invariants(kit, chain, accounts, vault, share_bps):
    actors = [accounts[11], accounts[12], accounts[13]]
    donor = accounts[10]
    m = kit.deploy(vault_share_bps=share_bps)
    for a in actors + [donor]:
        m.fund(a, DECA_FUND, ENERGY_FUND)
    snap = [chain.snapshot()]
    done = {}  # operations that went through, per rule

    class PoolMachine(RuleBasedStateMachine):
        @initialize(d=st.integers(10**15, 10**26), e=st.integers(10**4, 10**12))
        def fresh(self, d, e):
            """The same fresh deployment, then a first deposit by the first actor."""
            chain.restore(snap[0])
            snap[0] = chain.snapshot()
            self.model = amm.Pool(vault_share_bps=share_bps, vault=vault.address)
            self.value = None  # (k, supply) at the last check
            self.add(0, d, e)

        def expect(self, call, model_op):
            """Run `call` on the contract; the model's PoolError, if any, must be its revert."""
            probe = amm.Pool.__new__(amm.Pool)
            probe.__dict__ = {k: (dict(v) if isinstance(v, dict) else v) for k, v in self.model.__dict__.items()}
            try:
                model_op(probe, chain.pending_timestamp)
            except amm.PoolError as err:
                with ape.reverts(str(err)):
                    call()
                return None
            tx = call()
            ts = chain.provider.get_block(tx.block_number).timestamp
            name = model_op.__code__.co_names[0]
            done[name] = done.get(name, 0) + 1
            return model_op(self.model, ts)

        @rule(who=st.integers(0, 2), d=st.integers(1, 10**26), e=st.integers(1, 10**12))
        def add(self, who, d, e):
            a = actors[who]
            self.expect(lambda: m.pool.add_liquidity(d, e, 0, 0, a, FAR, sender=a),
                        lambda p, ts: p.add(a.address, d, e, ts))

        @rule(who=st.integers(0, 2), part=st.integers(1, 100))
        def remove(self, who, part):
            holders = [a for a in actors if self.model.shares.get(a.address, 0)] or actors
            a = holders[who % len(holders)]
            n = self.model.shares.get(a.address, 0) * part // 100
            self.expect(lambda: m.pool.remove_liquidity(n, 0, 0, a, FAR, sender=a),
                        lambda p, ts: p.remove(a.address, n, ts))

        @rule(who=st.integers(0, 2), deca_in=st.booleans(), exact_out=st.booleans(), ppm=st.integers(100, 2 * 10**6))
        def swap(self, who, deca_in, exact_out, ppm):
            """Amounts as parts per million of a reserve: in up to 2× the reserve in, out
            below the reserve out (the whole reserve's refusal is a unit test)."""
            a = actors[who]
            token = m.token(deca_in)
            k0 = self.model.reserve_deca * self.model.reserve_energy
            r_in, r_out = self.model._oriented(deca_in)
            if exact_out:
                x = r_out * (ppm % 10**6) // 10**6 + 1
                done_ = self.expect(lambda: m.pool.swap_exact_out(token, x, 2**256 - 1, a, FAR, sender=a),
                                    lambda p, ts: p.swap_exact_out(deca_in, x, ts))
            else:
                x = r_in * ppm // 10**6 + 1
                done_ = self.expect(lambda: m.pool.swap_exact_in(token, x, 0, a, FAR, sender=a),
                                    lambda p, ts: p.swap_exact_in(deca_in, x, ts))
            if done_ is not None:
                rd, re, _ = m.pool.reserves()
                assert rd * re >= k0, "k decreased"

        @rule(d=st.integers(0, 10**20), e=st.integers(0, 10**8))
        def donate(self, d, e):
            if d:
                m.deca.transfer(m.pool, d, sender=donor)
            if e:
                m.energy.transfer(m.pool, e, sender=donor)
            self.model.donate(d, e)

        @rule(skim=st.booleans())
        def settle(self, skim):
            """Donations: given to the LP holders (sync) or sent away (skim)."""
            if not skim:
                self.expect(lambda: m.pool.sync(sender=donor), lambda p, ts: p.sync(ts))
                return
            before = m.deca.balanceOf(vault), m.energy.balanceOf(vault)
            d, e = self.model.skim()
            m.pool.skim(vault, sender=donor)
            assert (m.deca.balanceOf(vault) - before[0], m.energy.balanceOf(vault) - before[1]) == (d, e)

        @rule(seconds=st.integers(1, 3_600))
        def wait(self, seconds):
            chain.pending_timestamp += seconds

        @invariant()
        def state_equals_model(self):
            if not hasattr(self, "model"):
                return
            p = self.model
            rd, re, ts = m.pool.reserves()
            assert (rd, re) == (p.reserve_deca, p.reserve_energy)
            if rd or re:
                assert ts == p.timestamp
            assert m.pool.totalSupply() == p.supply
            assert m.pool.k_last() == p.k_last
            assert m.pool.price_deca_cumulative() == p.cum_deca
            bd, be = m.deca.balanceOf(m.pool), m.energy.balanceOf(m.pool)
            assert (bd, be) == (p.balance_deca, p.balance_energy)
            assert rd <= bd and re <= be
            holders = [a.address for a in actors] + [DEAD, vault.address]
            paid_d = paid_e = 0
            for h in holders:  # the model's quote_remove is the contract's (tests/market/test_pool.py)
                n = m.pool.balanceOf(h)
                assert n == p.shares.get(h, 0)
                if n:
                    d, e = p.quote_remove(n)
                    paid_d, paid_e = paid_d + d, paid_e + e
            assert paid_d <= rd and paid_e <= re
            supply = p.supply
            k = rd * re
            if share_bps == 0 and supply and self.value is not None and self.value[1]:
                k0, s0 = self.value
                assert k * s0 * s0 >= k0 * supply * supply, "value per share decreased"
            self.value = (k, supply)

    run_state_machine_as_test(PoolMachine, settings=RUN)
    for op in ("add", "remove", "swap_exact_in", "swap_exact_out"):
        assert done.get(op, 0) > 0, (op, done)  # the rules did reach the pool
