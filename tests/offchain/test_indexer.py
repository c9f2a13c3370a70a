"""The indexer against the MeasurementRegistry on ape's embedded chain: follow, rebuild, verify, reorgs."""

import logging

import pytest

from offchain.gateway import ApeRegistry, _parse_batch
from offchain.index import indexer, store
from offchain.views import get_logs


@pytest.fixture
def client(registry, relayer):
    return ApeRegistry(registry, relayer)


@pytest.fixture
def anchor(admit, end_of, client):
    """``anchor(epochs, power=2_000_000)``: two devices each anchor one batch per epoch, its readings at
    ``power`` [mW]; returns the accepted digests."""
    devices = []

    def run(epochs, power=2_000_000):
        if not devices:
            devices.extend([admit(1), admit(2)])
        digests = []
        for epoch in epochs:
            end_of(epoch)
            result = client.submit_many([_parse_batch(d.sign(epoch, d.readings(epoch, power=power))) for d in devices])
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


# ----------------------------------------------------------------- reorgs


def _mark(chain, devices):
    """A point to come back to: the chain's snapshot and each device's signing state."""
    return chain.snapshot(), [(d.seq, d.prev, d.total) for d in devices]


def _back(chain, devices, mark):
    """Return the chain and the devices to ``mark``: the blocks after it leave the chain."""
    snapshot, states = mark
    chain.restore(snapshot)
    for device, (seq, prev, total) in zip(devices, states):
        device.seq, device.prev, device.total = seq, prev, total


def _dump(conn):
    """Every row the index holds, table by table, in a fixed order."""
    return {table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in (*store.INDEX_TABLES, "meta")}


def _blocks_of(rows):
    return {r.batch_hash: r.block_number for r in rows}


def test_follow__reorg_at_the_same_heights__rolls_back_and_reads_the_new_blocks(
        anchor, registry, mem_store, chain, tmp_path, caplog):
    kept = anchor([0])
    indexer.follow(registry, mem_store)
    mark = _mark(chain, anchor.devices)
    marked = chain.blocks.height
    orphaned = anchor([1, 2])
    on_chain = _blocks_of(indexer.get_batches(registry, 0, chain.blocks.height))
    first_orphaned = min(on_chain[h] for h in orphaned)
    assert indexer.follow(registry, mem_store) == 4
    tip = chain.blocks.height
    _back(chain, anchor.devices, mark)
    replacing = anchor([1, 2], power=1_500_000)  # other batches, so other blocks at the same heights
    assert chain.blocks.height == tip and not set(replacing) & set(orphaned)

    with caplog.at_level(logging.WARNING, logger=indexer.__name__):
        assert indexer.follow(registry, mem_store) == 4
    (message,) = [r.getMessage() for r in caplog.records if r.name == indexer.__name__]
    fork = int(message.split("reorg after block ")[1].split(":")[0])
    assert marked <= fork < first_orphaned
    assert message == (f"indexer: reorg after block {fork}: rolled back blocks {fork + 1} to {tip} (4 batches); "
                       "reading them again")

    stored = {r.batch_hash for r in store.read_batches(mem_store)}
    assert stored == set(kept + replacing)
    assert not stored & set(orphaned)
    assert indexer.verify(registry, mem_store) == []
    fresh = store.open_store(tmp_path / "fresh.sqlite")
    indexer.follow(registry, fresh)
    assert _dump(mem_store) == _dump(fresh)  # batches, readings, epochs' N and energy, devices, block hashes
    fresh.close()


def test_reconcile__shorter_branch__rolls_back_to_the_fork_point(anchor, registry, mem_store, chain, tmp_path):
    kept = anchor([0])
    indexer.follow(registry, mem_store)
    mark = _mark(chain, anchor.devices)
    marked = chain.blocks.height
    orphaned = anchor([1, 2])
    indexer.follow(registry, mem_store)
    tip = chain.blocks.height
    _back(chain, anchor.devices, mark)
    replacing = anchor([1], power=1_500_000)
    assert chain.blocks.height < tip  # the indexed tip is not on the chain at all

    rollback = indexer.reconcile(registry, mem_store)
    assert rollback.last_block == tip
    assert marked <= rollback.fork_block < chain.blocks.height
    assert set(rollback.batches) == set(orphaned)
    recorded = dict(store.read_blocks(mem_store))
    assert max(recorded) == rollback.fork_block == int(store.read_meta(mem_store, indexer.KEY_LAST_BLOCK))
    assert recorded[rollback.fork_block] == indexer.get_block_hash(registry, rollback.fork_block)
    assert {r.batch_hash for r in store.read_batches(mem_store)} == set(kept)
    assert indexer.verify(registry, mem_store) == []  # to the fork point, the store is the chain's

    assert indexer.follow(registry, mem_store) == 2
    assert {r.batch_hash for r in store.read_batches(mem_store)} == set(kept + replacing)
    assert indexer.verify(registry, mem_store) == []
    fresh = store.open_store(tmp_path / "fresh.sqlite")
    indexer.follow(registry, fresh)
    assert _dump(mem_store) == _dump(fresh)
    fresh.close()


def _row(device, seq, epoch, ks, block, total, power=1_200):
    """A batch of readings ``ks`` (5 minutes apart) of an hour-long epoch, totals continuing from ``total`` [mWh]."""
    readings = tuple((1_700_000_000 + 3_600 * epoch + 300 * k + 1, power, total + power * 300 // 3_600 * (i + 1))
                     for i, k in enumerate(ks))
    return store.BatchRow(
        batch_hash="0x" + f"{block:04x}{seq:060x}", device=device, token_id=int(device[-1]), epoch=epoch, seq=seq,
        prev_batch="0x" + "00" * 32, pow_nonce=2**200, signature="0x" + "11" * 65, block_number=block,
        tx_hash="0x" + f"{block:064x}", log_index=seq, readings=readings,
    )


def test_delete_after_block__fork_inside_an_epoch__as_if_the_orphans_never_came(mem_store, tmp_path):
    # the registry takes one batch per device and epoch, but the store books any number: a fork
    # between two batches of one epoch leaves that epoch counted from the readings before the fork
    a, b = "0x" + "0a" * 19 + "01", "0x" + "0b" * 19 + "02"
    kept = [_row(a, 0, 0, range(12), 10, 0), _row(a, 1, 1, range(6), 11, 1_200), _row(b, 0, 0, range(12), 11, 0)]
    orphans = [_row(a, 2, 1, range(6, 12), 12, 1_800), _row(b, 1, 2, range(12), 13, 1_200)]
    replacing = [_row(a, 2, 1, range(6, 12), 14, 1_800, power=600)]
    for number, rows in ((10, kept[:1]), (11, kept[1:]), (12, orphans[:1]), (13, orphans[1:])):
        store.write_batches(mem_store, rows, meta={"indexer.last_block": number}, blocks={number: f"0x{number:x}"})

    removed = store.delete_after_block(mem_store, 11, meta={"indexer.last_block": 11})
    assert removed == [orphans[0].batch_hash, orphans[1].batch_hash]
    only_kept = store.open_store(tmp_path / "kept.sqlite")
    store.write_batches(only_kept, kept[:1], blocks={10: "0xa"})
    store.write_batches(only_kept, kept[1:], meta={"indexer.last_block": 11}, blocks={11: "0xb"})
    assert _dump(mem_store) == _dump(only_kept)
    epoch_1 = store.read_epoch_counts(mem_store, 1, 3)
    assert (epoch_1.n.tolist(), epoch_1.energy_mwh.tolist()) == ([6], [1_800 - 1_200])  # from epoch 0's last total

    store.write_batches(mem_store, replacing, meta={"indexer.last_block": 14}, blocks={14: "0xe"})
    store.write_batches(only_kept, replacing, meta={"indexer.last_block": 14}, blocks={14: "0xe"})
    assert _dump(mem_store) == _dump(only_kept)
    assert store.read_epoch_counts(mem_store, 1, 2).energy_mwh.tolist() == [1_800 - 1_200 + 6 * 50]
    only_kept.close()


def test_follow__reorg_deeper_than_the_window__one_line_error_and_store_untouched(anchor, registry, mem_store, chain):
    anchor([0])
    mark = _mark(chain, anchor.devices)
    anchor([1, 2])
    indexer.follow(registry, mem_store, window=2)
    tip = chain.blocks.height
    assert [n for n, _ in store.read_blocks(mem_store)] == [tip, tip - 1]
    before = _dump(mem_store)
    _back(chain, anchor.devices, mark)
    anchor([1, 2], power=1_500_000)

    expected = (f"indexer: the chain reorganised below block {tip - 1}: none of the 2 block hashes the store keeps "
                f"(blocks {tip - 1} to {tip}) is on the chain any more; rebuild the store")
    with pytest.raises(indexer.ReorgError) as refused:
        indexer.follow(registry, mem_store, window=2)
    assert str(refused.value) == expected
    assert isinstance(refused.value, ValueError)  # the oracle turns a ValueError of follow into one line
    assert _dump(mem_store) == before
    assert indexer.rebuild(registry, mem_store) == 6
    assert indexer.verify(registry, mem_store) == []


def test_follow__no_reorg__nothing_rolled_back_and_the_newest_hashes_kept(anchor, registry, mem_store, chain, caplog):
    anchor([0])
    with caplog.at_level(logging.WARNING, logger=indexer.__name__):
        indexer.follow(registry, mem_store, window=4)
        assert indexer.reconcile(registry, mem_store) is None
        anchor([1])
        assert indexer.follow(registry, mem_store, window=4) == 2
        assert indexer.reconcile(registry, mem_store) is None
    assert [r for r in caplog.records if r.name == indexer.__name__] == []
    head = chain.blocks.height
    assert store.read_blocks(mem_store) == [(n, "0x" + bytes(chain.blocks[n].hash).hex())
                                            for n in range(head, head - 4, -1)]
    assert store.read_batch_count(mem_store) == 4
    assert indexer.verify(registry, mem_store) == []


def test_follow__store_of_schema_2__gains_the_blocks_table_and_follows_on(anchor, registry, tmp_path):
    path = tmp_path / "old.sqlite"
    conn = store.open_store(path)
    anchor([0])
    indexer.follow(registry, conn)
    conn.execute("DROP TABLE blocks")
    conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    conn.close()
    conn = store.open_store(path)
    assert store.read_meta(conn, "schema_version") == str(store.SCHEMA_VERSION) == "3"
    assert store.read_blocks(conn) == [] and indexer.reconcile(registry, conn) is None
    anchor([1])
    assert indexer.follow(registry, conn) == 2
    assert store.read_blocks(conn)[0][0] == registry.chain_manager.blocks.height
    assert indexer.verify(registry, conn) == []
    conn.close()


def test_read_unchanged__a_log_from_another_block_or_a_missing_block__false():
    hashes = {7: "0x" + "aa" * 32, 8: "0x" + "bb" * 32}
    assert indexer.read_unchanged([(7, "0x" + "aa" * 32), (3, "0x" + "cc" * 32)], hashes)
    assert not indexer.read_unchanged([(8, "0x" + "cc" * 32)], hashes)
    assert not indexer.read_unchanged([], {**hashes, 9: None})


def test_find_fork__newest_recorded_block_still_on_the_chain():
    recorded = [(5, "0xe"), (4, "0xd"), (3, "0xc"), (2, "0xb")]
    chain = {5: "0xE", 4: "0xD", 3: "0xc", 2: "0xb"}
    asked = []

    def chain_hash(number):
        asked.append(number)
        return chain.get(number)

    assert indexer.find_fork(recorded, chain_hash) == 3
    assert asked == [5, 4, 3]  # walks back from the newest, and stops at the first match
    assert indexer.find_fork(recorded, {}.get) is None


@pytest.fixture
def anvil(chain):
    """The Anvil provider; the test is skipped on the embedded chain, which has no ``anvil_reorg``."""
    if chain.provider.name != "foundry":
        pytest.skip("needs Anvil's anvil_reorg: run with --network ethereum:local:foundry (make test-anvil)")
    return chain.provider


def test_follow__anvil_reorg__rolls_back_and_the_store_is_the_chain_again(
        anvil, anchor, registry, mem_store, chain, tmp_path, caplog):
    kept = anchor([0])
    indexer.follow(registry, mem_store)
    marked = chain.blocks.height
    orphaned = anchor([1])
    assert indexer.follow(registry, mem_store) == 2
    tip = chain.blocks.height
    anvil.make_request("anvil_reorg", [tip - marked, []])  # the blocks after `marked` replaced by empty ones
    assert chain.blocks.height == tip
    assert indexer.get_batches(registry, marked + 1, tip) == []

    with caplog.at_level(logging.WARNING, logger=indexer.__name__):
        assert indexer.follow(registry, mem_store) == 0
    assert [r.getMessage() for r in caplog.records if r.name == indexer.__name__] == [
        f"indexer: reorg after block {marked}: rolled back blocks {marked + 1} to {tip} (2 batches); "
        "reading them again"]
    stored = {r.batch_hash for r in store.read_batches(mem_store)}
    assert stored == set(kept) and not stored & set(orphaned)
    assert indexer.verify(registry, mem_store) == []
    fresh = store.open_store(tmp_path / "fresh.sqlite")
    indexer.follow(registry, fresh)
    assert _dump(mem_store) == _dump(fresh)
    fresh.close()


def test_legal_counts__as_the_registry_answers_each(anchor, registry):
    anchor([0, 2])
    devices = [d.address for d in anchor.devices]
    stranger = "0x" + "12" * 20
    pairs = [(d, e) for d in devices + [stranger] for e in range(4)]
    got = indexer.legal_counts(registry, pairs)
    assert got == [int(registry.legal_count(d, e)) for d, e in pairs]
    assert got == [12, 0, 12, 0] * 2 + [0] * 4
    # more devices than one call takes (256), epochs interleaved: answers stay in the order asked
    many = [("0x%040x" % (i + 1), i % 3) for i in range(300)] + pairs
    assert indexer.legal_counts(registry, many[::-1]) == ([0] * 300 + got)[::-1]


def test_get_logs__accepted_batches__as_ape_decodes_them(anchor, registry):
    anchor([0, 1])
    head = registry.chain_manager.blocks.height
    ours = get_logs(registry, "BatchAccepted", 0, head)
    apes = list(registry.BatchAccepted.range(0, head + 1))
    assert len(ours) == len(apes) == 4
    for mine, theirs in zip(ours, apes):
        assert mine.device == theirs.device and mine.token_id == theirs.token_id and mine.epoch == theirs.epoch
        assert (mine.seq, mine.pow_nonce, list(mine.readings)) == (theirs.seq, theirs.pow_nonce, list(theirs.readings))
        assert (mine.batch_hash, mine.prev_batch, mine.signature) == (
            bytes(theirs.batch_hash), bytes(theirs.prev_batch), bytes(theirs.signature))
        assert (mine.block_number, mine.log_index, mine.transaction_hash) == (
            theirs.block_number, theirs.log_index, bytes.fromhex(str(theirs.transaction_hash)[2:]))
        assert mine.block_hash == bytes(registry.provider.get_block(mine.block_number).hash)
    assert get_logs(registry, "BatchAccepted", 0, 0) == []  # the genesis block
    with pytest.raises(AttributeError, match="MeasurementRegistry has no event Nope"):
        get_logs(registry, "Nope", 0, head)
