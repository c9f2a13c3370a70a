"""The oracle operator's commands: settle each finished epoch, verify a published table, show progress.

    ape run oracle run --account ALIAS [--store var/store.sqlite] [--folder DIR] [--base-url URL] [--once] [--mine] [--json]
    ape run oracle verify EPOCH [--table PATH] [--json]   # exits 1 when the table and the chain differ
    ape run oracle status [--store var/store.sqlite] [--folder DIR] [--last 24] [--json]

`run` takes every finished epoch not yet settled through commit, reveal (B blocks later),
scoring and post; it keeps going (polling) unless `--once`, which stops when every epoch
waits for time rather than blocks, and prints what it settled and what waits. `--mine`
(local chains only) mines the B blocks itself; after an epoch's post it posts the root of
the epoch's certificate rows. The account needs the oracle role on EpochKeys,
RewardDistributor and GreenCertificate (granted by DAO proposal; checked before anything is sent);
a keyfile account must sign unattended (APE_ACCOUNTS_<alias>_PASSPHRASE). Its files (state,
epoch keys with mode 0600, published tables) live next to the store unless `--folder` says
otherwise; tables are posted as file:// URIs unless `--base-url`. Stopped at any point,
`run` resumes without committing, revealing or posting twice.

`verify` needs no store and no role: anyone can recompute a posted epoch from the chain and
its table. `status` reads the oracle's state file and shows each epoch as the chain sees it.
"""

import json
import logging
import urllib.parse
from pathlib import Path

import click
from ape import chain, networks
from ape.cli import ConnectedProviderCommand

from offchain import oracle
from offchain.index import store
from testbed.localchain import mine as mine_blocks  # `--mine`: local chains only, Ganache's included

from ._system import account_option, ctrl_c, emit, json_option, load_system, open_store, store_option, table, when

folder_option = click.option("--folder", type=click.Path(file_okay=False), default=None,
                             help="Folder of the oracle's files: state, keys, tables (default: the store's folder).")


def _fail(error):
    """An OracleError as one line for the operator (without the engine's 'oracle: ' prefix)."""
    return click.ClickException(str(error).removeprefix("oracle: "))


def _files(url, folder):
    """The store's URL and the oracle's folder."""
    url = str(url or store.read_store_url())
    try:
        return url, Path(folder) if folder else oracle.folder_of_store(url)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    except oracle.OracleError as e:
        raise _fail(e) from None


def _read_state(contracts, folder):
    """The folder's state (None when there is none), refused when it is not this deployment's."""
    path = oracle.state_path(folder)
    try:
        state = oracle.read_state(path)
        if state is not None:
            oracle.check_state_deployment(state, chain.chain_id, contracts.keys.address, contracts.rewards.address,
                                          path)
    except oracle.OracleError as e:
        raise _fail(e) from None
    except (KeyError, TypeError, AttributeError) as e:
        raise click.ClickException(f"{path} is not an oracle state file ({type(e).__name__}: {e})") from None
    return state


def _check_account(contracts, account):
    """Refuse, before anything is sent, an account that cannot commit, post and certify."""
    missing = [name for name, c in (("EpochKeys", contracts.keys), ("RewardDistributor", contracts.rewards),
                                    ("GreenCertificate", contracts.certificate)) if not c.is_oracle(account.address)]
    if missing:
        names = " and ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1 else missing)
        raise click.ClickException(f"{account.address} does not hold the oracle role on {names}; "
                                   "the DAO grants it by proposal (set_oracle)")
    if account.balance == 0:
        raise click.ClickException(f"{account.address} has no ether to pay for the oracle's transactions")


def _base_url(ctx, param, value):
    if value is not None and urllib.parse.urlparse(value).scheme not in ("http", "https", "file"):
        raise click.BadParameter(f"{value!r} is not an http(s):// or file:// URL")
    return value


def _deca(wei):
    return f"{int(wei) / 10**18:g}"


def _settled_rows(before, after):
    """The epochs final in ``after`` that were not in ``before`` (states), as dicts."""
    old = (before or {}).get("epochs", {})
    rows = []
    for key, record in sorted((after or {}).get("epochs", {}).items(), key=lambda x: int(x[0])):
        if record["state"] in oracle.FINAL and old.get(key, {}).get("state") not in oracle.FINAL:
            rows.append({"epoch": int(key), "state": record["state"], "miners": record.get("miners"),
                         "winners": record.get("winners"), "total": record.get("total"), "root": record.get("root"),
                         "uri": record.get("uri")})
    return rows


def _waiting_rows(waiting):
    return [{"epoch": epoch, "state": a.state, "waits_for": "blocks" if a.kind == oracle.WAIT_BLOCKS else "time",
             "wait": a.wait, "note": a.note or a.kind} for epoch, a in sorted(waiting.items())]


def _run_text(settled, waiting, stopped):
    lines = []
    if settled:
        shown = [{**r, "miners": "-" if r["miners"] is None else r["miners"],
                  "winners": "-" if r["winners"] is None else r["winners"],
                  "total": "-" if r["total"] is None else _deca(r["total"]), "root": r["root"] or "-"}
                 for r in settled]
        lines += [f"settled {len(settled)} epoch(s):"] + table(shown, [
            ("epoch", "epoch"), ("state", "state"), ("miners", "miners"), ("winners", "winners"),
            ("total", "total DECA"), ("root", "root")])
    else:
        lines.append("no epoch settled")
    if waiting:
        shown = [{**w, "wait": f"{w['wait']} {'blocks' if w['waits_for'] == 'blocks' else 's'}"} for w in waiting]
        lines += ["waiting:"] + table(shown, [("epoch", "epoch"), ("state", "state"), ("wait", "wait"),
                                              ("note", "for")])
    if stopped:
        lines.append("oracle stopped; `run` resumes where it was")
    return lines


@click.group()
def cli():
    """Oracle: epoch keys, scores and reward roots; the audit of a posted epoch."""


@cli.command(cls=ConnectedProviderCommand)
@account_option("The oracle operator's account (alias or TEST::<index>); it must hold the oracle role.")
@store_option
@folder_option
@click.option("--base-url", default=None, callback=_base_url,
              help="Tables are published at <base-url>/epoch-<e>.json (default: file:// URIs of the folder).")
@click.option("--from-epoch", type=click.IntRange(0), default=None,
              help="First epoch, when the state is new (default: the distributor's first).")
@click.option("--once", is_flag=True, help="Stop when every epoch waits for time; print what was settled and what waits.")
@click.option("--mine", is_flag=True, help="Mine the blocks a reveal waits for (local chains only).")
@click.option("--poll", type=click.FloatRange(0.1), default=12.0, show_default=True,
              help="Seconds between checks of the chain.")
@json_option
def run(account, url, folder, base_url, from_epoch, once, mine, poll, as_json):
    """Commit, reveal, score and post every finished epoch (resumable).

    Progress is logged to stderr; the summary (epochs settled, epochs waiting) goes to
    stdout when `--once` ends or Ctrl-C stops it.
    """
    if mine and not networks.provider.network.is_local:
        raise click.ClickException("--mine is for local chains only")
    contracts = load_system()
    _check_account(contracts, account)
    url, folder = _files(url, folder)
    before = _read_state(contracts, folder)
    url, conn = open_store(url)
    handler = logging.StreamHandler(click.get_text_stream("stderr"))
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    oracle.log.addHandler(handler)
    oracle.log.setLevel(logging.INFO)
    stopped, waiting = False, {}
    try:
        engine = oracle.Oracle(contracts, account, conn, folder, base_url=base_url, from_epoch=from_epoch)
        with ctrl_c():
            waiting = oracle.run(engine, once=once, mine=(lambda n: mine_blocks(chain, n)) if mine else None, poll=poll)
    except oracle.OracleError as e:
        raise _fail(e) from None
    except KeyboardInterrupt:
        stopped = True
    finally:
        oracle.log.removeHandler(handler)
        conn.close()
    settled, waits = _settled_rows(before, oracle.read_state(oracle.state_path(folder))), _waiting_rows(waiting)
    emit(as_json, {"account": account.address, "folder": str(folder), "store": url, "stopped": stopped,
                   "settled": settled, "waiting": waits}, _run_text(settled, waits, stopped))


def _read_table_file(path):
    try:
        json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as e:
        raise click.ClickException(f"{path} is not JSON ({e})") from None
    except OSError as e:
        raise click.ClickException(f"cannot read {path}: {e.strerror or e}") from None
    try:
        return oracle.read_table(path)
    except oracle.OracleError as e:
        raise _fail(e) from None


@cli.command(cls=ConnectedProviderCommand)
@click.argument("epoch", type=click.IntRange(0))
@click.option("--table", "table_file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="The table file (default: what the posted URI points to, file:// or http(s)://).")
@json_option
def verify(epoch, table_file, as_json):
    """Recompute a posted EPOCH's lottery, amounts and root from the chain and its table; exit 1 on a mismatch.

    From the chain: the revealed key and entropy, K, the emission, the posted root and total,
    every miner's legal count and device key. From the table: the scores, from which the
    winners, amounts, leaves, proofs and root are recomputed. Differences are listed as a
    table (where, difference).
    """
    contracts = load_system()
    settled = oracle.get_settlement(contracts.rewards, epoch)
    if settled.status == oracle.SWEPT:
        raise click.ClickException(f"epoch {epoch} is not posted: it was swept to the vault (no table)")
    if settled.status != oracle.POSTED:
        raise click.ClickException(f"epoch {epoch} is not posted on chain (not settled yet)")
    if table_file:
        source, table_obj = str(table_file), _read_table_file(table_file)
    else:
        event = oracle.get_posted_event(contracts.rewards, epoch, int(contracts.keys.committed_block(epoch)))
        if event is None:
            raise click.ClickException(f"epoch {epoch}: no Posted event found; give the table with --table")
        source = event[0]
        try:
            table_obj = oracle.get_table(source)
        except oracle.OracleError as e:
            raise _fail(e) from None
    try:
        problems = oracle.verify_epoch(contracts, epoch, table_obj)
    except oracle.OracleError as e:
        raise _fail(e) from None
    winners = sum(r.winner for r in table_obj.rows)
    data = {"epoch": epoch, "ok": not problems, "table": source, "miners": len(table_obj.rows), "winners": winners,
            "total": str(table_obj.total), "root": "0x" + table_obj.root.hex(), "differences": problems}
    if problems:
        rows = [dict(zip(("where", "detail"), p.split(": ", 1))) if ": " in p else {"where": "-", "detail": p}
                for p in problems]
        text = table(rows, [("where", "where"), ("detail", "difference")]) + [
            f"epoch {epoch}: the table differs from the chain in {len(problems)} point(s)"]
    else:
        text = (f"epoch {epoch}: the table matches the chain: {len(table_obj.rows)} miners, {winners} winners, "
                f"total {_deca(table_obj.total)} DECA, root 0x{table_obj.root.hex()}")
    emit(as_json, data, text)
    if problems:
        raise SystemExit(1)


def _chain_text(view):
    if view.posted:
        return "posted"
    if view.swept:
        return "swept"
    if view.revealed:
        return f"revealed (commit in block {view.committed_block})"
    if view.committed_block:
        return f"committed in block {view.committed_block}"
    return "-"


@cli.command(cls=ConnectedProviderCommand)
@store_option
@folder_option
@click.option("--last", type=click.IntRange(1), default=24, show_default=True, help="Show this many epochs.")
@json_option
def status(url, folder, last, as_json):
    """The oracle's epochs as its state file and the chain show them.

    One row per epoch: its end, the state file's state, what the chain holds (commit,
    reveal, post, sweep) and, once scored, its miners, winners and total.
    """
    contracts = load_system()
    _, folder = _files(url, folder)
    state = _read_state(contracts, folder)
    if state is None:
        emit(as_json, {"folder": str(folder), "first_unsettled": None, "last_finished": None, "epochs": []},
             f"no oracle state in {folder}; `ape run oracle run` starts one")
        return
    genesis = int(contracts.registry.genesis())
    first = int(state["from_epoch"])
    while state["epochs"].get(str(first), {}).get("state") in oracle.FINAL:
        first += 1
    last_finished = oracle.get_last_finished_epoch(contracts)
    records = sorted(((int(e), r) for e, r in state["epochs"].items()), key=lambda x: x[0])[-last:]
    rows = []
    for epoch, record in records:
        view = oracle.get_epoch_view(contracts, epoch)
        rows.append({"epoch": epoch, "ends": when(genesis + oracle.EPOCH_SECONDS * (epoch + 1)),
                     "state": record["state"], "chain": _chain_text(view), "committed_block": view.committed_block,
                     "revealed": view.revealed, "posted": view.posted, "swept": view.swept,
                     "miners": record.get("miners"), "winners": record.get("winners"), "total": record.get("total"),
                     "root": record.get("root"), "uri": record.get("uri")})
    data = {"folder": str(folder), "first_unsettled": first, "last_finished": last_finished,
            "epochs": rows}
    shown = [{**r, "miners": "-" if r["miners"] is None else r["miners"],
              "winners": "-" if r["winners"] is None else r["winners"],
              "total": "-" if r["total"] is None else _deca(r["total"])} for r in rows]
    text = [f"oracle folder {folder}: first unsettled epoch {first}; last finished epoch {last_finished}"]
    text += table(shown, [("epoch", "epoch"), ("ends", "ends"), ("state", "state"), ("chain", "chain"),
                          ("miners", "miners"), ("winners", "winners"), ("total", "total DECA")]) if rows else [
        "no epoch handled yet"]
    emit(as_json, data, text)
