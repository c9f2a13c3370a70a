"""GreenCertificate (GEC): wiring, posting roots, issuing rows, grid regions, the DAO's setters,
retirements and transfers, on the system as deployed (`owner` standing in for the DAO).

Every test starts from epochs 0..2 posted on the RewardDistributor (conftest ``tables``); the
certificate rows are built with the contract's off-chain twin, ``offchain.protocol.merkle``.
"""

import ape
import pytest
from certificate_kit import (
    EPOCH_SECONDS,
    GERMANY,
    MAX_MWH_PER_W,
    MUNICH,
    POST_DEADLINE,
    THRESHOLD,
    US_WEST,
    WORLD_BOX,
    WORLD_FACTOR,
    Certs,
    certificate_rows,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from offchain.deploy import CERTIFICATE_PARAMS

pytestmark = pytest.mark.usefixtures("base")  # the module's state first, then each test's snapshot

ZERO = "0x" + "00" * 20
# About a second an example on the embedded chain: no shrinking (minutes); the failing example is printed as drawn.
PROPERTY = settings(max_examples=8, deadline=None, derandomize=True, phases=(Phase.explicit, Phase.generate),
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def rows_of(t):
    """Certificate rows of the four miners (small at its capacity's bound) and five of tokens that do not exist."""
    return [(t.a, 12_345), (t.b, 5_000), (t.far, 7_000), (t.small, 3_000)] + [(10_000 + i, 1_000 + i) for i in range(5)]


@pytest.fixture
def certs0(post_certs, tokens):
    """Epoch 0's certificate rows posted (`rows_of`)."""
    certs, _ = post_certs(0, rows_of(tokens))
    return certs


@pytest.fixture
def fresh(chain, tables):
    """Return the chain to the module's posted epochs (for each example of a property test)."""
    snap = [chain.snapshot()]

    def fresh():
        chain.restore(snap[0])
        snap[0] = chain.snapshot()

    return fresh


def region(cert, i):
    r = cert.regions(i)
    return (r.name, r.south_udeg, r.north_udeg, r.west_udeg, r.east_udeg, r.factor_g_per_kwh, r.source)


def co2_totals(cert):
    return cert.issued_co2_ug(), cert.retired_co2_ug(), cert.live_co2_ug()


# ============================== wiring ==============================


def test_constructor__wiring_and_defaults(cert, system, owner, oracle_account, stranger):
    assert (cert.name(), cert.symbol(), cert.decimals()) == ("Green Energy Certificate", "GEC", 6)
    assert cert.rewards() == system.rewards
    assert cert.sbt() == system.sbt == system.rewards.sbt()
    assert cert.owner() == owner
    assert cert.is_oracle(oracle_account)
    assert not cert.is_oracle(owner) and not cert.is_oracle(stranger)
    assert cert.min_a_bps() == THRESHOLD == 9_000
    assert cert.region_count() == 1
    name, *box, factor, source = region(cert, 0)
    # the deploy's defaults (offchain.deploy.CERTIFICATE_PARAMS): the world's 2023 grid average per Ember
    assert (name, factor, source) == ("World", WORLD_FACTOR, CERTIFICATE_PARAMS["default_source"])
    assert factor == 480 and source.startswith("Ember")
    assert tuple(box) == WORLD_BOX
    assert cert.totalSupply() == cert.issued_mwh() == cert.retired_mwh() == cert.retirement_count() == 0
    assert co2_totals(cert) == (0, 0, 0)
    assert system.dao.modules("certificate") == cert


@pytest.mark.parametrize("change, reason", [
    ({"rewards": ZERO}, "cert: zero address"),
    ({"min_a_bps": 0}, "cert: bad threshold"),
    ({"min_a_bps": 10_001}, "cert: bad threshold"),
    ({"factor": 2_001}, "cert: factor above 2000 g/kWh"),
    ({"source": ""}, "cert: no source"),
])
def test_constructor__bad_parameters__revert(project, owner, dist, change, reason):
    args = {"rewards": dist.address, "min_a_bps": THRESHOLD, "name": "World", "factor": WORLD_FACTOR, "source": "Ember"}
    args.update(change)
    with ape.reverts(reason):
        owner.deploy(project.GreenCertificate, *args.values())


# ============================== post ==============================


def test_post__records_root_and_logs_threshold(cert, tokens, tables, oracle_account):
    certs = Certs(0, certificate_rows(tables[0]))
    assert [t for t, _ in certs.rows[:2]] == [tokens.a, tokens.b]  # b at the threshold, small below, far no energy
    tx = cert.post(0, certs.root, certs.total, "ipfs://certificates/0", sender=oracle_account)
    logs = tx.decode_logs(cert.CertificatesPosted)
    assert len(logs) == 1
    log = logs[0]
    assert (log.epoch, log.root, log.total_mwh, log.uri, log.min_a_bps) == (
        0, certs.root, certs.total, "ipfs://certificates/0", THRESHOLD)
    ep = cert.epochs(0)
    assert (ep.root, ep.total_mwh, ep.issued_mwh) == (certs.root, certs.total, 0)


def test_post__after_threshold_change__logs_the_threshold_in_force(cert, owner, post_certs, tokens):
    _, tx = post_certs(0, rows_of(tokens))
    assert tx.decode_logs(cert.CertificatesPosted)[0].min_a_bps == 9_000
    cert.set_threshold(9_500, sender=owner)
    _, tx = post_certs(1, rows_of(tokens))
    assert tx.decode_logs(cert.CertificatesPosted)[0].min_a_bps == 9_500


@pytest.mark.parametrize("who", ["owner", "stranger", "attacker", "miner"])
def test_post__not_an_oracle__reverts(cert, tables, who, request):
    with ape.reverts("cert: not an oracle"):
        cert.post(0, b"\x01" * 32, 1, "", sender=request.getfixturevalue(who))


def test_post__oracle_disabled__reverts_and_a_new_oracle_may_post(cert, tables, owner, oracle_account, stranger):
    tx = cert.set_oracle(oracle_account, False, sender=owner)
    assert [(x.oracle, x.enabled) for x in tx.decode_logs(cert.OracleChanged)] == [(oracle_account, False)]
    with ape.reverts("cert: not an oracle"):
        cert.post(0, b"\x01" * 32, 1, "", sender=oracle_account)
    cert.set_oracle(stranger, True, sender=owner)
    cert.post(0, b"\x01" * 32, 1, "", sender=stranger)
    assert cert.epochs(0).root == b"\x01" * 32


@pytest.mark.parametrize("epoch", [3, 2**64 - 1])
def test_post__rewards_not_posted__reverts(cert, tables, oracle_account, epoch):
    with ape.reverts("cert: rewards not posted"):
        cert.post(epoch, b"\x01" * 32, 1, "", sender=oracle_account)


def test_post__rewards_swept__reverts(chain, cert, dist, tables, genesis, oracle_account, stranger):
    chain.pending_timestamp = max(chain.pending_timestamp, genesis + 4 * EPOCH_SECONDS + POST_DEADLINE)
    dist.sweep(3, sender=stranger)
    assert dist.epoch_rewards(3)[3] == 2  # swept
    with ape.reverts("cert: rewards not posted"):
        cert.post(3, b"\x01" * 32, 1, "", sender=oracle_account)


def test_post__twice__reverts(cert, certs0, oracle_account):
    with ape.reverts("cert: already posted"):
        cert.post(0, b"\x02" * 32, certs0.total, "", sender=oracle_account)
    with ape.reverts("cert: already posted"):
        cert.post(0, certs0.root, certs0.total, "", sender=oracle_account)
    assert cert.epochs(0).root == certs0.root


def test_post__zero_root__reverts(cert, tables, oracle_account):
    with ape.reverts("cert: zero root"):
        cert.post(0, b"\x00" * 32, 0, "", sender=oracle_account)


# ============================== issue ==============================


def test_issue__by_anyone__mints_mwh_to_the_token_owner(cert, certs0, tokens, issue, miner, attacker):
    tx = issue(certs0, tokens.a, sender=attacker)
    assert cert.balanceOf(miner) == cert.totalSupply() == 12_345
    assert cert.balanceOf(attacker) == 0
    assert cert.issued(0, tokens.a) and not cert.issued(0, tokens.b)
    log = tx.decode_logs(cert.Certified)[0]
    assert (log.epoch, log.token_id, log.owner, log.mwh, log.region, log.co2_ug) == (
        0, tokens.a, miner, 12_345, 0, 12_345 * WORLD_FACTOR)
    transfer = tx.decode_logs(cert.Transfer)[0]
    assert (transfer.sender, transfer.receiver, transfer.value) == (ZERO, miner, 12_345)


def test_issue__every_row__totals_add_up(cert, certs0, tokens, issue, miner, other_miner):
    t = tokens
    for token in (t.a, t.b, t.far, t.small):
        issue(certs0, token)
    mined = 12_345 + 5_000 + 7_000 + 3_000
    assert cert.totalSupply() == cert.issued_mwh() == cert.epochs(0).issued_mwh == mined
    assert cert.balanceOf(miner) == 12_345 + 3_000
    assert cert.balanceOf(other_miner) == 5_000 + 7_000
    assert co2_totals(cert) == (mined * WORLD_FACTOR, 0, mined * WORLD_FACTOR)


def test_issue__twice__reverts(cert, certs0, tokens, issue, miner):
    issue(certs0, tokens.a)
    with ape.reverts("cert: already issued"):
        issue(certs0, tokens.a)
    assert cert.balanceOf(miner) == 12_345


def test_issue__same_token_in_another_epoch__issued_again(cert, certs0, tokens, issue, post_certs, miner):
    issue(certs0, tokens.a)
    certs1, _ = post_certs(1, [(tokens.a, 1_000), (tokens.b, 2_000)])
    issue(certs1, tokens.a)
    assert cert.balanceOf(miner) == 13_345
    assert cert.issued_mwh() == 13_345
    assert (cert.epochs(0).issued_mwh, cert.epochs(1).issued_mwh) == (12_345, 1_000)


@pytest.mark.parametrize("wrong", ["mwh_up", "mwh_down", "other_proof", "empty_proof", "other_token", "other_epoch"])
def test_issue__wrong_row_or_proof__bad_proof(cert, certs0, tokens, issue, post_certs, wrong):
    t = tokens
    changes = {
        "mwh_up": {"mwh": 12_346},
        "mwh_down": {"mwh": 12_344},
        "other_proof": {"proof": certs0.proof(t.b)},
        "empty_proof": {"proof": []},
        "other_token": {"token_id": t.b},
        "other_epoch": {"epoch": 1},
    }[wrong]
    post_certs(1, [(t.b, 5_000), (t.far, 7_000)])
    with ape.reverts("cert: bad proof"):
        issue(certs0, t.a, **changes)
    assert cert.totalSupply() == 0


def test_issue__before_post__reverts(certs0, tokens, issue):
    for epoch in (1, 3):  # rewards posted but no certificates; nothing posted at all
        with ape.reverts("cert: not posted"):
            issue(certs0, tokens.a, epoch=epoch)


def test_issue__rows_above_the_posted_total__reverts(cert, post_certs, tokens, issue):
    certs, _ = post_certs(0, [(tokens.a, 12_345), (tokens.b, 5_000)], total=17_344)  # one mWh short
    issue(certs, tokens.a)
    with ape.reverts("cert: above total"):
        issue(certs, tokens.b)
    assert cert.epochs(0).issued_mwh == 12_345
    certs, _ = post_certs(1, [(tokens.a, 12_345), (tokens.b, 5_000)], total=17_345)  # exact: every row issued
    issue(certs, tokens.a)
    issue(certs, tokens.b)
    assert cert.epochs(1).issued_mwh == cert.epochs(1).total_mwh == 17_345


def test_issue__above_three_times_capacity__reverts(cert, post_certs, tokens, issue, miner):
    cap = MAX_MWH_PER_W * 1  # small: 1 W, so at most 3 000 mWh
    certs, _ = post_certs(0, [(tokens.small, cap + 1), (tokens.a, 1)])
    with ape.reverts("cert: above capacity"):
        issue(certs, tokens.small)
    certs, _ = post_certs(1, [(tokens.small, cap), (tokens.a, 1)])
    issue(certs, tokens.small)
    assert cert.balanceOf(miner) == cap


def test_issue__row_of_no_token__reverts_in_the_sbt(certs0, issue):
    with ape.reverts("erc721: invalid token ID"):
        issue(certs0, 10_000)


def test_issue__revoked_token__reverts_in_the_sbt(sbt, owner, certs0, tokens, issue):
    """A revoked token is burned: its posted row can no longer be issued (nobody owns it)."""
    sbt.revoke(tokens.a, "fraud", sender=owner)
    with ape.reverts("erc721: invalid token ID"):
        issue(certs0, tokens.a)


# ============================== regions ==============================


def test_set_region__appends_then_updates(cert, set_region):
    tx = set_region(1, GERMANY)
    assert cert.region_count() == 2
    assert region(cert, 1) == GERMANY
    log = tx.decode_logs(cert.RegionSet)[0]
    assert (log.region, log.name, log.factor_g_per_kwh, log.source) == (1, "Germany", 380, GERMANY[-1])
    set_region(2, US_WEST)
    assert cert.region_count() == 3
    set_region(1, GERMANY, factor=363, source="UBA, Strommix 2024")
    assert cert.region_count() == 3
    assert region(cert, 1) == GERMANY[:5] + (363, "UBA, Strommix 2024")
    assert region(cert, 2) == US_WEST


def test_region_of__token_in_a_box__certified_with_its_factor(cert, set_region, post_certs, tokens, issue):
    t = tokens
    assert cert.region_of(t.a) == cert.region_of(t.far) == 0
    set_region(1, US_WEST)
    set_region(2, GERMANY)
    assert [cert.region_of(x) for x in (t.a, t.b, t.small, t.far)] == [2, 2, 2, 1]
    set_region(1, US_WEST, east=-106_000_000)  # Denver (−105.178°) now east of the box: the default region
    assert cert.region_of(t.far) == 0
    certs, _ = post_certs(0, rows_of(t))
    got = {}
    for token in (t.a, t.far):
        log = issue(certs, token).decode_logs(cert.Certified)[0]
        got[token] = (log.region, log.co2_ug)
    assert got == {t.a: (2, 12_345 * 380), t.far: (0, 7_000 * WORLD_FACTOR)}
    assert cert.issued_co2_ug() == cert.live_co2_ug() == 12_345 * 380 + 7_000 * WORLD_FACTOR


@pytest.mark.parametrize("shift, inside", [
    ((0, 0), True),  # a box of the token's point alone: its edges are inside
    ((1, 0), False), ((-1, 0), False), ((0, 1), False), ((0, -1), False),  # that box one µdeg away
])
def test_region_of__box_edges_are_inside(cert, set_region, tokens, shift, inside):
    lat, lon = MUNICH[0] + shift[0], MUNICH[1] + shift[1]
    set_region(1, GERMANY, south=lat, north=lat, west=lon, east=lon)
    assert cert.region_of(tokens.a) == (1 if inside else 0)


def test_region_of__overlapping_boxes__first_wins(cert, set_region, tokens):
    set_region(1, US_WEST)
    set_region(2, GERMANY)
    set_region(3, ("Europe", 35_000_000, 71_000_000, -10_000_000, 40_000_000, 250, "EEA 2023"))
    assert cert.region_of(tokens.a) == 2
    set_region(1, ("Bavaria", 47_000_000, 50_600_000, 8_900_000, 13_900_000, 300, "LfStat 2023"))
    assert cert.region_of(tokens.a) == 1
    assert cert.region_of(tokens.far) == 0


@pytest.mark.parametrize("box", [
    {"south": 48_000_001, "north": 48_000_000},
    {"west": 11_000_001, "east": 11_000_000},
    {"south": -90_000_001},
    {"north": 90_000_001},
    {"west": -180_000_001},
    {"east": 180_000_001},
])
def test_set_region__bad_box__reverts(cert, set_region, box):
    with ape.reverts("cert: bad box"):
        set_region(1, GERMANY, **box)
    assert cert.region_count() == 1


def test_set_region__whole_earth_box__accepted(cert, set_region, tokens):
    south, north, west, east = WORLD_BOX
    set_region(1, GERMANY, south=south, north=north, west=west, east=east)
    assert cert.region_of(tokens.far) == cert.region_of(tokens.a) == 1


def test_set_region__factor_bounds(cert, set_region):
    with ape.reverts("cert: factor above 2000 g/kWh"):
        set_region(1, GERMANY, factor=2_001)
    with ape.reverts("cert: factor above 2000 g/kWh"):
        set_region(0, GERMANY, factor=2_001)
    set_region(1, GERMANY, factor=2_000)
    set_region(2, US_WEST, factor=0)
    assert (cert.regions(1).factor_g_per_kwh, cert.regions(2).factor_g_per_kwh) == (2_000, 0)


def test_set_region__no_source__reverts(cert, set_region):
    for index in (0, 1):
        with ape.reverts("cert: no source"):
            set_region(index, GERMANY, source="")
    assert cert.regions(0).source == CERTIFICATE_PARAMS["default_source"]


def test_set_region__index_beyond_count__reverts(cert, set_region):
    with ape.reverts("cert: bad region"):
        set_region(2, GERMANY)
    set_region(1, GERMANY)
    with ape.reverts("cert: bad region"):
        set_region(3, GERMANY)
    assert cert.region_count() == 2


def test_set_region__sixteen_at_most(cert, set_region):
    for i in range(1, 16):
        set_region(i, GERMANY, name=f"region {i}")
    assert cert.region_count() == 16
    with ape.reverts("cert: bad region"):
        set_region(16, GERMANY)
    set_region(15, US_WEST)  # the last may still be updated
    assert cert.region_count() == 16 and cert.regions(15).name == "US West"


def test_set_region__region_zero__box_stays_the_whole_earth(cert, set_region, tokens):
    set_region(0, ("World 2024", 10, 5, 30, 20, 473, "Ember 2025"))  # a bad box, ignored
    assert cert.region_count() == 1
    assert region(cert, 0) == ("World 2024", *WORLD_BOX, 473, "Ember 2025")
    assert cert.region_of(tokens.a) == cert.region_of(tokens.far) == 0


def test_set_region__factor_change__applies_to_later_issues_only(cert, set_region, certs0, tokens, issue):
    issue(certs0, tokens.a)
    set_region(0, ("World", *WORLD_BOX, 200, "Ember 2025"))
    log = issue(certs0, tokens.b).decode_logs(cert.Certified)[0]
    assert log.co2_ug == 5_000 * 200
    assert cert.issued_co2_ug() == 12_345 * WORLD_FACTOR + 5_000 * 200


# ============================== the DAO's setters ==============================


SETTERS = {
    "set_region": lambda cert: (cert.set_region, (1, *GERMANY)),
    "set_region_0": lambda cert: (cert.set_region, (0, "World", *WORLD_BOX, 1, "x")),
    "set_threshold": lambda cert: (cert.set_threshold, (5_000,)),
    "set_oracle": lambda cert: (cert.set_oracle, (ZERO[:-1] + "1", True)),
}


@pytest.mark.parametrize("setter", list(SETTERS))
@pytest.mark.parametrize("who", ["stranger", "oracle_account", "miner"])
def test_setters__not_the_dao__revert(cert, setter, who, request):
    method, args = SETTERS[setter](cert)
    with ape.reverts("cert: only the DAO"):
        method(*args, sender=request.getfixturevalue(who))


def test_set_threshold__bounds_and_event(cert, owner):
    for bad in (0, 10_001):
        with ape.reverts("cert: bad threshold"):
            cert.set_threshold(bad, sender=owner)
    for good in (1, 10_000):
        tx = cert.set_threshold(good, sender=owner)
        assert cert.min_a_bps() == good
        assert tx.decode_logs(cert.ThresholdChanged)[0].min_a_bps == good


def test_set_oracle__zero_address__reverts(cert, owner):
    with ape.reverts("cert: zero oracle"):
        cert.set_oracle(ZERO, True, sender=owner)


def test_abi__no_mint_burn_minter_or_renounce(cert):
    functions = {m.name for m in cert.contract_type.abi if m.type == "function"}
    assert not functions & {"mint", "burn", "burn_from", "set_minter", "is_minter", "renounce_ownership"}
    assert {"issue", "retire", "transfer", "transferFrom", "approve", "permit", "transfer_ownership"} <= functions


# ============================== retire ==============================


def test_retire__burns_and_records_for_good(chain, cert, certs0, tokens, issue, miner):
    issue(certs0, tokens.a)
    tx = cert.retire(2_345, "ACME GmbH", "2025 office lighting", sender=miner)
    co2 = 2_345 * WORLD_FACTOR
    assert cert.balanceOf(miner) == cert.totalSupply() == 10_000
    assert (cert.issued_mwh(), cert.retired_mwh()) == (12_345, 2_345)
    assert co2_totals(cert) == (12_345 * WORLD_FACTOR, co2, 10_000 * WORLD_FACTOR)
    assert cert.retirement_count() == 1
    r = cert.retirements(0)
    when = chain.provider.get_block(tx.block_number).timestamp
    assert (r.holder, r.mwh, r.co2_ug, r.time, r.beneficiary, r.reason) == (
        miner, 2_345, co2, when, "ACME GmbH", "2025 office lighting")
    log = tx.decode_logs(cert.Retired)[0]
    assert (log.retirement_id, log.holder, log.mwh, log.co2_ug, log.beneficiary, log.reason) == (
        0, miner, 2_345, co2, "ACME GmbH", "2025 office lighting")
    burn = tx.decode_logs(cert.Transfer)[0]
    assert (burn.sender, burn.receiver, burn.value) == (miner, ZERO, 2_345)


def test_retire__ids_count_up_and_records_stay(cert, certs0, tokens, issue, miner, other_miner):
    issue(certs0, tokens.a)
    issue(certs0, tokens.b)
    ids = [cert.retire(mwh, beneficiary, "", sender=who).decode_logs(cert.Retired)[0].retirement_id
           for who, mwh, beneficiary in ((miner, 100, "first"), (other_miner, 200, "second"), (miner, 300, "third"))]
    assert ids == [0, 1, 2] and cert.retirement_count() == 3
    assert [(cert.retirements(i).holder, cert.retirements(i).mwh, cert.retirements(i).beneficiary)
            for i in ids] == [(miner, 100, "first"), (other_miner, 200, "second"), (miner, 300, "third")]
    assert cert.retirements(3).holder == ZERO  # no such retirement yet


@pytest.mark.parametrize("mwh, beneficiary, reason", [
    (0, "ACME", "cert: zero amount"),
    (1, "", "cert: no beneficiary"),
    (12_346, "ACME", "cert: above balance"),
])
def test_retire__bad_arguments__revert(cert, certs0, tokens, issue, miner, mwh, beneficiary, reason):
    issue(certs0, tokens.a)
    with ape.reverts(reason):
        cert.retire(mwh, beneficiary, "why", sender=miner)
    assert cert.retirement_count() == 0 and cert.totalSupply() == 12_345


def test_retire__without_certificates__reverts(cert, certs0, tokens, issue, stranger):
    with ape.reverts("cert: above balance"):  # nothing issued at all
        cert.retire(1, "ACME", "", sender=stranger)
    issue(certs0, tokens.a)
    with ape.reverts("cert: above balance"):
        cert.retire(1, "ACME", "", sender=stranger)


def test_retire__is_final__retired_certificates_cannot_move_or_retire_again(cert, certs0, tokens, issue, miner, stranger):
    issue(certs0, tokens.a)
    cert.retire(12_345, "ACME", "all of it", sender=miner)
    assert cert.balanceOf(miner) == cert.totalSupply() == 0
    assert cert.retired_mwh() == 12_345
    with ape.reverts("erc20: transfer amount exceeds balance"):
        cert.transfer(stranger, 1, sender=miner)
    cert.approve(stranger, 12_345, sender=miner)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        cert.transferFrom(miner, stranger, 1, sender=stranger)
    with ape.reverts("cert: above balance"):
        cert.retire(1, "ACME", "again", sender=miner)
    assert cert.retirement_count() == 1 and cert.retirements(0).mwh == 12_345


def test_retire__co2_is_the_average_of_live_certificates(cert, set_region, post_certs, tokens, issue, miner, other_miner):
    set_region(1, GERMANY)  # a: 380 g/kWh; far: the world's factor
    certs, _ = post_certs(0, [(tokens.a, 10_000), (tokens.far, 7_001)])
    issue(certs, tokens.a)
    issue(certs, tokens.far)
    live, supply = 10_000 * 380 + 7_001 * WORLD_FACTOR, 17_001
    assert (cert.live_co2_ug(), cert.totalSupply()) == (live, supply)
    for who, mwh in ((miner, 3_333), (other_miner, 7_001), (miner, 1)):
        expected = mwh * live // supply  # floored: the pool's average
        got = cert.retire(mwh, "ACME", "", sender=who).decode_logs(cert.Retired)[0].co2_ug
        assert got == expected
        live, supply = live - expected, supply - mwh
        assert (cert.live_co2_ug(), cert.totalSupply()) == (live, supply)
    issued, retired, live_now = co2_totals(cert)
    assert retired + live_now == issued and retired < issued


def test_retire__everything__retired_co2_equals_issued(cert, set_region, post_certs, tokens, issue, miner, other_miner):
    set_region(1, GERMANY)
    certs, _ = post_certs(0, [(tokens.a, 9_999), (tokens.b, 7), (tokens.far, 12_347)])
    for token in (tokens.a, tokens.b, tokens.far):
        issue(certs, token)
    cert.retire(3, "x", "", sender=other_miner)
    cert.retire(9_998, "x", "", sender=miner)
    cert.retire(12_351, "x", "", sender=other_miner)
    cert.retire(1, "x", "", sender=miner)
    issued = (9_999 + 7) * 380 + 12_347 * WORLD_FACTOR
    assert co2_totals(cert) == (issued, issued, 0)
    assert sum(cert.retirements(i).co2_ug for i in range(cert.retirement_count())) == issued
    assert cert.totalSupply() == 0 and cert.retired_mwh() == cert.issued_mwh()


@PROPERTY
@given(
    factors=st.tuples(st.integers(0, 2_000), st.integers(0, 2_000)),
    mwh=st.tuples(st.integers(1, 15_000_000), st.integers(1, 15_000_000)),  # within 3 × 5 kWp
    steps=st.lists(st.tuples(st.booleans(), st.integers(1, 100)), max_size=5),
)
def test_retire__any_sequence__co2_never_above_issued_and_all_of_it_in_the_end(
    fresh, cert, set_region, post_certs, tokens, issue, miner, other_miner, factors, mwh, steps
):
    fresh()
    set_region(1, GERMANY, factor=factors[0])  # a
    set_region(0, ("World", *WORLD_BOX, factors[1], "test"))  # far
    certs, _ = post_certs(0, [(tokens.a, mwh[0]), (tokens.far, mwh[1])])
    issue(certs, tokens.a)
    issue(certs, tokens.far)
    issued = mwh[0] * factors[0] + mwh[1] * factors[1]
    retired = 0

    def retire(who, amount):
        live, supply = cert.live_co2_ug(), cert.totalSupply()
        co2 = cert.retire(amount, "ACME", "", sender=who).decode_logs(cert.Retired)[0].co2_ug
        assert co2 == amount * live // supply
        return co2

    for first, pct in steps:
        who = miner if first else other_miner
        balance = cert.balanceOf(who)
        if balance:
            retired += retire(who, max(1, balance * pct // 100))
        assert retired <= issued
        assert co2_totals(cert) == (issued, retired, issued - retired)
    for who in (miner, other_miner):
        if cert.balanceOf(who):
            retired += retire(who, cert.balanceOf(who))
    assert retired == issued
    assert co2_totals(cert) == (issued, issued, 0)
    assert sum(cert.retirements(i).co2_ug for i in range(cert.retirement_count())) == issued


# ============================== transfer ==============================


def test_transfer__live_certificates_move_as_erc20(cert, certs0, tokens, issue, miner, alice, bob):
    issue(certs0, tokens.a)
    tx = cert.transfer(alice, 2_345, sender=miner)
    log = tx.decode_logs(cert.Transfer)[0]
    assert (log.sender, log.receiver, log.value) == (miner, alice, 2_345)
    cert.approve(bob, 1_000, sender=alice)
    assert cert.allowance(alice, bob) == 1_000
    cert.transferFrom(alice, bob, 600, sender=bob)
    assert cert.allowance(alice, bob) == 400
    with ape.reverts("erc20: insufficient allowance"):
        cert.transferFrom(alice, bob, 401, sender=bob)
    with ape.reverts("erc20: transfer amount exceeds balance"):
        cert.transfer(bob, 1_746, sender=alice)
    assert [cert.balanceOf(x) for x in (miner, alice, bob)] == [10_000, 1_745, 600]
    assert cert.totalSupply() == 12_345
    # a holder who bought retires in its own name
    cert.retire(600, "Bob's bakery", "2025", sender=bob)
    assert cert.retirements(0).holder == bob and cert.balanceOf(bob) == 0


def test_transfer__to_zero_address__reverts(cert, certs0, tokens, issue, miner):
    issue(certs0, tokens.a)
    with ape.reverts("erc20: transfer to the zero address"):
        cert.transfer(ZERO, 1, sender=miner)


def test_owner__cannot_move_certificates(cert, certs0, tokens, issue, owner, miner):
    issue(certs0, tokens.a)
    with ape.reverts("erc20: insufficient allowance"):
        cert.transferFrom(miner, owner, 1, sender=owner)
    assert cert.balanceOf(miner) == 12_345
