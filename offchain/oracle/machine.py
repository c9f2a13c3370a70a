"""The per-epoch state machine (pure): the next step from the epoch's record and the chain."""

from typing import NamedTuple

from offchain.oracle.errors import OracleError
from offchain.oracle.keys import public_key
from offchain.oracle.state import COMMITTED, EXPIRED, NEW, POSTED, REVEALED, SCORED, SWEPT

REVEAL_WINDOW = 256  # [blocks] blockhash(H) is readable until block H + 256

# what plan() asks the engine to do
COMMIT, REVEAL, SCORE, POST, SWEEP = "commit", "reveal", "score", "post", "sweep"
WAIT_BLOCKS, WAIT_TIME, DONE = "wait_blocks", "wait_time", "done"


class EpochView(NamedTuple):
    """What the chain says of one epoch (:func:`get_epoch_view`)."""

    epoch: int
    head: int  # latest block number
    now: int  # [s] timestamp of the latest block
    window_end: int  # [s] epoch end + grace period: a commit is possible from then on (0 once committed)
    deadline: int  # [s] posting is possible until then; sweeping from then on
    committed_block: int  # H, 0 before the commit
    reveal_delay: int  # [blocks] B fixed by the commit, 0 before it and once revealed (no longer needed)
    public_key: tuple  # (x, y) committed, (0, 0) before the commit and after the reveal
    revealed: bool
    secret: int  # SK_e once revealed, else 0
    posted: bool
    swept: bool


class Action(NamedTuple):
    """What to do next for an epoch, and the state its record holds meanwhile."""

    kind: str  # COMMIT, REVEAL, SCORE, POST, SWEEP, WAIT_BLOCKS, WAIT_TIME or DONE
    state: str
    wait: int = 0  # [blocks] for WAIT_BLOCKS, [s] for WAIT_TIME
    note: str = ""


_AFTER_COMMIT = (COMMITTED, REVEALED, SCORED, POSTED)


def plan(state, view, our_sk, has_table, reveal_window=REVEAL_WINDOW):
    """
    The next step of an epoch from its record and the chain (pure).

    A transaction sent now is assumed to land in block ``head + 1``.

    Parameters
    ----------
    state : str
        The record's state (what this oracle last saved).
    view : EpochView
    our_sk : int or None
        The secret key in the epoch's key file, ``None`` without one.
    has_table : bool
        Whether the epoch's table file is there and complete.
    reveal_window : int [blocks]
        The reveal is possible from block ``H + B`` until block ``H + reveal_window``.

    Returns
    -------
    Action

    Raises
    ------
    OracleError
        When the chain contradicts this oracle (a foreign key, a commit or post lost).
    """
    e = view.epoch
    if view.posted:
        return Action(DONE, POSTED)
    if view.swept:
        return Action(DONE, SWEPT)
    if state == POSTED:
        raise OracleError(f"oracle: epoch {e} is POSTED in the state file but not on chain (another chain?)")
    if view.committed_block == 0:
        if state in _AFTER_COMMIT:
            raise OracleError(f"oracle: epoch {e} is {state} in the state file but has no commit on chain")
        if view.now >= view.deadline:
            return Action(SWEEP, EXPIRED, note="never committed; the posting deadline is over")
        if view.now < view.window_end:
            return Action(WAIT_TIME, NEW, view.window_end - view.now, "epoch window still open")
        return Action(COMMIT, NEW)
    if our_sk is None:
        raise OracleError(f"oracle: epoch {e} was committed with a key this oracle does not hold (no key file)")
    if (view.secret != our_sk) if view.revealed else (public_key(our_sk) != tuple(view.public_key)):
        raise OracleError(f"oracle: epoch {e} was committed with a public key that is not this oracle's")
    if not view.revealed:
        if state in (REVEALED, SCORED):
            raise OracleError(f"oracle: epoch {e} is {state} in the state file but not revealed on chain")
        landing = view.head + 1
        first, last = view.committed_block + view.reveal_delay, view.committed_block + reveal_window
        if landing > last:
            if view.now >= view.deadline:
                return Action(SWEEP, EXPIRED, note="never revealed")
            return Action(WAIT_TIME, EXPIRED, view.deadline - view.now, "reveal window missed; sweep at the deadline")
        if landing < first:
            return Action(WAIT_BLOCKS, COMMITTED, first - landing, f"reveal from block {first}")
        return Action(REVEAL, COMMITTED)
    if view.now >= view.deadline:
        return Action(SWEEP, SCORED if has_table else REVEALED, note="not posted by the deadline")
    if not has_table:
        return Action(SCORE, REVEALED)
    return Action(POST, SCORED)
