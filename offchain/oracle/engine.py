"""The operator's engine: each epoch through its steps (:class:`Oracle`), and the loop (:func:`run`)."""

import logging
import time
from pathlib import Path

from offchain.index import indexer, store
from offchain.oracle.certify import certificates_path, certify, write_certificates
from offchain.oracle.chain import (
    get_device_info,
    get_epoch_view,
    get_last_finished_epoch,
    get_legal_counts,
    get_start_epoch,
    read_device_info,
    read_epoch_data,
    send_tx,
    write_device_info,
)
from offchain.oracle.errors import OracleError
from offchain.oracle.keys import ensure_key_file, public_key, read_key_file
from offchain.oracle.machine import COMMIT, DONE, WAIT_BLOCKS, WAIT_TIME, plan
from offchain.oracle.state import (
    COMMITTED,
    FINAL,
    POSTED,
    REVEALED,
    SCORED,
    SWEPT,
    FolderLock,
    check_state_deployment,
    epoch_record,
    key_path,
    new_state,
    read_state,
    state_path,
    table_path,
    write_state,
)
from offchain.oracle.table import build_table, read_table, table_uri, to_hex, write_table
from offchain.scoring import authenticity
from offchain.views import call_view

log = logging.getLogger("oracle")


class Oracle:
    """
    The operator's engine over contracts, an account, a store and a folder of files.

    Parameters
    ----------
    contracts : offchain.deploy.System
    account : ape AccountAPI
        Holds the oracle role on EpochKeys and RewardDistributor.
    conn : sqlite3.Connection
        The store (:func:`offchain.index.store.open_store`); the engine indexes it up to the
        commit block before scoring.
    folder : path
        Where the state, key and table files live.
    base_url : str, optional
        Tables are published at ``<base_url>/epoch-<e>.json`` (default: ``file://`` URIs).
    from_epoch : int, optional
        First epoch to handle when the state file is new (default: the distributor's first).
    max_open : int
        At most this many epochs committed and not yet revealed (each must be revealed
        within 256 blocks of its commit).
    bound_kwargs : dict, optional
        Passed to ``pvbound.clear_sky_power`` (``grid_s``).
    """

    def __init__(self, contracts, account, conn, folder, base_url=None, from_epoch=None, max_open=8,
                 bound_kwargs=None):
        self.c, self.account, self.conn = contracts, account, conn
        self.folder, self.base_url, self.max_open = Path(folder), base_url, max_open
        self.bound_kwargs = bound_kwargs or {}
        self.clear_cache = authenticity.ClearEnergyCache()
        self.chain_id = int(contracts.keys.chain_manager.chain_id)
        self.state_file = state_path(self.folder)
        self.state = read_state(self.state_file)
        if self.state is None:
            if from_epoch is None:
                from_epoch = get_start_epoch(contracts)
            self.state = new_state(self.chain_id, contracts.keys.address, contracts.rewards.address, from_epoch)
            write_state(self.state_file, self.state)
        check_state_deployment(self.state, self.chain_id, contracts.keys.address, contracts.rewards.address,
                               self.state_file)

    # ---------------------------------------------------------- records

    def _record(self, epoch):
        return epoch_record(self.state, epoch)

    def _save(self, epoch, **fields):
        self._record(epoch).update(fields)
        write_state(self.state_file, self.state)

    def _has_table(self, epoch):
        record = self._record(epoch)
        if "root" not in record:
            return False
        try:
            table = read_table(table_path(self.folder, epoch))
        except OracleError:
            return False
        return to_hex(table.root) == record["root"]

    # ---------------------------------------------------------- steps

    def advance(self, epoch, may_commit=True):
        """
        Do everything possible now for one epoch; return what it waits for.

        Returns
        -------
        Action
            DONE, WAIT_BLOCKS, WAIT_TIME, or COMMIT when ``may_commit`` is false.
        """
        failed = None  # (step, error) of a transaction that failed
        for _ in range(8):  # at most commit, reveal, score, post, sweep, and adoptions
            view = get_epoch_view(self.c, epoch)
            try:
                our_sk = read_key_file(key_path(self.folder, epoch))
            except OracleError:
                if view.committed_block:
                    raise
                our_sk = None  # a crash while creating it: replaced before the commit
            action = plan(self._record(epoch)["state"], view, our_sk, self._has_table(epoch))
            if failed is not None and failed[0] == action.kind:
                raise failed[1]  # not a race with a step already on chain: the operator must see it
            failed = None
            self._adopt(epoch, action.state, view)
            if action.kind in (DONE, WAIT_BLOCKS, WAIT_TIME) or (action.kind == COMMIT and not may_commit):
                return action
            try:
                getattr(self, "_" + action.kind)(epoch, view)
            except OracleError as e:
                failed = (action.kind, e)
        raise OracleError(f"oracle: epoch {epoch} makes no progress (state {self._record(epoch)['state']})")

    def _adopt(self, epoch, state, view):
        """Record the state the chain shows (e.g. a commit sent just before a crash)."""
        record = self._record(epoch)
        fields = {"state": state}
        if view.committed_block:
            fields["committed_block"] = view.committed_block
        if all(record.get(k) == v for k, v in fields.items()):
            return
        if state != record["state"]:
            log.info("epoch %d: %s (from the chain)", epoch, state)
        self._save(epoch, **fields)

    def _send(self, epoch, what, method, *args):
        try:
            receipt = send_tx(method, *args, sender=self.account)
        except Exception as e:  # noqa: BLE001 - ape raises many kinds; the reason is what counts
            if isinstance(e, OracleError):
                raise
            raise OracleError(f"oracle: epoch {epoch}: {what} failed: {_revert_reason(e)}") from None
        return getattr(receipt, "txn_hash", None)

    def _commit(self, epoch, view):
        sk = ensure_key_file(key_path(self.folder, epoch))  # on disk before the transaction
        x, y = public_key(sk)
        tx = self._send(epoch, "commit", self.c.keys.commit, epoch, x, y)
        self._save(epoch, state=COMMITTED, commit_tx=_tx(tx))
        log.info("epoch %d: committed its key (tx %s)", epoch, _tx(tx))

    def _reveal(self, epoch, view):
        sk = read_key_file(key_path(self.folder, epoch))
        tx = self._send(epoch, "reveal", self.c.keys.reveal, epoch, sk)
        self._save(epoch, state=REVEALED, reveal_tx=_tx(tx), entropy=to_hex(self.c.keys.entropy(epoch)))
        log.info("epoch %d: revealed its key (tx %s)", epoch, _tx(tx))

    def _score(self, epoch, view):
        table = self.score(epoch, view.committed_block)
        path = table_path(self.folder, epoch)
        write_table(path, table)
        winners = sum(r.winner for r in table.rows)
        self._save(epoch, state=SCORED, root=to_hex(table.root), total=str(table.total),
                   uri=table_uri(path, self.base_url), miners=len(table.rows), winners=winners)
        log.info("epoch %d: scored %d miners, %d winners, total %d", epoch, len(table.rows), winners, table.total)

    def _post(self, epoch, view):
        table = read_table(table_path(self.folder, epoch))
        emission = call_view(self.c.rewards, "emission")
        params = authenticity.get_scoring_params(self.c.rewards)
        if emission != table.emission or params != table.params:  # the DAO changed them since the table was made
            log.info("epoch %d: emission or scoring parameters changed since scoring, scoring again", epoch)
            self._save(epoch, state=REVEALED, root=None)
            return
        uri = self._record(epoch)["uri"]
        tx = self._send(epoch, "post", self.c.rewards.post, epoch, table.root, table.total, uri)
        self._save(epoch, state=POSTED, post_tx=_tx(tx))
        log.info("epoch %d: posted root %s, total %d (tx %s)", epoch, to_hex(table.root), table.total, _tx(tx))

    def _sweep(self, epoch, view):
        tx = self._send(epoch, "sweep", self.c.rewards.sweep, epoch)
        self._save(epoch, state=SWEPT, sweep_tx=_tx(tx))
        log.info("epoch %d: swept to the vault (tx %s)", epoch, _tx(tx))

    # ---------------------------------------------------------- scoring

    def score(self, epoch, committed_block):
        """Index the store past the commit, then compute the epoch's table (no file written)."""
        try:
            indexer.follow(self.c.registry, self.conn)
        except ValueError as e:  # the store indexes another registry
            raise OracleError(f"oracle: epoch {epoch}: {e}") from None
        indexed = int(store.read_meta(self.conn, indexer.KEY_LAST_BLOCK, -1))
        if indexed < committed_block:
            raise OracleError(f"oracle: epoch {epoch}: the store is indexed to block {indexed}, "
                              f"the commit is in block {committed_block}")
        data = read_epoch_data(self.conn, epoch)
        on_chain = get_legal_counts(self.c.registry, data.devices, epoch)
        for device, n, legal in zip(data.devices, data.n, on_chain):
            if legal != int(n):
                raise OracleError(f"oracle: epoch {epoch}: the store has N = {n} for {device}, the registry "
                                  f"{legal}; run `ape run index verify`")
        devices = read_device_info(self.conn)
        missing = [d for d in data.devices if d not in devices]
        if missing:
            fetched = [get_device_info(self.c.sbt, call_view(self.c.sbt, "token_of_device", d)) for d in missing]
            write_device_info(self.conn, fetched)
            devices.update((i.device, i) for i in fetched)
        if not call_view(self.c.keys, "revealed", epoch):
            raise OracleError(f"oracle: epoch {epoch} is not revealed")
        return build_table(
            data, devices, call_view(self.c.keys, "secret", epoch), call_view(self.c.keys, "entropy", epoch),
            call_view(self.c.keys, "epoch_params", epoch)[1], call_view(self.c.rewards, "emission"),
            (self.chain_id, self.c.keys.address, self.c.rewards.address),
            authenticity.get_scoring_params(self.c.rewards), self.clear_cache, **self.bound_kwargs,
        )

    # ---------------------------------------------------------- all epochs

    def open_epochs(self):
        """Epochs from the first unsettled one to the first whose window is still open."""
        last = get_last_finished_epoch(self.c)
        first = int(self.state["from_epoch"])
        while self.state["epochs"].get(str(first), {}).get("state") in FINAL:
            first += 1
        if first != self.state["from_epoch"]:
            self.state["from_epoch"] = first
            write_state(self.state_file, self.state)
        return list(range(first, max(first + 1, last + 2)))  # the first one even before its window ends

    def advance_all(self):
        """
        Advance every open epoch as far as possible now, oldest first.

        Returns
        -------
        dict
            ``{epoch: Action}`` of the epochs still waiting (DONE ones left out).
        """
        waiting, open_commits = {}, 0
        for epoch in self.open_epochs():
            action = self.advance(epoch, may_commit=open_commits < self.max_open)
            if action.state == COMMITTED:
                open_commits += 1
            if action.kind != DONE:
                waiting[epoch] = action
        self.certify_posted()
        return waiting

    def certify_posted(self):
        """
        Post the certificate root of every epoch this oracle posted and has not certified yet.

        The file is written before the transaction and the chain is read before sending, so a
        crash between the two sends nothing twice; an epoch with no certified row posts nothing.
        """
        for key, record in sorted(self.state["epochs"].items(), key=lambda kv: int(kv[0])):
            if record.get("state") == POSTED and "certificates" not in record:
                self._certify(int(key))

    def _certify(self, epoch):
        certs = certify(read_table(table_path(self.folder, epoch)), int(self.c.certificate.min_a_bps()))
        path = certificates_path(self.folder, epoch)
        write_certificates(path, certs)
        if certs.root is None:
            self._save(epoch, certificates={"total_mwh": 0})
            return
        posted = self.c.certificate.epochs(epoch)
        if bytes(posted[0]) != bytes(32):  # posted before a crash: adopt it
            self._save(epoch, certificates={"root": to_hex(posted[0]), "total_mwh": int(posted[1])})
            return
        tx = self._send(epoch, "certificates", self.c.certificate.post, epoch, certs.root, certs.total_mwh,
                        table_uri(path, self.base_url))
        self._save(epoch, certificates={"root": to_hex(certs.root), "total_mwh": certs.total_mwh, "tx": _tx(tx)})
        log.info("epoch %d: certified %d mWh of %d miners (tx %s)", epoch, certs.total_mwh, len(certs.rows), _tx(tx))


def _revert_reason(exc):
    return str(getattr(exc, "revert_message", None) or getattr(exc, "message", None) or exc).splitlines()[0]


def _tx(txn_hash):
    if txn_hash is None:
        return None
    return txn_hash if isinstance(txn_hash, str) else to_hex(txn_hash)


def run(oracle, once=False, mine=None, sleep=time.sleep, poll=12.0):
    """
    Drive the engine: advance all epochs, wait, repeat.

    Parameters
    ----------
    oracle : Oracle
    once : bool
        Return as soon as every epoch waits for time (an epoch still running, a deadline)
        rather than for blocks.
    mine : callable, optional
        ``mine(n)`` mines ``n`` blocks (local chains); without it, block waits poll.
    sleep : callable
    poll : float [s]
        Longest sleep between rounds.

    Returns
    -------
    dict
        ``{epoch: Action}`` still waiting when ``once`` returns.

    Raises
    ------
    OracleError
        When another engine holds the folder, or an epoch needs the operator.
    """
    with FolderLock(oracle.folder):
        return _run(oracle, once, mine, sleep, poll)


def _run(oracle, once, mine, sleep, poll):
    while True:
        waiting = oracle.advance_all()
        blocks = [a.wait for a in waiting.values() if a.kind == WAIT_BLOCKS]
        if blocks and mine is not None:
            mine(min(blocks))
            continue
        if not blocks and once:
            return waiting
        seconds = [a.wait for a in waiting.values() if a.kind == WAIT_TIME]
        sleep(min([poll] + seconds) if seconds and not blocks else poll)
