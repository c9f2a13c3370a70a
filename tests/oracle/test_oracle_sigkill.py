"""
The oracle as a real OS process (`ape run oracle run`) killed with SIGKILL at each step of an epoch, then started
again against the same Anvil node: the epoch ends POSTED with one commit, one reveal and one post, the posted root is
the root of the table file, the state file and the key file survive, and the lock dies with the process.

Anvil only (``make test-anvil``; ``make test`` leaves the file out): the embedded chain lives inside the test's own
process, where no other process can reach it.

Each kill point is reached deterministically, not by racing the process. The oracle's process talks to Anvil through a
JSON-RPC relay (:class:`RpcGate`) that stops at one request and never answers it: the process waits for the answer
and is killed there, either just after its transaction reached the chain (relayed, the receipt never seen) or just
before (never relayed). The other points are where the process waits by itself (for blocks nobody mines, or for the
next epoch), seen in its state file.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import NamedTuple

import pytest
from eth_account.typed_transactions import TypedTransaction
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from oracle_kit import counts_on_chain, events

from offchain import oracle
from offchain.oracle import COMMITTED, NEW, POSTED, REVEALED, SCORED, OracleError
from scripts._system import write_record

PROJECT = Path(__file__).resolve().parents[2]
APE = Path(sys.executable).with_name("ape")
START_TIMEOUT = 300  # [s] for the process to start (about 5 s alone, much more on a loaded machine) and reach its point
RESTART_TIMEOUT = 300  # [s] for the restarted `--once` run to end
POLL = 0.05  # [s] between looks at the state file


class Step(NamedTuple):
    """Where the first process is killed, and what the chain and its folder must show then."""

    stop_at: str = None  # the request the relay stops at: a transaction ("commit", "reveal", "post",
    # "certificates") or "scoring"
    relay: bool = True  # whether that request reaches Anvil before the kill
    state: str = None  # otherwise: killed once the state file shows this state, the process waiting by itself
    mine: bool = True  # `--mine`: the process mines the B blocks of its reveal itself
    on_chain: tuple = (0, 0, 0)  # (commits, reveals, posts) at the kill
    record: str = NEW  # the epoch's state in the state file at the kill
    table: bool = False  # whether the table file is there at the kill


STEPS = {
    # the commit is on chain, the process never saw its receipt; the key file was written before it was sent
    "commit_sent": Step(stop_at="commit", on_chain=(1, 0, 0)),
    # COMMITTED saved; the process waits for B blocks that nobody mines (no --mine)
    "committed": Step(state=COMMITTED, mine=False, on_chain=(1, 0, 0), record=COMMITTED),
    "reveal_sent": Step(stop_at="reveal", on_chain=(1, 1, 0), record=COMMITTED),
    # REVEALED saved; scoring stopped at its first look at the registry's logs (indexing the store), no table yet
    "revealed": Step(stop_at="scoring", on_chain=(1, 1, 0), record=REVEALED),
    # the table written and SCORED saved; the post never reaches the chain
    "scored": Step(stop_at="post", relay=False, on_chain=(1, 1, 0), record=SCORED, table=True),
    "post_sent": Step(stop_at="post", on_chain=(1, 1, 1), record=SCORED, table=True),
    # POSTED saved; the process polls, the next epoch still running
    "posted": Step(state=POSTED, on_chain=(1, 1, 1), record=POSTED, table=True),
    # the epoch's certificate root is on chain, the process never saw its receipt
    "certificates_sent": Step(stop_at="certificates", on_chain=(1, 1, 1), record=POSTED, table=True),
}


# ================================================================== the relay


def _selector(method):
    return keccak(text=method.abis[0].selector)[:4]


def _called(raw):
    """``(to, selector)`` of a signed typed transaction (ape's test accounts send EIP-1559 ones), else None."""
    raw = HexBytes(raw)
    if not raw or raw[0] >= 0xC0:  # a legacy transaction: never a named one
        return None
    tx = TypedTransaction.from_bytes(raw).as_dict()
    return to_checksum_address(tx["to"]) if tx["to"] else None, bytes(tx["data"][:4])


def _log_addresses(params):
    address = (params[0] if params else {}).get("address") or []
    return {a.lower() for a in ([address] if isinstance(address, str) else address)}


class RpcGate:
    """
    A JSON-RPC relay between the oracle's process and Anvil, stopped at one request.

    ``stop_at`` is the name of a transaction (``names`` maps ``(to, selector)`` to it) or ``"scoring"`` (the first
    ``eth_getLogs`` on the registry after the reveal: the engine indexing the store to score). That request is relayed
    to Anvil when ``relay`` (a transaction then lands, Anvil mining each one at once) and dropped otherwise; either
    way it is never answered, so the process waits at that point until it is killed. ``hit`` is set once it is there.
    ``sent``: the names of the transactions relayed so far ("?" for any other).
    """

    def __init__(self, upstream, names, registry, stop_at=None, relay=True):
        self.upstream, self.names, self.registry = upstream, names, registry.lower()
        self.stop_at, self.relay = stop_at, relay
        self.sent, self.hit, self.release, self.lock = [], threading.Event(), threading.Event(), threading.Lock()
        self.fired = False
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Relay)
        self.server.daemon_threads = True
        self.server.gate = self
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.release.set()  # the held request ends without an answer (its process is dead by then)
        self.server.shutdown()
        self.server.server_close()
        return False

    def decide(self, request):
        """``(stop, relay)`` for one JSON-RPC request; only the first match stops."""
        if not isinstance(request, dict):  # a batch: never a stop
            return False, True
        method, params = request.get("method"), request.get("params") or []
        name = None
        if method == "eth_sendRawTransaction":
            name = self.names.get(_called(params[0]), "?")
        with self.lock:
            if self.stop_at is None or self.fired:
                stop = False
            elif self.stop_at == "scoring":
                stop = method == "eth_getLogs" and "reveal" in self.sent and self.registry in _log_addresses(params)
            else:
                stop = name == self.stop_at
            self.fired |= stop
            relay = self.relay or not stop
            if name is not None and relay:
                self.sent.append(name)
        return stop, relay

    def forward(self, body):
        request = urllib.request.Request(self.upstream, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()


class _Relay(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        gate = self.server.gate
        body = self.rfile.read(int(self.headers["Content-Length"]))
        stop, relay = gate.decide(json.loads(body))
        reply = gate.forward(body) if relay else None
        if stop:
            gate.hit.set()
            gate.release.wait()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


# ================================================================== the oracle's process


class OracleProcess:
    """``ape run oracle run ...`` in a session of its own (SIGKILL to its group takes it and anything it started),
    connected to the node at ``host``; stdout and stderr go to ``<name>.out`` and ``<name>.err`` in ``logs``. Killed on
    exit if still running."""

    def __init__(self, args, host, deployments, logs, name):
        self.out, self.err = logs / f"{name}.out", logs / f"{name}.err"
        env = {**os.environ, "GEM_DEPLOYMENTS": str(deployments), "APE_FOUNDRY_HOST": host}
        # ape's own log (its INFO "Confirmed 0x..." lines) goes to stdout, where `--json` prints: WARNING keeps it quiet
        cmd = [str(APE), "-v", "WARNING", "run", "oracle", "run", "--network", "ethereum:local:foundry", *map(str, args)]
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(cmd, cwd=PROJECT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         start_new_session=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    def kill(self):
        """SIGKILL (kill -9) to the process's group; its exit status."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended in between
                pass
        return self.proc.wait(timeout=60)

    def log(self, lines=40):
        text = self.err.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(["--- its stderr (end):"] + text + ["--- its stdout:", self.out.read_text(errors="replace")])

    def wait_until(self, ready, what, timeout=START_TIMEOUT):
        """Wait until ``ready()``; fail with its log when it exits before or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                pytest.fail(f"the oracle exited with status {self.proc.returncode} before {what}\n{self.log()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the oracle did not reach {what} within {timeout} s\n{self.log()}")
            time.sleep(POLL)

    def finish(self, timeout=RESTART_TIMEOUT):
        """Wait for it to end by itself; its exit status."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the oracle did not end within {timeout} s\n{self.log()}")


def _epoch_state(folder, epoch=0):
    """The epoch's state in the folder's state file (NEW without a record; None without a file)."""
    state = oracle.read_state(oracle.state_path(folder))
    return None if state is None else state["epochs"].get(str(epoch), {"state": NEW})["state"]


# ================================================================== the test


@pytest.fixture
def anvil(chain):
    """Anvil's URL: the oracle's process connects to the test's node."""
    assert chain.provider.name == "foundry", (
        "the oracle's process needs a node outside the test: run this file with --network ethereum:local:foundry "
        "(make test-anvil)")
    return chain.provider.uri


@pytest.mark.parametrize("step", list(STEPS))
def test_sigkill_at_each_step__restart_posts_the_epoch_once_with_the_same_root(
        step, anvil, chain, contracts, fleet, oracle_account, tmp_path, monkeypatch):
    s = STEPS[step]
    fleet.submit(0)  # 4 miners' batches; the oracle indexes the store itself when it scores
    fleet.finish(0)
    deployments, folder = tmp_path / "deployments", tmp_path / "oracle"
    monkeypatch.setenv("GEM_DEPLOYMENTS", str(deployments))
    write_record(contracts)  # what `ape run deploy` leaves for the oracle's `load_system`
    keys, rewards = contracts.keys, contracts.rewards
    names = {(keys.address, _selector(keys.commit)): "commit", (keys.address, _selector(keys.reveal)): "reveal",
             (rewards.address, _selector(rewards.post)): "post",
             (contracts.certificate.address, _selector(contracts.certificate.post)): "certificates"}
    args = ["--account", f"TEST::{oracle_account.index}", "--store", folder / "store.sqlite"]
    nonce = oracle_account.nonce

    # ---- the first process, killed at the step
    with RpcGate(anvil, names, contracts.registry.address, s.stop_at, s.relay) as gate:
        with OracleProcess(args + ["--poll", 0.2] + ["--mine"] * s.mine, gate.url, deployments, tmp_path,
                           "killed") as first:
            if s.stop_at:
                first.wait_until(gate.hit.is_set, f"the relay's stop at {s.stop_at} (relayed so far: {gate.sent})")
            else:
                first.wait_until(lambda: _epoch_state(folder) == s.state, f"state {s.state} in its state file")
            with pytest.raises(OracleError, match="another oracle holds"):  # it runs, holding the folder's lock
                with oracle.FolderLock(folder):
                    pass
            assert first.kill() == -signal.SIGKILL, first.log()
        sent = list(gate.sent)

    # ---- what the kill left: the chain, the state file (readable), the key and table files
    assert counts_on_chain(contracts, chain) == s.on_chain, sent
    assert _epoch_state(folder) == s.record
    key = oracle.read_key_file(oracle.key_path(folder, 0))  # written before the commit was sent
    if keys.revealed(0):
        assert key == keys.secret(0)
    else:
        assert oracle.public_key(key) == tuple(keys.public_key(0))
    table_file = oracle.table_path(folder, 0)
    assert table_file.exists() == s.table
    with oracle.FolderLock(folder):  # the lock died with the process
        pass

    # ---- the second process, on the same files and chain
    with OracleProcess(args + ["--once", "--mine", "--json"], anvil, deployments, tmp_path, "restarted") as second:
        assert second.finish() == 0, second.log()
        out = json.loads(second.out.read_text())

    assert out["stopped"] is False
    assert [r["epoch"] for r in out["settled"]] == ([] if s.record == POSTED else [0])  # POSTED: settled before
    assert [(w["epoch"], w["state"], w["waits_for"]) for w in out["waiting"]] == [(1, NEW, "time")]
    assert counts_on_chain(contracts, chain) == (1, 1, 1)
    # every miner is honest at noon: the epoch's energy is certified, once
    (certified,) = events(contracts.certificate.CertificatesPosted, chain)
    assert oracle_account.nonce == nonce + 4  # not even a refused second commit, reveal, post or certification was sent
    settled = oracle.get_settlement(rewards, 0)
    (posted,) = events(rewards.Posted, chain)
    table = oracle.read_table(table_file)
    assert settled.status == POSTED and settled.root == bytes(posted.root) == table.root
    assert settled.total == posted.total == table.total
    assert posted.uri == table_file.resolve().as_uri()
    assert oracle.verify_epoch(contracts, 0, table) == []  # lottery, amounts and root recomputed from the chain
    state = oracle.read_state(oracle.state_path(folder))
    record = state["epochs"]["0"]
    assert (record["state"], record["committed_block"]) == (POSTED, keys.committed_block(0))
    assert (record["root"], int(record["total"]), record["uri"]) == ("0x" + table.root.hex(), table.total, posted.uri)
    assert oracle.read_key_file(oracle.key_path(folder, 0)) == keys.secret(0)
    assert record["certificates"]["root"] == "0x" + bytes(certified.root).hex() != "0x" + "00" * 32
