"""
The energy market as an auditor reads it: nodes, parity, the pool, deliveries to pay.

``get_*`` read the chain through ape contract instances (StorageNode, EnergyToken,
LiquidityPool, PaymentDesk); the unit conversions are pure. Units: energy in mWh (1 ENERGY
base unit), DECA in wei, prices in DECA wei per mWh × 1e18 (as the contracts keep them).
"""

from typing import NamedTuple

PRICE_SCALE = 10**18
MWH_PER_KWH = 10**6
DECA_WEI = 10**18
CREDITED = 1  # a delivery's status while it is payable
PAYMENT_STATUS = {1: "pending", 2: "approved", 3: "rejected"}
REQUEST_STATUS = {1: "open", 2: "filled", 3: "cancelled"}  # StorageNode energy requests
HARDWARE_STATUS = {1: "active", 2: "suspended", 3: "revoked"}  # MinerSBT, as the review shows it


class NodeState(NamedTuple):
    """One storage node: energy [mWh] held, tokenized (backing ENERGY) and unpaid."""

    node: int
    meter: str
    capacity_mwh: int
    lat_udeg: int
    lon_udeg: int
    active: bool
    stored_mwh: int
    tokenized_mwh: int
    unpaid_mwh: int


class Parity(NamedTuple):
    """Every node's stored = tokenized + unpaid, and Σ tokenized = ENERGY supply."""

    nodes: list
    tokenized_mwh: int
    unpaid_mwh: int
    supply_mwh: int

    @property
    def nodes_hold(self):
        """Every node: stored = tokenized + unpaid ≤ capacity."""
        return all(n.stored_mwh == n.tokenized_mwh + n.unpaid_mwh <= n.capacity_mwh for n in self.nodes)

    @property
    def holds(self):
        return self.nodes_hold and self.tokenized_mwh == self.supply_mwh


def deca_per_kwh(price):
    """A contract price [DECA wei per mWh × 1e18] in DECA per kWh (float, for display)."""
    return price * MWH_PER_KWH / PRICE_SCALE / DECA_WEI


def get_nodes(storage):
    """Every registered node's state."""
    nodes = []
    for node in range(1, storage.node_count() + 1):
        n = storage.nodes(node)
        nodes.append(NodeState(node, n.meter, n.capacity_mwh, n.lat_udeg, n.lon_udeg, n.active,
                               storage.stored_mwh(node), n.tokenized_mwh, n.unpaid_mwh))
    return nodes


def get_parity(storage, energy):
    """The parity of the nodes and the ENERGY supply, read from the chain."""
    nodes = get_nodes(storage)
    return Parity(nodes, sum(n.tokenized_mwh for n in nodes), sum(n.unpaid_mwh for n in nodes),
                  energy.totalSupply())


def get_credited_deliveries(storage, token_id, start_block, period_start=0, period_end=2**64 - 1):
    """Keys of a miner's deliveries that are still credited (payable), inside a period [s].

    Reads the StorageNode's ``Delivered`` events from ``start_block`` and each delivery's
    current status.
    """
    logs = storage.Delivered.range(start_block, storage.chain_manager.blocks.head.number + 1,
                                   search_topics={"token_id": token_id})
    keys = []
    for log in logs:
        d = storage.delivery(log.key)
        if d.status == CREDITED and period_start <= d.period_start and d.period_end <= period_end:
            keys.append(log.key)
    return keys
