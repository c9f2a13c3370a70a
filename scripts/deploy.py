"""Deploy the whole system, hand every contract to the DAO, and record the addresses.

    ape run deploy --network ethereum:local:foundry --account ALIAS --member 0xA... --member 0xB... --oracle 0xC...

Every address and option is checked before anything is sent (the DAO's own rules, the
deployer's balance, an earlier deployment on this chain), so a typo costs nothing.
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand

from offchain.governance import DEFAULT_DAO_PARAMS, dao_setup_problems

from ._system import account_option, address, deploy_and_record, emit, json_option, record_path, recorded_system_here


@click.command(cls=ConnectedProviderCommand)
@account_option("The deployer's account (an ape account alias, or TEST::<n> on a local test chain): it pays for every contract.")
@click.option("--member", "members", multiple=True, required=True, help="Founding DAO member address (repeat).")
@click.option("--oracle", required=True, help="Address of the oracle operator's account.")
@click.option("--voting-delay", type=int, default=DEFAULT_DAO_PARAMS["voting_delay"], show_default=True, help="[s]")
@click.option("--voting-period", type=int, default=DEFAULT_DAO_PARAMS["voting_period"], show_default=True, help="[s]")
@click.option("--quorum-bps", type=int, default=DEFAULT_DAO_PARAMS["quorum_bps"], show_default=True, help="[bps]")
@click.option("--timelock-delay", type=int, default=DEFAULT_DAO_PARAMS["timelock_delay"], show_default=True, help="[s]")
@click.option("--grace-period", type=int, default=DEFAULT_DAO_PARAMS["grace_period"], show_default=True, help="[s]")
@click.option("--replace", is_flag=True, help="Deploy again although this chain has a recorded deployment.")
@json_option
def cli(account, members, oracle, voting_delay, voting_period, quorum_bps, timelock_delay, grace_period, replace,
        as_json):
    """Deploy every contract, seat the founding members and hand everything to the DAO."""
    members = [address(m, "--member") for m in members]
    oracle = address(oracle, "--oracle")
    params = dict(voting_delay=voting_delay, voting_period=voting_period, quorum_bps=quorum_bps,
                  timelock_delay=timelock_delay, grace_period=grace_period)
    if problems := dao_setup_problems(members, params):
        raise click.ClickException("; ".join(problems))
    if account.balance == 0:
        raise click.ClickException(f"{account.address} has no ether to pay for the deployment")
    path = record_path()
    if recorded_system_here() and not replace:
        raise click.ClickException(f"{path.name} records a deployment that is on this chain; --replace to deploy again")
    system = deploy_and_record(account, members, oracle, params)
    contracts = {name: c.address for name, c in system._asdict().items()}
    emit(as_json, {"chain_id": chain.chain_id, "record": str(path), "contracts": contracts},
         [f"{name:10} {a}" for name, a in contracts.items()] + [f"recorded in {path}"])
