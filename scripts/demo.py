"""The whole story on a local chain: deploy, seat the DAO, admit miners by ballot.

    ape run demo                                  # embedded chain, nothing else to run
    ape run demo --network ethereum:local:foundry # Anvil
"""

import click
from ape import accounts, chain
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from eth_account import Account
from eth_utils import keccak

from offchain.governance import call, run_ballot, state_name

from ._system import deploy_system, record_path

# Five would-be miners near NREL's SERF site (Golden, CO): capacity [W], lat/lon [µdeg].
APPLICANTS = [
    (4_200, 39_742_000, -105_178_000),
    (3_000, 39_745_500, -105_170_100),
    (5_500, 39_738_200, -105_190_400),
    (2_400, 39_750_900, -105_181_700),
    (900_000, 39_741_000, -105_175_000),  # claims 900 kW on a garage roof: rejected
]


def demo_device(i):
    """A deterministic device key for demo miner `i`: (eth_account account, 64-byte public key)."""
    acct = Account.from_key(keccak(text=f"green-energy-miners demo device {i}"))
    return acct, acct._key_obj.public_key.to_bytes()


def ballot(dao, members, calls, description, against=()):
    """Run one proposal to its end on the local chain, printing the outcome."""
    pid, _ = run_ballot(chain, dao, members, calls, description, against)
    p = dao.proposals(pid)
    click.echo(f"  ballot {pid} «{description}»: for {p.for_votes}, against {p.against_votes}, "
               f"quorum {dao.quorum(pid)} -> {state_name(dao, pid)}")


@click.command(cls=ConnectedProviderCommand)
def cli():
    logger.set_level("WARNING")  # the story, not every confirmation
    test = accounts.test_accounts
    deployer, members, miners = test[0], [test[1], test[2], test[3]], [test[4 + i] for i in range(5)]

    click.echo("== deploy")
    system = deploy_system(deployer, members)
    dao, sbt = system["dao"], system["sbt"]
    click.echo(f"  DAO {dao.address} with members {', '.join(m.address[:10] for m in members)}")
    click.echo(f"  MinerSBT {sbt.address}, owned by the DAO; addresses recorded in {record_path().name}")

    click.echo("== five miners apply with their device keys")
    app_ids = []
    for i, (miner, (capacity, lat, lon)) in enumerate(zip(miners, APPLICANTS)):
        dev, pub = demo_device(i)
        tx = sbt.apply(dev.address, pub, capacity, lat, lon, f"ipfs://demo-miner-{i}", sender=miner)
        app_ids.append(tx.decode_logs(sbt.Applied)[0].application_id)
        click.echo(f"  application {app_ids[-1]}: {miner.address[:10]} device {dev.address[:10]} {capacity / 1000:g} kWp")

    click.echo("== the DAO votes")
    ballot(dao, members, [call(sbt.approve_application, a) for a in app_ids[:4]], "admit miners 1-4")
    ballot(dao, members, [call(sbt.reject_application, app_ids[4], "900 kWp is not a small rooftop")],
           "reject application 5: capacity implausible")
    ballot(dao, members, [call(dao.set_parameter, "quorum_bps", 10_000)], "require unanimity", against=members[1:])

    click.echo("== result")
    for miner, app_id in zip(miners, app_ids):
        app = sbt.applications(app_id)
        if app.status == 2:
            click.echo(f"  {miner.address[:10]}: token {app.token_id}, locked={sbt.locked(app.token_id)}, "
                       f"device {sbt.device_of(app.token_id)[:10]}")
        else:
            click.echo(f"  {miner.address[:10]}: rejected ({app.reason})")
    click.echo(f"  {sbt.totalSupply()} miners admitted; quorum still {dao.quorum_bps()} bps")
