"""The demo's story on a local chain: deploy, admit miners by ballot, run their devices
through the gateway into the registry and the index, draw the lottery and pay the winners
every hour, check everything, then the energy market and the green certificates; a summary
and a report at the end.

``run_demo`` is the whole of it; ``scripts/demo.py`` is its command line.
"""

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import click
import requests
from eth_utils import to_checksum_address

from greenminer import enroll as device_enroll
from greenminer.net import HttpNet
from greenminer.protocol import EPOCH_SECONDS
from offchain import gateway, market, oracle
from offchain.deploy import deploy_system
from offchain.display import table
from offchain.governance import call, state_name
from offchain.index import indexer, store
from offchain.protocol import enroll
from offchain.scoring import authenticity
from offchain.views import call_view
from testbed import fleet, pvdata, report, simulator
from testbed.demo_certificates import run_certificates
from testbed.demo_market import run_market
from testbed.localchain import advance_to, mine, now, run_ballot

LOTTERY_K = 6  # the pilot's odds (the default is 60): enough winners among a few miners to see
PILOT_REFERENCE_KWH = 1  # [kWh] an hour's energy that earns the whole emission: the pilot's scale
FLEET_SEED = 0  # the default fleet: device keys simulator.device_key(seed, i)
MINER_FUNDS = 10**18  # [wei] gas money for a generated miner account
GAS_ROWS_SHOWN = 12  # kinds of call in the printed summary, most gas first
AUDITED_EPOCHS = 8  # tables the demo's auditor recomputes from the chain
# The demo's boards are simulated in pure Python, all on one core: a batch's proof of work costs
# them 16 hashes on average (2**256 / target) instead of the deployment's default 256.
DEMO_POW_TARGET = 2**252


class Actors(NamedTuple):
    deployer: object
    members: list
    miners: list  # one wallet per applicant
    relayer: object
    oracle: object
    buyer: object


class Outcome(NamedTuple):
    """What the demo checked, for its caller (and its test)."""

    system: object  # offchain.deploy.System
    batches_on_chain: int
    batches_indexed: int
    index_differences: int
    epochs: int
    epochs_audited: int  # tables recomputed from the chain
    epochs_verified: int  # of those, the ones whose root, winners and amounts the chain confirms
    winners_paid: int  # winning rows with an amount, claimed on chain
    winners_to_pay: int
    deca_claimed: int  # [wei] Σ of those rows' amounts
    deca_held_by_miners: int  # [wei] before the market chapter
    parity: bool
    certificates: object  # testbed.demo_certificates.Certified
    report_files: list


def make_actors(test_accounts, n_applicants):
    """Test accounts 0-11 for the system's roles, then one wallet per applicant (generated
    and funded by the deployer beyond the configured test accounts)."""
    while len(test_accounts) < 12 + n_applicants:
        test_accounts.generate_test_account()
    t = [test_accounts[i] for i in range(12 + n_applicants)]
    for wallet in t[12:]:
        if wallet.balance < MINER_FUNDS:
            t[0].transfer(wallet, MINER_FUNDS)
    return Actors(t[0], t[1:4], t[12:], t[9], t[10], t[11])


def ballot(chain, dao, members, calls, description, against=()):
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


def admit_miners(chain, system, actors, applicants, seed):
    """Every applicant applies with its device's enrollment; the DAO admits the plausible ones
    in ballots of at most 16 calls, rejects the implausible one and sets the pilot's odds."""
    dao, sbt = system.dao, system.sbt
    click.echo(f"== {len(applicants)} miners apply in {len(set(a.town for a in applicants))} towns, each with its "
               "device's enrollment naming the miner's wallet")
    app_ids = []
    for i, (wallet, a) in enumerate(zip(actors.miners, applicants)):
        # what the board writes to its flash (enrollment.json): its total, now, signed for this wallet
        signed = device_enroll.sign_enrollment(simulator.device_key(seed, i), chain.chain_id, sbt.address,
                                               wallet.address, 0, chain.blocks.head.timestamp)
        e = enroll.parse_enrollment(signed, chain.chain_id, sbt.address)
        tx = sbt.apply(*e.apply_args(a.capacity_w, a.lat_udeg, a.lon_udeg, a.tilt, a.azimuth, f"ipfs://demo-{i}"),
                       sender=wallet)
        app_ids.append(tx.decode_logs(sbt.Applied)[0].application_id)
    click.echo("== the DAO votes (it cannot see which plausible applicant will cheat)")
    plausible = [app for app, a in zip(app_ids, applicants) if a.kind != "implausible"]
    for k in range(0, len(plausible), 16):
        part = plausible[k:k + 16]
        ballot(chain, dao, actors.members, [call(sbt.approve_application, x) for x in part],
               f"admit applications {part[0]}-{part[-1]}")
    for app, a in zip(app_ids, applicants):
        if a.kind == "implausible":
            ballot(chain, dao, actors.members, [call(sbt.reject_application, app, "900 kWp is not a small rooftop")],
                   f"reject application {app}: capacity implausible")
    ballot(chain, dao, actors.members, [call(dao.set_parameter, "quorum_bps", 10_000)], "require unanimity",
           against=actors.members[1:])
    rewards = system.rewards
    pilot = authenticity.get_scoring_params(rewards)._replace(reference_kwh=PILOT_REFERENCE_KWH)
    ballot(chain, dao, actors.members, [call(system.keys.set_lottery_k, LOTTERY_K), call(rewards.set_scoring_params, pilot)],
           f"pilot: one draw in {LOTTERY_K} wins; {PILOT_REFERENCE_KWH} kWh an hour earns the whole emission")
    admitted = [sbt.applications(x).status == 2 for x in app_ids]
    click.echo(f"  {sum(admitted)} admitted (soulbound tokens), {len(admitted) - sum(admitted)} rejected")
    return sum(admitted)


def run_devices(chain, system, actors, applicants, admitted, hours, workdir, seed):
    """The devices measure and post every hour; every hour the oracle settles the epoch and
    its winners claim. Returns the store, the devices, the start and the epochs."""
    registry, sbt = system.registry, system.sbt
    click.echo(f"== {admitted} devices measure for {hours} h (NREL SERF East's clouds over each roof); every hour "
               "the gateway relays, the oracle commits, reveals, scores and posts, and the winners claim")
    conn = store.open_store(workdir / "store.sqlite")
    start_block = indexer.get_deployment_block(registry)
    gw = BackgroundGateway(gateway.Gateway(conn, gateway.ApeRegistry(registry, actors.relayer, start_block)))
    settings = {"CHAIN_ID": chain.chain_id, "REGISTRY": registry.address, "GENESIS": registry.genesis(),
                "POW_TARGET": registry.pow_target()}
    # the measured series in its own season (its first day, next time it comes round): the
    # clear-sky bound of a July day in November would flag honest evening readings
    series_start = int(pvdata.read_serf_east("15min")[0][0])
    start = pvdata.next_same_day(series_start, now(chain) + EPOCH_SECONDS)
    advance_to(chain, start)
    inputs = fleet.sensor_inputs(applicants[:admitted], start, hours, seed=seed)
    clock, devices = simulator.make_devices(inputs, [a.sensor_w for a in applicants[:admitted]],
                                            workdir / "devices", settings,
                                            HttpNet(requests.Session(), gw.url).post, start, seed=seed)
    first = (start - registry.genesis()) // EPOCH_SECONDS
    engine = oracle.Oracle(system, actors.oracle, conn, workdir / "oracle", from_epoch=first)
    wallets = {w.address: w for w in actors.miners}
    try:
        with click.progressbar(range(hours), label="  hours", show_pos=True) as bar:
            for hour in bar:
                epoch_end = start + EPOCH_SECONDS * (hour + 1)
                advance_to(chain, epoch_end + 120)  # two minutes into the next hour
                simulator.run(clock, devices, until=epoch_end + 120)
                gw.relay()
                # the epoch's window closes; the oracle commits, reveals B blocks later, scores, posts
                advance_to(chain, epoch_end + registry.grace_period() + 1)
                oracle.run(engine, once=True, mine=lambda n: mine(chain, n))
                claim_rewards(system, engine, first + hour, wallets)
        click.echo(f"  gateway outcomes: {dict(store.read_queue_counts(conn))}")
        for d in devices:
            if refused := d.miner.status()["rejected"]:
                token = sbt.token_of_device(to_checksum_address(d.address))
                click.echo(f"  token {token} ({applicants[d.index].kind}): {len(refused)} batches refused, the last: "
                           f"{refused[-1]['reason']}")
        forged = dict(store.read_queue(conn, "accepted")[-1].body)
        forged["readings"] = [[t, p * 3 + 1_000, e] for t, p, e in forged["readings"]]  # inflated power
        answer = requests.post(gw.url + "/batches", json=forged, timeout=15)
        click.echo(f"  an accepted batch re-posted with inflated power: HTTP {answer.status_code} "
                   f"{answer.json().get('error', answer.text)}")
    finally:
        gw.stop()
    return conn, devices, start, engine, list(range(first, first + hours))


def claim_rewards(system, engine, epoch, wallets):
    """Every winner of the epoch with something to claim claims it with the published proof."""
    rewards, sbt = system.rewards, system.sbt
    for row in oracle.read_table(oracle.table_path(engine.folder, epoch)).rows:
        if row.winner and row.amount:
            rewards.claim(epoch, row.token_id, row.amount, row.a_bps, row.q_bps, row.v_mwh, row.proof, *row.point,
                          sender=wallets[call_view(sbt, "ownerOf", row.token_id)])


def miner_results(system, engine, epochs, devices, applicants):
    """One dict per admitted miner, from the oracle's published tables: energy per day, wins, DECA."""
    sbt = system.sbt
    tables = [oracle.read_table(oracle.table_path(engine.folder, e)) for e in epochs]
    out = []
    for device in devices:
        a = applicants[device.index]
        token = sbt.token_of_device(to_checksum_address(device.address))
        rows = [(e, r) for e, t in zip(epochs, tables) for r in t.rows if r.token_id == token]
        sunny = [r for _, r in rows if r.v_mwh > 0]
        days = Counter()
        for e, r in rows:
            days[(e - epochs[0]) * EPOCH_SECONDS // 86_400] += r.energy_mwh
        out.append({
            "token": token, "town": a.town, "kind": a.kind, "twin": a.twin, "capacity_w": a.capacity_w,
            "booked_mwh": sum(r.energy_mwh for _, r in rows), "credited_mwh": sum(r.v_mwh for r in sunny),
            "a": sum(r.a * r.v_mwh for r in sunny) / max(1, sum(r.v_mwh for r in sunny)),
            "wins": sum(r.winner for _, r in rows), "deca_wei": sum(r.amount for _, r in rows if r.winner),
            "energy_per_day_mwh": [days[d] for d in range((len(epochs) + 23) // 24)],
            "failed": sorted({name for r in sunny for name in _failed_checks(r.checks)}),
        })
    return out, tables


def _failed_checks(checks):
    """Names of the checks that lowered a row's authenticity."""
    flags = {"bound": not checks["bound"], "copy": checks["copy"], "no weather": checks["smooth"],
             "lone": checks["lone"]}
    flags.update({name: checks[name] < 1 for name in ("scale", "weather", "shape")})
    return [name for name, failed in flags.items() if failed]


def show_cheats(results):
    """Each cheat against its honest twin (same town, size and roof)."""
    click.echo("== cheats against their honest twins (same town, size and roof)")
    lines = []
    for r in results:
        if r["twin"] is None or r["kind"] == "honest":
            continue
        twin = results[r["twin"]]
        lines.append({"kind": r["kind"], "token": r["token"], "Wh booked": round(r["booked_mwh"] / 1000, 1),
                      "a": round(r["a"], 2), "DECA": round(r["deca_wei"] / 1e18, 3), "twin": twin["token"],
                      "twin Wh": round(twin["booked_mwh"] / 1000, 1), "twin DECA": round(twin["deca_wei"] / 1e18, 3),
                      "failed checks": ", ".join(r["failed"]) or "-"})
    for line in table(lines):
        click.echo("  " + line)
    if not lines:
        click.echo("  (no cheats among fewer than four miners)")
    return lines


def check_index(system, conn):
    """The indexer rebuilds its store from the registry's events and compares it with the chain."""
    click.echo("== the indexer rebuilds its store from the registry's events and checks it")
    indexer.rebuild(system.registry, conn)
    differences = indexer.verify(system.registry, conn)
    batches = store.read_batch_count(conn)
    click.echo(f"  {batches} batches in the store; differences with the chain: {len(differences)}")
    for d in differences[:5]:
        click.echo(f"    {d.kind} {d.batch_hash}: {d.detail}")
    return batches, len(differences)


def check_epochs(system, tables, most=AUDITED_EPOCHS):
    """Posted tables recomputed from the chain (root, winners, amounts, proofs): every epoch
    with a winner to pay, at most ``most`` of them spread over the run (an audit reads each
    token's device, key and legal count: a few calls per miner and epoch)."""
    paying = [t for t in tables if any(r.winner and r.amount for r in t.rows)] or tables
    chosen = [paying[round(i * (len(paying) - 1) / max(1, most - 1))] for i in range(min(most, len(paying)))]
    chosen = list({t.epoch: t for t in chosen}.values())
    verified = sum(not oracle.verify_epoch(system, t.epoch, t) for t in chosen)
    click.echo(f"== the auditor recomputes {len(chosen)} epochs' tables from the chain (root, winners, amounts): "
               f"{verified} match")
    return len(chosen), verified


def run_demo(chain, project, test_accounts, n_miners, days, workdir, report_dir, seed=FLEET_SEED):
    """The whole demo; returns its :class:`Outcome`. ``seed`` picks the devices' keys and noise: another
    seed is another fleet (its own miners, e.g. on a second chain)."""
    workdir, report_dir = Path(workdir), Path(report_dir)
    applicants = fleet.plan(n_miners, seed=seed)
    actors = make_actors(test_accounts, len(applicants))
    click.echo("== deploy")
    system = deploy_system(project, chain, actors.deployer, actors.members, actors.oracle,
                           registry_params={"pow_target": DEMO_POW_TARGET})
    click.echo(f"  DAO {system.dao.address} with members {', '.join(m.address[:10] for m in actors.members)}; "
               f"{len(system.modules())} contracts, all owned by the DAO; proof of work "
               f"{2**256 // DEMO_POW_TARGET} hashes a batch (simulated boards)")
    admitted = admit_miners(chain, system, actors, applicants, seed)
    conn, devices, start, engine, epochs = run_devices(chain, system, actors, applicants, admitted, 24 * days, workdir,
                                                       seed)
    results, tables = miner_results(system, engine, epochs, devices, applicants)
    cheats = show_cheats(results)
    batches, differences = check_index(system, conn)
    # batches the registry accepted: each device's next seq (seq counts from 0, one per batch)
    on_chain = sum(int(system.registry.device_state(to_checksum_address(d.address))[2]) for d in devices)
    audited, verified = check_epochs(system, tables)
    rows = [(t.epoch, r) for t in tables for r in t.rows if r.winner and r.amount]
    paid = sum(bool(system.rewards.is_claimed(e, r.token_id)) for e, r in rows)
    held = sum(system.deca.balanceOf(w) for w in actors.miners)
    sellers = [i for i, a in enumerate(applicants[:admitted]) if a.kind == "honest"][:4]
    snapshots = []
    parity = run_market(chain, system, actors.members, actors.miners, sellers, start, days, seed, actors.buyer,
                        lambda *a, **k: ballot(chain, *a, **k), snapshots)
    certified = run_certificates(chain, system, actors.members, actors.miners, sellers, actors.buyer,
                                 lambda *a, **k: ballot(chain, *a, **k), engine.folder, epochs,
                                 {r["token"]: r["kind"] for r in results})
    names = {c.address: name for name, c in system._asdict().items()}
    gas = report.gas_by_call(chain, [actors.deployer, *actors.members, *actors.miners, actors.relayer, actors.oracle,
                                     actors.buyer], names)
    summary = report.summary(results, tables, market.get_parity(system.storage, system.energy),
                             snapshots[-1] if snapshots else None, certified, gas)
    click.echo("== summary (the report lists the gas of every kind of call)")
    for line in table(summary["table"]) + [""] + table(gas[:GAS_ROWS_SHOWN]):
        click.echo("  " + line)
    files = report.write(report_dir, results, cheats, summary, snapshots)
    click.echo(f"== report: {report_dir / 'index.html'} ({len(files)} files)")
    conn.close()
    return Outcome(
        system=system, batches_on_chain=on_chain, batches_indexed=batches, index_differences=differences,
        epochs=len(tables), epochs_audited=audited, epochs_verified=verified,
        winners_paid=paid, winners_to_pay=len(rows), deca_claimed=sum(r.amount for _, r in rows),
        deca_held_by_miners=held, parity=parity, certificates=certified, report_files=files,
    )
