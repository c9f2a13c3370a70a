"""Lottery, settlement, the published table and its verification, on synthetic epochs."""

import json

import numpy as np
import pytest
from oracle_kit import EMISSION

from offchain import oracle
from offchain.index import store
from offchain.oracle import ZERO32
from offchain.protocol import merkle
from offchain.scoring import authenticity, pogg

# ------------------------------------------------------------------ lottery and settlement


def test_lottery__twin_of_pogg(miners):
    entropy = b"\x07" * 32
    draw = oracle.lottery(99, entropy, [m.pubkey for m in miners], [12, 0, 5, 12, 1, 3], 3)
    for m, point, seed, win, n in zip(miners, draw.points, draw.seeds, draw.winners, [12, 0, 5, 12, 1, 3]):
        assert point == pogg.ecdh_point(99, m.pubkey)
        assert seed == pogg.seed(point[0], n, entropy, 3)
        assert win == pogg.is_winner(point[0], n, entropy, 3)
    assert not draw.winners[1]  # N = 0 never wins


def test_settle__winners_only__amounts_leaves_and_proofs():
    winners = [True, False, True, True]
    deal = oracle.settle(5, [1, 2, 3, 4], winners, [10_000, 9_000, 5_000, 0], [5_000] * 4, [2_000, 1, 1_000, 9], 10**18,
                         1, 0)
    assert deal.amounts[1] == 0 and deal.amounts[3] == 0  # a loser; a winner with a = 0
    # K = 1: each winner is paid its share of every miner's contribution, the loser's included
    assert deal.amounts[0] == 10**18 * 10_000 * 2_000 // (10_000 * 2_000 + 9_000 * 1 + 5_000 * 1_000)
    assert deal.total == sum(deal.amounts) <= 10**18
    assert deal.leaves[1] is None and deal.proofs[1] == []
    for i in (0, 2, 3):
        assert deal.leaves[i] == merkle.leaf(5, i + 1, deal.amounts[i], [10_000, 9_000, 5_000, 0][i], 5_000,
                                             [2_000, 1, 1_000, 9][i])
        assert merkle.verify(deal.proofs[i], deal.root, deal.leaves[i])


def test_settle__no_winner__zero_root_and_total():
    deal = oracle.settle(5, [1, 2], [False, False], [10_000, 10_000], [10_000, 10_000], [5, 5], 10**18, 60, 0)
    assert deal.root == ZERO32 and deal.total == 0 and deal.amounts == [0, 0]
    assert oracle.settle(5, [], [], [], [], [], 10**18, 60, 0) == oracle.Settlement([], [], [], ZERO32, 0)


def test_settle__one_winner__root_is_its_leaf():
    deal = oracle.settle(5, [1, 2], [False, True], [1, 2], [3, 4], [5, 6], 100, 2, 0)
    assert deal.root == deal.leaves[1] and deal.proofs[1] == [] and deal.amounts == [0, 100]


def test_settle__below_the_reference__each_unit_earns_emission_over_reference():
    """Under the reference a winner earns K × its contribution × emission / R, whoever else
    produced; the rest stays in the vault."""
    reference = pogg.reference_units(1)  # 1 kWh at full scores
    deal = oracle.settle(5, [1, 2], [True, True], [10_000, 10_000], [10_000, 10_000], [250_000, 500_000], 10**18, 1,
                         reference)
    assert deal.amounts == [10**18 // 4, 10**18 // 2] and deal.total == 3 * 10**18 // 4


# ------------------------------------------------------------------ store -> epoch data


def test_shape_epoch__from_the_store__window_counts_energy_and_readings():
    conn = store.open_store(":memory:")
    a, b = "0x" + "aa" * 20, "0x" + "bb" * 20

    def batch(device, epoch, seq, readings):
        return store.BatchRow(f"0x{device[2:6]}{epoch:060x}", device, 1, epoch, seq, "0x" + "00" * 32, 0, "0x",
                              1, "0x", 0, tuple(readings))

    rows = [
        batch(a, 1, 0, [(3_700, 1_000, 10), (4_000, 2_000, 30)]),
        batch(a, 3, 1, [(11_000, 3_000, 50)]),
        batch(b, 2, 0, [(7_300, 500, 7)]),  # b has no reading in epoch 3: not scored
        batch(b, 300, 1, [(1_080_100, 500, 9)]),  # after the epoch
    ]
    store.write_batches(conn, rows)
    data = oracle.read_epoch_data(conn, 3, window=3)
    assert [d.lower() for d in data.devices] == [a]  # checksummed
    assert data.n.tolist() == [1]
    assert data.n_per_epoch.tolist() == [[2, 0, 1]]  # epochs 1, 2, 3
    assert data.energy_mwh.tolist() == [[20, 0, 20]]  # epoch 1 from its first reading (seq 0), epoch 3
    assert data.ts.tolist() == [[11_000]] and data.power_mw.tolist() == [[3_000]]


def test_shape_epoch__epoch_before_a_full_window__zeros_in_front():
    conn = store.open_store(":memory:")
    data = oracle.read_epoch_data(conn, 2)
    assert data.devices == [] and data.n_per_epoch.shape == (0, pogg.WINDOW) and data.ts.shape == (0, 0)


# ------------------------------------------------------------------ the table


def test_build_table__rows_by_token_with_inputs_and_proofs(make_table, miners):
    table = make_table()
    assert [r.token_id for r in table.rows] == [1, 2, 3, 4, 5, 6]
    winners = [r for r in table.rows if r.winner]
    assert winners and len(winners) < 6  # K = 2 with this key and entropy
    assert table.total == sum(r.amount for r in table.rows) <= EMISSION
    assert all(r.amount == 0 and r.leaf is None for r in table.rows if not r.winner)
    for r in table.rows:
        assert r.a_bps == pogg.quantise_fraction(r.a) and 0 < r.a_bps <= 10_000
        assert r.q_bps == pogg.quantity_bps_of_sums([r.readings_window])[0]
        assert r.readings_window == 29 * 12 + 12
        assert r.point == pogg.ecdh_point(table.sk, miners[r.token_id - 1].pubkey)
    for r in winners:
        assert r.leaf == merkle.leaf(7, r.token_id, r.amount, r.a_bps, r.q_bps, r.v_mwh)
        assert merkle.verify(r.proof, table.root, r.leaf)


def test_build_table__no_winner__zero_root_everything_to_the_vault(make_table):
    table = make_table(k=10**9)
    assert not any(r.winner for r in table.rows)
    assert table.root == ZERO32 and table.total == 0


def test_table_json__round_trip_through_a_file(make_table, tmp_path):
    table = make_table()
    path = oracle.table_path(tmp_path, table.epoch)
    oracle.write_table(path, table)
    assert oracle.read_table(path) == table
    obj = json.loads(path.read_text())
    assert obj["sk"].startswith("0x") and len(obj["sk"]) == 66
    assert isinstance(obj["total"], str) and isinstance(obj["miners"][0]["amount"], str)
    assert set(obj["miners"][0]) >= {"token_id", "device", "owner", "n", "energy_mwh", "a", "checks", "a_bps",
                                     "q_bps", "v_mwh", "seed", "winner", "amount", "point", "proof"}
    assert obj["params"] == authenticity.ScoringParams()._asdict()
    assert obj["params_hash"] == "0x" + authenticity.params_hash(authenticity.ScoringParams()).hex()


@pytest.mark.parametrize("damage", ["not json", "{}", '{"format": "green-energy-miners/epoch-table/1"}'])
def test_read_table__damaged_file__one_line_error(tmp_path, damage):
    path = tmp_path / "epoch-1.json"
    path.write_text(damage)
    with pytest.raises(oracle.OracleError) as err:
        oracle.read_table(path)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ verification


def test_check_table__honest_table__no_problem(make_table, facts_of, miners):
    table = make_table()
    assert oracle.check_table(table, facts_of(table, miners)) == []


def test_check_table__no_winner_table__no_problem(make_table, facts_of, miners):
    table = make_table(k=10**9)
    assert oracle.check_table(table, facts_of(table, miners)) == []


def _first_winner(table):
    return next(i for i, r in enumerate(table.rows) if r.winner)


def _first_loser(table):
    return next(i for i, r in enumerate(table.rows) if not r.winner)


def _change_row(table, i, **fields):
    rows = list(table.rows)
    rows[i] = rows[i]._replace(**fields)
    return table._replace(rows=rows)


@pytest.mark.parametrize("alter, reason", [
    (lambda t: _change_row(t, _first_winner(t), amount=t.rows[_first_winner(t)].amount + 1), "amount"),
    (lambda t: _change_row(t, _first_winner(t), a=0.5), "a_bps"),
    (lambda t: _change_row(t, _first_loser(t), winner=True), "winner"),
    (lambda t: _change_row(t, 0, n=3), "N: table 3"),
    (lambda t: _change_row(t, 0, v_mwh=t.rows[0].energy_mwh + 1), "credits"),
    (lambda t: _change_row(t, 0, readings_window=1), "q_bps"),
    (lambda t: _change_row(t, 0, point=(1, 2)), "point"),
    (lambda t: _change_row(t, _first_winner(t), proof=[b"\x01" * 32]), "proof does not reach"),
    (lambda t: t._replace(rows=t.rows[1:]), "missing from the table"),
    (lambda t: t._replace(sk=t.sk + 1), "sk"),
    (lambda t: t._replace(emission=1), "emission"),
    (lambda t: t._replace(params=t.params._replace(lone_bps=0)), "scoring parameters' hash"),
], ids=["amount", "a", "winner", "n", "credited", "readings", "point", "proof", "missing", "sk", "emission", "params"])
def test_check_table__altered_table__reported(make_table, facts_of, miners, alter, reason):
    table = make_table()
    problems = oracle.check_table(alter(table), facts_of(table, miners))
    assert any(reason in p for p in problems), problems
    assert all("\n" not in p for p in problems)


@pytest.mark.parametrize("chain, reason", [
    (dict(root=b"\x01" * 32), "posted root"),
    (dict(total=1), "posted total"),
    (dict(posted=False), "no posted root"),
    (dict(sk=0), "not revealed"),
    (dict(entropy=b"\x00" * 32), "entropy"),
    (dict(k=3), "K"),
])
def test_check_table__chain_disagrees__reported(make_table, facts_of, miners, chain, reason):
    table = make_table()
    problems = oracle.check_table(table, facts_of(table, miners, **chain))
    assert any(reason in p for p in problems), problems


def test_check_table__miner_with_n_on_chain_left_out__reported(make_table, facts_of, miners):
    table = make_table(who=[0, 1, 2])
    facts = facts_of(table, miners)
    facts.counts[5] = 4
    assert "token 5: N = 4 on chain, missing from the table" in oracle.check_table(table, facts)


def test_check_table__an_honest_miner_silenced__amounts_differ(make_table, facts_of, miners):
    """Dropping a winner is caught from the chain's counts; below the reference energy the
    others' amounts do not depend on it (a rate per mWh), the total and root do."""
    table = make_table()
    full = facts_of(table, miners)
    w = _first_winner(table)
    rows = [r for i, r in enumerate(table.rows) if i != w]
    dropped = table.rows[w].token_id
    problems = oracle.check_table(table._replace(rows=rows), full)
    assert f"token {dropped}: N = 12 on chain, missing from the table" in problems
    assert not any("amount" in p for p in problems)
    assert any(p.startswith("root: table") for p in problems) and any(p.startswith("total: table") for p in problems)


def test_synthetic_epoch__authenticity_high_for_similar_neighbours(make_table):
    table = make_table()
    assert min(r.a for r in table.rows) > 0.99
    assert np.all([r.v_mwh > 0 for r in table.rows])
