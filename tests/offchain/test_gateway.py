"""
The gateway's HTTP side against a fake registry client, over real HTTP on 127.0.0.1:
every refusal has its exact one-line reason and queues nothing.
"""

import asyncio
import json

import pytest

from greenminer.batch import sign_batch
from offchain.gateway import Refusal, _parse_batch, _parse_request
from offchain.index import store
from offchain.protocol.batch import digest_of, meets_target

EPOCH = 3_600


def _queued(conn):
    return conn.execute("SELECT COUNT(*) FROM gateway_queue").fetchone()[0]


@pytest.fixture
def gateway(gateway_on, fake_chain):
    return gateway_on(fake_chain)


@pytest.fixture
def refused(gateway, http, mem_store):
    """``refused(body)`` -> (status, error) of a refused POST /batches; checks nothing was queued."""

    def post(body):
        ((status, answer),) = http(gateway, [("POST", "/batches", body)])
        assert set(answer) == {"error"}
        assert _queued(mem_store) == 0
        return status, answer["error"]

    return post


def test_post__bad_json__400_with_reason(refused):
    assert refused(b"{not json") == (400, "body is not valid JSON")
    assert refused(b'{"seq": NaN}') == (400, "body is not valid JSON")


def test_post__not_an_object__400_with_reason(refused):
    assert refused([1, 2]) == (400, 'expected a batch object or {"batches": [...]}')


def test_post__missing_field__400_with_reason(refused, fake_device):
    batch = fake_device.sign(0)
    del batch["pow_nonce"]
    assert refused(batch) == (400, "pow_nonce: missing")


def test_post__unknown_field__400_with_reason(refused, fake_device):
    assert refused({**fake_device.sign(0), "note": 1}) == (400, "note: unknown field")


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("device", "0x1234", "device: expected 0x and 40 hex digits"),
        ("prev_batch", "0x" + "00" * 31, "prev_batch: expected 0x and 64 hex digits"),
        ("signature", "0x" + "11" * 64, "signature: expected 0x and 130 hex digits"),
        ("signature", "11" * 65, "signature: expected 0x and 130 hex digits"),
        ("prev_batch", "0x" + "zz" * 32, "prev_batch: expected 0x and 64 hex digits"),
    ],
)
def test_post__wrong_hex_length__400_with_reason(refused, fake_device, field, value, reason):
    assert refused({**fake_device.sign(0), field: value}) == (400, reason)


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("seq", "3", "seq: expected an integer"),
        ("seq", 1.0, "seq: expected an integer"),
        ("epoch", True, "epoch: expected an integer"),
        ("epoch", -1, "epoch: out of range"),
        ("pow_nonce", 2**256, "pow_nonce: out of range"),
    ],
)
def test_post__wrong_type_or_range__400_with_reason(refused, fake_device, field, value, reason):
    assert refused({**fake_device.sign(0), field: value}) == (400, reason)


def test_post__13_readings__400_with_reason(refused, fake_device):
    batch = fake_device.sign(0)
    batch["readings"] = batch["readings"] + [[batch["readings"][-1][0] + 1, 0, batch["readings"][-1][2]]]
    assert refused(batch) == (400, "readings: expected 1 to 12 [timestamp, power, total] triples")
    assert refused({**batch, "readings": []}) == (400, "readings: expected 1 to 12 [timestamp, power, total] triples")


def test_post__bad_triple__400_with_reason(refused, fake_device):
    batch = fake_device.sign(0)
    batch["readings"][3] = [1, 2]
    assert refused(batch) == (400, "readings[3]: expected [timestamp s, power mW, total mWh]")
    batch["readings"][3] = [1, 2, 2**128]
    assert refused(batch) == (400, "readings[3] total: out of range")


def test_post__forged_signature__403_with_reason(refused, fake_device, eip712):
    forged = fake_device.sign(0, key=eip712.secret(99))
    assert refused(forged) == (403, "signature: not signed by device")


def test_post__tampered_reading__403_with_reason(refused, fake_device, fake_chain):
    fake_chain.target = 2**256 - 1  # any nonce: the signature is what fails
    batch = fake_device.sign(0)
    batch["readings"][0][1] += 1  # the signature no longer covers the readings
    assert refused(batch) == (403, "signature: not signed by device")


def test_post__high_s_signature__403_with_reason(refused, fake_device):
    batch = fake_device.sign(0)
    sig = bytes.fromhex(batch["signature"][2:])
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (n - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big")
    batch["signature"] = "0x" + (sig[:32] + high_s + bytes([55 - sig[64]])).hex()
    assert refused(batch) == (403, "signature: invalid")


def test_post__unknown_device__403_with_reason(refused, make_device):
    stranger = make_device(7)
    assert refused(stranger.sign(0)) == (403, "device: unknown to the SBT")


def test_post__suspended_device__403_with_reason(refused, fake_device, fake_chain):
    fake_chain.devices[fake_device.address] = (1, 5_000, 2)
    assert refused(fake_device.sign(0)) == (403, "device: not active")


def test_post__replayed_seq__409_with_reason(refused, fake_device, fake_chain):
    first = fake_device.sign(0)
    fake_chain.submit_many([_batch(first)])  # the chain accepted seq 0
    replay = fake_device.sign(1, seq=0, prev="0x" + "00" * 32)
    assert refused(replay) == (409, "seq: 0 already used, next is 1")


def test_post__seq_skips_ahead__409_with_reason(refused, fake_device):
    assert refused(fake_device.sign(0, seq=2)) == (409, "seq: 2 skips ahead, next is 0")


def test_post__wrong_prev_batch__409_with_reason(refused, fake_device):
    assert refused(fake_device.sign(0, prev="0x" + "22" * 32)) == (
        409, "prev_batch: does not continue the device's last batch")


def test_post__second_batch_for_an_epoch__409_with_reason(refused, fake_device, fake_chain):
    fake_chain.submit_many([_batch(fake_device.sign(0, readings=fake_device.readings(0, n=6)))])
    late = [[ts + 1_800, p, t] for ts, p, t in fake_device.readings(0, n=6)]
    assert refused(fake_device.sign(0, readings=late)) == (
        409, "epoch: the device already has a batch for epoch 0 or later")


def test_post__weak_proof_of_work__400_with_reason(refused, fake_device, fake_chain):
    batch = fake_device.sign(0, advance=False)
    for nonce in range(1_000):  # a nonce that misses the target, signed all the same
        candidate = fake_device.sign(0, nonce=nonce, advance=False)
        digest = _digest(fake_chain, candidate)
        if not meets_target(digest, nonce, fake_chain.target):
            batch = candidate
            break
    assert refused(batch) == (400, "pow_nonce: does not meet the target")


def test_post__timestamp_outside_epoch__400_with_reason(refused, fake_device):
    readings = fake_device.readings(1)
    assert refused(fake_device.sign(0, readings=readings)) == (400, "readings[0]: timestamp outside epoch 0")


def test_post__power_above_capacity__400_with_reason(refused, fake_device):
    readings = fake_device.readings(0, n=2, power=1_000)
    readings[1][1] = 5_000 * 1_000 * 2  # 200 % of 5 kWp; the margin is 150 %
    assert refused(fake_device.sign(0, readings=readings)) == (400, "readings[1]: power above the device's capacity")


def test_post__several__one_bad__nothing_queued(refused, fake_device, make_device):
    good = fake_device.sign(0)
    bad = make_device(8).sign(0)
    assert refused({"batches": [good, bad]}) == (403, "batches[1].device: unknown to the SBT")


def test_post__one_batch__202_pending_then_status(gateway, http, fake_device, mem_store):
    batch = fake_device.sign(0)
    (status, answer), (status2, state), (status3, again) = http(gateway, [
        ("POST", "/batches", batch),
        ("GET", f"/batches/{fake_device.prev}", None),
        ("POST", "/batches", batch),  # a device retrying: answered, not queued twice
    ])
    assert (status, answer) == (202, {"digest": fake_device.prev, "status": "pending"})
    assert status2 == 200 and state["status"] == "pending" and state["seq"] == 0 and state["device"] == batch["device"]
    assert (status3, again) == (200, {**answer, "duplicate": True})
    assert _queued(mem_store) == 1


def test_post__chain_of_batches_in_one_request__all_queued(gateway, http, fake_device, mem_store):
    batches = [fake_device.sign(e) for e in range(3)]
    ((status, answer),) = http(gateway, [("POST", "/batches", {"batches": batches})])
    assert status == 202
    assert [b["status"] for b in answer["batches"]] == ["pending"] * 3
    assert [q.seq for q in store.read_queue(mem_store)] == [0, 1, 2]


def test_post__continues_the_queue_not_only_the_chain(gateway, http, fake_device):
    first = fake_device.sign(0)
    after_first = fake_device.prev
    second = fake_device.sign(1)
    rival = fake_device.sign(2, seq=1, prev=after_first)  # another seq 1, the queue holds one
    (s1, _), (s2, _), (s3, a3) = http(gateway, [
        ("POST", "/batches", first),
        ("POST", "/batches", second),
        ("POST", "/batches", rival),
    ])
    assert (s1, s2) == (202, 202)
    assert (s3, a3) == (409, {"error": "seq: 1 already used, next is 2"})


def test_post__lowercase_device_address__accepted(gateway, http, fake_device):
    batch = fake_device.sign(0)
    batch["device"] = batch["device"].lower()
    ((status, _),) = http(gateway, [("POST", "/batches", batch)])
    assert status == 202


def test_post__bad_checksum__400_with_reason(refused, fake_device):
    batch = fake_device.sign(0)
    address = batch["device"]
    flipped = address[:2] + "".join(c.swapcase() if c.isalpha() else c for c in address[2:])
    assert refused({**batch, "device": flipped}) == (400, "device: bad checksum")


def test_get__unknown_or_malformed_digest__json_errors(gateway, http):
    (s1, a1), (s2, a2), (s3, a3), (s4, a4) = http(gateway, [
        ("GET", "/batches/0x" + "00" * 32, None),
        ("GET", "/batches/0x12", None),
        ("GET", "/nowhere", None),
        ("PUT", "/batches", b"{}"),
    ])
    assert (s1, a1) == (404, {"error": "unknown batch"})
    assert (s2, a2) == (400, {"error": "digest: expected 0x and 64 hex digits"})
    assert (s3, a3) == (404, {"error": "not found"})
    assert (s4, a4) == (405, {"error": "method not allowed"})


def test_post__body_too_large__413_json(refused):
    status, reason = refused(b"[" + b" " * (300 * 1024) + b"]")
    assert status == 413 and reason.startswith("request entity too large")


def test_health__reports_the_queue(gateway, http, fake_device):
    (_, _), (status, health) = http(gateway, [("POST", "/batches", fake_device.sign(0)), ("GET", "/health", None)])
    assert (status, health) == (200, {"ok": True, "queue": {"pending": 1}})


def test_relay_once__sends_pending_and_records_accepted(gateway, http, fake_device, fake_chain, mem_store):
    http(gateway, [("POST", "/batches", {"batches": [fake_device.sign(0), fake_device.sign(1)]})])
    assert asyncio.run(gateway.relay_once()) == 2
    assert len(fake_chain.submitted) == 1 and [b.seq for b in fake_chain.submitted[0]] == [0, 1]
    assert store.read_queue_counts(mem_store) == {"accepted": 2}
    assert store.read_queued(mem_store, fake_device.prev).tx_hash == "0x" + "cd" * 32


def test_relay_once__reverting_chain__retries_then_failed(gateway, http, fake_device, fake_chain, mem_store):
    def revert(batches):
        raise RuntimeError("registry: out of gas\nmore lines")

    fake_chain.submit_many = revert
    http(gateway, [("POST", "/batches", fake_device.sign(0))])
    for _ in range(3):
        asyncio.run(gateway.relay_once())
    entry = store.read_queued(mem_store, fake_device.prev)
    assert (entry.status, entry.reason, entry.attempts) == ("failed", "registry: out of gas", 3)


def test_parse_request__more_than_64__refused(fake_device):
    batch = fake_device.sign(0)
    with pytest.raises(Refusal, match="batches: expected a list of 1 to 64 batches"):
        _parse_request(json.dumps({"batches": [batch] * 65}))



def _batch(obj):
    return _parse_batch(obj)


def _digest(fake_chain, obj):
    return digest_of(fake_chain.separator, _batch(obj))


def test_post__batch_signed_by_the_device_code__accepted(gateway, http, fake_chain, eip712, mem_store):
    secret = eip712.secret(5)
    device = eip712.address(secret)
    fake_chain.devices[device] = (5, 5_000, 1)
    readings = [(fake_chain.genesis() + 300 * k + 10, 1_500_000, 125 * (k + 1)) for k in range(12)]
    batch, digest = sign_batch(int.from_bytes(secret, "big"), fake_chain.chain_id, fake_chain.address, 0, 0,
                               readings, bytes(32), fake_chain.target)
    ((status, answer),) = http(gateway, [("POST", "/batches", batch)])
    assert (status, answer) == (202, {"digest": "0x" + bytes(digest).hex(), "status": "pending"})


@pytest.mark.parametrize("domain", ["other-chain", "other-registry"])
def test_post__signed_for_another_domain__refused_and_the_queue_kept(
    gateway, http, fake_device, fake_chain, make_device, mem_store, domain
):
    """The same admitted device key, its next batch signed for another chain id or another
    registry address: under the gateway's domain separator it is another digest. The gateway
    checks the proof of work (cheap) before the signature, and the nonce was searched for the
    foreign digest, so at a real target it is usually refused for its proof (400); when the nonce
    happens to pass, or at a target any nonce meets, for its signature (403)."""
    first = fake_device.sign(0)
    kwargs = {"chain_id": fake_chain.chain_id + 1} if domain == "other-chain" else {"registry": "0x" + "cd" * 20}
    twin = make_device(1, genesis=fake_chain.genesis(), **kwargs)  # key index 1, as fake_device
    assert twin.address == fake_device.address
    twin.seq, twin.prev, twin.total = fake_device.seq, fake_device.prev, fake_device.total
    foreign = twin.sign(1)
    ((s1, a1),) = http(gateway, [("POST", "/batches", first)])
    assert (s1, a1) == (202, {"digest": fake_device.prev, "status": "pending"})

    pow_passes = meets_target(_digest(fake_chain, foreign), foreign["pow_nonce"], fake_chain.target)
    expected = (403, "signature: not signed by device") if pow_passes else (400, "pow_nonce: does not meet the target")
    ((s2, a2),) = http(gateway, [("POST", "/batches", foreign)])
    assert (s2, a2) == (expected[0], {"error": expected[1]})

    fake_chain.target = 2**256 - 1  # any nonce: the signature is what fails
    (s3, a3), (s4, a4) = http(gateway, [("POST", "/batches", foreign), ("POST", "/batches", {"batches": [foreign]})])
    assert (s3, a3) == (403, {"error": "signature: not signed by device"})
    assert (s4, a4) == (403, {"error": "batches[0].signature: not signed by device"})
    assert [(q.seq, q.batch_hash) for q in store.read_queue(mem_store)] == [(0, fake_device.prev)]
    assert store.read_queue_counts(mem_store) == {"pending": 1}
