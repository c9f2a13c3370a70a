"""The oracle's chain and store I/O: reads of the contracts and the store, every transaction."""

from typing import NamedTuple

from eth_utils import to_checksum_address

from greenminer.protocol import EPOCH_SECONDS
from offchain.index import indexer, store
from offchain.oracle.machine import EpochView
from offchain.oracle.settlement import ZERO32
from offchain.oracle.state import POSTED, SWEPT
from offchain.oracle.table import DeviceInfo, Table, read_table, shape_epoch, to_hex
from offchain.oracle.verify import ChainFacts, check_table
from offchain.scoring import pogg
from offchain.views import call_view

ZERO_ADDRESS = "0x" + "00" * 20
REVOKED = 3  # MinerSBT's hardware status of a revoked token


def read_epoch_data(conn, epoch, window=pogg.WINDOW):
    """The scoring inputs of ``epoch`` from the store (see :func:`shape_epoch`)."""
    counts = store.read_epoch_counts(conn, max(0, epoch - window + 1), epoch + 1)
    readings = store.read_readings(conn, epoch, epoch + 1)
    return shape_epoch(epoch, counts, readings, window)


def _parse_device_row(row):
    fields = ("pubkey", "capacity_w", "lat_udeg", "lon_udeg", "tilt_deg", "azimuth_deg", "owner")
    if any(row.get(f) is None for f in fields):
        return None
    return DeviceInfo(to_checksum_address(row["device"]), int(row["token_id"]), bytes.fromhex(row["pubkey"][2:]),
                      int(row["capacity_w"]), int(row["lat_udeg"]), int(row["lon_udeg"]), int(row["tilt_deg"]),
                      int(row["azimuth_deg"]), to_checksum_address(row["owner"]))


def read_device_info(conn):
    """``{device: DeviceInfo}`` of the devices whose SBT data the store holds in full."""
    out = {}
    for row in store.read_devices(conn):
        info = _parse_device_row(row)
        if info is not None:
            out[info.device] = info
    return out


def write_device_info(conn, infos):
    """Keep SBT data of devices in the store (it never changes once a token is minted)."""
    store.write_devices(conn, [
        {"device": i.device, "token_id": i.token_id, "capacity_w": i.capacity_w, "lat_udeg": i.lat_udeg,
         "lon_udeg": i.lon_udeg, "tilt_deg": i.tilt_deg, "azimuth_deg": i.azimuth_deg, "pubkey": to_hex(i.pubkey),
         "owner": i.owner}
        for i in infos
    ])


def send_tx(method, *args, sender):
    """Every transaction of the oracle goes through here: ``method(*args, sender=sender)``."""
    return method(*args, sender=sender)


def get_epoch_view(c, epoch):
    """Read one epoch's progress from the chain (:class:`EpochView`).

    Only what can be non-zero or is still needed is read (each read is a call): before the
    commit every key field is zero, once committed the window's end is moot, and a reveal
    overwrites the public key, after which the reveal delay is moot."""
    head = c.keys.chain_manager.blocks.head
    committed_block = call_view(c.keys, "committed_block", epoch)
    revealed = committed_block != 0 and call_view(c.keys, "revealed", epoch)  # a reveal needs the commit
    waiting = committed_block != 0 and not revealed
    pk = call_view(c.keys, "public_key", epoch) if waiting else (0, 0)
    settled = get_settlement(c.rewards, epoch)
    return EpochView(
        epoch=epoch,
        head=int(head.number),
        now=int(head.timestamp),
        window_end=_window_end(c, epoch) if committed_block == 0 else 0,
        deadline=call_view(c.rewards, "deadline", epoch),
        committed_block=committed_block,
        reveal_delay=call_view(c.keys, "epoch_params", epoch)[0] if waiting else 0,
        public_key=(int(pk[0]), int(pk[1])),
        revealed=revealed,
        secret=call_view(c.keys, "secret", epoch) if revealed else 0,
        posted=settled.status == POSTED,
        swept=settled.status == SWEPT,
    )


class Settled(NamedTuple):
    """How the distributor settled an epoch (``RewardDistributor.epoch_rewards``)."""

    status: str  # POSTED, SWEPT or None
    root: bytes  # posted root (bytes32(0) otherwise)
    total: int  # [DECA wei] posted total
    claimed: int  # [DECA wei] claimed so far


_STATUS = {0: None, 1: POSTED, 2: SWEPT}


def get_settlement(distributor, epoch):
    """The distributor's record of an epoch, as :class:`Settled`."""
    root, total, claimed, status = call_view(distributor, "epoch_rewards", epoch)
    return Settled(_STATUS[int(status)], bytes(root), int(total), int(claimed))


POSTED_SEARCH_BLOCKS = 256  # blocks a Posted search reads at a time


def _first_event(event, epoch, start_block):
    """The first log of ``event`` (an ape contract event) for ``epoch`` from ``start_block``, or ``None``."""
    stop = event.contract.chain_manager.blocks.height + 1
    for lo in range(start_block, stop, POSTED_SEARCH_BLOCKS):
        found = list(event.range(lo, min(stop, lo + POSTED_SEARCH_BLOCKS), search_topics={"epoch": epoch}))
        if found:
            return found[0]
    return None


def get_posted_event(distributor, epoch, start_block=0):
    """
    The epoch's ``Posted`` event: ``(uri, block, params_hash)``, or ``None``.

    Searched forward from ``start_block`` (the distributor's deployment, or the epoch's commit
    block: a post needs the reveal) in windows of ``POSTED_SEARCH_BLOCKS``: an epoch is posted
    once, usually a few blocks after its reveal, so the search seldom reads past the first.
    """
    posted = _first_event(distributor.Posted, epoch, start_block)
    return None if posted is None else (str(posted.uri), int(posted.block_number), bytes(posted.params_hash))


def get_certificates_event(certificate, epoch, start_block=0):
    """The epoch's ``CertificatesPosted`` event: ``(root, total_mwh, min_a_bps, uri)``, or ``None``."""
    posted = _first_event(certificate.CertificatesPosted, epoch, start_block)
    if posted is None:
        return None
    return bytes(posted.root), int(posted.total_mwh), int(posted.min_a_bps), str(posted.uri)


def _window_end(c, epoch):
    """[s] When an epoch's window closes: its end plus the registry's grace period."""
    return call_view(c.registry, "genesis") + EPOCH_SECONDS * (epoch + 1) + call_view(c.registry, "grace_period")


def get_last_finished_epoch(c):
    """The last epoch whose window (end + grace period) is over at the head, or -1."""
    head = c.keys.chain_manager.blocks.head
    return (int(head.timestamp) - _window_end(c, -1)) // EPOCH_SECONDS - 1


def get_device_info(sbt, token_id):
    """:class:`DeviceInfo` of a token from the SBT."""
    m = call_view(sbt, "miners", token_id)
    owner = call_view(sbt, "ownerOf", token_id) if m.status != REVOKED else ZERO_ADDRESS
    tilt, azimuth = call_view(sbt, "device_plane", m.device)
    return DeviceInfo(m.device, int(token_id), get_pubkey(sbt, token_id, m), int(m.capacity_w), int(m.lat_udeg),
                      int(m.lon_udeg), int(tilt), int(azimuth), to_checksum_address(owner))


def get_pubkey(sbt, token_id, miner=None):
    """The 64-byte public key of a token's device (from ``miner``, its ``MinerSBT.miners`` record, if read)."""
    m = miner or call_view(sbt, "miners", token_id)
    return int(m.pubkey_x).to_bytes(32, "big") + int(m.pubkey_y).to_bytes(32, "big")


def get_tokens(sbt):
    """``{token_id: device}`` of every token ever minted (revoked ones included), ids 1, 2, ..."""
    out, token_id = {}, 1
    while True:
        device = call_view(sbt, "device_of", token_id)
        if int(device, 16) == 0:
            return out
        out[token_id] = device
        token_id += 1


def get_legal_counts(registry, devices, epoch):
    """``[N]`` of each device from the registry's legal counts."""
    return indexer.legal_counts(registry, [(d, epoch) for d in devices])


def get_chain_facts(c, epoch):
    """
    Everything :func:`check_table` needs from the chain (one call per token ever minted).

    The emission is read as it was in the block of the ``Posted`` event (the DAO may have
    changed it since). Legal counts are the registry's, exact for about 14 days after an
    epoch: an older epoch cannot be verified on chain.
    """
    tokens = get_tokens(c.sbt)
    counts = {t: n for t, n in zip(tokens, get_legal_counts(c.registry, tokens.values(), epoch)) if n > 0}
    revealed = call_view(c.keys, "revealed", epoch)
    settled = get_settlement(c.rewards, epoch)
    posted = settled.status == POSTED
    event = get_posted_event(c.rewards, epoch, int(c.keys.committed_block(epoch))) if posted else None
    return ChainFacts(
        epoch=epoch,
        chain_id=int(c.keys.chain_manager.chain_id),
        epoch_keys=to_checksum_address(c.keys.address),
        distributor=to_checksum_address(c.rewards.address),
        sk=call_view(c.keys, "secret", epoch) if revealed else 0,
        entropy=call_view(c.keys, "entropy", epoch) if revealed else ZERO32,
        k=call_view(c.keys, "epoch_params", epoch)[1],
        emission=int(c.rewards.emission(block_id=event[1]) if event else c.rewards.emission()),
        posted=posted,
        root=settled.root,
        total=settled.total,
        params_hash=event[2] if event else b"",
        counts=counts,
        devices={t: tokens[t] for t in counts},
        pubkeys={t: get_pubkey(c.sbt, t) for t in counts},
        certificates=get_certificates_event(c.certificate, epoch, event[1]) if event else None,
    )


def verify_epoch(c, epoch, table):
    """
    Check a published table against the chain.

    Parameters
    ----------
    c : offchain.deploy.System
    epoch : int
    table : Table or path
        The table, or its file.

    Returns
    -------
    list of str
        Empty when everything matches.
    """
    if not isinstance(table, Table):
        table = read_table(table)
    return check_table(table, get_chain_facts(c, epoch))


def get_start_epoch(c):
    """The first epoch the distributor pays (the one running at its deployment)."""
    return int(c.rewards.start_epoch())
