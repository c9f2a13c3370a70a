"""State for the DAO member's and the market's command tests, built on the system `ape run deploy` made:
a miner admitted and a storage node registered by ballot, deliveries signed as the demo signs them,
one payment approved by ballot (so ENERGY exists and the pool is seeded), one left pending, and a
buyer holding ENERGY."""

from types import SimpleNamespace

from cli_kit import address_of

from greenminer import meter
from offchain.governance import call
from offchain.protocol.enroll import send_application
from testbed import simulator
from testbed.demo_market import METER_SEED, _sign
from testbed.localchain import pass_proposal

DEVICE_SEED = "cli-tests"
NODE_CAPACITY = 5_000_000  # mWh
HOUR = 3_600


def ballot(chain, system, members, calls, description="test ballot"):
    """Propose, vote, queue and execute `calls` (the clock moved through the ballot)."""
    return pass_proposal(chain, system.dao, members, list(calls), description)


def deliver(chain, system, miner, device_priv, node, delivery_id, sent, received, start, end):
    """Record a delivery into `node`, both statements signed; returns its key."""
    storage = system.storage
    device = address_of(device_priv)
    meter_priv = simulator.device_key(METER_SEED, node - 1)
    statement = (node, delivery_id, device, start, end)
    tx = storage.record_delivery(
        *statement,
        sent, _sign(device_priv, chain, storage, *statement, sent, meter.SENT),
        received, _sign(meter_priv, chain, storage, *statement, received, meter.RECEIVED),
        sender=miner,
    )
    return tx.decode_logs(storage.Delivered)[0].key


def request_payment(chain, system, miner, token, keys):
    end = chain.pending_timestamp
    tx = system.desk.request_payment(token, end - 30 * 86_400, end, keys, sender=miner)
    return tx.decode_logs(system.desk.PaymentRequested)[0].request_id


def build_market(chain, system, members, miner, buyer):
    """Miner admitted, node 1 registered, payment request 1 approved (ENERGY exists, the pool seeded),
    request 2 pending, the buyer holding ENERGY (half the miner's LP shares taken out to it)."""
    sbt, storage, desk, pool = system.sbt, system.storage, system.desk, system.pool
    device_priv = simulator.device_key(DEVICE_SEED, 0)
    send_application(chain, sbt, miner, device_priv, 4_200, 39_742_000, -105_178_000, "ipfs://miner")
    meter_address = address_of(simulator.device_key(METER_SEED, 0))
    ballot(chain, system, members, [call(sbt.approve_application, sbt.application_count()),
                                    call(storage.register_node, meter_address, NODE_CAPACITY, 39_744_100,
                                         -105_176_300)], "admit a miner, register node 1")
    token = sbt.token_of_device(address_of(device_priv))
    end = chain.pending_timestamp - 60
    first = deliver(chain, system, miner, device_priv, 1, 1, 1_000_000, 960_000, end - 2 * HOUR, end - HOUR)
    second = deliver(chain, system, miner, device_priv, 1, 2, 500_000, 480_000, end - HOUR, end)
    paid = request_payment(chain, system, miner, token, [first])
    ballot(chain, system, members, [call(desk.approve, paid, desk.review(paid).price)], "pay request 1")
    pending = request_payment(chain, system, miner, token, [second])
    shares = pool.balanceOf(miner) // 2
    pool.remove_liquidity(shares, 0, 0, buyer, chain.pending_timestamp + 600, sender=miner)
    return SimpleNamespace(token=token, device_priv=device_priv, node=1, paid=paid, pending=pending,
                           deliveries=(first, second))


def fill(chain, system, request_id, delivered, sender):
    """The node's meter fills an energy request with `delivered` mWh (`sender` relays its statement)."""
    storage = system.storage
    r = storage.requests(request_id)
    period = (r.created, chain.pending_timestamp - 1)
    sig = _sign(simulator.device_key(METER_SEED, r.node - 1), chain, storage, r.node, request_id, r.buyer, *period,
                delivered, meter.DELIVERED_OUT)
    return storage.fill(request_id, delivered, *period, sig, sender=sender)
