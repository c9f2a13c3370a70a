"""Deploy the whole system, hand every contract to the DAO, and record the addresses.

    ape run deploy --network ethereum:local:foundry --account ALIAS --member 0xA... --member 0xB...
"""

import click
from ape.cli import ConnectedProviderCommand, account_option

from offchain.governance import DEFAULT_DAO_PARAMS

from ._system import deploy_and_record, record_path


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--member", "members", multiple=True, required=True, help="Founding DAO member address (repeat).")
@click.option("--oracle", required=True, help="Address of the oracle operator's account.")
@click.option("--voting-delay", type=int, default=DEFAULT_DAO_PARAMS["voting_delay"], show_default=True, help="[s]")
@click.option("--voting-period", type=int, default=DEFAULT_DAO_PARAMS["voting_period"], show_default=True, help="[s]")
@click.option("--quorum-bps", type=int, default=DEFAULT_DAO_PARAMS["quorum_bps"], show_default=True, help="[bps]")
@click.option("--timelock-delay", type=int, default=DEFAULT_DAO_PARAMS["timelock_delay"], show_default=True, help="[s]")
@click.option("--grace-period", type=int, default=DEFAULT_DAO_PARAMS["grace_period"], show_default=True, help="[s]")
def cli(account, members, oracle, voting_delay, voting_period, quorum_bps, timelock_delay, grace_period):
    params = dict(
        voting_delay=voting_delay,
        voting_period=voting_period,
        quorum_bps=quorum_bps,
        timelock_delay=timelock_delay,
        grace_period=grace_period,
    )
    system = deploy_and_record(account, list(members), oracle, params)
    for name, contract in system._asdict().items():
        click.echo(f"{name:10} {contract.address}")
    click.echo(f"recorded in {record_path()}")
