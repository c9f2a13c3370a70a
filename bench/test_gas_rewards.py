"""Gas of EpochKeys and RewardDistributor on the embedded chain (receipt gas).

Run: ``ape test bench/test_gas_rewards.py -s`` (prints a markdown table).

Six admitted devices, each with its own wallet, anchor 12 readings in every
measured epoch. K is set to 1 so that every device with N > 0 wins (the
lottery's cost does not depend on K). Per epoch: commit (B = 60), reveal at
H + B, post a table of 16 or 64 rows (the six devices plus rows of tokens that
do not exist), then the six claims, by a stranger. A claim's cost depends on
whether the token's "claimed" word is still a new slot (its first claim in
each of its three ring words: +17 100 gas) and on whether the SBT owner's
DECA balance is 0 (a new slot in DECA: the same again), so each row of the
table says which case it is; the owners' balances are arranged so that all
four combinations occur.
The naive reveal (contracts/bench/NaiveEpochKeys.vy) stores SK and the
entropy in two fresh slots, as a first version did.
"""

import sys
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "rewards"))
from rewards_kit import (  # noqa: E402 - the kit's folder joins sys.path just above
    EPOCH_SECONDS,
    REGISTRY_PARAMS,
    REWARD_PARAMS,
    Miners,
    Table,
    commit_epoch,
    ecdh,
    epoch_key,
    filler_rows,
    move_to,
    reveal_epoch,
)

from offchain.deploy import deploy_system

TARGETS = {"reveal": 80_000, "claim": 85_000}
ORDER = ["commit", "reveal", "naive reveal", "post", "sweep", "claim"]
DEVICES = 6
SK = 0xE90C4 << 200


def test_gas_rewards(project, accounts, chain):
    owner, oracle, gateway, treasurer, stranger = accounts[0], accounts[1], accounts[2], accounts[3], accounts[4]
    wallets = [accounts[10 + i] for i in range(DEVICES)]
    genesis = chain.pending_timestamp - 1
    system = deploy_system(project, chain, owner, [owner], oracle, genesis=genesis, hand_to_dao=False,
                           registry_params=REGISTRY_PARAMS, reward_params=REWARD_PARAMS)
    sbt, registry, keys, deca, dist = system.sbt, system.registry, system.keys, system.deca, system.rewards
    deca.set_minter(treasurer, True, sender=owner)  # gives some owners DECA before they claim
    keys.set_lottery_k(1, sender=owner)
    miners = Miners(chain, sbt, registry, owner, gateway, genesis)
    tokens = [miners.admit(0xB0B000 + i, wallets[i]) for i in range(DEVICES)]
    naive = owner.deploy(project.NaiveEpochKeys)

    rows = []  # (call, case, gas)
    plan = {0: 16, 1: 64, 2: 16}  # epoch -> rows in its table
    for e, leaves in plan.items():
        sk = SK + e
        miners.submit(e, {t: 12 for t in tokens})
        tx = commit_epoch(chain, keys, oracle, genesis, e, sk)
        rows.append(("commit", "", tx.gas_used))
        _, x, y = epoch_key(sk)
        naive.commit(e, x, y, sender=oracle)
        tx = reveal_epoch(chain, keys, oracle, e, sk)
        rows.append(("reveal", "B = 60", tx.gas_used))
        naive_tx = naive.reveal(e, sk, sender=oracle)  # block H + B + 1: its own H + B
        rows.append(("naive reveal", "B = 60, SK and entropy in two new slots", naive_tx.gas_used))

        real = [(t, 10**18 * (i + 1), 9_500, 6_000, 12_345) for i, t in enumerate(tokens)]
        table = Table(e, real + filler_rows(leaves - len(real)))
        tx = dist.post(e, table.root, table.total, "ipfs://table/%d" % e, sender=oracle)
        rows.append(("post", f"{leaves} rows, part of the emission to the vault", tx.gas_used))

        if e == 0:  # half of the owners already hold DECA before their first claim
            for w in wallets[DEVICES // 2:]:
                deca.mint(w, 1, sender=treasurer)
        if e == 1:  # two owners have spent all their DECA
            for w in wallets[:2]:
                deca.transfer(treasurer, deca.balanceOf(w), sender=w)
        for t, w in zip(tokens, wallets):
            new_word = e == 0  # a token's first claim: its claimed word is a new slot
            new_balance = deca.balanceOf(w) == 0
            tx = dist.claim(*table.claim_args(t, ecdh(sk, miners.pubkey(t))), sender=stranger)
            case = (f"{leaves} rows (proof depth {len(table.proof(t))}), "
                    + ("new claimed word" if new_word else "claimed word in use") + ", "
                    + ("owner's balance 0" if new_balance else "owner holds DECA"))
            rows.append(("claim", case, tx.gas_used))

    # sweep of an epoch never posted
    e = 3
    move_to(chain, genesis + EPOCH_SECONDS * (e + 1) + dist.post_deadline())
    tx = dist.sweep(e, sender=stranger)
    rows.append(("sweep", "epoch never posted, whole emission to the vault", tx.gas_used))

    summary = {}
    for call, case, gas in sorted(rows, key=lambda r: ORDER.index(r[0])):
        summary.setdefault((call, case), []).append(gas)
    out = ["| call | case | gas (receipt) | samples | target | met |", "| --- | --- | ---: | ---: | ---: | --- |"]
    for (call, case), values in summary.items():
        target = TARGETS.get(call)
        g = mean(values)
        met = "" if target is None else ("yes" if max(values) <= target else f"no (+{max(values) - target:,})")
        rng = f"{g:,.0f}" if min(values) == max(values) else f"{min(values):,} .. {max(values):,}"
        out.append(f"| {call} | {case} | {rng} | {len(values)} | {'' if target is None else f'{target:,}'} | {met} |")
    print("\n\nEpochKeys and RewardDistributor gas (embedded chain, receipt gas)\n")
    print("\n".join(out))
    print()
