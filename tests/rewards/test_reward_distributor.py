"""RewardDistributor: posting roots, sweeping, claims (Merkle proof + lottery), DECA supply."""

import itertools

import ape
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greenminer import secp256k1
from offchain import merkle, pogg
from rewards_kit import EMISSION, EPOCH_SECONDS, POST_DEADLINE, Table, filler_rows

P = secp256k1.P
SK = 0x5EC12E7 << 64
ZERO = "0x" + "00" * 20
DAY = 86_400
CLAIM_PERIOD = 14 * DAY
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def row(token_id, amount, a_bps=9_500, q_bps=6_000, v_milli=12_345):
    return (token_id, amount, a_bps, q_bps, v_milli)


@pytest.fixture
def k_one(keys, owner):
    """K = 1: every token with N > 0 wins."""
    keys.set_lottery_k(1, sender=owner)


@pytest.fixture
def trio(miners, miner, other_miner):
    """Tokens a (miner), b (other_miner) and c (miner, never sends readings)."""
    return miners.admit(0xA11CE, miner), miners.admit(0xB0B, other_miner), miners.admit(0xC0C0, miner)


@pytest.fixture
def posted(k_one, trio, run_epoch, post_table):
    """Epoch 0 revealed (a: 12 readings, b: 5, c: none) and a 16-row table posted."""
    a, b, c = trio
    run_epoch(0, {a: 12, b: 5}, SK)
    rows = [row(a, 3 * 10**18), row(b, 2 * 10**18), row(c, 10**18)] + filler_rows(13)
    table, _ = post_table(0, rows)
    return table


@pytest.fixture
def claim(dist, point_of, stranger):
    """Claim a token's row of `table` with its true point (or `point`), by a stranger."""

    def claim(table, token, sk=SK, point=None, sender=None, **changes):
        args = list(table.claim_args(token, point or point_of(sk, token)))
        names = ["epoch", "token_id", "amount", "a_bps", "q_bps", "v_milli", "proof", "px", "py"]
        for name, value in changes.items():
            args[names.index(name)] = value
        return dist.claim(*args, sender=sender or stranger)

    return claim


# ============================== wiring ==============================


def test_constructor__wiring_and_parameters(dist, deca, keys, sbt, registry, vault, owner, genesis):
    assert dist.owner() == owner
    assert (dist.deca(), dist.keys(), dist.sbt(), dist.vault()) == (deca, keys, sbt, vault)
    assert dist.emission() == EMISSION
    assert dist.post_deadline() == POST_DEADLINE
    assert dist.start_epoch() == 0
    assert dist.deadline(5) == genesis + 6 * EPOCH_SECONDS + POST_DEADLINE
    assert dist.claim_deadline(5) == genesis + 6 * EPOCH_SECONDS + CLAIM_PERIOD
    assert deca.is_minter(dist)


def test_constructor__sbt_not_the_keys__reverts(project, owner, deca, keys, vault):
    other_sbt = owner.deploy(project.MinerSBT)
    with ape.reverts("rewards: sbt is not the keys' sbt"):
        owner.deploy(project.RewardDistributor, deca, keys, other_sbt, vault, EMISSION, POST_DEADLINE)


@pytest.mark.parametrize("emission, deadline, reason", [
    (2**96, POST_DEADLINE, "rewards: bad emission"),
    (EMISSION, 0, "rewards: bad post deadline"),
])
def test_constructor__bad_parameters__revert(project, owner, deca, keys, sbt, vault, emission, deadline, reason):
    with ape.reverts(reason):
        owner.deploy(project.RewardDistributor, deca, keys, sbt, vault, emission, deadline)


def test_constructor__deployed_later__earlier_epochs_have_no_emission(
    project, owner, deca, keys, sbt, vault, oracle, at, stranger
):
    at(2, 10)  # epoch 3 is running
    late = owner.deploy(project.RewardDistributor, deca, keys, sbt, vault, EMISSION, POST_DEADLINE)
    late.set_oracle(oracle, True, sender=owner)
    assert late.start_epoch() == 3
    at(2 + 24)
    with ape.reverts("rewards: epoch before start"):
        late.sweep(2, sender=stranger)
    with ape.reverts("rewards: epoch before start"):
        late.post(2, b"\x01" * 32, 0, "", sender=oracle)


# ============================== post ==============================


def test_post__revealed_epoch__records_and_pays_the_rest_to_vault(dist, deca, vault, k_one, trio, run_epoch, oracle):
    a, b, _ = trio
    run_epoch(0, {a: 12, b: 12}, SK)
    table = Table(0, [row(a, 3 * 10**18), row(b, 2 * 10**18)] + filler_rows(6))
    tx = dist.post(0, table.root, table.total, "ipfs://table/0", sender=oracle)
    logs = tx.decode_logs(dist.Posted)
    assert len(logs) == 1
    assert (logs[0].epoch, logs[0].root, logs[0].total, logs[0].uri) == (0, table.root, table.total, "ipfs://table/0")
    assert dist.epoch_rewards(0) == (table.root, table.total, 0, 1)
    assert deca.balanceOf(vault) == EMISSION - table.total
    assert deca.totalSupply() == EMISSION - table.total


def test_post__whole_emission_in_table__vault_gets_nothing(dist, deca, vault, k_one, trio, run_epoch, post_table):
    a, _, _ = trio
    run_epoch(0, {a: 12}, SK)
    post_table(0, [row(a, EMISSION)])
    assert deca.balanceOf(vault) == 0
    assert deca.totalSupply() == 0


def test_post__empty_table__vault_gets_everything(dist, deca, vault, run_epoch, oracle):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x00" * 32, 0, "ipfs://no-winner", sender=oracle)
    assert deca.balanceOf(vault) == EMISSION


@pytest.mark.parametrize("who", ["attacker", "owner", "stranger"])
def test_post__not_an_oracle__reverts(dist, run_epoch, who, request):
    run_epoch(0, {}, SK)
    with ape.reverts("rewards: not an oracle"):
        dist.post(0, b"\x01" * 32, 0, "", sender=request.getfixturevalue(who))


def test_post__not_revealed__reverts(dist, oracle, commit, at):
    at(0, 700)
    with ape.reverts("rewards: not revealed"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle)
    commit(0, SK)
    with ape.reverts("rewards: not revealed"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle)


def test_post__total_above_emission__reverts(dist, oracle, run_epoch):
    run_epoch(0, {}, SK)
    with ape.reverts("rewards: total above emission"):
        dist.post(0, b"\x01" * 32, EMISSION + 1, "", sender=oracle)
    dist.post(0, b"\x01" * 32, EMISSION, "", sender=oracle)


def test_post__twice__reverts(dist, oracle, run_epoch):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle)
    with ape.reverts("rewards: already posted"):
        dist.post(0, b"\x02" * 32, 0, "", sender=oracle)


def test_post__at_deadline__reverts(dist, oracle, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE)
    with ape.reverts("rewards: too late"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle)


def test_post__one_second_before_deadline__accepted(dist, oracle, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE - 1)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle)


def test_post__not_a_minter__reverts_in_deca(dist, deca, owner, oracle, run_epoch):
    deca.set_minter(dist, False, sender=owner)
    run_epoch(0, {}, SK)
    with ape.reverts("erc20: access is denied"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle)


# ============================== sweep ==============================


@pytest.mark.parametrize("revealed", [False, True])
def test_sweep__never_posted__whole_emission_to_vault(dist, deca, vault, stranger, run_epoch, at, revealed):
    if revealed:
        run_epoch(0, {}, SK)
    at(0, POST_DEADLINE)
    tx = dist.sweep(0, sender=stranger)
    logs = tx.decode_logs(dist.Swept)
    assert len(logs) == 1 and (logs[0].epoch, logs[0].amount) == (0, EMISSION)
    assert deca.balanceOf(vault) == EMISSION
    assert dist.epoch_rewards(0)[3] == 2
    with ape.reverts("rewards: already settled"):
        dist.sweep(0, sender=stranger)


def test_sweep__before_deadline__reverts(dist, stranger, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE - 1)
    with ape.reverts("rewards: deadline not passed"):
        dist.sweep(0, sender=stranger)


def test_sweep__posted_epoch__reverts(dist, stranger, oracle, run_epoch, at):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle)
    at(0, POST_DEADLINE)
    with ape.reverts("rewards: already settled"):
        dist.sweep(0, sender=stranger)


def test_post__swept_epoch__reverts(dist, stranger, oracle, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE)
    dist.sweep(0, sender=stranger)
    with ape.reverts("rewards: already settled"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle)


# ============================== claim ==============================


def test_claim__by_a_stranger__pays_the_sbt_owner(dist, deca, posted, trio, claim, miner, stranger):
    a, _, _ = trio
    tx = claim(posted, a, sender=stranger)
    logs = tx.decode_logs(dist.Claimed)
    assert len(logs) == 1
    assert (logs[0].epoch, logs[0].token_id, logs[0].owner, logs[0].amount) == (0, a, miner, 3 * 10**18)
    assert deca.balanceOf(miner) == 3 * 10**18
    assert deca.balanceOf(stranger) == 0
    assert dist.is_claimed(0, a)
    assert dist.epoch_rewards(0)[2] == 3 * 10**18


def test_claim__by_the_owner__paid(dist, deca, posted, trio, claim, other_miner):
    _, b, _ = trio
    claim(posted, b, sender=other_miner)
    assert deca.balanceOf(other_miner) == 2 * 10**18


def test_claim__twice__reverts(posted, trio, claim, miner):
    a, _, _ = trio
    claim(posted, a)
    with ape.reverts("rewards: already claimed"):
        claim(posted, a, sender=miner)


def test_claim__not_posted__reverts(dist, k_one, trio, run_epoch, claim, at, stranger):
    a, _, _ = trio
    run_epoch(0, {a: 12}, SK)
    table = Table(0, [row(a, 10**18)])
    with ape.reverts("rewards: not posted"):
        claim(table, a)
    at(0, POST_DEADLINE)
    dist.sweep(0, sender=stranger)
    with ape.reverts("rewards: not posted"):
        claim(table, a)


@pytest.mark.parametrize("change", [
    {"amount": 3 * 10**18 + 1},
    {"a_bps": 9_501},
    {"q_bps": 6_001},
    {"v_milli": 12_346},
    {"epoch": 1},
    {"proof": []},
])
def test_claim__tampered_row__bad_proof(posted, trio, claim, change, run_epoch, post_table):
    a, _, _ = trio
    if "epoch" in change:  # the same row under another posted epoch
        run_epoch(1, {a: 12}, SK + 1)
        post_table(1, [row(a, 10**18)] + filler_rows(3))
    with ape.reverts("rewards: bad proof"):
        claim(posted, a, **change)


def test_claim__another_rows_proof__bad_proof(posted, trio, claim):
    a, b, _ = trio
    with ape.reverts("rewards: bad proof"):
        claim(posted, a, proof=posted.proof(b))
    # a row of one token claimed as another
    with ape.reverts("rewards: bad proof"):
        claim(posted, a, token_id=b)


def test_claim__wrong_point__not_a_winner(posted, trio, claim, point_of):
    a, b, _ = trio
    x, y = point_of(SK, a)
    for point in [point_of(SK, b), point_of(SK + 1, a), (x, P - y), (x, y ^ 1), (0, 0)]:
        with ape.reverts("rewards: not a winner"):
            claim(posted, a, point=point)
    claim(posted, a)


def test_claim__no_readings__not_a_winner(posted, trio, claim):
    """c has a row and SEED = 0 (K = 1), but N = 0."""
    _, _, c = trio
    with ape.reverts("rewards: not a winner"):
        claim(posted, c)


def test_claim__loser_at_k_60__not_a_winner(keys, miners, miner, run_epoch, post_table, claim, point_of):
    tokens = [miners.admit(0xD00D + i, miner) for i in range(4)]
    run_epoch(0, {t: 12 for t in tokens}, SK)
    losers = [t for t in tokens if not keys.is_winner(0, t, *point_of(SK, t))]
    assert losers  # each wins with probability 1/60
    table, _ = post_table(0, [row(t, 10**18) for t in tokens])
    with ape.reverts("rewards: not a winner"):
        claim(table, losers[0])


def test_claim__agrees_with_is_winner_and_python(keys, owner, dist, deca, miners, miner, run_epoch, post_table, claim, point_of):
    """K = 2: about half win; a claim passes exactly for the winners, as offchain.pogg says."""
    keys.set_lottery_k(2, sender=owner)
    tokens = [miners.admit(0xE000 + i, miner) for i in range(6)]
    counts = {t: 1 + 2 * i for i, t in enumerate(tokens)}
    run_epoch(0, counts, SK)
    table, _ = post_table(0, [row(t, 10**17 * (i + 1)) for i, t in enumerate(tokens)])
    entropy = keys.entropy(0)
    paid = 0
    for t in tokens:
        x, y = point_of(SK, t)
        wins = pogg.is_winner(x, counts[t], entropy, 2)
        assert keys.is_winner(0, t, x, y) == wins
        if wins:
            claim(table, t)
            paid += table.row(t)[1]
        else:
            with ape.reverts("rewards: not a winner"):
                claim(table, t)
    assert deca.balanceOf(miner) == paid


def test_claim__above_total__reverts(k_one, trio, run_epoch, post_table, claim):
    """A table whose rows sum to more than its posted total pays at most the total."""
    a, b, _ = trio
    run_epoch(0, {a: 12, b: 12}, SK)
    table, _ = post_table(0, [row(a, 6 * 10**18), row(b, 5 * 10**18)], total=10 * 10**18)
    claim(table, a)
    with ape.reverts("rewards: above total"):
        claim(table, b)


def test_claim__after_14_days__expired(posted, trio, claim, at):
    a, b, _ = trio
    at(0, CLAIM_PERIOD - 1)
    claim(posted, a)
    at(0, CLAIM_PERIOD)
    with ape.reverts("rewards: claim expired"):
        claim(posted, b)


def test_claim__revoked_token__no_owner(posted, trio, claim, sbt, owner):
    a, _, _ = trio
    sbt.revoke(a, "fraud", sender=owner)
    with ape.reverts("erc721: invalid token ID"):
        claim(posted, a)


def test_claim__suspended_token__still_paid(posted, trio, claim, sbt, owner, deca, miner):
    a, _, _ = trio
    sbt.set_hardware_status(a, 2, sender=owner)
    claim(posted, a)
    assert deca.balanceOf(miner) == 3 * 10**18


# ============================== claimed flags ==============================


def test_claimed_flags__epochs_of_one_window__kept_apart(dist, k_one, trio, run_epoch, post_table, claim):
    a, b, _ = trio
    tables = {}
    for e in (0, 1, 191):
        run_epoch(e, {a: 12, b: 12}, SK + e)
        tables[e], _ = post_table(e, [row(a, 10**18), row(b, 10**18)])
    claim(tables[1], a, sk=SK + 1)
    assert [dist.is_claimed(e, t) for e in (0, 1, 191) for t in (a, b)] == [False, False, True, False, False, False]
    claim(tables[191], a, sk=SK + 191)
    claim(tables[0], a, sk=SK)
    claim(tables[0], b, sk=SK)
    assert [dist.is_claimed(e, t) for e in (0, 1, 191) for t in (a, b)] == [True, True, True, False, True, False]
    with ape.reverts("rewards: already claimed"):
        claim(tables[191], a, sk=SK + 191)


def test_claimed_flags__word_reused_three_windows_later(dist, k_one, trio, run_epoch, post_table, claim):
    """Epochs 0 and 576 share a ring slot; claims of epoch 0 expired long before."""
    a, _, _ = trio
    run_epoch(0, {a: 12}, SK)
    t0, _ = post_table(0, [row(a, 10**18)])
    claim(t0, a)
    for e in (192, 384):  # the other two slots
        run_epoch(e, {a: 12}, SK + e)
        t, _ = post_table(e, [row(a, 10**18)])
        claim(t, a, sk=SK + e)
    run_epoch(576, {a: 12}, SK + 576)
    t576, _ = post_table(576, [row(a, 10**18)])
    assert not dist.is_claimed(576, a)
    tx = claim(t576, a, sk=SK + 576)
    assert dist.is_claimed(576, a)
    assert not dist.is_claimed(0, a)  # its word now holds window 3 (and its claims expired)
    with ape.reverts("rewards: claim expired"):
        claim(t0, a)
    with ape.reverts("rewards: already claimed"):
        claim(t576, a, sk=SK + 576)
    assert tx.gas_used < 100_000  # the reused word is not a new slot


# ============================== supply ==============================

_epochs = itertools.count()


@given(
    amounts=st.lists(st.integers(0, EMISSION // 2), min_size=2, max_size=2),
    slack=st.integers(-EMISSION // 2, EMISSION // 2),
    claims=st.lists(st.booleans(), min_size=2, max_size=2),
)
@settings(SLOW, max_examples=8)
def test_supply__any_table_and_claims__never_above_emission(
    dist, deca, vault, k_one, miners, miner, run_epoch, post_table, claim, amounts, slack, claims
):
    e = next(_epochs) * 2 + 1
    tokens = [miners.admit(0xF00000 + 2 * e + i, miner) for i in range(2)]
    run_epoch(e, {t: 12 for t in tokens}, SK + e)
    rows = [row(t, a) for t, a in zip(tokens, amounts)] + filler_rows(2)
    total = max(0, min(EMISSION, sum(amounts) + slack))
    supply0, vault0 = deca.totalSupply(), deca.balanceOf(vault)
    table, _ = post_table(e, rows, total=total)
    assert deca.balanceOf(vault) - vault0 == EMISSION - total
    for t, wanted in zip(tokens, claims):
        if not wanted:
            continue
        if dist.epoch_rewards(e)[2] + table.row(t)[1] <= total:
            claim(table, t, sk=SK + e)
        else:
            with ape.reverts("rewards: above total"):
                claim(table, t, sk=SK + e)
    minted = deca.totalSupply() - supply0
    assert minted == EMISSION - total + dist.epoch_rewards(e)[2]
    assert minted <= EMISSION


def test_supply__posted_swept_and_claimed_epochs__each_within_emission(
    dist, deca, vault, k_one, trio, run_epoch, post_table, claim, stranger, at, miner, other_miner
):
    a, b, _ = trio
    run_epoch(0, {a: 12, b: 12}, SK)
    t0, _ = post_table(0, [row(a, 400 * 10**18), row(b, 600 * 10**18)])  # the whole emission
    run_epoch(1, {a: 12}, SK + 1)
    t1, _ = post_table(1, [row(a, 10**18)] + filler_rows(5))
    run_epoch(2, {}, SK + 2)  # revealed, never posted
    claim(t0, a)
    claim(t0, b)
    claim(t1, a, sk=SK + 1)
    at(3, POST_DEADLINE)
    dist.sweep(2, sender=stranger)
    dist.sweep(3, sender=stranger)  # never committed
    assert deca.totalSupply() == 4 * EMISSION - t1.total + 10**18
    assert deca.balanceOf(vault) == 3 * EMISSION - t1.total
    assert deca.balanceOf(miner) == 401 * 10**18
    assert deca.balanceOf(other_miner) == 600 * 10**18


# ============================== DAO setters ==============================


@pytest.mark.parametrize("who", ["attacker", "oracle"])
def test_setters__not_the_dao__revert(dist, who, request):
    sender = request.getfixturevalue(who)
    for call, args in [
        (dist.set_oracle, (sender, True)),
        (dist.set_emission, (1,)),
        (dist.set_post_deadline, (3 * 3_600,)),
        (dist.transfer_ownership, (sender,)),
    ]:
        with ape.reverts("rewards: only the DAO"):
            call(*args, sender=sender)


def test_set_oracle__enable_and_disable__logged(dist, owner, attacker):
    tx = dist.set_oracle(attacker, True, sender=owner)
    logs = tx.decode_logs(dist.OracleChanged)
    assert len(logs) == 1 and (logs[0].oracle, logs[0].enabled) == (attacker, True)
    assert dist.is_oracle(attacker)
    dist.set_oracle(attacker, False, sender=owner)
    assert not dist.is_oracle(attacker)
    with ape.reverts("rewards: zero oracle"):
        dist.set_oracle(ZERO, True, sender=owner)


@pytest.mark.parametrize("name, good, bad, reason", [
    ("emission", [0, 2**96 - 1], [2**96], "rewards: bad emission"),
    ("post_deadline", [2 * 3_600, 7 * DAY], [0, 2 * 3_600 - 1, 7 * DAY + 1], "rewards: bad post deadline"),
])
def test_set_parameter__bounds__logged_or_reverts(dist, owner, name, good, bad, reason):
    setter = getattr(dist, "set_" + name)
    for value in good:
        tx = setter(value, sender=owner)
        logs = tx.decode_logs(dist.ParameterChanged)
        assert len(logs) == 1 and (logs[0].name, logs[0].value) == (name, value)
        assert getattr(dist, name)() == value
    for value in bad:
        with ape.reverts(reason):
            setter(value, sender=owner)


def test_set_emission__later_epochs_only(dist, deca, vault, owner, oracle, run_epoch, at, stranger):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle)
    dist.set_emission(EMISSION // 4, sender=owner)
    at(1, POST_DEADLINE)
    dist.sweep(1, sender=stranger)
    assert deca.balanceOf(vault) == EMISSION + EMISSION // 4


def test_transfer_ownership__to_dao__new_owner_only(dist, owner, attacker):
    with ape.reverts("rewards: zero owner"):
        dist.transfer_ownership(ZERO, sender=owner)
    dist.transfer_ownership(attacker, sender=owner)
    assert dist.owner() == attacker
    with ape.reverts("rewards: only the DAO"):
        dist.set_emission(1, sender=owner)


def test_merkle_twin__proofs_of_posted_table__verify_in_python(posted):
    for r in posted.rows:
        assert merkle.verify(posted.proof(r[0]), posted.root, merkle.leaf(0, *r))
