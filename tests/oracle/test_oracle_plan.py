"""The per-epoch state machine: what the oracle does next, from its record and the chain."""

import pytest

from offchain import oracle
from offchain.oracle import (
    COMMIT,
    COMMITTED,
    DONE,
    EXPIRED,
    NEW,
    POST,
    POSTED,
    REVEAL,
    REVEALED,
    SCORE,
    SCORED,
    SWEEP,
    SWEPT,
    WAIT_BLOCKS,
    WAIT_TIME,
    OracleError,
)

SK = 0xC0FFEE
OTHER_SK = 0xBEEF
END = 1_000_000  # [s] epoch end + grace
DEADLINE = END + 86_400


def view(**kw):
    base = dict(epoch=3, head=100, now=END + 10, window_end=END, deadline=DEADLINE, committed_block=0,
                reveal_delay=0, public_key=(0, 0), revealed=False, secret=0, posted=False, swept=False)
    base.update(kw)
    return oracle.EpochView(**base)


def committed(h=100, b=60, sk=SK, **kw):
    return view(committed_block=h, reveal_delay=b, public_key=oracle.public_key(sk), **kw)


def revealed(sk=SK, **kw):
    return view(committed_block=100, reveal_delay=60, revealed=True, secret=sk, head=170, **kw)


@pytest.mark.parametrize("state, chain, our_sk, has_table, expected", [
    # before the commit
    (NEW, view(now=END - 5), None, False, (WAIT_TIME, NEW, 5)),
    (NEW, view(), None, False, (COMMIT, NEW, 0)),
    (NEW, view(), SK, False, (COMMIT, NEW, 0)),  # key written, commit not on chain: send it (same key)
    (NEW, view(now=DEADLINE), None, False, (SWEEP, EXPIRED, 0)),
    # committed: the next transaction lands in head + 1; reveal from H + B to H + 256
    (NEW, committed(head=100), SK, False, (WAIT_BLOCKS, COMMITTED, 59)),  # commit adopted after a crash
    (COMMITTED, committed(head=158), SK, False, (WAIT_BLOCKS, COMMITTED, 1)),
    (COMMITTED, committed(head=159), SK, False, (REVEAL, COMMITTED, 0)),
    (COMMITTED, committed(head=355), SK, False, (REVEAL, COMMITTED, 0)),
    (COMMITTED, committed(head=356), SK, False, (WAIT_TIME, EXPIRED, DEADLINE - END - 10)),
    (EXPIRED, committed(head=900, now=DEADLINE), SK, False, (SWEEP, EXPIRED, 0)),
    # revealed
    (COMMITTED, revealed(), SK, False, (SCORE, REVEALED, 0)),  # reveal adopted after a crash
    (REVEALED, revealed(), SK, False, (SCORE, REVEALED, 0)),
    (REVEALED, revealed(), SK, True, (POST, SCORED, 0)),  # table written, state not saved
    (SCORED, revealed(), SK, True, (POST, SCORED, 0)),
    (SCORED, revealed(), SK, False, (SCORE, REVEALED, 0)),  # table lost: score again
    (SCORED, revealed(now=DEADLINE), SK, True, (SWEEP, SCORED, 0)),
    # settled
    (SCORED, revealed(posted=True), SK, True, (DONE, POSTED, 0)),  # post adopted after a crash
    (POSTED, revealed(posted=True), SK, True, (DONE, POSTED, 0)),
    (EXPIRED, committed(head=900, swept=True), SK, False, (DONE, SWEPT, 0)),
    (NEW, view(swept=True), None, False, (DONE, SWEPT, 0)),
])
def test_plan__record_and_chain__next_step(state, chain, our_sk, has_table, expected):
    action = oracle.plan(state, chain, our_sk, has_table)
    assert (action.kind, action.state, action.wait) == expected


@pytest.mark.parametrize("state, chain, our_sk, reason", [
    (NEW, committed(sk=OTHER_SK), SK, "not this oracle's"),
    (NEW, committed(), None, "does not hold"),
    (COMMITTED, revealed(sk=OTHER_SK), SK, "not this oracle's"),
    (COMMITTED, view(), SK, "COMMITTED in the state file but has no commit"),
    (SCORED, committed(), SK, "SCORED in the state file but not revealed"),
    (POSTED, revealed(), SK, "POSTED in the state file but not on chain"),
])
def test_plan__chain_contradicts_the_oracle__one_line_error(state, chain, our_sk, reason):
    with pytest.raises(OracleError, match=reason) as err:
        oracle.plan(state, chain, our_sk, False)
    assert "\n" not in str(err.value) and "epoch 3" in str(err.value)
