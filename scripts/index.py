"""The indexer's (auditor's) commands: follow the registry's events into the store, rebuild it, verify it.

    ape run index follow [--store var/store.sqlite] [--confirmations 0] [--watch SECONDS] [--json]
    ape run index rebuild [--store var/store.sqlite] [--json]
    ape run index verify [--store var/store.sqlite] [--no-counts] [--json]   # exits 1 when they differ
    ape run index overlap --store A.sqlite --store B.sqlite [--json]          # exits 1 on a device-hour on two chains

The store is a SQLite path or sqlite:/// URL (default: $GEM_STORE, else var/store.sqlite).
`follow` and `rebuild` create it when it is not there; `verify` only reads an existing one.
Every BatchAccepted event of the recorded deployment's MeasurementRegistry is stored with
its readings; `verify` recomputes each stored batch's digest and signer and compares the
store with the chain's events (and each epoch's N with the registry's legal_count).
`follow` keeps the hashes of the last 64 blocks it read: after a reorg it rolls the store
back to the newest of them still on the chain and reads on from there (and says so); a
reorg deeper than that stops it with one line asking for `rebuild`.
`overlap` reads the stores of several chains (no node needed) and lists every device-hour
anchored on more than one of them.
"""

import json
import time

import click
from ape.cli import ConnectedProviderCommand

from offchain.index import indexer, overlap, store

from ._system import ctrl_c, emit, json_option, load_system, open_store, store_option, table, when


def check_registry(registry, conn, url):
    """Refuse a store that indexes another registry (an earlier deployment, another chain)."""
    known = store.read_meta(conn, indexer.KEY_REGISTRY)
    if known is not None and known != registry.address:
        raise click.ClickException(f"the store {url} indexes registry {known}, not this deployment's "
                                   f"{registry.address}; `ape run index rebuild --store {url}` reads it again")


def _progress(registry, conn, url):
    last = store.read_meta(conn, indexer.KEY_LAST_BLOCK)
    return {"store": url, "registry": registry.address, "batches": store.read_batch_count(conn),
            "last_block": None if last is None else int(last), "head": int(indexer.get_head(registry))}


@click.group()
def cli():
    """Indexer: the registry's accepted batches into the off-chain store, and an audit of it."""


@cli.command(cls=ConnectedProviderCommand)
@store_option
@click.option("--confirmations", type=click.IntRange(0), default=0, show_default=True,
              help="Blocks left unread behind the head (on chains that reorganise).")
@click.option("--watch", type=click.FloatRange(0), default=0, metavar="SECONDS",
              help="Keep following, checking every SECONDS; prints a round when it added batches; Ctrl-C stops.")
@json_option
def follow(url, confirmations, watch, as_json):
    """Store the BatchAccepted events since the last block indexed (resumes where it stopped).

    Prints what it added, the batches in the store and the block it is indexed to. With
    --watch and --json, one JSON object per line and round. After a reorg it rolls the store
    back to the fork point, reads on from there and says so (JSON: "rolled_back").
    """
    registry = load_system().registry
    url, conn = open_store(url)
    try:
        check_registry(registry, conn, url)
        with ctrl_c():
            _follow(registry, conn, url, confirmations, watch, as_json)
    except indexer.ReorgError as e:
        raise click.ClickException(f"{e}: `ape run index rebuild --store {url}`") from None
    except KeyboardInterrupt:
        if not as_json:
            click.echo(f"stopped following; {url} is indexed to block {store.read_meta(conn, indexer.KEY_LAST_BLOCK)}")
    finally:
        conn.close()


def _follow(registry, conn, url, confirmations, watch, as_json):
    first = True
    while True:
        rollback = indexer.reconcile(registry, conn)  # follow would undo it too, silently
        added = indexer.follow(registry, conn, confirmations=confirmations)
        data = {**_progress(registry, conn, url), "added": added}
        text = [f"{added} new batches; {data['batches']} in {url}, indexed to block {data['last_block']} "
                f"(head {data['head']})"]
        if rollback:
            data["rolled_back"] = {"fork_block": rollback.fork_block, "last_block": rollback.last_block,
                                   "batches": list(rollback.batches)}
            text.insert(0, f"reorg: rolled back blocks {rollback.fork_block + 1} to {rollback.last_block} "
                           f"({len(rollback.batches)} batches) and read them again")
        if watch and as_json:
            if added or first or rollback:
                click.echo(json.dumps(data))
        elif not watch or added or first or rollback:
            emit(as_json, data, text)
        if not watch:
            return
        first = False
        time.sleep(watch)


@cli.command(cls=ConnectedProviderCommand)
@store_option
@json_option
def rebuild(url, as_json):
    """Empty the index and read every batch again from the registry's deployment block.

    The gateway's queue in the same store is kept. Use it when `verify` finds differences
    or the store indexes another deployment.
    """
    registry = load_system().registry
    url, conn = open_store(url)
    try:
        added = indexer.rebuild(registry, conn)
        data = {**_progress(registry, conn, url), "added": added}
    finally:
        conn.close()
    emit(as_json, data, f"rebuilt {url}: {added} batches from block {indexer.get_deployment_block(registry)} "
                        f"to block {data['last_block']}")


@cli.command(cls=ConnectedProviderCommand)
@store_option
@click.option("--no-counts", is_flag=True, help="Skip the per-epoch legal_count calls (one per device and epoch).")
@json_option
def verify(url, no_counts, as_json):
    """Compare the store with the chain; exit 1 if anything differs.

    Each stored batch's digest and signature are recomputed from its stored fields; every
    BatchAccepted event up to the last indexed block must be stored with equal fields and
    nothing else; each epoch's N must equal its readings and the registry's legal_count.
    Differences are listed as a table (kind, batch, detail).
    """
    registry = load_system().registry
    url, conn = open_store(url, must_exist=True)
    try:
        check_registry(registry, conn, url)
        if store.read_meta(conn, indexer.KEY_LAST_BLOCK) is None:
            raise click.ClickException(f"the store {url} indexes nothing yet; `ape run index follow` fills it")
        diffs = indexer.verify(registry, conn, counts=not no_counts)
        data = _progress(registry, conn, url)
    finally:
        conn.close()
    rows = [{"kind": d.kind, "batch_hash": d.batch_hash, "detail": d.detail} for d in diffs]
    data.update(ok=not diffs, differences=rows)
    if diffs:
        shown = [{**r, "batch_hash": r["batch_hash"] or "-"} for r in rows]
        text = table(shown, [("kind", "kind"), ("batch_hash", "batch"), ("detail", "detail")]) + [
            f"the store differs from the chain: {len(diffs)} difference(s); "
            f"`ape run index rebuild --store {url}` reads it again"]
    else:
        text = f"store and chain agree: {data['batches']} batches to block {data['last_block']}"
    emit(as_json, data, text)
    if diffs:
        raise SystemExit(1)


def _source(url):
    url, conn = open_store(url, must_exist=True)
    try:
        return overlap.read_source(conn, url)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    finally:
        conn.close()


@cli.command(name="overlap")
@click.option("--store", "urls", multiple=True, required=True, metavar="PATH|URL",
              help="An index store of one chain (SQLite path or sqlite:/// URL); repeat, one per chain.")
@json_option
def overlap_(urls, as_json):
    """Device-hours anchored on more than one chain; exit 1 if any.

    Reads each chain's store (`ape run index follow --network ... --store ...` fills it; no
    node is needed here) and lists every device and clock hour (UTC, whatever each chain's
    genesis) in which batches of the device on two chains (or registries) hold readings of the
    same time, with each anchor's chain, epoch, batch and transaction.
    """
    sources = [_source(url) for url in urls]
    if twice := overlap.same_registry_twice(sources):
        a, b = twice
        raise click.ClickException(f"the stores {a.name} and {b.name} both index registry {a.registry} "
                                   f"of chain {a.chain_id}; give one store per chain")
    found = overlap.find_overlaps(sources)
    data = {"ok": not found,
            "stores": [{"store": s.name, "chain_id": s.chain_id, "registry": s.registry,
                        "batches": len(s.spans)} for s in sources],
            "overlaps": [{"device": o.device, "hour": o.hour, "anchors": [a._asdict() for a in o.anchors]}
                         for o in found]}
    chains = ", ".join(f"chain {s['chain_id']}: {s['batches']} batches" for s in data["stores"])
    if found:
        rows = [{"device": o.device, "hour": when(o.hour), "chain": a.chain_id, "epoch": a.epoch,
                 "batch": a.batch_hash, "tx": a.tx_hash} for o in found for a in o.anchors]
        text = table(rows) + [f"{len(found)} device-hour(s) anchored on more than one chain ({chains})"]
    else:
        text = f"no device-hour anchored on two chains ({chains})"
    emit(as_json, data, text)
    if found:
        raise SystemExit(1)
