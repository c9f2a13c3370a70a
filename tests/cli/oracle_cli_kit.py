"""Helpers of the oracle, indexer and gateway command tests: a miner's device admitted by the DAO's ballot that
signs its hourly batches (registry_kit's signer), the chain's clock, JSON from stdout alone, and a long-running
command stopped with Ctrl-C."""

import json
import signal
import sys
import threading
import time
from pathlib import Path

from click.testing import CliRunner
from eth_account import Account
from eth_utils import keccak

from offchain.gateway import batch_to_json
from offchain.governance import call
from offchain.protocol.batch import EPOCH_SECONDS, Batch
from offchain.protocol.enroll import send_application
from testbed.localchain import advance_to, pass_proposal

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "registry"))
from registry_kit import ZERO32, hour_readings, make_batch  # noqa: E402 - the kit's folder joins sys.path just above

CAPACITY_W = 5_000  # [W]
LAT_UDEG, LON_UDEG = 39_742_000, -105_178_000  # NREL's SERF site


def json_of(cli, *args, exit_code=0):
    """Run a command with --json; its stdout as JSON (the oracle's progress log goes to stderr)."""
    result = CliRunner(mix_stderr=False).invoke(cli, [str(a) for a in args] + ["--json"], catch_exceptions=False)
    assert result.exit_code == exit_code, result.output + result.stderr
    return json.loads(result.stdout)


class _CtrlC(threading.Thread):
    """Waits until ``up()`` is true, runs ``then()``, and sends SIGINT to the main thread (Ctrl-C in a terminal).

    The signal is sent once the command is up (inside the part where it turns Ctrl-C into a clean stop), or
    when ``timeout`` has passed without it coming up, and never after it has returned. It is sent again every
    five seconds until the command returns, as a person presses Ctrl-C again: in one run of the whole suite the
    polling oracle missed a single signal (its handler is Python's, which raises KeyboardInterrupt; where the
    exception was lost was not found), and the test hung.
    """

    REPEATS, AGAIN_AFTER = 12, 5.0  # [s]

    def __init__(self, up, then, timeout):
        super().__init__(daemon=True)
        self.up, self.then, self.timeout = up, then, timeout
        self.main = threading.main_thread().ident
        self.finished = threading.Event()  # set when the command has returned
        self.was_up, self.result, self.error = False, None, None

    def _is_up(self):
        try:
            return bool(self.up())
        except Exception:  # noqa: BLE001 - not up yet (no connection, no file)
            return False

    def run(self):
        try:
            deadline = time.monotonic() + self.timeout
            while not self.finished.is_set() and time.monotonic() < deadline:
                if self._is_up():
                    self.was_up = True
                    break
                time.sleep(0.05)
            if self.was_up and self.then is not None:
                self.result = self.then()
        except Exception as e:  # noqa: BLE001 - raised again by run_until_ctrl_c, in the test's thread
            self.error = e
        finally:  # Ctrl-C even when the command never came up: the test then fails instead of hanging
            for _ in range(self.REPEATS):
                if self.finished.is_set():
                    break
                signal.pthread_kill(self.main, signal.SIGINT)
                self.finished.wait(self.AGAIN_AFTER)


def run_until_ctrl_c(cli, *args, up, then=None, timeout=60):
    """Run a long-running command in this (the main) thread until another thread has seen ``up()`` and run
    ``then()``; then Ctrl-C. Returns click's Result (stdout without stderr) and what ``then()`` returned."""
    assert threading.current_thread() is threading.main_thread()
    client = _CtrlC(up, then, timeout)
    client.start()
    try:
        result = CliRunner(mix_stderr=False).invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        client.finished.set()
        client.join(timeout=120)
    if client.error:
        raise client.error
    assert client.was_up, f"the command never came up: {result.output}{result.stderr}"
    return result, client.result


def current_epoch(chain, system):
    return (chain.pending_timestamp - int(system.registry.genesis())) // EPOCH_SECONDS


def finish(chain, system, epoch):
    """Move past the epoch's window (its end + the registry's grace period)."""
    genesis, grace = int(system.registry.genesis()), int(system.registry.grace_period())
    advance_to(chain, genesis + EPOCH_SECONDS * (epoch + 1) + grace + 1)


class Device:
    """A miner's device: applied for by ``wallet``, admitted by the DAO members' ballot, enrolled at genesis."""

    def __init__(self, chain, system, members, wallet, index):
        self.chain, self.system = chain, system
        self.key = "0x" + keccak(text=f"green-energy-miners cli device {index}").hex()
        sbt = system.sbt
        self.genesis = int(system.registry.genesis())
        send_application(chain, sbt, wallet, self.key, CAPACITY_W, LAT_UDEG, LON_UDEG + 10_000 * index,
                         f"ipfs://cli-miner-{index}", start_time=self.genesis)
        pass_proposal(chain, system.dao, members, [call(sbt.approve_application, sbt.application_count())],
                      f"admit cli device {index}")
        self.address = Account.from_key(self.key).address
        self.token_id = int(sbt.token_of_device(self.address))
        assert self.token_id, "the device was not admitted"
        self.seq, self.prev, self.total = 0, ZERO32, 0

    def sign(self, epoch, count=12):
        """The device's next batch of ``epoch`` as the registry's struct, and its digest (moves seq on)."""
        readings, last = hour_readings(self.genesis + EPOCH_SECONDS * epoch, self.total, count=count)
        registry = self.system.registry
        batch, digest = make_batch(self.key, epoch, self.seq, readings, chain_id=self.chain.chain_id,
                                   registry=registry.address, target=int(registry.pow_target()), prev=self.prev)
        self.seq, self.prev, self.total = self.seq + 1, digest, last
        return batch, digest

    def submit(self, epoch, relayer, count=12):
        """Sign the epoch's batch and relay it straight to the registry once the epoch is over; its digest."""
        batch, digest = self.sign(epoch, count)
        advance_to(self.chain, self.genesis + EPOCH_SECONDS * (epoch + 1) + 60)
        self.system.registry.submit(batch, sender=relayer)
        return "0x" + digest.hex()


def as_json(batch):
    """The JSON object a device posts to the gateway, of a registry struct from :meth:`Device.sign`."""
    return batch_to_json(Batch(batch["device"], batch["epoch"], batch["seq"], tuple(batch["readings"]),
                               batch["prev_batch"], batch["pow_nonce"], batch["r"] + batch["s"] + bytes([batch["v"]])))
