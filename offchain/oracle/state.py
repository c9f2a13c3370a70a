"""The oracle's folder: its files' paths, atomic JSON writes, the state file and the lock."""

import errno
import fcntl
import json
import os
from pathlib import Path

from eth_utils import to_checksum_address

from offchain.index import store
from offchain.oracle.errors import OracleError

STATE_FORMAT = 1
STATE_FILE = "oracle-state.json"
LOCK_FILE = "oracle.lock"
KEY_DIR = "oracle-keys"

# an epoch's states (the package docstring)
NEW, COMMITTED, REVEALED, SCORED, POSTED = "NEW", "COMMITTED", "REVEALED", "SCORED", "POSTED"
EXPIRED, SWEPT = "EXPIRED", "SWEPT"
FINAL = (POSTED, SWEPT)


def state_path(folder):
    return Path(folder) / STATE_FILE


def key_path(folder, epoch):
    return Path(folder) / KEY_DIR / f"epoch-{int(epoch)}.key"


def table_path(folder, epoch):
    return Path(folder) / f"epoch-{int(epoch)}.json"


def folder_of_store(url):
    """The folder the oracle's files live in: the store file's own folder."""
    path = store.store_path(url)
    if path == ":memory:":
        raise OracleError("oracle: an in-memory store has no folder; give a store file or --folder")
    return Path(path).resolve().parent


def fsync_dir(folder):
    """Make a folder's entries (a new or renamed file) durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path, obj):
    """Write JSON to ``path`` through a temp file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def new_state(chain_id, epoch_keys, distributor, from_epoch=0):
    """An empty state for a deployment: no epoch done yet, starting at ``from_epoch``."""
    return {
        "format": STATE_FORMAT,
        "chain_id": int(chain_id),
        "epoch_keys": to_checksum_address(epoch_keys),
        "distributor": to_checksum_address(distributor),
        "from_epoch": int(from_epoch),
        "epochs": {},
    }


def read_state(path):
    """The state file's content, or ``None`` when there is none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        state = json.loads(text)
    except ValueError as e:
        raise OracleError(f"oracle: {path} is not JSON ({e})") from None
    if state.get("format") != STATE_FORMAT:
        raise OracleError(f"oracle: {path} has format {state.get('format')!r}, this code reads {STATE_FORMAT}")
    return state


def write_state(path, state):
    """Save the state atomically."""
    write_json_atomic(path, state)


def check_state_deployment(state, chain_id, epoch_keys, distributor, path=STATE_FILE):
    """Refuse a state file written for another chain or other contracts."""
    mine = (int(chain_id), to_checksum_address(epoch_keys), to_checksum_address(distributor))
    theirs = (state["chain_id"], state["epoch_keys"], state["distributor"])
    if mine != theirs:
        raise OracleError(
            f"oracle: {path} belongs to chain {theirs[0]}, EpochKeys {theirs[1]}, distributor {theirs[2]};"
            f" this is chain {mine[0]}, EpochKeys {mine[1]}, distributor {mine[2]}"
        )


def epoch_record(state, epoch):
    """The record of an epoch in the state (created as NEW)."""
    return state["epochs"].setdefault(str(int(epoch)), {"state": NEW})


class FolderLock:
    """``with FolderLock(folder):`` — one engine per folder (an advisory ``flock``)."""

    def __init__(self, folder):
        self.path = Path(folder) / LOCK_FILE
        self.fd = None

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self.fd)
            self.fd = None
            if e.errno in (errno.EAGAIN, errno.EACCES):
                raise OracleError(f"oracle: another oracle holds {self.path}") from None
            raise
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)
        self.fd = None
        return False
