"""RewardDistributor: posting roots, sweeping, claims (Merkle proof + lottery), DECA supply."""

import itertools

import ape
import pytest
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rewards_kit import EMISSION, EPOCH_SECONDS, POST_DEADLINE, Table, filler_rows

from greenminer import secp256k1
from offchain.protocol import merkle
from offchain.scoring import pogg
from offchain.scoring.authenticity import ScoringParams, get_scoring_params, params_hash

P = secp256k1.P
SK = 0x5EC12E7 << 64
ZERO = "0x" + "00" * 20
DAY = 86_400
CLAIM_PERIOD = 14 * DAY
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def row(token_id, amount, a_bps=9_500, q_bps=6_000, v_mwh=12_345):
    return (token_id, amount, a_bps, q_bps, v_mwh)


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
        names = ["epoch", "token_id", "amount", "a_bps", "q_bps", "v_mwh", "proof", "px", "py"]
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
    project, owner, deca, keys, sbt, vault, oracle_account, at, stranger
):
    at(2, 10)  # epoch 3 is running
    late = owner.deploy(project.RewardDistributor, deca, keys, sbt, vault, EMISSION, POST_DEADLINE)
    late.set_oracle(oracle_account, True, sender=owner)
    assert late.start_epoch() == 3
    at(2 + 24)
    with ape.reverts("rewards: epoch before start"):
        late.sweep(2, sender=stranger)
    with ape.reverts("rewards: epoch before start"):
        late.post(2, b"\x01" * 32, 0, "", sender=oracle_account)


# ============================== post ==============================


def test_post__revealed_epoch__records_and_pays_the_rest_to_vault(dist, deca, vault, k_one, trio, run_epoch, oracle_account):
    a, b, _ = trio
    run_epoch(0, {a: 12, b: 12}, SK)
    table = Table(0, [row(a, 3 * 10**18), row(b, 2 * 10**18)] + filler_rows(6))
    tx = dist.post(0, table.root, table.total, "ipfs://table/0", sender=oracle_account)
    logs = tx.decode_logs(dist.Posted)
    assert len(logs) == 1
    assert (logs[0].epoch, logs[0].root, logs[0].total, logs[0].uri) == (0, table.root, table.total, "ipfs://table/0")
    assert logs[0].params_hash == params_hash(ScoringParams())
    assert dist.epoch_rewards(0) == (table.root, table.total, 0, 1)
    assert deca.balanceOf(vault) == EMISSION - table.total
    assert deca.totalSupply() == EMISSION - table.total


def test_post__whole_emission_in_table__vault_gets_nothing(dist, deca, vault, k_one, trio, run_epoch, post_table):
    a, _, _ = trio
    run_epoch(0, {a: 12}, SK)
    post_table(0, [row(a, EMISSION)])
    assert deca.balanceOf(vault) == 0
    assert deca.totalSupply() == 0


def test_post__empty_table__vault_gets_everything(dist, deca, vault, run_epoch, oracle_account):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x00" * 32, 0, "ipfs://no-winner", sender=oracle_account)
    assert deca.balanceOf(vault) == EMISSION


@pytest.mark.parametrize("who", ["attacker", "owner", "stranger"])
def test_post__not_an_oracle__reverts(dist, run_epoch, who, request):
    run_epoch(0, {}, SK)
    with ape.reverts("rewards: not an oracle"):
        dist.post(0, b"\x01" * 32, 0, "", sender=request.getfixturevalue(who))


def test_post__not_revealed__reverts(dist, oracle_account, commit, at):
    at(0, 700)
    with ape.reverts("rewards: not revealed"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)
    commit(0, SK)
    with ape.reverts("rewards: not revealed"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)


def test_post__total_above_emission__reverts(dist, oracle_account, run_epoch):
    run_epoch(0, {}, SK)
    with ape.reverts("rewards: total above emission"):
        dist.post(0, b"\x01" * 32, EMISSION + 1, "", sender=oracle_account)
    dist.post(0, b"\x01" * 32, EMISSION, "", sender=oracle_account)


def test_post__twice__reverts(dist, oracle_account, run_epoch):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)
    with ape.reverts("rewards: already posted"):
        dist.post(0, b"\x02" * 32, 0, "", sender=oracle_account)


def test_post__at_deadline__reverts(dist, oracle_account, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE)
    with ape.reverts("rewards: too late"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)


def test_post__one_second_before_deadline__accepted(dist, oracle_account, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE - 1)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)


def test_post__not_a_minter__reverts_in_deca(dist, deca, owner, oracle_account, run_epoch):
    deca.set_minter(dist, False, sender=owner)
    run_epoch(0, {}, SK)
    with ape.reverts("erc20: access is denied"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)


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


def test_sweep__posted_epoch__reverts(dist, stranger, oracle_account, run_epoch, at):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)
    at(0, POST_DEADLINE)
    with ape.reverts("rewards: already settled"):
        dist.sweep(0, sender=stranger)


def test_post__swept_epoch__reverts(dist, stranger, oracle_account, run_epoch, at):
    run_epoch(0, {}, SK)
    at(0, POST_DEADLINE)
    dist.sweep(0, sender=stranger)
    with ape.reverts("rewards: already settled"):
        dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)


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
    {"v_mwh": 12_346},
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
    """K = 2: about half win; a claim passes exactly for the winners, as offchain.scoring.pogg says."""
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


@pytest.mark.parametrize("who", ["attacker", "oracle_account", "stranger"])
def test_setters__not_the_dao__revert(dist, who, request):
    sender = request.getfixturevalue(who)
    for call, args in [
        (dist.set_oracle, (sender, True)),
        (dist.set_emission, (1,)),
        (dist.set_post_deadline, (3 * 3_600,)),
        (dist.set_scoring_params, (ScoringParams(),)),
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


def test_set_emission__later_epochs_only(dist, deca, vault, owner, oracle_account, run_epoch, at, stranger):
    run_epoch(0, {}, SK)
    dist.post(0, b"\x01" * 32, 0, "", sender=oracle_account)
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


# ============================== scoring parameters ==============================

# Every field changed from the default, each in its range.
RETUNED = ScoringParams(
    radius_m=40_000, neighbours=8, margin_bps=14_000, floor_bps=50, skew_s=900, check_epochs=24,
    yield_tolerance_bps=1_000, yield_limit_bps=4_000, weather_tolerance_bps=2_500, weather_limit_bps=6_000,
    shape_tolerance_bps=2_000, shape_limit_bps=6_000, smooth_bps=500,
    copy_residual_bps=80, copy_weather_bps=600, lone_bps=2_000, reference_kwh=5_000,
)


def test_scoring_params__defaults__equal_the_python_twin(dist, chain):
    assert ScoringParams(*dist.scoring_params()) == ScoringParams()
    for field in ScoringParams._fields:
        assert getattr(dist.scoring_params(), field) == getattr(ScoringParams(), field), field
    assert get_scoring_params(dist) == ScoringParams()
    assert dist.scoring_params_hash() == params_hash(ScoringParams())
    # the deployment logs them as a change
    logs = list(dist.ScoringParamsChanged.range(0, chain.blocks.height + 1))
    assert len(logs) == 1
    assert logs[0].params_hash == params_hash(ScoringParams())
    assert ScoringParams(*logs[0].params) == ScoringParams()


def test_params_hash__twin__keccak_of_17_words_in_field_order():
    words = b"".join(v.to_bytes(32, "big") for v in RETUNED)
    assert len(ScoringParams._fields) == 17
    assert len(words) == 17 * 32
    assert params_hash(RETUNED) == keccak(words)


def test_set_scoring_params__by_the_dao__stored_logged_and_hashed(dist, owner):
    assert all(a != b for a, b in zip(RETUNED, ScoringParams()))  # every field changed
    old_hash = dist.scoring_params_hash()
    tx = dist.set_scoring_params(RETUNED, sender=owner)
    logs = tx.decode_logs(dist.ScoringParamsChanged)
    assert len(logs) == 1
    assert logs[0].params_hash == params_hash(RETUNED)
    assert ScoringParams(*logs[0].params) == RETUNED
    assert get_scoring_params(dist) == RETUNED
    assert dist.scoring_params_hash() == params_hash(RETUNED) != old_hash


def _tolerance_and_limit(max_tolerance, max_limit):
    """(tolerance, limit): tolerance ≤ max_tolerance, tolerance < limit ≤ max_limit."""
    return st.integers(0, min(max_tolerance, max_limit - 1)).flatmap(
        lambda t: st.tuples(st.just(t), st.integers(t + 1, max_limit)))


@given(st.builds(
    lambda p, y, w, s: p._replace(yield_tolerance_bps=y[0], yield_limit_bps=y[1],
                                  weather_tolerance_bps=w[0], weather_limit_bps=w[1],
                                  shape_tolerance_bps=s[0], shape_limit_bps=s[1]),
    st.builds(
        ScoringParams,
        radius_m=st.integers(1, 1_000_000), neighbours=st.integers(1, 32), margin_bps=st.integers(10_000, 30_000),
        floor_bps=st.integers(0, 1_000), skew_s=st.integers(0, 3_600), check_epochs=st.integers(4, 168),
        smooth_bps=st.integers(0, 10_000),
        copy_residual_bps=st.integers(0, 10_000), copy_weather_bps=st.integers(0, 100_000),
        lone_bps=st.integers(0, 10_000), reference_kwh=st.integers(1, 1_000_000_000),
    ),
    _tolerance_and_limit(10_000, 100_000),
    _tolerance_and_limit(100_000, 200_000),
    _tolerance_and_limit(10_000, 10_000),
))
@settings(SLOW, max_examples=10)
def test_set_scoring_params__any_valid_params__hash_equals_the_twin(dist, owner, params):
    dist.set_scoring_params(params, sender=owner)
    assert get_scoring_params(dist) == params
    assert dist.scoring_params_hash() == params_hash(params)


# field: (accepted values, refused values, reason); limits are checked with their tolerance
# at the default, tolerances with their limit at its maximum (a shape tolerance of 10 000
# passes its own rule but leaves no limit above it: refused by the limit's rule, see below)
RANGES = {
    "radius_m": ([1, 1_000_000], [0, 1_000_001], "rewards: bad radius"),
    "neighbours": ([1, 32], [0, 33], "rewards: bad neighbours"),
    "margin_bps": ([10_000, 30_000], [0, 9_999, 30_001], "rewards: bad margin"),
    "floor_bps": ([0, 1_000], [1_001], "rewards: bad floor"),
    "skew_s": ([0, 3_600], [3_601], "rewards: bad skew"),
    "check_epochs": ([4, 168], [0, 3, 169], "rewards: bad check epochs"),
    "yield_tolerance_bps": ([0, 10_000], [10_001], "rewards: bad yield tolerance"),
    "yield_limit_bps": ([5_001, 100_000], [0, 5_000, 100_001], "rewards: bad yield limit"),
    "weather_tolerance_bps": ([0, 100_000], [100_001], "rewards: bad weather tolerance"),
    "weather_limit_bps": ([ScoringParams().weather_tolerance_bps + 1, 200_000],
                          [0, ScoringParams().weather_tolerance_bps, 200_001], "rewards: bad weather limit"),
    "shape_tolerance_bps": ([0, 9_999], [10_001, 2**32 - 1], "rewards: bad shape tolerance"),
    "shape_limit_bps": ([3_001, 10_000], [0, 3_000, 10_001], "rewards: bad shape limit"),
    "smooth_bps": ([0, 10_000], [10_001, 2**32 - 1], "rewards: bad smooth"),
    "copy_residual_bps": ([0, 10_000], [10_001], "rewards: bad copy residual"),
    "copy_weather_bps": ([0, 100_000], [100_001], "rewards: bad copy weather"),
    "lone_bps": ([0, 10_000], [10_001], "rewards: bad lone"),
    "reference_kwh": ([1, 1_000_000_000], [0, 1_000_000_001, 2**32 - 1], "rewards: bad reference"),
}
WIDE_LIMITS = {"yield_tolerance_bps": {"yield_limit_bps": 100_000},
               "weather_tolerance_bps": {"weather_limit_bps": 200_000},
               "shape_tolerance_bps": {"shape_limit_bps": 10_000}}


@pytest.mark.parametrize("field", list(RANGES))
def test_set_scoring_params__each_range__accepted_or_refused_with_its_reason(dist, owner, field):
    good, bad, reason = RANGES[field]
    base = ScoringParams()._replace(**WIDE_LIMITS.get(field, {}))
    for value in good:
        params = base._replace(**{field: value})
        tx = dist.set_scoring_params(params, sender=owner)
        assert len(tx.decode_logs(dist.ScoringParamsChanged)) == 1
        assert get_scoring_params(dist) == params
    kept = dist.scoring_params_hash()
    for value in bad:
        with ape.reverts(reason):
            dist.set_scoring_params(base._replace(**{field: value}), sender=owner)
    assert dist.scoring_params_hash() == kept


@pytest.mark.parametrize("tolerance, limit, value, reason", [
    ("yield_tolerance_bps", "yield_limit_bps", 7_000, "rewards: bad yield limit"),
    ("yield_tolerance_bps", "yield_limit_bps", 10_000, "rewards: bad yield limit"),
    ("weather_tolerance_bps", "weather_limit_bps", 7_000, "rewards: bad weather limit"),
    ("weather_tolerance_bps", "weather_limit_bps", 100_000, "rewards: bad weather limit"),
    ("shape_tolerance_bps", "shape_limit_bps", 7_000, "rewards: bad shape limit"),
    ("shape_tolerance_bps", "shape_limit_bps", 10_000, "rewards: bad shape limit"),
])
def test_set_scoring_params__limit_equal_to_its_tolerance__refused(dist, owner, tolerance, limit, value, reason):
    kept = dist.scoring_params_hash()
    with ape.reverts(reason):
        dist.set_scoring_params(ScoringParams()._replace(**{tolerance: value, limit: value}), sender=owner)
    # one below the limit passes
    dist.set_scoring_params(ScoringParams()._replace(**{tolerance: value - 1, limit: value}), sender=owner)
    assert dist.scoring_params_hash() != kept


def test_set_scoring_params__tolerance_raised_to_the_default_limit__refused(dist, owner):
    defaults = ScoringParams()
    with ape.reverts("rewards: bad weather limit"):
        dist.set_scoring_params(defaults._replace(weather_tolerance_bps=defaults.weather_limit_bps), sender=owner)
    with ape.reverts("rewards: bad shape limit"):
        dist.set_scoring_params(defaults._replace(shape_tolerance_bps=defaults.shape_limit_bps), sender=owner)


def test_post__after_a_set__logs_the_new_hash_earlier_post_the_old(dist, owner, oracle_account, run_epoch):
    run_epoch(0, {}, SK)
    first = dist.post(0, b"\x01" * 32, 0, "ipfs://0", sender=oracle_account)
    dist.set_scoring_params(RETUNED, sender=owner)
    run_epoch(1, {}, SK + 1)
    second = dist.post(1, b"\x02" * 32, 0, "ipfs://1", sender=oracle_account)
    (log0,) = first.decode_logs(dist.Posted)
    (log1,) = second.decode_logs(dist.Posted)
    assert (log0.epoch, log0.params_hash) == (0, params_hash(ScoringParams()))
    assert (log1.epoch, log1.params_hash) == (1, params_hash(RETUNED))


def test_set_scoring_params__between_posts__posted_epoch_keeps_its_hash(dist, owner, oracle_account, run_epoch, chain):
    """Epochs 0 and 1 revealed; 0 posted, then a set, then 1 posted: 1 commits to the
    parameters in force when posted, 0's log (read back from the chain) is unchanged."""
    run_epoch(0, {}, SK)
    run_epoch(1, {}, SK + 1)
    dist.post(0, b"\x01" * 32, 0, "ipfs://0", sender=oracle_account)
    dist.set_scoring_params(RETUNED, sender=owner)
    dist.post(1, b"\x02" * 32, 0, "ipfs://1", sender=oracle_account)
    dist.set_scoring_params(ScoringParams()._replace(lone_bps=0), sender=owner)
    stop = chain.blocks.height + 1
    (log0,) = dist.Posted.range(0, stop, search_topics={"epoch": 0})
    (log1,) = dist.Posted.range(0, stop, search_topics={"epoch": 1})
    assert log0.params_hash == params_hash(ScoringParams())
    assert log1.params_hash == params_hash(RETUNED)
    assert dist.epoch_rewards(0) == (b"\x01" * 32, 0, 0, 1)


def test_merkle_twin__proofs_of_posted_table__verify_in_python(posted):
    for r in posted.rows:
        assert merkle.verify(posted.proof(r[0]), posted.root, merkle.leaf(0, *r))
