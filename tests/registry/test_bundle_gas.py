"""What a refused batch in a relayed bundle costs the relay, against an accepted one.

The relay pays for every batch of a `submit_many` bundle; a refused one is skipped, not
reverted. Gas griefing is bounded if no refusal costs more than an accepted batch, whichever
check refuses it. `-s` prints the table of docs/benchmarks.md.
"""

from eth_account import Account
from registry_kit import (
    ATTACKER_KEY,
    EPOCH_SECONDS,
    GRACE_PERIOD,
    MARGIN_BPS,
    POW_TARGET,
    Fleet,
    admit_all,
    hour_readings,
    make_batch,
    pack_reading,
)

GRIEF_HONEST = 9  # good batches in every bundle, beside the one measured


def _bad_batches(fleet, griefer, e, registry, chain):
    """One batch of each refusal a relayed bundle can meet, each of 12 readings (the same calldata as a
    good one), ordered from the first check that refuses to the last; with the good one it replaces."""
    start = fleet.genesis + EPOCH_SECONDS * e
    readings, last = hour_readings(start, fleet.total[griefer])
    domain = {"chain_id": chain.chain_id, "registry": registry.address, "target": POW_TARGET}

    def signed(rs=readings, seq=None, key=griefer, **kw):
        return make_batch(key, e, fleet.seq[griefer] if seq is None else seq, rs, prev=fleet.prev[griefer],
                          **domain, **kw)[0]

    jump = readings[:-1] + [pack_reading(start + EPOCH_SECONDS - 1, 3_000_000, last + 10**9)]  # the last reading
    return {
        "accepted (the good batch)": signed(),
        "registry: unknown device": signed(key=ATTACKER_KEY),
        "registry: bad signature": signed(key=ATTACKER_KEY, device=fleet.device[griefer]),
        "registry: bad seq": signed(seq=fleet.seq[griefer] + 1),
        "registry: total jump (in the last reading)": signed(rs=jump),
        "registry: weak proof of work (the last check)": signed(weak_pow=True),
    }


def test_submit_many__refused_batch__costs_the_relay_less_than_an_accepted_one(project, accounts, chain):
    """The relay pays for every batch of a `submit_many` bundle, refused or not: a refused batch must cost it
    no more than an accepted one, whichever check refuses it (gas griefing is bounded by the honest cost)."""
    dao, miner, gateway = accounts[0], accounts[1], accounts[4]
    genesis = chain.pending_timestamp - 1
    sbt = dao.deploy(project.MinerSBT)
    registry = dao.deploy(project.MeasurementRegistry, sbt, genesis, POW_TARGET, MARGIN_BPS, GRACE_PERIOD)
    sbt.set_registry(registry, sender=dao)
    keys = ["0x%064x" % (0x6E1EF0 + i) for i in range(GRIEF_HONEST + 1)]
    admit_all(chain, sbt, dao, miner, keys, genesis)
    fleet = Fleet(registry, keys, chain, genesis)
    fleet.device = {k: Account.from_key(k).address for k in keys}
    honest, griefer = keys[:GRIEF_HONEST], keys[GRIEF_HONEST]

    chain.pending_timestamp = genesis + EPOCH_SECONDS + 60
    fleet.submit(0, False, gateway)  # every device past its first batch: steady hours after
    after_epoch_1 = genesis + 2 * EPOCH_SECONDS + 60
    fleet.keys = honest
    good = fleet.batches(1)
    bad = _bad_batches(fleet, griefer, 1, registry, chain)

    def bundle_gas(extra):
        snapshot = chain.snapshot()
        chain.pending_timestamp = after_epoch_1  # each bundle at the same time (a restore takes the clock back too)
        tx = registry.submit_many(good + extra, sender=gateway, gas=29_000_000)
        accepted = len(tx.decode_logs(registry.BatchAccepted))
        skipped = [log.reason for log in tx.decode_logs(registry.BatchSkipped)]
        chain.restore(snapshot)
        return tx.gas_used, accepted, skipped

    base, accepted, skipped = bundle_gas([])
    assert (accepted, skipped) == (GRIEF_HONEST, [])
    rows = ["| the tenth batch | marginal gas | × an accepted batch |", "| --- | ---: | ---: |"]
    marginal = {}
    for name, batch in bad.items():
        gas, accepted, skipped = bundle_gas([batch])
        if name.startswith("accepted"):
            assert (accepted, skipped) == (GRIEF_HONEST + 1, [])
        else:
            assert (accepted, skipped) == (GRIEF_HONEST, [name.split(" (")[0]])
        marginal[name] = gas - base
    honest_cost = marginal["accepted (the good batch)"]
    for name, gas in marginal.items():
        rows.append(f"| {name} | {gas:,} | {gas / honest_cost:.2f} |")
    print(f"\n\nA bundle of {GRIEF_HONEST} good batches (steady hours) and one more: its marginal receipt gas\n")
    print("\n".join(rows))
    print()
    assert max(marginal.values()) == honest_cost, marginal
