"""Deploy the whole system, hand every contract to the DAO, and record the addresses.

    ape run deploy --network ethereum:local:foundry --account ALIAS --member 0xA... --member 0xB... --oracle 0xC...

Every address and option is checked before anything is sent (the DAO's own rules, the
deployer's balance, an earlier deployment on this chain), so a typo costs nothing.
`ape run chains up` deploys the same way on several networks at once.
"""

import click
from ape import chain
from ape.cli import ConnectedProviderCommand

from ._system import checked_deploy, deploy_options, emit, json_option


@click.command(cls=ConnectedProviderCommand)
@deploy_options
@json_option
def cli(account, members, oracle, replace, as_json, **params):
    """Deploy every contract, seat the founding members and hand everything to the DAO."""
    contracts, path = checked_deploy(account, members, oracle, replace, **params)
    emit(as_json, {"chain_id": chain.chain_id, "record": str(path), "contracts": contracts},
         [f"{name:10} {a}" for name, a in contracts.items()] + [f"recorded in {path}"])
