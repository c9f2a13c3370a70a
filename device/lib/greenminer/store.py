"""Flash storage of the miner: one small state file plus one file per unacknowledged batch.

Only ``open``, ``json`` and ``os.listdir/mkdir/rename/remove/stat`` are used, all of which
CircuitPython has. Every file is written atomically: the new content goes to ``name.tmp``,
which is then renamed over ``name``. CircuitPython's FAT ``rename`` refuses an existing
target, so there the old file is removed first; a power loss in that gap leaves a complete
``name.tmp`` and no ``name``, and :meth:`Store.read_json` falls back to the ``.tmp`` file.

Layout under the directory::

    state.json          totals, last sample, hour cache, seq, prev batch, counters, ...
    outbox/<seq>.json   signed batches not yet acknowledged by the gateway
    enrollment.json     the device's signed enrollment, when the settings name an applicant
"""

import json
import os

STATE = "state.json"
ENROLLMENT = "enrollment.json"
OUTBOX = "outbox"
TMP = ".tmp"


class StoreError(Exception):
    """A stored file exists but cannot be read; the miner must not start from zero over it."""


def _join(directory, name):
    return directory.rstrip("/") + "/" + name


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _makedirs(path):
    if _exists(path):
        return
    parent = path.rstrip("/").rsplit("/", 1)[0]
    if parent and parent != path:
        _makedirs(parent)
    os.mkdir(path)


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


class Store:
    """Files of one miner in ``directory`` (created if missing).

    ``sync`` forces each write to flash before the rename (``os.fsync`` where the file has
    a descriptor, else ``os.sync``); the simulator turns it off for speed.
    """

    def __init__(self, directory, sync=True):
        self.directory = directory
        self.sync = sync
        self._outbox = _join(directory, OUTBOX)
        _makedirs(self._outbox)

    # -- generic atomic JSON files --------------------------------------------------------
    def write_json(self, path, obj):
        """Write ``obj`` as JSON to ``path`` atomically."""
        tmp = path + TMP
        with open(tmp, "w") as f:
            f.write(json.dumps(obj))  # one write: json.dump writes piece by piece
            if self.sync:
                f.flush()
                self._flush_to_flash(f)
        try:
            os.rename(tmp, path)
        except OSError:  # FAT (CircuitPython): the target must not exist
            _remove(path)
            os.rename(tmp, path)

    def read_json(self, path):
        """The object stored at ``path``, ``None`` if never written; ``StoreError`` if unreadable.

        A torn ``.tmp`` file without a main file is a first write cut short: never written.
        """
        main_ok, obj = self._try_read(path)
        if main_ok:
            return obj
        tmp_ok, tmp_obj = self._try_read(path + TMP)
        if tmp_ok:
            return tmp_obj
        if _exists(path):
            raise StoreError("store: unreadable %s" % path)
        return None

    @staticmethod
    def _try_read(path):
        try:
            with open(path) as f:
                return True, json.load(f)
        except (OSError, ValueError):
            return False, None

    def _flush_to_flash(self, f):
        fsync = getattr(os, "fsync", None)
        fileno = getattr(f, "fileno", None)
        if fsync is not None and fileno is not None:
            fsync(fileno())
        elif hasattr(os, "sync"):
            os.sync()

    # -- miner state ------------------------------------------------------------------------
    def load_state(self):
        """The saved state dict, or ``None`` on a fresh device."""
        return self.read_json(_join(self.directory, STATE))

    def save_state(self, state):
        """Save the state dict atomically."""
        self.write_json(_join(self.directory, STATE), state)

    def write_enrollment(self, enrollment):
        """Save the signed enrollment (``Miner.enrollment``) where the miner's wallet reads it."""
        self.write_json(_join(self.directory, ENROLLMENT), enrollment)

    # -- outbox ---------------------------------------------------------------------------------
    def _batch_path(self, seq):
        return _join(self._outbox, "%010d.json" % seq)

    def outbox_seqs(self):
        """Sequence numbers of the stored batches, ascending."""
        seqs = set()
        for name in os.listdir(self._outbox):
            stem = name.split(".", 1)[0]
            if stem.isdigit() and (name.endswith(".json") or name.endswith(".json" + TMP)):
                seqs.add(int(stem))
        return sorted(seqs)

    def write_batch(self, seq, batch):
        """Store the signed batch dict with sequence number ``seq``."""
        self.write_json(self._batch_path(seq), batch)

    def read_batch(self, seq):
        """The batch dict stored for ``seq`` (``None`` if there is none)."""
        return self.read_json(self._batch_path(seq))

    def remove_batch(self, seq):
        """Forget the batch ``seq`` (acknowledged, rejected or stale)."""
        path = self._batch_path(seq)
        _remove(path)
        _remove(path + TMP)
