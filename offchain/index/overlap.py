"""
The multichain auditor: device-hours anchored on more than one chain.

A device signs each batch for one chain and one registry (the EIP-712 domain), so a batch
is refused anywhere else; what the domain cannot stop is a device key admitted on two
chains that anchors the same hour on both. Each chain's index store knows its chain id and
registry (the indexer's meta keys); this module reads each stored batch's time span (its
first and last readings) and lists the device-hours where batches of one device on two
(chain, registry) pairs hold readings of the same time. Hours are clock hours since 1970
(UTC), so chains with different geneses are compared in time, not epoch for epoch; a
device that leaves one chain for another between two readings anchors no hour twice,
even when both chains' epochs straddle that moment.
"""

from collections import defaultdict
from typing import NamedTuple

from offchain.index import indexer, store

HOUR = 3_600  # s


class Source(NamedTuple):
    """One index store: the chain and registry it indexes, and its device-hours."""

    name: str  # how the auditor named it: the store's path or URL
    chain_id: int
    registry: str
    spans: tuple  # of (device, first_ts [s], last_ts [s], batch_hash, tx_hash, epoch), as the store reads them


class Anchor(NamedTuple):
    """Where one device-hour is anchored: a chain, its registry, the batch and its transaction."""

    chain_id: int
    registry: str
    store: str
    batch_hash: str
    tx_hash: str
    epoch: int


class Overlap(NamedTuple):
    """A device-hour anchored on more than one (chain, registry): every batch that holds it."""

    device: str
    hour: int  # s since 1970, start of the clock hour
    anchors: tuple  # of Anchor, by chain id then registry then batch


def read_source(conn, name):
    """The :class:`Source` of an open store; ``ValueError`` (one line) when it indexes nothing yet."""
    chain_id, registry = store.read_meta(conn, indexer.KEY_CHAIN), store.read_meta(conn, indexer.KEY_REGISTRY)
    if chain_id is None or registry is None:
        raise ValueError(f"the store {name} indexes no registry yet; `ape run index follow --store {name}` fills it")
    return Source(name, int(chain_id), registry, tuple(store.read_batch_spans(conn)))


def same_registry_twice(sources):
    """The first pair of sources indexing the same chain and registry, as ``(a, b)``, or ``None``."""
    seen = {}
    for s in sources:
        key = (s.chain_id, s.registry)
        if key in seen:
            return seen[key], s
        seen[key] = s
    return None


def _crossings(spans):
    """``(lo, hi, a, b)`` for each two of one device's ``(first, last, anchor)`` spans on different
    (chain, registry) pairs whose times intersect in ``[lo, hi]``."""
    live = []
    for first, last, anchor in sorted(spans):
        live = [s for s in live if s[1] >= first]
        for _, other_last, other in live:
            if (other.chain_id, other.registry) != (anchor.chain_id, anchor.registry):
                yield first, min(last, other_last), other, anchor
        live.append((first, last, anchor))


def find_overlaps(sources):
    """
    Device-hours whose readings are anchored in more than one of ``sources`` (each a distinct chain and registry).

    Returns
    -------
    list of Overlap
        By device then hour; each with the batches of every chain holding readings of that time.
    """
    spans = defaultdict(list)
    for s in sources:
        for device, first, last, batch_hash, tx_hash, epoch in s.spans:
            spans[device].append((first, last, Anchor(s.chain_id, s.registry, s.name, batch_hash, tx_hash, epoch)))
    anchors = defaultdict(set)
    for device, device_spans in spans.items():
        for lo, hi, a, b in _crossings(device_spans):
            for hour in range(lo - lo % HOUR, hi + 1, HOUR):
                anchors[(device, hour)].update((a, b))
    return [Overlap(device, hour, tuple(sorted(found))) for (device, hour), found in sorted(anchors.items())]
