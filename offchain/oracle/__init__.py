"""
The oracle operator's engine: commit, reveal, score, publish and post each epoch (docs/architecture.md, PoGG).

Each finished epoch goes through a persisted state machine::

    NEW -> COMMITTED -> REVEALED -> SCORED -> POSTED
                 \\-> EXPIRED (reveal window missed) -> SWEPT
    (an epoch not posted by the distributor's deadline is swept: -> SWEPT)

- **NEW**: the epoch's window (its end + the registry's grace period) is over. A fresh
  secp256k1 key is written to its own file (``oracle-keys/epoch-<e>.key``, created with
  ``O_CREAT | O_EXCL`` and mode 0o600) *before* ``EpochKeys.commit`` is sent, so a crash
  can never leave a committed key that is lost.
- **COMMITTED**: the chain holds the public key at block ``H``; no batch for the epoch is
  accepted any more. At block ``H + B`` the secret is revealed (until ``H + 256``).
- **REVEALED**: the chain holds ``SK_e`` and the entropy of blocks ``H .. H+B-1``.
- **SCORED**: the store was indexed past ``H``, the table computed and written atomically
  to ``epoch-<e>.json``.
- **POSTED**: ``RewardDistributor.post`` holds the root and total; the URI points to the
  table. **EXPIRED**: never revealed in time; after the posting deadline the whole emission
  goes to the vault with ``sweep`` (**SWEPT**), which also ends an epoch revealed but not
  posted in time.

Resumption. The chain is the authority, the state file a cache of it: before every
transaction the engine reads the epoch from the chain (``get_epoch_view``) and :func:`plan`
adopts what is already there. A commit sent just before a crash shows up as the chain's
commit of *our* key (the key file is still there) and is not sent again; a key on chain
that this oracle does not hold stops the epoch with one line. Reveal and post are adopted
the same way. Files are written atomically (temp file + rename), state after each step.

Files, all in one folder next to the store (by default the store file's folder):

- ``oracle-state.json`` — the deployment it belongs to and one record per epoch;
- ``oracle-keys/epoch-<e>.key`` — ``0x`` + 64 hex digits of ``SK_e``, mode 0o600;
- ``epoch-<e>.json`` — the published table (:func:`table_json`);
- ``oracle.lock`` — held while an engine runs (one oracle per folder).

The table. It names the scoring parameters it was made with (``params``, as the DAO set them
on the distributor, and their ``params_hash``, which the ``Posted`` event commits to). Rows
are the miners with ``N > 0`` in the epoch; every row carries the inputs and what follows
from them: ``owner``, ``n`` (legal readings), ``readings_window`` (``Σ min(N_e, 12)`` over
the window), ``energy_mwh`` (the epoch's booked energy), ``a`` (float) with the checks it is
the product of (``checks``: bound, scale, weather, shape, smooth, copy, lone, the yield
ratio and the weather residual; ``docs/authenticity.md``), ``a_bps``, ``q_bps``, ``v_mwh`` (credited energy), the ECDH point
``(px, py) = SK_e · PK_miner``, ``seed``, ``winner``, ``amount`` [DECA wei] and, for a
winner, its leaf and Merkle proof. 32-byte values are ``0x`` hex, amounts decimal strings
(they exceed 2**53). Only winners have leaves.

No winner (or no winner with a positive contribution): the oracle posts ``total = 0``
with ``root = bytes32(0)``, so the whole emission goes to the vault at once and no claim
can ever match (no leaf hashes to zero).

Modules: ``machine`` (the state machine, :func:`plan`), ``settlement`` (:func:`lottery`,
:func:`settle`) and ``verify`` (:func:`check_table`) are pure; ``table`` builds tables
(:func:`build_table`, pure) and reads and writes their files; ``state`` and ``keys`` hold the
folder's files; ``chain`` holds the chain and store I/O (``get_*`` reads; every transaction
goes through :func:`send_tx`); ``engine`` drives it all (:class:`Oracle`, :func:`run`).
"""

from offchain.oracle.chain import (
    EPOCH_SECONDS,
    REVOKED,
    ZERO_ADDRESS,
    Settled,
    get_chain_facts,
    get_device_info,
    get_epoch_view,
    get_last_finished_epoch,
    get_legal_counts,
    get_posted_event,
    get_settlement,
    get_start_epoch,
    get_tokens,
    read_device_info,
    read_epoch_data,
    send_tx,
    verify_epoch,
    write_device_info,
)
from offchain.oracle.engine import Oracle, log, run
from offchain.oracle.errors import OracleError
from offchain.oracle.keys import ensure_key_file, new_secret, public_key, read_key_file, write_key_file
from offchain.oracle.machine import (
    COMMIT,
    DONE,
    POST,
    REVEAL,
    REVEAL_WINDOW,
    SCORE,
    SWEEP,
    WAIT_BLOCKS,
    WAIT_TIME,
    Action,
    EpochView,
    plan,
)
from offchain.oracle.settlement import ZERO32, Lottery, Settlement, lottery, settle
from offchain.oracle.state import (
    COMMITTED,
    EXPIRED,
    FINAL,
    KEY_DIR,
    LOCK_FILE,
    NEW,
    POSTED,
    REVEALED,
    SCORED,
    STATE_FILE,
    STATE_FORMAT,
    SWEPT,
    FolderLock,
    check_state_deployment,
    epoch_record,
    folder_of_store,
    key_path,
    new_state,
    read_state,
    state_path,
    table_path,
    write_json_atomic,
    write_state,
)
from offchain.oracle.table import (
    MAX_URI,
    TABLE_FORMAT,
    DeviceInfo,
    EpochData,
    Table,
    TableRow,
    build_table,
    checks_of,
    get_table,
    read_table,
    shape_epoch,
    table_json,
    table_uri,
    write_table,
)
from offchain.oracle.verify import ChainFacts, check_table

__all__ = [
    "Action", "COMMIT", "COMMITTED", "ChainFacts", "DONE", "DeviceInfo", "EPOCH_SECONDS", "EXPIRED",
    "EpochData", "EpochView", "FINAL", "FolderLock", "KEY_DIR", "LOCK_FILE", "Lottery", "MAX_URI", "NEW", "Oracle",
    "OracleError", "POST", "POSTED", "REVEAL", "REVEALED", "REVEAL_WINDOW", "REVOKED", "SCORE", "SCORED", "STATE_FILE",
    "STATE_FORMAT", "SWEEP", "SWEPT", "Settled", "Settlement", "TABLE_FORMAT", "Table", "TableRow", "WAIT_BLOCKS",
    "WAIT_TIME", "ZERO32", "ZERO_ADDRESS", "build_table", "check_state_deployment", "check_table", "checks_of",
    "ensure_key_file", "epoch_record", "folder_of_store", "get_chain_facts", "get_device_info",
    "get_epoch_view", "get_last_finished_epoch", "get_legal_counts", "get_posted_event", "get_settlement",
    "get_start_epoch", "get_table", "get_tokens", "key_path", "log", "lottery", "new_secret", "new_state", "plan",
    "public_key", "read_device_info", "read_epoch_data", "read_key_file", "read_state", "read_table", "run", "send_tx",
    "settle", "shape_epoch", "state_path", "table_json", "table_path", "table_uri",
    "verify_epoch", "write_device_info", "write_json_atomic", "write_key_file", "write_state", "write_table",
]
