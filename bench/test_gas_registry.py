"""Gas of MeasurementRegistry against a naive baseline, on the embedded chain.

Run: ``ape test bench/test_gas_registry.py -s`` (prints a markdown table).

Each scenario has its own devices. A device first submits once in each of
8 superblocks of 48 epochs (epochs 0, 48, ... 384), so that every slot of its
ring of legal-count archives has been written once; then it submits every
hour of one block of 16 epochs (400 .. 415). That block is the steady state:
its first hour archives the previous block into a reused slot and records
the pending hours on the SBT, the other 15 only update the device's two
state slots. "Amortized" is the mean over the 16 hours, gas per device-hour
as the receipt says (21 000 base and calldata included); "of which calldata
+ logs" is the part the public shape fixes (the batch's calldata, the
BatchAccepted event, and on block-change hours the SBT's MiningRecorded).
The naive contract
(contracts/bench/NaiveRegistry.vy) stores every reading, keeps its state
unpacked and records mining on the SBT every batch; it submits at epoch 384
and then in the same 16 hours.
"""

import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))
from registry_kit import (  # noqa: E402 - the kit's folder joins sys.path just above
    EPOCH_SECONDS,
    GRACE_PERIOD,
    MARGIN_BPS,
    POW_TARGET,
    Fleet,
    admit_all,
)

WARMUP = [48 * k for k in range(9)]  # 0 .. 384: one batch per superblock
BLOCK = list(range(400, 416))  # the measured steady block of 16 epochs
TARGETS = {"submit": 55_000, "submit_many x50": 30_000}
SCENARIOS = [("submit", 1), ("submit_many x1", 1), ("submit_many x10", 10), ("submit_many x50", 50)]


def test_gas_registry_vs_naive(project, accounts, chain):
    dao, miner, gateway = accounts[0], accounts[1], accounts[4]
    genesis = chain.pending_timestamp - 1
    sbt = dao.deploy(project.MinerSBT)
    naive_sbt = dao.deploy(project.MinerSBT)
    registry = dao.deploy(project.MeasurementRegistry, sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)
    naive = dao.deploy(project.NaiveRegistry, naive_sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)
    sbt.set_registry(registry, sender=dao)
    naive_sbt.set_registry(naive, sender=dao)

    fleets = {}
    next_key = 0x5EED00
    for name, n in SCENARIOS:
        keys = ["0x%064x" % (next_key + i) for i in range(n)]
        next_key += n
        admit_all(chain, sbt, dao, miner, keys, genesis)
        admit_all(chain, naive_sbt, dao, miner, keys, genesis)
        fleets[name] = (Fleet(registry, keys, chain, genesis), Fleet(naive, keys, chain, genesis))

    gas = {name: {"first": None, "block": [], "naive": [], "fixed": []} for name, _ in SCENARIOS}
    for e in WARMUP + BLOCK:
        ts = genesis + EPOCH_SECONDS * (e + 1) + 60
        if chain.pending_timestamp < ts:
            chain.pending_timestamp = ts
        for name, _ in SCENARIOS:
            ours, theirs = fleets[name]
            single = name == "submit"
            g = ours.submit(e, single, gateway)
            if e == 0:
                gas[name]["first"] = g
            if e in BLOCK:
                gas[name]["block"].append(g)
                gas[name]["fixed"].append(ours.fixed)
            if e == WARMUP[-1] or e in BLOCK:
                g_naive = theirs.submit(e, single, gateway)
                if e in BLOCK:
                    gas[name]["naive"].append(g_naive)

    rows = [
        "| call | devices per call | first hour | steady hour | block-change hour"
        " | amortized (16 h) | of which calldata + logs | naive | naive / ours | target | met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, n in SCENARIOS:
        g = gas[name]
        amortized = mean(g["block"])
        naive_mean = mean(g["naive"])
        target = TARGETS.get(name)
        met = "" if target is None else ("yes" if amortized <= target else f"no (+{amortized - target:,.0f})")
        rows.append(
            f"| {name.split()[0]} | {n} | {g['first']:,.0f} | {mean(g['block'][1:]):,.0f}"
            f" | {g['block'][0]:,.0f} | {amortized:,.0f} | {mean(g['fixed']):,.0f}"
            f" | {naive_mean:,.0f} | {naive_mean / amortized:.1f}"
            f" | {'' if target is None else f'{target:,}'} | {met} |"
        )
    table = "\n".join(rows)
    print("\n\nGas per device-hour (receipt gas / batches in the call), 12 readings a batch\n")
    print(table)
    print()
