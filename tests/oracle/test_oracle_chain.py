"""
The oracle engine on the embedded chain: real contracts, real signed batches, the store
indexed from the registry's events. Crashes are simulated by dying right after a
transaction was sent; a fresh engine on the same files must finish without duplicates.
"""

import stat

import pytest
from oracle_kit import EMISSION, POST_DEADLINE, Crash, counts_on_chain, events

from offchain import oracle
from offchain.index import store
from offchain.oracle import COMMITTED, EXPIRED, POSTED, SWEPT, OracleError
from offchain.scoring import authenticity


def _settle_epoch_0(fleet, indexed, counts=None):
    fleet.submit(0, counts)
    indexed()
    fleet.finish(0)


def _state(engine, epoch):
    return oracle.read_state(engine.state_file)["epochs"][str(epoch)]


# ------------------------------------------------------------------ the happy path


def test_run__finished_epoch__committed_revealed_scored_posted(
        chain, contracts, deca, vault, fleet, indexed, make_oracle, run_oracle, tmp_path):
    _settle_epoch_0(fleet, indexed, counts=[12, 12, 6, 0])
    engine = make_oracle()
    waiting = run_oracle(engine)
    assert 0 not in waiting
    assert _state(engine, 0)["state"] == POSTED
    assert counts_on_chain(contracts, chain) == (1, 1, 1)

    table = oracle.read_table(oracle.table_path(tmp_path, 0))
    assert [r.token_id for r in table.rows] == fleet.token_ids[:3]  # the silent device is not scored
    assert [r.n for r in table.rows] == [12, 12, 6]
    (posted,) = events(contracts.rewards.Posted, chain)
    assert bytes(posted.root) == table.root and posted.total == table.total
    assert posted.uri == oracle.table_path(tmp_path, 0).resolve().as_uri()
    assert bytes(posted.params_hash) == authenticity.params_hash(authenticity.get_scoring_params(contracts.rewards))
    assert deca.balanceOf(vault) == EMISSION - table.total
    assert table.sk == contracts.keys.secret(0) and table.entropy == bytes(contracts.keys.entropy(0))
    assert all(r.a > 0.9 for r in table.rows), [(r.a, r.checks) for r in table.rows]  # flat power at noon, neighbours agree


def test_run__key_file_written_with_mode_0600_before_the_commit_is_sent(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, monkeypatch, tmp_path):
    _settle_epoch_0(fleet, indexed)
    seen = []
    real = oracle.send_tx

    def watch(method, *args, sender):
        if method.abis[0].name == "commit":
            path = oracle.key_path(tmp_path, args[0])
            seen.append(stat.S_IMODE(path.stat().st_mode))
            assert oracle.public_key(oracle.read_key_file(path)) == (args[1], args[2])
        return real(method, *args, sender=sender)

    monkeypatch.setattr(oracle.engine, "send_tx", watch)
    run_oracle(make_oracle())
    assert seen == [0o600]


def test_run__table_python_lottery__same_as_the_contract(contracts, fleet, indexed, make_oracle, run_oracle, tmp_path):
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    table = oracle.read_table(oracle.table_path(tmp_path, 0))
    assert len(table.rows) == 4
    for r in table.rows:
        assert contracts.keys.point_ok(0, r.token_id, *r.point)
        assert contracts.keys.seed(0, r.token_id, *r.point) == r.seed
        assert contracts.keys.is_winner(0, r.token_id, *r.point) == r.winner


def test_claim__published_proofs__every_winner_paid_once(
        chain, contracts, deca, fleet, indexed, make_oracle, run_oracle, owner, tmp_path):
    contracts.keys.set_lottery_k(1, sender=owner)  # everyone with N > 0 wins
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    table = oracle.read_table(oracle.table_path(tmp_path, 0))
    assert all(r.winner for r in table.rows) and table.total > 0
    for r, miner in zip(table.rows, fleet.owners):
        tx = contracts.rewards.claim(0, r.token_id, r.amount, r.a_bps, r.q_bps, r.v_mwh, r.proof, *r.point,
                                         sender=owner)
        logs = tx.decode_logs(contracts.rewards.Claimed)
        assert len(logs) == 1 and logs[0].amount == r.amount and logs[0].owner == miner.address
        assert deca.balanceOf(miner) == r.amount
    assert sum(deca.balanceOf(m) for m in fleet.owners) == table.total


def test_run__no_winner__zero_root_and_whole_emission_to_the_vault(
        contracts, deca, vault, fleet, indexed, make_oracle, run_oracle, owner, tmp_path):
    contracts.keys.set_lottery_k(2**32 - 1, sender=owner)
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    table = oracle.read_table(oracle.table_path(tmp_path, 0))
    assert not any(r.winner for r in table.rows)
    assert table.root == oracle.ZERO32 and table.total == 0
    assert deca.balanceOf(vault) == EMISSION


def test_run__two_epochs__both_posted_in_order(chain, contracts, fleet, indexed, make_oracle, run_oracle):
    fleet.submit(0)
    fleet.submit(1, [12, 3, 0, 12])
    indexed()
    fleet.finish(1)
    engine = make_oracle()
    run_oracle(engine)
    assert [_state(engine, e)["state"] for e in (0, 1)] == [POSTED, POSTED]
    assert [log.epoch for log in events(contracts.rewards.Posted, chain)] == [0, 1]
    assert counts_on_chain(contracts, chain) == (2, 2, 2)


def test_run__default_reveal_delay__waits_60_blocks(chain, contracts, fleet, indexed, make_oracle, run_oracle, owner):
    contracts.keys.set_reveal_delay(60, sender=owner)
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    (committed,) = events(contracts.keys.Committed, chain)
    (revealed,) = events(contracts.keys.Revealed, chain)
    assert revealed.block_number == committed.block_number + 60


def test_run__store_not_indexed_yet__the_oracle_indexes_it(contracts, fleet, make_oracle, run_oracle, store_path):
    fleet.submit(0)
    fleet.finish(0)
    engine = make_oracle()
    run_oracle(engine)
    assert _state(engine, 0)["state"] == POSTED and _state(engine, 0)["miners"] == 4


def test_run__epoch_not_over__nothing_sent(chain, contracts, fleet, make_oracle, run_oracle):
    waiting = run_oracle(make_oracle())
    assert list(waiting) == [0] and waiting[0].kind == oracle.WAIT_TIME
    assert counts_on_chain(contracts, chain) == (0, 0, 0)


# ------------------------------------------------------------------ crashes and restarts


@pytest.mark.parametrize("step", ["commit", "reveal", "post"])
def test_run__crash_after_transaction_sent__resumes_without_sending_it_again(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, crash_after, monkeypatch, step):
    _settle_epoch_0(fleet, indexed)
    fired = crash_after(step)
    with pytest.raises(Crash):
        run_oracle(make_oracle())
    assert fired  # the transaction went out, the state was not saved
    monkeypatch.undo()
    engine = make_oracle()  # a fresh process on the same files
    run_oracle(engine)
    assert _state(engine, 0)["state"] == POSTED
    assert counts_on_chain(contracts, chain) == (1, 1, 1)


def test_run__crash_after_commit_sent__resumes_without_second_commit(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, crash_after, monkeypatch, tmp_path):
    _settle_epoch_0(fleet, indexed)
    crash_after("commit")
    with pytest.raises(Crash):
        run_oracle(make_oracle())
    monkeypatch.undo()
    assert oracle.read_state(oracle.state_path(tmp_path))["epochs"].get("0", {"state": "NEW"})["state"] == "NEW"
    engine = make_oracle()
    waiting = engine.advance_all()
    assert waiting[0].kind == oracle.WAIT_BLOCKS and _state(engine, 0)["state"] == COMMITTED
    assert len(events(contracts.keys.Committed, chain)) == 1


def test_run__crash_after_table_written__same_root_posted(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, monkeypatch, tmp_path):
    _settle_epoch_0(fleet, indexed)
    real = oracle.write_table

    def write_then_die(path, table):
        real(path, table)
        raise Crash("after the table")

    monkeypatch.setattr(oracle.engine, "write_table", write_then_die)
    with pytest.raises(Crash):
        run_oracle(make_oracle())
    first = oracle.read_table(oracle.table_path(tmp_path, 0))
    monkeypatch.undo()
    run_oracle(make_oracle())
    (posted,) = events(contracts.rewards.Posted, chain)
    assert bytes(posted.root) == first.root


def test_run__second_engine_on_the_same_folder__refused_before_sending(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, tmp_path):
    _settle_epoch_0(fleet, indexed)
    with oracle.FolderLock(tmp_path):  # a first engine runs
        with pytest.raises(OracleError, match="another oracle"):
            run_oracle(make_oracle())
    assert counts_on_chain(contracts, chain) == (0, 0, 0)


def test_run__reveal_mined_but_reported_failed__adopted_and_finished(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, monkeypatch):
    """A node that times out after broadcasting: the next look at the chain finds the reveal."""
    _settle_epoch_0(fleet, indexed)
    real = oracle.send_tx

    def send_then_time_out(method, *args, sender):
        receipt = real(method, *args, sender=sender)
        if method.abis[0].name == "reveal":
            raise TimeoutError("receipt not found after 120 s")
        return receipt

    monkeypatch.setattr(oracle.engine, "send_tx", send_then_time_out)
    engine = make_oracle()
    run_oracle(engine)
    assert _state(engine, 0)["state"] == POSTED
    assert counts_on_chain(contracts, chain) == (1, 1, 1)


def test_run__account_without_the_oracle_role__one_line_reason(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, owner, oracle_account):
    contracts.keys.set_oracle(oracle_account, False, sender=owner)
    _settle_epoch_0(fleet, indexed)
    with pytest.raises(OracleError, match="^oracle: epoch 0: commit failed: keys: not an oracle$"):
        run_oracle(make_oracle())


# ------------------------------------------------------------------ the chain contradicts the oracle


def test_run__commit_with_a_foreign_key__stops_with_one_line(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, oracle_account):
    _settle_epoch_0(fleet, indexed)
    engine = make_oracle()
    engine.advance(0, may_commit=False)  # ready to commit, nothing written or sent
    contracts.keys.commit(0, *oracle.public_key(777), sender=oracle_account)  # another oracle instance
    with pytest.raises(OracleError, match="does not hold") as err:
        run_oracle(engine)
    assert "\n" not in str(err.value)
    oracle.write_key_file(oracle.key_path(engine.folder, 0), 778)
    with pytest.raises(OracleError, match="not this oracle's"):
        run_oracle(make_oracle())
    assert len(events(contracts.keys.Revealed, chain)) == 0


def test_run__key_file_lost_after_commit__stops_with_one_line(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, crash_after, monkeypatch, tmp_path):
    _settle_epoch_0(fleet, indexed)
    crash_after("commit")
    with pytest.raises(Crash):
        run_oracle(make_oracle())
    monkeypatch.undo()
    oracle.key_path(tmp_path, 0).unlink()
    with pytest.raises(OracleError, match="epoch 0 was committed with a key this oracle does not hold"):
        run_oracle(make_oracle())


# ------------------------------------------------------------------ deadlines


def test_run__reveal_window_missed__expired_then_swept(
        chain, contracts, deca, vault, fleet, indexed, make_oracle, genesis, crash_after, monkeypatch):
    _settle_epoch_0(fleet, indexed)
    engine = make_oracle()
    engine.advance(0)  # commits, then waits for blocks
    chain.mine(300)  # nobody reveals within 256 blocks
    action = engine.advance(0)
    assert (action.kind, action.state) == (oracle.WAIT_TIME, EXPIRED)
    chain.pending_timestamp = genesis + oracle.EPOCH_SECONDS + POST_DEADLINE
    chain.mine()
    assert engine.advance(0).kind == oracle.DONE
    assert _state(engine, 0)["state"] == SWEPT
    assert deca.balanceOf(vault) == EMISSION
    assert counts_on_chain(contracts, chain) == (1, 0, 0)


# ------------------------------------------------------------------ verification


def test_verify_epoch__honest_table__no_problem(chain, contracts, fleet, indexed, make_oracle, run_oracle, tmp_path):
    _settle_epoch_0(fleet, indexed, counts=[12, 9, 12, 4])
    run_oracle(make_oracle())
    (posted,) = events(contracts.rewards.Posted, chain)
    table = oracle.get_table(posted.uri)
    assert oracle.verify_epoch(contracts, 0, table) == []


def test_verify_epoch__emission_changed_after_the_post__read_at_the_post(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, owner, tmp_path):
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    contracts.rewards.set_emission(1, sender=owner)
    assert oracle.verify_epoch(contracts, 0, oracle.table_path(tmp_path, 0)) == []


@pytest.mark.parametrize("alter, reason", [
    (lambda t: t._replace(rows=[t.rows[0]._replace(n=t.rows[0].n - 1)] + t.rows[1:]), "N"),
    (lambda t: t._replace(rows=t.rows[1:]), "missing from the table"),
    (lambda t: t._replace(rows=[t.rows[0]._replace(a=0.0)] + t.rows[1:]), "a_bps"),
    (lambda t: t._replace(total=t.total + 1), "posted total"),
])
def test_verify_epoch__altered_table__mismatch(
        chain, contracts, fleet, indexed, make_oracle, run_oracle, tmp_path, owner, alter, reason):
    contracts.keys.set_lottery_k(1, sender=owner)
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    path = oracle.table_path(tmp_path, 0)
    oracle.write_table(path, alter(oracle.read_table(path)))
    problems = oracle.verify_epoch(contracts, 0, path)
    assert any(reason in p for p in problems), problems


def test_store_devices__filled_from_the_sbt_once(contracts, fleet, indexed, make_oracle, run_oracle, store_path):
    _settle_epoch_0(fleet, indexed)
    run_oracle(make_oracle())
    conn = store.open_store(store_path)
    info = oracle.read_device_info(conn)
    conn.close()
    assert sorted(i.token_id for i in info.values()) == fleet.token_ids
    assert all(len(i.pubkey) == 64 and i.capacity_w == 5_000 for i in info.values())
