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
import numpy as np
import requests
from ape import accounts, chain, project
from ape.cli import ConnectedProviderCommand
from ape.logging import logger
from eth_utils import to_checksum_address

from greenminer import enroll as device_enroll
from greenminer.net import HttpNet
from greenminer.protocol import EPOCH_SECONDS
from offchain import gateway, oracle
from offchain.governance import call, state_name
from offchain.index import indexer, store
from offchain.protocol import enroll
from offchain.scoring import authenticity
from testbed import pvdata, simulator
from testbed.demo_market import run_market
from testbed.localchain import run_ballot

from ._system import deploy_and_record, record_path

HOURS = 48  # simulated hours of measurements
LOTTERY_K = 6  # the pilot's odds (the default is 60): enough winners among four miners to see
FLEET_SEED = 0  # device keys: simulator.device_key(FLEET_SEED, i)

# Seven would-be miners near NREL's SERF site (Golden, CO): capacity [W], lat/lon [µdeg], panel
# tilt and azimuth [deg], and what feeds their sensor. Small panels read by an INA219 board.
# Four are honest: the sky SERF East measured, on their own roofs. Two cheat in ways no
# application shows: one feeds its sensor a copy of miner 1's output, one a drawn clear-sky
# curve. The last claims a power plant on a garage roof.
APPLICANTS = [
    (36, 39_742_000, -105_178_000, 30, 180, "honest"),
    (30, 39_745_500, -105_170_100, 20, 150, "honest"),
    (24, 39_738_200, -105_190_400, 35, 210, "honest"),
    (20, 39_750_900, -105_181_700, 15, 170, "honest"),
    (30, 39_747_300, -105_174_200, 30, 180, "cheat: copies miner 1"),
    (30, 39_735_600, -105_168_800, 30, 180, "cheat: a drawn clear-sky curve"),
    (900_000, 39_741_000, -105_175_000, 30, 180, "implausible"),
]
HONEST = sum(role == "honest" for *_, role in APPLICANTS)
PLAUSIBLE = len(APPLICANTS) - 1
PILOT_REFERENCE_KWH = 1  # [kWh] an hour's energy that earns the whole emission: the pilot's scale


def sensor_inputs(start, hours):
    """What each plausible applicant's chip sees, ``(ts [s], power [W])``: the clouds SERF East
    measured (its clear-sky index, replayed in its own season) on each honest roof, with 4 %
    slow noise of its own; the copy and the drawn curve of the cheats."""
    ts0, power, site = pvdata.read_serf_east("15min")
    shift = start - int(ts0[0])  # the series' first day, a whole number of years later
    serf = pvdata.MeasuredSystem((ts0, power, site), span=(int(ts0[0]) - 3600, int(ts0[0]) + (hours + 3) * 3600))
    t = np.arange(start - 3600, start + (hours + 2) * 3600, 60.0)
    rng = np.random.default_rng(FLEET_SEED)
    out = []
    for capacity, lat, lon, tilt, azimuth, role in APPLICANTS[:PLAUSIBLE]:
        clear = pvdata.clear_power(lat / 1e6, lon / 1e6, capacity, t, tilt, azimuth)
        if role == "honest":
            p = pvdata.reoriented(serf.index_at(t - shift), clear, pvdata.ar1_noise(t.size, 0.04, 0.98, rng))
        elif role == "cheat: copies miner 1":
            p = pvdata.copied(t, out[0][1], t, 0, capacity / APPLICANTS[0][0], 0.01 * rng.standard_normal(t.size))
        else:
            p = clear
        out.append((t, np.clip(p, 0.0, capacity)))
    return out


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
    dao, sbt = system.dao, system.sbt
    click.echo(f"== {len(APPLICANTS)} miners apply, each with its device's enrollment naming the miner's wallet")
    app_ids = []
    for i, (miner, (capacity, lat, lon, tilt, azimuth, _)) in enumerate(zip(miners, APPLICANTS)):
        # what the board writes to its flash (enrollment.json): its total, now, signed for this wallet
        signed = device_enroll.sign_enrollment(simulator.device_key(FLEET_SEED, i), chain.chain_id, sbt.address,
                                               miner.address, 0, chain.blocks.head.timestamp)
        e = enroll.parse_enrollment(signed, chain.chain_id, sbt.address)
        tx = sbt.apply(*e.apply_args(capacity, lat, lon, tilt, azimuth, f"ipfs://demo-miner-{i}"), sender=miner)
        app_ids.append(tx.decode_logs(sbt.Applied)[0].application_id)
        click.echo(f"  application {app_ids[-1]}: {miner.address[:10]} device {e.device[:10]} {capacity:g} W, "
                   f"tilt {tilt}°, azimuth {azimuth}°")

    click.echo("== the DAO votes (it cannot see which plausible applicant will cheat)")
    ballot(dao, members, [call(sbt.approve_application, a) for a in app_ids[:PLAUSIBLE]],
           f"admit miners 1-{PLAUSIBLE}")
    ballot(dao, members, [call(sbt.reject_application, app_ids[PLAUSIBLE], "900 kWp is not a small rooftop")],
           f"reject application {PLAUSIBLE + 1}: capacity implausible")
    ballot(dao, members, [call(dao.set_parameter, "quorum_bps", 10_000)], "require unanimity", against=members[1:])
    rewards = system.rewards
    pilot = authenticity.get_scoring_params(rewards)._replace(reference_kwh=PILOT_REFERENCE_KWH)
    ballot(dao, members, [call(system.keys.set_lottery_k, LOTTERY_K), call(rewards.set_scoring_params, pilot)],
           f"pilot: one draw in {LOTTERY_K} wins; {PILOT_REFERENCE_KWH} kWh an hour earns the whole emission")
    for miner, app_id in zip(miners, app_ids):
        app = sbt.applications(app_id)
        if app.status == 2:
            click.echo(f"  {miner.address[:10]}: token {app.token_id}, locked={sbt.locked(app.token_id)}")
        else:
            click.echo(f"  {miner.address[:10]}: rejected ({app.reason})")
    return sum(sbt.applications(a).status == 2 for a in app_ids)


def run_devices(system, relayer, oracle_account, miners, admitted, workdir):
    registry, sbt = system.registry, system.sbt
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
    clock, fleet = simulator.make_devices(
        sensor_inputs(start, HOURS)[:admitted], [a[0] for a in APPLICANTS[:admitted]], workdir / "devices",
        settings, HttpNet(requests.Session(), gw.url).post, start, seed=FLEET_SEED,
    )
    first_epoch = (start - registry.genesis()) // EPOCH_SECONDS
    engine = oracle.Oracle(system, oracle_account, conn, workdir / "oracle", from_epoch=first_epoch)
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
            claim_rewards(system, engine, first_epoch + hour, miners)
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
    show_rewards(system, engine, range(first_epoch, first_epoch + HOURS), fleet)
    return conn, fleet, start


def claim_rewards(system, engine, epoch, miners):
    """Every winner of the epoch claims with the published proof and ECDH point."""
    rewards, sbt = system.rewards, system.sbt
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
        click.echo(f"  epoch {epoch}: token {row.token_id} wins (seed 0 of {table.k}; N = {row.n}, "
                   f"a {row.a_bps / 100:.1f} %, q {row.q_bps / 100:.1f} %, v {row.v_mwh / 1000:.1f} Wh) "
                   f"and claims {row.amount / 10**18:.2f} DECA")


def show_rewards(system, engine, epochs, fleet):
    """Honest and cheating miners side by side, from the oracle's published tables."""
    deca, dao, sbt = system.deca, system.dao, system.sbt
    rows = {}  # token -> its rows of the epochs
    for epoch in epochs:
        for row in oracle.read_table(oracle.table_path(engine.folder, epoch)).rows:
            rows.setdefault(row.token_id, []).append(row)
    click.echo("== rewards: honest and cheating miners side by side (48 hourly tables)")
    click.echo(f"  {'token':>5} {'miner':32} {'booked Wh':>9} {'credited':>8} {'a, sunny':>8} {'wins':>4} "
               f"{'DECA':>8}  why a < 1")
    for device in fleet:
        token = sbt.token_of_device(to_checksum_address(device.address))
        mine = rows.get(token, [])
        sunny = [r for r in mine if r.v_mwh > 0]
        a = sum(r.a * r.v_mwh for r in sunny) / max(1, sum(r.v_mwh for r in sunny))
        flags = {name for r in sunny for name in _failed_checks(r.checks)}
        click.echo(f"  {token:5} {APPLICANTS[device.index][5]:32} {sum(r.energy_mwh for r in mine) / 1000:9.1f} "
                   f"{sum(r.v_mwh for r in mine) / 1000:8.1f} {a:8.2f} {sum(r.winner for r in mine):4} "
                   f"{deca.balanceOf(sbt.ownerOf(token)) / 10**18:8.2f}  {', '.join(sorted(flags)) or '-'}")
    click.echo(f"  DAO vault: {deca.balanceOf(dao) / 10**18:.2f} DECA (the emission not earned); "
               f"supply {deca.totalSupply() / 10**18:.2f} DECA")


def _failed_checks(checks):
    """Names of the checks that lowered a row's authenticity."""
    flags = {"bound": not checks["bound"], "copy": checks["copy"], "no weather": checks["smooth"],
             "lone": checks["lone"]}
    flags.update({name: checks[name] < 1 for name in ("scale", "weather", "shape")})
    return [name for name, failed in flags.items() if failed]


def show_index(system, conn, fleet):
    registry, sbt = system.registry, system.sbt
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
        test[0], [test[1], test[2], test[3]], [test[12 + i] for i in range(len(APPLICANTS))], test[9], test[10], test[11]
    )
    workdir = Path(project.path) / "var" / "demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)

    click.echo("== deploy")
    system = deploy_and_record(deployer, members, oracle_account)
    click.echo(f"  DAO {system.dao.address} with members {', '.join(m.address[:10] for m in members)}")
    for name, contract in system.modules().items():
        click.echo(f"  {name:8} {contract.address}, owned by the DAO")
    click.echo(f"  addresses recorded in {record_path().name}")

    admitted = admit_miners(system, members, miners)
    conn, fleet, start = run_devices(system, relayer, oracle_account, miners, admitted, workdir)
    differences = show_index(system, conn, fleet)
    if differences:
        raise click.ClickException("the index does not match the chain")
    if not run_market(chain, system, members, miners, HONEST, start, FLEET_SEED, buyer, ballot):
        raise click.ClickException("the storage nodes and the ENERGY supply are out of parity")
