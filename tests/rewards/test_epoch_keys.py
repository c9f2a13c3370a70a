"""EpochKeys: commit-reveal of the epoch key, entropy, and the lottery against offchain.scoring.pogg."""

import hashlib
import itertools

import ape
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from rewards_kit import GRACE_PERIOD, REVEAL_DELAY, SECP256K1_N, epoch_key, pubkey_of

from greenminer import secp256k1
from offchain.scoring import pogg

P = secp256k1.P
SK = 0x5EC12E7 << 64  # small enough that SK + n still fits 256 bits
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def entropy_of(chain, h, delay):
    """sha256 of the block hashes of blocks h .. h + delay - 1 (the reveal's entropy)."""
    return hashlib.sha256(b"".join(bytes(chain.blocks[h + i].hash) for i in range(delay))).digest()


def mine_to(chain, number):
    """Mine until the chain head is block `number` (the next transaction lands in number + 1)."""
    head = chain.blocks.head.number
    if head < number:
        chain.mine(number - head)


# ============================== wiring ==============================


def test_constructor__defaults_and_wiring(keys, registry, sbt, owner, genesis):
    assert keys.owner() == owner
    assert keys.registry() == registry
    assert keys.sbt() == sbt
    assert keys.genesis() == genesis
    assert keys.reveal_delay() == 60
    assert keys.lottery_k() == 60
    assert registry.epoch_keys() == keys


def test_constructor__zero_address__reverts(project, owner, registry, sbt):
    zero = "0x" + "00" * 20
    with ape.reverts("keys: zero sbt"):
        owner.deploy(project.EpochKeys, registry, zero)


# ============================== commit ==============================


def test_commit__after_window__stores_key_and_closes_epoch(keys, registry, oracle_account, at, chain):
    _, x, y = epoch_key(SK)
    at(0, GRACE_PERIOD)
    tx = keys.commit(0, x, y, sender=oracle_account)
    logs = tx.decode_logs(keys.Committed)
    assert len(logs) == 1
    assert (logs[0].epoch, logs[0].pk_x, logs[0].pk_y, logs[0].committed_block) == (0, x, y, tx.block_number)
    assert len(tx.decode_logs(registry.EpochClosed)) == 1
    assert keys.committed_block(0) == tx.block_number
    assert keys.public_key(0) == (x, y)
    assert keys.epoch_params(0) == (60, 60)
    assert not keys.revealed(0)
    assert keys.secret(0) == 0
    assert keys.entropy(0) == b"\x00" * 32
    assert registry.epoch_closed(0)


def test_commit__epoch_closed_in_registry__refuses_batches_even_if_grace_grows(
    keys, registry, miners, miner, owner, commit, at
):
    token = miners.admit(0xA11CE, miner)
    commit(0, SK)
    # a longer grace period would reopen epoch 0 by time; the commit keeps it closed
    registry.set_grace_period(3_600, sender=owner)
    assert registry.epoch_closed(0)
    with ape.reverts("registry: epoch closed"):
        miners.submit(0, {token: 12})
    # an epoch not committed follows the (new) grace period
    at(1, GRACE_PERIOD + 1)
    miners.submit(1, {token: 12})
    assert registry.legal_count(miners.device(token), 1) == 12


@pytest.mark.parametrize("who", ["attacker", "owner", "stranger"])
def test_commit__not_an_oracle__reverts(keys, at, who, request):
    sender = request.getfixturevalue(who)
    _, x, y = epoch_key(SK)
    at(0, GRACE_PERIOD)
    with ape.reverts("keys: not an oracle"):
        keys.commit(0, x, y, sender=sender)


@pytest.mark.parametrize("epoch, offset", [(0, GRACE_PERIOD - 1), (0, -1), (1, GRACE_PERIOD)])
def test_commit__window_open__reverts(keys, oracle_account, at, epoch, offset):
    """One second before the grace period ends, inside the epoch, and a later epoch."""
    _, x, y = epoch_key(SK)
    at(0, offset)
    with ape.reverts("keys: window open"):
        keys.commit(epoch, x, y, sender=oracle_account)


def test_commit__twice__reverts(keys, oracle_account, commit):
    commit(0, SK)
    _, x, y = epoch_key(SK + 1)
    with ape.reverts("keys: already committed"):
        keys.commit(0, x, y, sender=oracle_account)


@pytest.mark.parametrize(
    "x, y",
    [
        (0, 0),
        (secp256k1.GX, secp256k1.GY + 1),  # off the curve
        (secp256k1.GX, P - secp256k1.GY + P),  # not reduced
        (secp256k1.GX + P, secp256k1.GY),  # not reduced
    ],
)
def test_commit__bad_key__reverts(keys, oracle_account, at, x, y):
    at(0, GRACE_PERIOD)
    with ape.reverts("keys: bad key"):
        keys.commit(0, x % 2**256, y % 2**256, sender=oracle_account)


def test_commit__keys_not_wired_in_registry__reverts(keys, registry, owner, oracle_account, at):
    registry.set_epoch_keys(owner, sender=owner)
    _, x, y = epoch_key(SK)
    at(0, GRACE_PERIOD)
    with ape.reverts("registry: only epoch keys"):
        keys.commit(0, x, y, sender=oracle_account)


def test_commit__parameters_changed_later__epoch_keeps_its_own(keys, owner, commit, reveal, chain):
    commit(0, SK)
    keys.set_reveal_delay(5, sender=owner)
    keys.set_lottery_k(7, sender=owner)
    assert keys.epoch_params(0) == (60, 60)
    h = keys.committed_block(0)
    mine_to(chain, h + 5)
    with ape.reverts("keys: too early"):
        keys.reveal(0, SK, sender=owner)
    commit(1, SK + 1)
    assert keys.epoch_params(1) == (5, 7)


# ============================== reveal ==============================


def test_reveal__at_h_plus_b__stores_secret_and_entropy(keys, chain, commit, stranger):
    _, x, y = epoch_key(SK)
    commit(0, SK)
    h = keys.committed_block(0)
    mine_to(chain, h + REVEAL_DELAY - 1)
    tx = keys.reveal(0, SK, sender=stranger)  # anyone may reveal
    assert tx.block_number == h + REVEAL_DELAY
    entropy = entropy_of(chain, h, REVEAL_DELAY)
    logs = tx.decode_logs(keys.Revealed)
    assert len(logs) == 1
    assert (logs[0].epoch, logs[0].sk, logs[0].entropy) == (0, SK, entropy)
    assert keys.revealed(0)
    assert keys.secret(0) == SK
    assert keys.entropy(0) == entropy
    assert keys.committed_block(0) == h
    assert keys.epoch_params(0) == (60, 60)
    # the commit's slots now hold SK and the entropy: the key is in the Committed event
    assert keys.public_key(0) == (0, 0)


@pytest.mark.parametrize("delay", [1, 2, 128])
def test_reveal__other_delays__entropy_of_b_hashes(keys, owner, chain, commit, delay):
    keys.set_reveal_delay(delay, sender=owner)
    commit(0, SK)
    h = keys.committed_block(0)
    mine_to(chain, h + delay - 1)
    keys.reveal(0, SK, sender=owner)
    assert keys.entropy(0) == entropy_of(chain, h, delay)


def test_reveal__last_block_with_all_hashes__accepted(keys, chain, commit, oracle_account):
    commit(0, SK)
    h = keys.committed_block(0)
    mine_to(chain, h + 255)  # the reveal lands in block H + 256: blockhash(H) is the oldest readable
    tx = keys.reveal(0, SK, sender=oracle_account)
    assert tx.block_number == h + 256
    assert keys.entropy(0) == entropy_of(chain, h, REVEAL_DELAY)


def test_reveal__after_256_blocks__reverts(keys, chain, commit, oracle_account):
    commit(0, SK)
    mine_to(chain, keys.committed_block(0) + 256)  # the next block is H + 257
    with ape.reverts("keys: too late"):
        keys.reveal(0, SK, sender=oracle_account)
    chain.mine(257)
    with ape.reverts("keys: too late"):
        keys.reveal(0, SK, sender=oracle_account)


def test_reveal__before_h_plus_b__reverts(keys, chain, commit, oracle_account):
    commit(0, SK)
    mine_to(chain, keys.committed_block(0) + REVEAL_DELAY - 2)  # the next block is H + B - 1
    with ape.reverts("keys: too early"):
        keys.reveal(0, SK, sender=oracle_account)


@pytest.mark.parametrize("sk", [SK + 1, 0, SECP256K1_N, SK + SECP256K1_N, SECP256K1_N - SK, 2**256 - 1])
def test_reveal__wrong_key__reverts(keys, chain, commit, oracle_account, sk):
    commit(0, SK)
    mine_to(chain, keys.committed_block(0) + REVEAL_DELAY)
    with ape.reverts("keys: wrong key"):
        keys.reveal(0, sk, sender=oracle_account)


def test_reveal__twice__reverts(keys, commit, reveal, oracle_account):
    commit(0, SK)
    reveal(0, SK)
    with ape.reverts("keys: already revealed"):
        keys.reveal(0, SK, sender=oracle_account)


def test_reveal__not_committed__reverts(keys, oracle_account, at, chain):
    at(0, GRACE_PERIOD)
    chain.mine(REVEAL_DELAY)
    with ape.reverts("keys: not committed"):
        keys.reveal(0, SK, sender=oracle_account)


# ============================== lottery ==============================


@SLOW
@given(
    x=st.integers(0, 2**256 - 1),
    n=st.integers(0, 2**256 - 1) | st.integers(0, 12),
    entropy=st.binary(min_size=32, max_size=32),
    k=st.integers(1, 2**32 - 1) | st.sampled_from([1, 2, 60]),
)
def test_lottery_seed__any_inputs__equals_python(keys, x, n, entropy, k):
    assert keys.lottery_seed(x, n, entropy, k) == pogg.seed(x, n, entropy, k)


@SLOW
@given(k=st.integers(1, SECP256K1_N - 1), a=st.integers(1, SECP256K1_N - 1))
def test_is_multiple__random_points__ecrecover_trick_holds(keys, k, a):
    p = secp256k1.multiply(a, (secp256k1.GX, secp256k1.GY))
    assume(p[0] < SECP256K1_N)
    q = secp256k1.multiply(k, p)
    assert keys.is_multiple(k, *p, *q)
    assert not keys.is_multiple(k, *p, q[0], P - q[1])  # -Q
    assert not keys.is_multiple(k % (SECP256K1_N - 1) + 1, *p, *q)  # another scalar


_epochs = itertools.count()


@given(
    device_keys=st.lists(st.integers(1, SECP256K1_N - 1), min_size=1, max_size=3, unique=True),
    counts=st.lists(st.integers(1, 12), min_size=3, max_size=3),
    sk=st.integers(1, SECP256K1_N - 1),
    k=st.sampled_from([1, 2, 3, 60]),
)
@settings(SLOW, max_examples=12)
def test_seed__random_keys_points_and_n__equals_python(keys, owner, miners, miner, run_epoch, device_keys, counts, sk, k):
    """Each example: new devices with random keys and 1..12 readings in a new epoch, then
    seed / is_winner / point_ok of every device against offchain.scoring.pogg."""
    assume(all("0x%064x" % d not in miners.key.values() for d in device_keys))
    e = next(_epochs) * 2 + 1  # leave an epoch between examples: batches land after the last one
    keys.set_lottery_k(k, sender=owner)
    tokens = [miners.admit(d, miner) for d in device_keys]
    run_epoch(e, dict(zip(tokens, counts)), sk)
    entropy = keys.entropy(e)
    for t, n in zip(tokens, counts):
        x, y = pogg.ecdh_point(sk, pubkey_of(miners.key[t]))
        assert keys.point_ok(e, t, x, y)
        assert keys.seed(e, t, x, y) == pogg.seed(x, n, entropy, k)
        assert keys.is_winner(e, t, x, y) == pogg.is_winner(x, n, entropy, k)
        # the point of SK·PK, not of another key nor its negation
        assert not keys.point_ok(e, t, x, P - y)
        assert not keys.is_winner(e, t, x, P - y)


def test_seed__default_k_60__equals_python(keys, miners, miner, run_epoch):
    tokens = [miners.admit(0xD00D + i, miner) for i in range(4)]
    counts = {t: 1 + 3 * i for i, t in enumerate(tokens)}
    run_epoch(0, counts, SK)
    entropy = keys.entropy(0)
    assert keys.epoch_params(0) == (60, 60)
    for t, n in counts.items():
        x, y = pogg.ecdh_point(SK, miners.pubkey(t))
        assert keys.seed(0, t, x, y) == pogg.seed(x, n, entropy, 60)
        assert keys.is_winner(0, t, x, y) == pogg.is_winner(x, n, entropy, 60)


def test_is_winner__k_1_with_readings__wins(keys, owner, miners, miner, run_epoch, point_of):
    keys.set_lottery_k(1, sender=owner)
    token = miners.admit(0xA11CE, miner)
    run_epoch(0, {token: 3}, SK)
    assert keys.is_winner(0, token, *point_of(SK, token))
    assert keys.seed(0, token, *point_of(SK, token)) == 0


def test_is_winner__no_readings__false(keys, owner, miners, miner, run_epoch, point_of):
    """N = 0 loses even when SEED = 0 (K = 1)."""
    keys.set_lottery_k(1, sender=owner)
    active = miners.admit(0xA11CE, miner)
    silent = miners.admit(0xB0B, miner)
    run_epoch(0, {active: 12}, SK)
    x, y = point_of(SK, silent)
    assert keys.point_ok(0, silent, x, y)
    assert keys.seed(0, silent, x, y) == 0
    assert not keys.is_winner(0, silent, x, y)


def test_is_winner__wrong_point__false(keys, owner, miners, miner, run_epoch, point_of):
    keys.set_lottery_k(1, sender=owner)
    a = miners.admit(0xA11CE, miner)
    b = miners.admit(0xB0B, miner)
    run_epoch(0, {a: 12, b: 12}, SK)
    x, y = point_of(SK, a)
    wrong = [
        point_of(SK, b),  # another device's point
        point_of(SK + 1, a),  # another key's point
        (x, P - y),  # the negation
        (x, y + 1),  # not on the curve
        (0, 0),
        tuple(int.from_bytes(pubkey_of(0xA11CE)[i : i + 32], "big") for i in (0, 32)),  # PK itself
    ]
    for q in wrong:
        assert not keys.point_ok(0, a, *q)
        assert not keys.is_winner(0, a, *q)
        with ape.reverts("keys: wrong point"):
            keys.seed(0, a, *q)
    assert keys.is_winner(0, a, x, y)


def test_is_winner__unknown_token__false(keys, owner, miners, miner, run_epoch, point_of):
    keys.set_lottery_k(1, sender=owner)
    a = miners.admit(0xA11CE, miner)
    run_epoch(0, {a: 12}, SK)
    assert not keys.is_winner(0, a + 1, *point_of(SK, a))
    with ape.reverts("keys: wrong point"):
        keys.seed(0, a + 1, *point_of(SK, a))


def test_is_winner__not_revealed__false(keys, owner, miners, miner, commit, point_of):
    keys.set_lottery_k(1, sender=owner)
    a = miners.admit(0xA11CE, miner)
    miners.submit(0, {a: 12})
    for committed in (False, True):
        if committed:
            commit(0, SK)
        assert not keys.is_winner(0, a, *point_of(SK, a))
        assert not keys.point_ok(0, a, *point_of(SK, a))
        with ape.reverts("keys: not revealed"):
            keys.seed(0, a, *point_of(SK, a))


# ============================== DAO setters ==============================


@pytest.mark.parametrize("who", ["attacker", "oracle_account"])
def test_setters__not_the_dao__revert(keys, who, request):
    sender = request.getfixturevalue(who)
    for call, args in [
        (keys.set_oracle, (sender, True)),
        (keys.set_reveal_delay, (10,)),
        (keys.set_lottery_k, (2,)),
        (keys.transfer_ownership, (sender,)),
    ]:
        with ape.reverts("keys: only the DAO"):
            call(*args, sender=sender)


def test_set_oracle__enable_and_disable__logged(keys, owner, attacker):
    tx = keys.set_oracle(attacker, True, sender=owner)
    logs = tx.decode_logs(keys.OracleChanged)
    assert len(logs) == 1 and (logs[0].oracle, logs[0].enabled) == (attacker, True)
    assert keys.is_oracle(attacker)
    keys.set_oracle(attacker, False, sender=owner)
    assert not keys.is_oracle(attacker)
    with ape.reverts("keys: zero oracle"):
        keys.set_oracle("0x" + "00" * 20, True, sender=owner)


@pytest.mark.parametrize("name, good, bad, reason", [
    ("reveal_delay", [1, 128], [0, 129], "keys: bad reveal delay"),
    ("lottery_k", [1, 2**32 - 1], [0, 2**32], "keys: bad lottery k"),
])
def test_set_parameter__bounds__logged_or_reverts(keys, owner, name, good, bad, reason):
    setter = getattr(keys, "set_" + name)
    for value in good:
        tx = setter(value, sender=owner)
        logs = tx.decode_logs(keys.ParameterChanged)
        assert len(logs) == 1 and (logs[0].name, logs[0].value) == (name, value)
        assert getattr(keys, name)() == value
    for value in bad:
        with ape.reverts(reason):
            setter(value, sender=owner)


def test_transfer_ownership__to_dao__new_owner_only(keys, owner, attacker):
    with ape.reverts("keys: zero owner"):
        keys.transfer_ownership("0x" + "00" * 20, sender=owner)
    keys.transfer_ownership(attacker, sender=owner)
    assert keys.owner() == attacker
    with ape.reverts("keys: only the DAO"):
        keys.set_lottery_k(2, sender=owner)
