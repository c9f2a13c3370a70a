"""Checking a published table against the chain's facts (pure)."""

from typing import NamedTuple

from offchain.oracle.certify import certify
from offchain.oracle.settlement import lottery, settle
from offchain.oracle.table import to_hex, to_hex32
from offchain.protocol import merkle
from offchain.scoring import authenticity, pogg


class ChainFacts(NamedTuple):
    """What the chain says of a posted epoch, for :func:`check_table`."""

    epoch: int
    chain_id: int
    epoch_keys: str
    distributor: str
    sk: int  # revealed SK_e (0 if not revealed)
    entropy: bytes
    k: int
    emission: int  # [DECA wei] the epoch's emission
    posted: bool
    root: bytes
    total: int  # [DECA wei]
    params_hash: bytes  # the scoring parameters' hash the Posted event commits to (empty if not posted)
    counts: dict  # {token_id: N} for every token with N > 0 in the epoch
    devices: dict  # {token_id: device address}
    pubkeys: dict  # {token_id: 64-byte device key}
    certificates: tuple = None  # (root, total_mwh, min_a_bps, uri) of the CertificatesPosted event, if any


def check_table(table, facts):
    """
    Recompute an epoch's lottery, amounts and tree from chain facts and the table's inputs.

    From the chain: ``SK_e``, ``entropy_e``, ``K``, the emission, the posted root, total and
    scoring parameters' hash, each miner's legal count ``N`` and device key. From the table
    (the oracle's inputs): ``a``, ``readings_window``, ``energy_mwh`` and ``v_mwh``, from
    which ``a_bps`` and ``q_bps`` are recomputed and ``v_mwh ≤ energy_mwh`` checked. Then
    winners, amounts, leaves, root, total and every proof; and, once the epoch's certificates
    are posted, their root and total from the table at the threshold logged with them.

    Parameters
    ----------
    table : Table
    facts : ChainFacts

    Returns
    -------
    list of str
        One line per disagreement; empty when the table is the posted one and correct.
    """
    problems = []

    def differ(what, table_value, right, source="chain"):
        if table_value != right:
            problems.append(f"{what}: table {table_value!r}, {source} {right!r}")

    differ("epoch", table.epoch, facts.epoch)
    differ("chain id", table.chain_id, facts.chain_id)
    differ("EpochKeys", table.epoch_keys, facts.epoch_keys)
    differ("distributor", table.distributor, facts.distributor)
    if not facts.sk:
        problems.append(f"epoch {facts.epoch} is not revealed on chain")
    differ("sk", to_hex32(table.sk), to_hex32(facts.sk))
    differ("entropy", to_hex(table.entropy), to_hex(facts.entropy))
    differ("K", table.k, facts.k)
    differ("window", table.window, pogg.WINDOW, "protocol")
    differ("emission", table.emission, facts.emission)
    if not facts.posted:
        problems.append(f"epoch {facts.epoch} has no posted root on chain")
    else:
        differ("posted root", to_hex(table.root), to_hex(facts.root))
        differ("posted total", table.total, facts.total)
        differ("scoring parameters' hash", to_hex(authenticity.params_hash(table.params)), to_hex(facts.params_hash))

    listed = [r.token_id for r in table.rows]
    if len(set(listed)) != len(listed):
        problems.append("a token is listed twice")
    for t in sorted(set(facts.counts) - set(listed)):
        problems.append(f"token {t}: N = {facts.counts[t]} on chain, missing from the table")
    for t in sorted(set(listed) - set(facts.counts)):
        problems.append(f"token {t}: listed, but N = 0 on chain")
    if not facts.sk:
        return problems

    rows = [r for r in table.rows if r.token_id in facts.counts]
    for r in rows:
        differ(f"token {r.token_id} device", r.device, facts.devices[r.token_id])
        differ(f"token {r.token_id} N", r.n, facts.counts[r.token_id])
    a_bps = pogg.quantise_fraction([r.a for r in rows])
    q_bps = pogg.quantity_bps_of_sums([r.readings_window for r in rows], table.window)
    v_mwh = [r.v_mwh for r in rows]
    for r, a, q in zip(rows, a_bps, q_bps):
        differ(f"token {r.token_id} a_bps", r.a_bps, int(a), "recomputed")
        differ(f"token {r.token_id} q_bps", r.q_bps, int(q), "recomputed")
        if not 0 <= r.v_mwh <= r.energy_mwh:
            problems.append(f"token {r.token_id}: credits {r.v_mwh} mWh of the {r.energy_mwh} mWh booked")

    ns = [facts.counts[r.token_id] for r in rows]
    draw = lottery(facts.sk, facts.entropy, [facts.pubkeys[r.token_id] for r in rows], ns, facts.k)
    for r, point, s, w in zip(rows, draw.points, draw.seeds, draw.winners):
        differ(f"token {r.token_id} point", tuple(r.point), tuple(point), "recomputed")
        differ(f"token {r.token_id} seed", r.seed, int(s), "recomputed")
        differ(f"token {r.token_id} winner", r.winner, bool(w), "recomputed")

    # amounts and tree from the recomputed integers, not the table's
    token_ids = [r.token_id for r in rows]
    deal = settle(facts.epoch, token_ids, draw.winners, a_bps, q_bps, v_mwh, facts.emission, facts.k,
                  pogg.reference_units(table.params.reference_kwh))
    for r, amount, leaf in zip(rows, deal.amounts, deal.leaves):
        differ(f"token {r.token_id} amount", r.amount, amount, "recomputed")
        differ(f"token {r.token_id} leaf", None if r.leaf is None else to_hex(r.leaf),
               None if leaf is None else to_hex(leaf), "recomputed")
        if leaf is not None and not merkle.verify(r.proof, deal.root, leaf):
            problems.append(f"token {r.token_id}: its published proof does not reach the recomputed root")
    differ("root", to_hex(table.root), to_hex(deal.root), "recomputed")
    differ("total", table.total, deal.total, "recomputed")
    if facts.posted and deal.root != facts.root:
        problems.append(f"root: recomputed {to_hex(deal.root)}, posted {to_hex(facts.root)}")
    if facts.certificates is not None:  # the certificate rows from the table, at the threshold logged
        root, total_mwh, min_a_bps, _ = facts.certificates
        certs = certify(table._replace(rows=rows), min_a_bps)
        differ("certificate root", to_hex(certs.root or bytes(32)), to_hex(root), "posted")
        differ("certified energy [mWh]", certs.total_mwh, total_mwh, "posted")
    return problems
