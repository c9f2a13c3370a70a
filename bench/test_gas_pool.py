"""Gas of the DECA/ENERGY LiquidityPool on the embedded chain (receipt gas).

Run: ``ape test bench/test_gas_pool.py -s`` (prints a markdown table).

Steady state: the pool holds liquidity, the swapper already holds both tokens and has
given the pool an unlimited allowance (snekmate then leaves the allowance untouched);
swaps with a finite allowance (snekmate then writes the allowance back and logs
``Approval``) are measured apart, against the same target. Every transaction is its own
block with a later timestamp, so every swap here also pays the once-per-block update of
the cumulative price (the worst case; a second swap in the same block does not).
Baseline, measured in the same run: the two token moves every swap makes, a plain
``transfer`` and a ``transferFrom`` between holders that already hold the token,
counted as one transaction (their sum minus one 21 000 base cost).
"""

import sys
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "market"))
from market_kit import FAR, MAX, Kit  # noqa: E402 - the kit's folder joins sys.path just above

TARGETS = {"swap exact-in": 80_000, "swap exact-out": 80_000, "swap exact-in (finite allowance)": 80_000}
ROUNDS = 5
TX_BASE = 21_000


def test_gas_pool(project, accounts, chain):
    owner, vault, lp, trader, other = accounts[0], accounts[1], accounts[2], accounts[3], accounts[4]
    kit = Kit(project, owner, vault, seeder=lp)
    rows = {}

    def add(call, case, tx):
        rows.setdefault((call, case), []).append(tx.gas_used)

    # first deposits, each in a fresh pool
    for _ in range(3):
        m = kit.deploy()
        m.fund(lp, 10**24, 10**12)
        add("first add", "mints the locked minimum, reserves word new", m.pool.add_liquidity(
            10**22, 5 * 10**9, 0, 0, lp, FAR, sender=lp))

    m = kit.deploy()
    pool, deca, energy = m.pool, m.deca, m.energy
    m.fund(lp, 10**25, 10**13)
    m.fund(trader, 10**24, 10**12)
    m.fund(other, 10**24, 10**12)
    pool.add_liquidity(10**24, 5 * 10**11, 0, 0, lp, FAR, sender=lp)
    pool.add_liquidity(10**21, 10**9, 0, 0, other, FAR, sender=other)  # other holds shares

    for _ in range(ROUNDS):
        add("swap exact-in", "DECA → ENERGY", pool.swap_exact_in(deca, 10**19, 0, trader, FAR, sender=trader))
        add("swap exact-in", "ENERGY → DECA", pool.swap_exact_in(energy, 5 * 10**6, 0, trader, FAR, sender=trader))
        add("swap exact-out", "DECA → ENERGY", pool.swap_exact_out(deca, 5 * 10**6, MAX, trader, FAR, sender=trader))
        add("swap exact-out", "ENERGY → DECA", pool.swap_exact_out(energy, 10**19, MAX, trader, FAR, sender=trader))
    for _ in range(ROUNDS):
        add("later add", "holder adds again, vault share minted", pool.add_liquidity(
            10**21, 10**9, 0, 0, other, FAR, sender=other))
        pool.swap_exact_in(deca, 10**19, 0, trader, FAR, sender=trader)
        add("remove", "part of a holding, vault share minted", pool.remove_liquidity(
            10**14, 0, 0, other, FAR, sender=other))
        pool.swap_exact_in(energy, 5 * 10**6, 0, trader, FAR, sender=trader)

    # a finite allowance: snekmate writes it back and logs Approval
    deca.approve(pool, 10**30, sender=trader)
    for _ in range(3):
        add("swap exact-in (finite allowance)", "DECA → ENERGY", pool.swap_exact_in(
            deca, 10**19, 0, trader, FAR, sender=trader))

    # baseline: the two token moves of a swap, between holders of the token
    deca.approve(other, MAX, sender=trader)
    base = []
    for _ in range(ROUNDS):
        t1 = energy.transfer(other, 5 * 10**6, sender=trader)
        t2 = deca.transferFrom(trader, other, 10**19, sender=other)
        base.append(t1.gas_used + t2.gas_used - TX_BASE)
        add("baseline: transfer", "ENERGY, both balances non-zero", t1)
        add("baseline: transferFrom", "DECA, unlimited allowance, both balances non-zero", t2)
    baseline = median(base)

    out = ["| call | case | gas (median) | samples | ÷ baseline | target | met |",
           "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for (call, case), values in rows.items():
        g = median(values)
        target = TARGETS.get(call)
        met = "" if target is None else ("yes" if max(values) <= target else f"no (+{max(values) - target:,})")
        ratio = f"{g / baseline:.2f}" if call.startswith("swap") else ""
        out.append(f"| {call} | {case} | {g:,.0f} | {len(values)} | {ratio} | "
                   f"{'' if target is None else f'{target:,}'} | {met} |")
    out.append(f"| baseline | transfer + transferFrom as one transaction (sum − 21 000) | {baseline:,.0f} "
               f"| {len(base)} | 1.00 | | |")
    print("\n\nLiquidityPool gas (embedded chain, receipt gas)\n")
    print("\n".join(out))
    print()
    for call, target in TARGETS.items():
        for (c, case), values in rows.items():
            if c == call:
                assert max(values) <= target, (call, case, values)
