"""The whole story on a local chain: deploy, seat the DAO, admit miners by ballot, run their
(simulated) devices for two days through the gateway into the registry and the index, draw
the lottery every hour, then sell the miners' surplus into storage nodes and trade it.

    ape run demo                                  # embedded chain, nothing else to run
    ape run demo --network ethereum:local:foundry # Anvil
"""

import asyncio
import shutil
import threading
from pathlib import Path

import click
import requests
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from eth_utils import to_checksum_address
from greenminer import enroll as device_enroll
from greenminer.net import HttpNet

from offchain import enroll, gateway, indexer, oracle, pvdata, simulator, store
from offchain.governance import call, run_ballot, state_name

from ._demo_market import run_market
from ._system import EPOCH_SECONDS, MODULES, deploy_system, record_path

HOURS = 48  # simulated hours of measurements
LOTTERY_K = 6  # the pilot's odds (the default is 60): enough winners among four miners to see
FLEET_SEED = 0  # device keys: simulator.device_key(FLEET_SEED, i)

# Five would-be miners near NREL's SERF site (Golden, CO): capacity [W], lat/lon [µdeg].
# Small panels read by an INA219 board; the fifth claims a power plant on a garage roof.
APPLICANTS = [
    (36, 39_742_000, -105_178_000),
    (30, 39_745_500, -105_170_100),
    (24, 39_738_200, -105_190_400),
    (20, 39_750_900, -105_181_700),
    (900_000, 39_741_000, -105_175_000),
]


def ballot(dao, members, calls, description, against=()):
    """Run one proposal to its end on the local chain, printing the outcome."""
    pid, _ = run_ballot(chain, dao, members, calls, description, against)
    p = dao.proposals(pid)
    click.echo(f"  ballot {pid} «{description}»: for {p.for_votes}, against {p.against_votes}, "
               f"quorum {dao.quorum(pid)} -> {state_name(dao, pid)}")


class BackgroundGateway:
    """The HTTP gateway on 127.0.0.1 in a thread of its own; the demo relays when it chooses."""

    def __init__(self, gw):
        self.gw = gw
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.runner = self._run(gateway.start(gw, host="127.0.0.1", port=0, relay=False))
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def relay(self):
        return self._run(self.gw.relay_all())

    def stop(self):
        self._run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.gw.close()


def admit_miners(system, members, miners):
    dao, sbt = system["dao"], system["sbt"]
    click.echo("== five miners apply, each with its device's enrollment naming the miner's wallet")
    app_ids = []
    for i, (miner, (capacity, lat, lon)) in enumerate(zip(miners, APPLICANTS)):
        # what the board writes to its flash (enrollment.json): its total, now, signed for this wallet
        signed = device_enroll.sign_enrollment(simulator.device_key(FLEET_SEED, i), chain.chain_id, sbt.address,
                                               miner.address, 0, chain.blocks.head.timestamp)
        e = enroll.parse_enrollment(signed, chain.chain_id, sbt.address)
        tx = sbt.apply(*e.apply_args(capacity, lat, lon, 30, 180, f"ipfs://demo-miner-{i}"), sender=miner)
        app_ids.append(tx.decode_logs(sbt.Applied)[0].application_id)
        click.echo(f"  application {app_ids[-1]}: {miner.address[:10]} device {e.device[:10]} {capacity:g} W")

    click.echo("== the DAO votes")
    ballot(dao, members, [call(sbt.approve_application, a) for a in app_ids[:4]], "admit miners 1-4")
    ballot(dao, members, [call(sbt.reject_application, app_ids[4], "900 kWp is not a small rooftop")],
           "reject application 5: capacity implausible")
    ballot(dao, members, [call(dao.set_parameter, "quorum_bps", 10_000)], "require unanimity", against=members[1:])
    ballot(dao, members, [call(system["keys"].set_lottery_k, LOTTERY_K)],
           f"pilot lottery odds: one draw in {LOTTERY_K} wins")
    for miner, app_id in zip(miners, app_ids):
        app = sbt.applications(app_id)
        if app.status == 2:
            click.echo(f"  {miner.address[:10]}: token {app.token_id}, locked={sbt.locked(app.token_id)}")
        else:
            click.echo(f"  {miner.address[:10]}: rejected ({app.reason})")
    return sum(sbt.applications(a).status == 2 for a in app_ids)


def run_devices(system, relayer, oracle_account, miners, admitted, workdir):
    registry, sbt = system["registry"], system["sbt"]
    click.echo(f"== {admitted} devices measure real PV power (NREL SERF East) for {HOURS} h; "
               "every hour the oracle draws the lottery and winners claim")
    conn = store.open_store(workdir / "store.sqlite")
    start_block = indexer.get_deployment_block(registry)
    gw = BackgroundGateway(gateway.Gateway(conn, gateway.ApeRegistry(registry, sbt, relayer, start_block)))
    settings = {"CHAIN_ID": chain.chain_id, "REGISTRY": registry.address, "GENESIS": registry.genesis(),
                "POW_TARGET": registry.pow_target()}
    # replay the measured series in its own season (its first day, next time it comes round):
    # the clear-sky bound of a July day in November would flag honest evening readings
    series_start = int(pvdata.read_serf_east("15min")[0][0])
    start = pvdata.next_same_day(series_start, chain.pending_timestamp + EPOCH_SECONDS)
    chain.pending_timestamp = start
    chain.mine()
    clock, fleet = simulator.make_fleet(
        admitted, workdir / "devices", settings, HttpNet(requests.Session(), gw.url).post, start,
        capacities_w=[c for c, _, _ in APPLICANTS[:admitted]], seed=FLEET_SEED,
    )
    first_epoch = (start - registry.genesis()) // EPOCH_SECONDS
    contracts = oracle.Contracts(system["keys"], system["rewards"], registry, sbt)
    engine = oracle.Oracle(contracts, oracle_account, conn, workdir / "oracle", from_epoch=first_epoch)
    paid = {}
    try:
        for hour in range(HOURS):
            epoch_end = start + EPOCH_SECONDS * (hour + 1)
            chain.pending_timestamp = epoch_end + 120  # two minutes into the next hour
            chain.mine()
            simulator.run(clock, fleet, until=epoch_end + 120)
            gw.relay()
            # the epoch's window closes; the oracle commits, reveals B blocks later, scores, posts
            chain.pending_timestamp = epoch_end + registry.grace_period() + 1
            chain.mine()
            oracle.run(engine, once=True, mine=chain.mine)
            claim_rewards(system, engine, first_epoch + hour, miners, paid)
            if hour % 12 == 11:
                counts = store.read_queue_counts(conn)
                click.echo(f"  hour {hour + 1:2}: gateway outcomes so far {dict(counts)}")
        forged = dict(store.read_queue(conn, "accepted")[-1].body)
        forged["readings"] = [[t, p * 3 + 1_000, e] for t, p, e in forged["readings"]]  # inflated power
        answer = requests.post(gw.url + "/batches", json=forged, timeout=15)
        click.echo(f"  an accepted batch re-posted with inflated power: HTTP {answer.status_code} "
                   f"{answer.json().get('error', answer.text)}")
    finally:
        gw.stop()
    show_rewards(system, paid, miners)
    return conn, fleet, start


def claim_rewards(system, engine, epoch, miners, paid):
    """Every winner of the epoch claims with the published proof and ECDH point."""
    rewards, sbt = system["rewards"], system["sbt"]
    table = oracle.read_table(oracle.table_path(engine.folder, epoch))
    for row in table.rows:
        if not row.winner:
            continue
        if row.amount == 0:
            click.echo(f"  epoch {epoch}: token {row.token_id} wins the draw, but its contribution a·q·v is 0 "
                       f"(a {row.a_bps} bps, q {row.q_bps} bps, v {row.v_mwh / 1000:.1f} Wh credited): nothing to claim")
            continue
        owner = sbt.ownerOf(row.token_id)
        claimer = next(m for m in miners if m.address == owner)
        rewards.claim(epoch, row.token_id, row.amount, row.a_bps, row.q_bps, row.v_mwh, row.proof,
                      *row.point, sender=claimer)
        paid.setdefault(row.token_id, []).append((epoch, row.amount, row.a_bps, row.q_bps, row.v_mwh))
        click.echo(f"  epoch {epoch}: token {row.token_id} wins (seed 0 of {table.k}; N = {row.n}, "
                   f"a {row.a_bps / 100:.1f} %, q {row.q_bps / 100:.1f} %, v {row.v_mwh / 1000:.1f} Wh) "
                   f"and claims {row.amount / 10**18:.2f} DECA")


def show_rewards(system, paid, miners):
    deca, dao = system["deca"], system["dao"]
    click.echo("== rewards")
    for token_id, wins in sorted(paid.items()):
        owner = system["sbt"].ownerOf(token_id)
        click.echo(f"  token {token_id}: {len(wins)} wins, {deca.balanceOf(owner) / 10**18:.2f} DECA held by {owner[:10]}")
    click.echo(f"  DAO vault: {deca.balanceOf(dao) / 10**18:.2f} DECA (the emission not won); "
               f"supply {deca.totalSupply() / 10**18:.2f} DECA")


def show_index(system, conn, fleet):
    registry, sbt = system["registry"], system["sbt"]
    click.echo("== the indexer rebuilds its store from the registry's events and checks it")
    indexer.rebuild(registry, conn)
    differences = indexer.verify(registry, conn)
    batches = store.read_batch_count(conn)
    click.echo(f"  {batches} batches on chain and in the store; differences: {len(differences)}")
    for d in differences[:5]:
        click.echo(f"    {d.kind} {d.batch_hash}: {d.detail}")
    click.echo(f"  {'device':12} {'batches':>7} {'readings':>8} {'energy Wh':>9} {'online h':>8} {'missed':>6}")
    for device in fleet:
        address = to_checksum_address(device.address)
        rows = store.read_batches(conn, device=address)
        readings = sum(len(r.readings) for r in rows)
        total_mwh = registry.device_state(address)[0]
        registry.sync_mining(address, sender=accounts.test_accounts[0])  # flush the SBT's record
        token = sbt.token_of_device(address)
        status = device.miner.status()
        click.echo(f"  {address[:12]} {len(rows):7} {readings:8} {total_mwh / 1000:9.1f} "
                   f"{sbt.miners(token).online_hours:8} {status['counters']['missed_samples']:6}")
    return differences


@click.command(cls=ConnectedProviderCommand)
def cli():
    logger.set_level("WARNING")  # the story, not every confirmation
    test = accounts.test_accounts
    deployer, members, miners, relayer, oracle_account, buyer = (
        test[0], [test[1], test[2], test[3]], [test[4 + i] for i in range(5)], test[9], test[10], test[11]
    )
    workdir = Path(project.path) / "var" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)

    click.echo("== deploy")
    system = deploy_system(deployer, members, oracle_account)
    click.echo(f"  DAO {system['dao'].address} with members {', '.join(m.address[:10] for m in members)}")
    for name in MODULES:
        click.echo(f"  {name:8} {system[name].address}, owned by the DAO")
    click.echo(f"  addresses recorded in {record_path().name}")

    admitted = admit_miners(system, members, miners)
    conn, fleet, start = run_devices(system, relayer, oracle_account, miners, admitted, workdir)
    differences = show_index(system, conn, fleet)
    if differences:
        raise click.ClickException("the index does not match the chain")
    if not run_market(chain, system, members, miners, admitted, start, FLEET_SEED, buyer, ballot):
        raise click.ClickException("the storage nodes and the ENERGY supply are out of parity")
