"""Gas of the energy market (StorageNode and PaymentDesk) on the embedded chain (receipt gas).

Run: ``ape test bench/test_gas_market.py -s -q`` (prints a markdown table).

Three markets are deployed (``tests/storage/storage_kit.py``, the owner standing in for the
DAO); in each, two admitted miners deliver into two nodes, ask to be paid, are paid (the
first payment seeds the pool at the voted price, later ones are paid at the voted price
with the pool's spot inside the band) or rejected, and a buyer escrows ENERGY with energy requests that
the node's meter fills (partly: the rest is refunded) or that are cancelled after their
deadline. Each row is the median of its samples; the baseline is a plain ENERGY transfer
between two accounts that both already hold ENERGY, and every row is also given as a
multiple of it. No target is set for these calls (the pool's swap is benchmarked apart):
the test only checks that every measured call succeeded.
"""

import sys
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "storage"))
from storage_kit import HOUR, REFERENCE_PRICE, deploy_market  # noqa: E402 - the kit's folder joins sys.path just above

MARKETS = 3
DEVICE_KEYS = [0xBE7C_0000 + i for i in range(1, 3)]
METER_KEYS = [0xBE7E_0000 + i for i in range(1, 3)]
ORDER = [
    "ENERGY transfer (baseline)", "record_delivery", "request_payment", "approve", "reject",
    "request_energy", "fill", "cancel_request",
]


def test_gas_market(project, accounts, chain):
    owner, relayer, buyer = accounts[0], accounts[10], accounts[11]
    wallets = [accounts[4], accounts[5]]
    rows = []  # (call, case, gas)

    def measure(call, case, tx):
        assert not tx.failed, (call, case)
        rows.append((call, case, tx.gas_used))
        return tx

    for _ in range(MARKETS):
        m = deploy_market(project, chain, owner, chain.pending_timestamp - 1)
        tokens = [m.admit(w, k) for w, k in zip(wallets, DEVICE_KEYS)]
        nodes = [m.register_node(k) for k in METER_KEYS]

        def deliver(i, node, sent, received, case):
            args = m.delivery_args(tokens[i], node, sent, received)
            tx = measure("record_delivery", case, m.storage.record_delivery(*args, sender=relayer))
            m.next_delivery[node] += 1
            return tx.decode_logs(m.storage.Delivered)[0].key

        def request(i, keys, case):
            end = chain.pending_timestamp
            tx = m.desk.request_payment(tokens[i], end - 30 * 86_400, end, keys, sender=wallets[i])
            measure("request_payment", case, tx)
            return tx.decode_logs(m.desk.PaymentRequested)[0].request_id

        # deliveries: the first into each node, then steady ones
        keys = {0: [], 1: []}
        for node in nodes:
            keys[0].append(deliver(0, node, 2_000_000, 1_900_000, "first into a node"))
        for n in range(9):
            keys[n % 2].append(deliver(n % 2, nodes[0], 1_000_000 + n, 950_000 + n, "steady (node holds energy)"))

        # the first payment seeds the pool at the voted price; later ones at the voted price too
        rid = request(0, [keys[0].pop()], "1 delivery")
        measure("approve", "first payment: seeds the pool at the voted price",
                m.approve(rid, REFERENCE_PRICE))
        chain.pending_timestamp += 2 * HOUR
        rid = request(0, keys[0][:8], "8 deliveries")
        keys[0] = keys[0][8:]
        measure("approve", "8 deliveries, at the voted price (spot within the band)", m.approve(rid))
        for k in keys[1][:3]:
            rid = request(1, [k], "1 delivery")
            measure("reject", "1 delivery, reason of 17 bytes", m.desk.reject(rid, "meter check first", sender=owner))
            chain.pending_timestamp += 2 * HOUR
            rid = request(1, [k], "1 delivery")
            measure("approve", "1 delivery, at the voted price (spot within the band)", m.approve(rid))

        # energy out: the miner takes its energy out of the pool and sells some to the buyer
        shares = m.pool.balanceOf(wallets[0])
        m.pool.remove_liquidity(shares, 0, 0, wallets[0], chain.pending_timestamp + 60, sender=wallets[0])
        m.energy.transfer(buyer, 1, sender=wallets[0])  # both hold ENERGY from here on
        for _ in range(3):
            measure("ENERGY transfer (baseline)", "both balances non-zero before and after",
                    m.energy.transfer(buyer, 300_000, sender=wallets[0]))
        m.energy.approve(m.storage, 2**256 - 1, sender=buyer)
        requests = []
        for _ in range(3):
            tx = m.storage.request_energy(nodes[0], 200_000, chain.pending_timestamp + HOUR, sender=buyer)
            measure("request_energy", "200 000 mWh escrowed, deadline in 1 h", tx)
            requests.append(tx.decode_logs(m.storage.EnergyRequested)[0].request_id)
        chain.pending_timestamp += 600
        for request_id in requests[:2]:
            measure("fill", "partial: 150 000 mWh burned, 50 000 refunded",
                    m.storage.fill(*m.fill_args(request_id, 150_000), sender=relayer))
        chain.pending_timestamp += 2 * HOUR
        measure("cancel_request", "after the deadline, whole escrow refunded",
                m.storage.cancel_request(requests[2], sender=buyer))

    summary = {}
    for call, case, gas in sorted(rows, key=lambda r: ORDER.index(r[0])):
        summary.setdefault((call, case), []).append(gas)
    baseline = median(summary[(ORDER[0], "both balances non-zero before and after")])
    out = ["| call | case | gas (receipt, median) | range | samples | × ENERGY transfer |",
           "| --- | --- | ---: | ---: | ---: | ---: |"]
    for (call, case), values in summary.items():
        g = median(values)
        rng = "" if min(values) == max(values) else f"{min(values):,} .. {max(values):,}"
        out.append(f"| {call} | {case} | {g:,.0f} | {rng} | {len(values)} | {g / baseline:.2f} |")
    print("\n\nStorageNode and PaymentDesk gas (embedded chain, receipt gas)\n")
    print("\n".join(out))
    print()
