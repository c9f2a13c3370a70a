"""The whole story on a local chain: deploy, seat the DAO, admit miners by ballot, run their
(simulated) devices through the gateway into the registry and the index, draw the lottery
and pay the winners every hour, audit it all, then sell surplus into storage nodes and trade
it, issue green certificates, trade and retire some; a summary and an HTML report with plots
at the end.

    ape run demo                                         # embedded chain, nothing else to run
    ape run demo --miners 50 --days 7                    # the full week
    ape run demo --network ethereum:local:foundry        # Anvil
    ape run demo --network ethereum:anvil-b:node --fleet-seed 1   # another fleet, on the second chain

The story itself is ``testbed.demo.run_demo``; its pieces are described in the README.
"""

import shutil
from pathlib import Path

import click
from ape import accounts, chain, networks, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger

from testbed import anvil, embedded
from testbed.demo import FLEET_SEED, run_demo

from ._system import cache_custom_networks, estimate_on_pending, record_path, write_record

anvil.install()  # before ape connects: ape-foundry starts Anvil when the command runs


def _dev_node():
    """Whether the node is a development node whose clock the demo may move (Anvil or Ganache)."""
    version = str(networks.provider.web3.client_version).lower()
    return "anvil" in version or "ganache" in version


@click.command(cls=ConnectedProviderCommand)
@click.option("--miners", type=click.IntRange(1, 200), default=12, show_default=True,
              help="Plausible applicants; one in four cheats (up to five kinds), each beside an honest twin.")
@click.option("--days", type=click.IntRange(1, 14), default=1, show_default=True, help="Days of measurements.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), default=None,
              help="Folder of the report (index.html and plots) [default: var/demo/report].")
@click.option("--fleet-seed", type=click.IntRange(0), default=FLEET_SEED, show_default=True,
              help="Seed of the devices' keys and noise: another seed is another fleet (e.g. on a second chain).")
def cli(miners, days, report_dir, fleet_seed):
    """Run the demo on a local chain (it moves the chain's clock) and write its report."""
    if not (networks.provider.network.is_local or _dev_node()):
        raise click.ClickException("the demo moves the chain's clock: run it on a local network or a local Anvil")
    estimate_on_pending()
    cache_custom_networks()
    logger.set_level("WARNING")  # the story, not every confirmation
    embedded.install()  # the embedded chain's event reads and calls; other chains do not use it
    workdir = Path(project.path) / "var" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    outcome = run_demo(chain, project, accounts.test_accounts, miners, days, workdir,
                       Path(report_dir) if report_dir else workdir / "report", fleet_seed)
    write_record(outcome.system)
    click.echo(f"  addresses recorded in {record_path().name}")
    problems = [
        (outcome.index_differences, "the index does not match the chain"),
        (outcome.batches_indexed != outcome.batches_on_chain, "batches on chain and in the index differ"),
        (outcome.epochs_verified != outcome.epochs_audited, "an epoch's table does not match the chain"),
        (outcome.winners_paid != outcome.winners_to_pay, "a winner's claim was not paid"),
        (outcome.deca_held_by_miners != outcome.deca_claimed, "the miners hold other DECA than they claimed"),
        (not outcome.parity, "the storage nodes and the ENERGY supply are out of parity"),
        (not outcome.certificates.certified_mwh, "no energy was certified"),
        (outcome.certificates.issued_mwh > outcome.certificates.certified_mwh, "more certificates issued than certified"),
    ]
    if failed := [text for bad, text in problems if bad]:
        raise click.ClickException("; ".join(failed))
