"""
The gateway against the MeasurementRegistry on ape's embedded chain: real HTTP on
127.0.0.1, the relay's submit_many in-process, outcomes, and restarts.
"""

import asyncio
import json

import aiohttp
import pytest

from offchain.gateway import ApeRegistry, Gateway, _parse_batch, _struct, start
from offchain.index import store
from offchain.index.indexer import get_batches
from offchain.protocol.batch import digest_of


@pytest.fixture
def client(registry, relayer):
    return ApeRegistry(registry, relayer)


async def _serve_and_post(gateway, batches):
    """Serve on 127.0.0.1 with the relay running, post, wait for the outcomes, read them over HTTP."""
    runner = await start(gateway, host="127.0.0.1", port=0)
    try:
        host, port = runner.addresses[0][:2]
        assert host == "127.0.0.1"
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as session:
            async with session.post("/batches", data=json.dumps({"batches": batches})) as r:
                posted = (r.status, await r.json())
            digests = [b["digest"] for b in posted[1]["batches"]]
            for _ in range(500):  # the relay runs every `interval`
                await asyncio.sleep(0.02)
                states = []
                for d in digests:
                    async with session.get(f"/batches/{d}") as r:
                        states.append(await r.json())
                if all(s["status"] != "pending" for s in states):
                    break
            async with session.get("/health") as r:
                health = await r.json()
        return posted, states, health
    finally:
        await runner.cleanup()


def test_http_round_trip__relayed_and_accepted_on_chain(admit, end_of, client, gateway_on, registry):
    a, b = admit(1), admit(2)
    batches = [a.sign(0), b.sign(0)]
    end_of(0)
    gateway = gateway_on(client, interval=0.05)
    (status, answer), states, health = asyncio.run(_serve_and_post(gateway, batches))
    assert status == 202 and [x["status"] for x in answer["batches"]] == ["pending", "pending"]
    assert [s["status"] for s in states] == ["accepted", "accepted"]
    assert states[0]["tx_hash"] == states[1]["tx_hash"]  # one submit_many
    assert health == {"ok": True, "queue": {"accepted": 2}}
    assert registry.device_state(a.address)[2] == 1 and registry.device_state(b.address)[2] == 1
    on_chain = get_batches(registry, 0, registry.chain_manager.blocks.height)
    assert {r.batch_hash for r in on_chain} == {s["digest"] for s in states}


def test_digest__gateway_equals_registry_batch_digest(admit, registry, client):
    device = admit(1)
    batch = _parse_batch(device.sign(0))
    components = registry.submit_many.abis[0].inputs[0].components
    assert bytes(registry.batch_digest(_struct(components, batch))) == digest_of(client.domain_separator(), batch)


def test_restart__pending_batches_survive_and_are_relayed(admit, end_of, client, http, tmp_path, registry):
    path = tmp_path / "gateway.sqlite"
    device = admit(1)
    first = Gateway(store.open_store(path), client)
    ((status, _),) = http(first, [("POST", "/batches", device.sign(0))])
    assert status == 202
    first.close()
    first.conn.close()  # the process dies before relaying

    end_of(0)
    conn = store.open_store(path)
    second = Gateway(conn, client)
    try:
        assert asyncio.run(second.relay_all()) == 1
    finally:
        second.close()
    entry = store.read_queued(conn, device.prev)
    assert entry.status == "accepted" and entry.tx_hash.startswith("0x")
    assert bytes(registry.device_state(device.address)[3]).hex() == device.prev[2:]


def test_relay__skipped_on_chain__records_the_registry_reason(admit, end_of, client, gateway_on, http, chain, mem_store):
    device = admit(1)
    batch = device.sign(0)
    end_of(0)
    gateway = gateway_on(client)
    http(gateway, [("POST", "/batches", batch)])
    chain.pending_timestamp += 3 * 3_600  # the grace period ends before the relay sends it
    chain.mine()
    assert asyncio.run(gateway.relay_once()) == 1
    entry = store.read_queued(mem_store, device.prev)
    assert (entry.status, entry.reason) == ("skipped", "registry: epoch closed")


def test_relay__accepted_before_a_crash__recorded_as_accepted(admit, end_of, client, gateway_on, http, mem_store):
    device = admit(1)
    batch = device.sign(0)
    end_of(0)
    gateway = gateway_on(client)
    http(gateway, [("POST", "/batches", batch)])
    sent = client.submit_many([_parse_batch(batch)])  # sent, then the gateway died unrecorded
    assert asyncio.run(gateway.relay_once()) == 1  # re-sent: skipped as "bad seq", found on chain
    entry = store.read_queued(mem_store, device.prev)
    assert (entry.status, entry.tx_hash) == ("accepted", sent.tx_hash)


def test_relay__device_batches_of_consecutive_epochs__accepted_in_order(admit, end_of, client, gateway_on, http,
                                                                        registry, mem_store):
    device = admit(1)
    gateway = gateway_on(client)
    for epoch in range(3):
        end_of(epoch)
        http(gateway, [("POST", "/batches", device.sign(epoch))])
        assert asyncio.run(gateway.relay_once()) == 1
    assert store.read_queue_counts(mem_store) == {"accepted": 3}
    assert registry.device_state(device.address)[2] == 3
    assert registry.legal_count(device.address, 2) == 12


def test_post__after_chain_state__continues_it(admit, end_of, client, gateway_on, http):
    device = admit(1)
    end_of(0)
    gateway = gateway_on(client)
    http(gateway, [("POST", "/batches", device.sign(0))])
    asyncio.run(gateway.relay_once())
    replay = device.sign(1, seq=0, prev="0x" + "00" * 32)
    ((status, answer),) = http(gateway, [("POST", "/batches", replay)])
    assert (status, answer) == (409, {"error": "seq: 0 already used, next is 1"})


def test_post__first_batch_below_the_enrollment_total__refused(admit, end_of, client, gateway_on, http, registry):
    """The gateway holds a device's first batch to the registry's rule: it continues from the
    device's enrollment (its total and time), not from zero at genesis."""
    device = admit(1, start_total=9_000_000)
    assert registry.device_state(device.address)[:3] == (9_000_000, registry.genesis(), 0)
    end_of(0)
    gateway = gateway_on(client)
    readings = device.readings(0)
    low = [[ts, p, total - 9_000_000] for ts, p, total in readings]
    ((status, answer),) = http(gateway, [("POST", "/batches", device.sign(0, readings=low, advance=False))])
    assert (status, answer) == (409, {"error": "readings[0]: total below the device's last total"})
    ((status, _),) = http(gateway, [("POST", "/batches", device.sign(0, readings=readings))])
    assert status == 202


def test_limits__read_once_a_block__a_change_seen_in_its_block(client, registry, deployer, chain):
    target, margin = client.pow_target(), client.capacity_margin_bps()
    assert (target, margin) == (registry.pow_target(), registry.capacity_margin_bps())
    kept = client._limits
    assert client.pow_target() == target and client._limits is kept  # the same block: not read again
    registry.set_pow_target(target // 2, sender=deployer)
    assert client.pow_target() == target // 2 and client.capacity_margin_bps() == margin
    registry.set_capacity_margin_bps(margin + 1_000, sender=deployer)
    assert client.capacity_margin_bps() == margin + 1_000
