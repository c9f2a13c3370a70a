"""GreenCertificate owned by the real TechnicalDAO (the system handed to it, as `ape run deploy` does):
its emission factors, threshold and oracles change by ballot only."""

import ape
import pytest
from certificate_kit import GERMANY, THRESHOLD, WORLD_BOX, WORLD_FACTOR

from offchain.deploy import deploy_system
from offchain.governance import call
from testbed.localchain import pass_proposal, run_ballot

WORLD_2024 = ("World", *WORLD_BOX, 473, "Ember, Global Electricity Review 2025 (world average 2024)")


@pytest.fixture(scope="module")
def dao_system(project, chain, owner, dao_members, oracle_account):
    return deploy_system(project, chain, owner, dao_members, oracle_account)


@pytest.fixture(scope="module", autouse=True)
def base(dao_system, owner, stranger, dao_members, oracle_account):
    """Every module and session fixture, before the first test's snapshot (see conftest ``base``)."""


@pytest.mark.parametrize("who", ["owner", "stranger", "oracle_account"])
def test_dao_owned__nobody_else_sets(dao_system, who, request):
    cert, sender = dao_system.certificate, request.getfixturevalue(who)
    assert cert.owner() == dao_system.dao
    with ape.reverts("cert: only the DAO"):
        cert.set_region(0, *WORLD_2024, sender=sender)
    with ape.reverts("cert: only the DAO"):
        cert.set_threshold(9_500, sender=sender)
    with ape.reverts("cert: only the DAO"):
        cert.set_oracle(sender, True, sender=sender)


def test_dao_member__alone__cannot_set(dao_system, dao_members):
    with ape.reverts("cert: only the DAO"):
        dao_system.certificate.set_region(0, *WORLD_2024, sender=dao_members[0])


def test_ballot__sets_emission_factors_threshold_and_oracle(chain, dao_system, dao_members, stranger):
    cert, dao = dao_system.certificate, dao_system.dao
    assert cert.regions(0).factor_g_per_kwh == WORLD_FACTOR and cert.min_a_bps() == THRESHOLD
    tx = pass_proposal(chain, dao, dao_members, [
        call(cert.set_region, 0, *WORLD_2024),
        call(cert.set_region, 1, *GERMANY),
        call(cert.set_threshold, 9_500),
        call(cert.set_oracle, stranger, True),
    ], "emission factors 2024, a German region, a stricter threshold, a second oracle")
    assert (cert.regions(0).factor_g_per_kwh, cert.regions(0).source) == WORLD_2024[-2:]
    assert cert.region_count() == 2 and cert.regions(1).factor_g_per_kwh == GERMANY[-2]
    assert cert.min_a_bps() == 9_500 and cert.is_oracle(stranger)
    assert [(x.region, x.factor_g_per_kwh) for x in tx.decode_logs(cert.RegionSet)] == [(0, 473), (1, 380)]


def test_ballot__voted_down__factor_unchanged(chain, dao_system, dao_members):
    cert, dao = dao_system.certificate, dao_system.dao
    _, tx = run_ballot(chain, dao, dao_members, [call(cert.set_region, 0, *WORLD_2024)], "factor 2024",
                       against=dao_members)
    assert tx is None
    assert cert.regions(0).factor_g_per_kwh == WORLD_FACTOR
