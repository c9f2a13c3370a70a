"""A small demo end to end on the embedded chain (four miners, one of them inflating ×3,
for one day): every honest batch anchored, every anchored batch indexed, audited tables
match the chain, every paid winner's claim on chain, the miners hold exactly what they
claimed, parity of nodes and ENERGY, honest energy certified (not the inflator's), some
certificates retired, and the report written with an HTML page that shows
every plot."""

import re

import pytest

from testbed import fleet
from testbed.demo import run_demo
from testbed.report import PLOTS

MINERS, DAYS = 4, 1


@pytest.fixture(scope="module")
def outcome(chain, project, accounts, tmp_path_factory):
    work = tmp_path_factory.mktemp("demo")
    return run_demo(chain, project, accounts, MINERS, DAYS, work, work / "report")


def test_demo__every_honest_hour__anchored_and_indexed_the_inflators_peaks_refused(outcome):
    # three honest miners post every hour; the inflator's hours above capacity × margin are refused
    assert (MINERS - 1) * 24 * DAYS < outcome.batches_on_chain < MINERS * 24 * DAYS
    assert outcome.batches_indexed == outcome.batches_on_chain
    assert outcome.index_differences == 0


def test_demo__audited_tables__match_the_chain(outcome):
    assert outcome.epochs == 24 * DAYS
    assert outcome.epochs_audited > 0
    assert outcome.epochs_verified == outcome.epochs_audited


def test_demo__every_winner_with_an_amount__claimed_and_held(outcome):
    assert outcome.winners_to_pay > 0
    assert outcome.winners_paid == outcome.winners_to_pay
    assert outcome.deca_held_by_miners == outcome.deca_claimed > 0


def test_demo__storage_nodes_and_energy__in_parity(outcome):
    assert outcome.parity is True


def test_demo__certificates__honest_energy_certified_not_the_inflators_issued_and_retired(outcome):
    c = outcome.certificates
    assert c.by_kind["honest"] > 0 and c.by_kind.get("inflate ×3", 0) == 0
    assert c.certified_mwh == sum(c.by_kind.values())
    assert 0 < c.issued_mwh <= c.certified_mwh
    assert 0 < c.retired_mwh < c.issued_mwh and c.retired_co2_ug > 0
    assert outcome.system.certificate.totalSupply() == c.issued_mwh - c.retired_mwh


def test_demo__report__every_plot_written_and_named_by_the_page(outcome):
    page, *images = outcome.report_files
    assert page.name == "index.html"
    text = page.read_text()
    assert {p.name for p in images} == set(PLOTS)
    for image in images:
        assert image.stat().st_size > 1_000 and image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f'src="{image.name}"' in text
    assert set(re.findall(r'src="([^"]+)"', text)) == set(PLOTS)
    assert "Summary" in text and "Gas per kind of call" in text


def test_plan__one_cheat_in_four__each_beside_its_honest_twin():
    applicants = fleet.plan(12)
    cheats = [a for a in applicants if a.kind in fleet.CHEATS]
    assert [a.kind for a in cheats] == list(fleet.CHEATS[:3])
    for c in cheats:
        twin = applicants[c.twin]
        assert twin.kind == "honest" and twin.town == c.town and (twin.tilt, twin.azimuth) == (c.tilt, c.azimuth)
    assert applicants[-1].kind == "implausible"
    assert fleet.plan(4)[-2].kind == "inflate ×3"
