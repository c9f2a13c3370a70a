"""The indexer against the MeasurementRegistry on ape's embedded chain: follow, rebuild, verify."""

import pytest

from offchain.gateway import ApeRegistry, _parse_batch
from offchain.index import indexer, store


@pytest.fixture
def client(registry, sbt, relayer):
    return ApeRegistry(registry, sbt, relayer)


@pytest.fixture
def anchor(admit, end_of, client):
    """``anchor(epochs)``: two devices each anchor one batch per epoch; returns the accepted digests."""
    devices = []

    def run(epochs):
        if not devices:
            devices.extend([admit(1), admit(2)])
        digests = []
        for epoch in epochs:
            end_of(epoch)
            result = client.submit_many([_parse_batch(d.sign(epoch)) for d in devices])
            assert not result.skipped
            digests += ["0x" + bytes(h).hex() for h in result.accepted]
        return digests

    run.devices = devices
    return run


def test_follow__stores_every_accepted_batch(anchor, registry, mem_store):
    digests = anchor(range(3))
    assert indexer.follow(registry, mem_store) == 6
    rows = store.read_batches(mem_store)
    assert {r.batch_hash for r in rows} == set(digests)
    assert rows == sorted(indexer.get_batches(registry, 0, registry.chain_manager.blocks.height),
                          key=lambda r: (r.device, r.seq))
    counts = store.read_epoch_counts(mem_store, 0, 3)
    for device, epoch, n in zip(counts.device, counts.epoch, counts.n):
        assert n == registry.legal_count(device, int(epoch)) == 12
    readings = store.read_readings(mem_store, 0, 3)
    assert len(readings.ts) == 72
    device = anchor.devices[0]
    assert int(readings.total_mwh[readings.device == device.address][-1]) == registry.device_state(device.address)[0]


def test_follow__again__resumes_without_duplicates(anchor, registry, mem_store, chain):
    anchor([0])
    assert indexer.follow(registry, mem_store) == 2
    assert indexer.follow(registry, mem_store) == 0
    assert int(store.read_meta(mem_store, indexer.KEY_LAST_BLOCK)) == chain.blocks.height
    anchor([1, 2])
    assert indexer.follow(registry, mem_store) == 4
    assert store.read_batch_count(mem_store) == 6
    assert indexer.verify(registry, mem_store) == []


def test_follow__in_steps_of_one_block__same_index(anchor, registry, mem_store, tmp_path):
    anchor(range(2))
    indexer.follow(registry, mem_store, step=1)
    other = store.open_store(tmp_path / "other.sqlite")
    indexer.follow(registry, other, step=10_000)
    assert store.read_batches(mem_store) == store.read_batches(other)
    other.close()


def test_follow__confirmations__leave_the_newest_blocks(anchor, registry, mem_store, chain):
    anchor([0])
    indexer.follow(registry, mem_store, confirmations=chain.blocks.height + 1)
    assert store.read_batch_count(mem_store) == 0


def test_follow__store_of_another_registry__refused(anchor, registry, mem_store):
    anchor([0])
    store.write_meta(mem_store, {indexer.KEY_REGISTRY: "0x" + "12" * 20})
    with pytest.raises(ValueError, match="rebuild it"):
        indexer.follow(registry, mem_store)


def test_verify__faithful_store__no_differences(anchor, registry, mem_store):
    anchor(range(2))
    indexer.follow(registry, mem_store)
    assert indexer.verify(registry, mem_store) == []


def test_verify__tampered_reading__mismatched(anchor, registry, mem_store):
    anchor([0])
    indexer.follow(registry, mem_store)
    (victim,) = mem_store.execute("SELECT batch_hash FROM batches ORDER BY batch_hash LIMIT 1").fetchone()
    mem_store.execute("UPDATE readings SET power_mw = power_mw + 1 WHERE batch_hash = ? AND ts = "
                      "(SELECT MIN(ts) FROM readings WHERE batch_hash = ?)", (victim, victim))
    diffs = indexer.verify(registry, mem_store)
    assert {(d.kind, d.batch_hash, d.detail.split(":")[0]) for d in diffs} == {
        ("mismatched", victim, "digest"),
        ("mismatched", victim, "signature"),
        ("mismatched", victim, "readings"),
    }


def test_verify__missing_and_extra_batches__reported(anchor, registry, mem_store):
    anchor([0])
    indexer.follow(registry, mem_store)
    gone, kept = [r[0] for r in mem_store.execute("SELECT batch_hash FROM batches ORDER BY batch_hash")]
    (device,) = mem_store.execute("SELECT device FROM batches WHERE batch_hash = ?", (gone,)).fetchone()
    mem_store.execute("DELETE FROM batches WHERE batch_hash = ?", (gone,))
    mem_store.execute("DELETE FROM readings WHERE batch_hash = ?", (gone,))
    mem_store.execute("DELETE FROM epochs WHERE device = ?", (device,))
    extra = "0x" + "ee" * 32
    mem_store.execute(
        "INSERT INTO batches SELECT ?, device, token_id, epoch, seq + 100, prev_batch, pow_nonce, signature,"
        " block_number, tx_hash, log_index FROM batches WHERE batch_hash = ?", (extra, kept))
    diffs = indexer.verify(registry, mem_store)
    assert {(d.kind, d.batch_hash) for d in diffs} == {("missing", gone), ("extra", extra), ("mismatched", extra)}


def test_verify__epoch_count_off__mismatched(anchor, registry, mem_store):
    anchor([0])
    indexer.follow(registry, mem_store)
    mem_store.execute("UPDATE epochs SET n = 11 WHERE device = ?", (anchor.devices[0].address,))
    details = [d.detail for d in indexer.verify(registry, mem_store)]
    assert len(details) == 2
    assert all(d.startswith("epochs: ") for d in details)
    assert any("legal_count 12" in d for d in details)


def test_rebuild__after_tampering__faithful_again(anchor, registry, mem_store):
    anchor(range(2))
    indexer.follow(registry, mem_store)
    store.write_queued(mem_store, [("0x" + "aa" * 32, anchor.devices[0].address, 9, 9, {"seq": 9})])
    mem_store.execute("DELETE FROM batches WHERE rowid = (SELECT MIN(rowid) FROM batches)")
    mem_store.execute("UPDATE readings SET total_mwh = 0")
    assert indexer.verify(registry, mem_store) != []
    assert indexer.rebuild(registry, mem_store) == 4
    assert indexer.verify(registry, mem_store) == []
    assert len(store.read_queue(mem_store)) == 1  # the gateway's queue is not the index's


def test_verify__never_followed__reports_nothing_but_local_checks(registry, mem_store):
    assert indexer.verify(registry, mem_store) == []
