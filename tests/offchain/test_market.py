"""offchain.market: the parity an auditor checks, and price display."""

import pytest

from offchain.market import NodeState, Parity, deca_per_kwh


def _node(stored, tokenized, unpaid, capacity=10_000):
    return NodeState(1, "0x" + "11" * 20, capacity, 0, 0, True, stored, tokenized, unpaid)


@pytest.mark.parametrize("nodes, supply, holds", [
    ([_node(700, 500, 200), _node(300, 300, 0)], 800, True),
    ([_node(700, 500, 200)], 501, False),  # ENERGY without tokenized energy behind it
    ([_node(700, 500, 100)], 500, False),  # a node's stored energy not accounted for
    ([_node(12_000, 12_000, 0)], 12_000, False),  # over capacity
    ([], 0, True),
])
def test_parity__holds_only_when_nodes_and_supply_agree(nodes, supply, holds):
    p = Parity(nodes, sum(n.tokenized_mwh for n in nodes), sum(n.unpaid_mwh for n in nodes), supply)
    assert p.holds is holds


def test_deca_per_kwh__one_deca_per_kwh_is_1e30():
    assert deca_per_kwh(10**30) == 1.0
    assert deca_per_kwh(25 * 10**28) == 0.25
