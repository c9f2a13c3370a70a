"""
Speed of the device's pure-Python cryptography against the usual Ethereum libraries.

Times, in one run on this machine (CPython), ``greenminer`` against a baseline:

- keccak256 of 64 and 384 bytes: ``eth_utils.keccak`` (pycryptodome, C);
- one signature of a 32-byte digest: ``eth_account.Account.unsafe_sign_hash``
  (eth-keys: coincurve/libsecp256k1 if installed, else its own pure-Python backend);
- one PoW search at target 2**248 (about 256 tries, each hashing the Batch struct, the
  EIP-712 digest and the PoW hash): ``greenminer.batch.find_pow`` against the same loop
  written with ``eth_utils.keccak``; both must find the same nonces.

Prints a markdown table. Takes a few seconds.

    python bench/bench_device_crypto.py [--searches 20]
"""

import argparse
import os
import time

import eth_keys
from eth_account import Account
from eth_utils import keccak as c_keccak

from greenminer import batch, keccak, secp256k1, sha256

TARGET = 2**248  # PoW target: 2**8 = 256 expected tries

# A board's forms: on CPython the package binds its hashes to compiled ones (greenminer.keccak)
batch.keccak256 = keccak.keccak256 = keccak.pure_keccak256
keccak.absorb = keccak.pure_absorb
sha256.hmac_key, sha256.hmac_sha256 = sha256.pure_hmac_key, sha256.pure_hmac_sha256
keccak256 = keccak.pure_keccak256


def best_per_call(fn, calls, repeat=5):
    """Best mean time of ``calls`` calls of ``fn`` over ``repeat`` rounds [s]."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def baseline_find_pow(domain_sep, device, epoch, seq, rhash, prev, target, start=0):
    """The PoW search of ``batch.find_pow`` written plainly with the C keccak."""
    head = (batch.BATCH_TYPEHASH + bytes(12) + device + epoch.to_bytes(32, "big")
            + seq.to_bytes(32, "big") + rhash + prev)
    nonce = start
    while True:
        word = nonce.to_bytes(32, "big")
        dig = c_keccak(b"\x19\x01" + domain_sep + c_keccak(head + word))
        if int.from_bytes(c_keccak(dig + word), "big") < target:
            return nonce
        nonce += 1


def time_pow(searches):
    """Total time of ``searches`` PoW searches on random batches, both ways [s], and tries."""
    jobs = [
        (batch.domain_separator(31337, os.urandom(20)), os.urandom(20), 7, 3,
         os.urandom(32), os.urandom(32))
        for _ in range(searches)
    ]
    t0 = time.perf_counter()
    ours = [batch.find_pow(*job, TARGET) for job in jobs]
    t1 = time.perf_counter()
    base = [baseline_find_pow(*job, TARGET) for job in jobs]
    t2 = time.perf_counter()
    assert ours == base, "PoW searches disagree"
    tries = sum(n + 1 for n in ours)
    return t1 - t0, t2 - t1, tries


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=20, help="PoW searches to average")
    args = parser.parse_args()

    priv = int.from_bytes(os.urandom(32), "big") % (secp256k1.N - 1) + 1
    key = priv.to_bytes(32, "big")
    digest = os.urandom(32)
    assert secp256k1.sign(digest, priv) == tuple(
        getattr(Account.unsafe_sign_hash(digest, key), f) for f in "vrs"
    )
    secp256k1.public_key(1)  # build the fixed-base table outside the timings

    rows = []
    for size in (64, 384):
        data = os.urandom(size)
        rows.append((
            "keccak256, %d bytes" % size,
            best_per_call(lambda: keccak256(data), 500),
            best_per_call(lambda: c_keccak(data), 20_000),
        ))
    rows.append((
        "sign (RFC 6979, low-s)",
        best_per_call(lambda: secp256k1.sign(digest, priv), 100),
        best_per_call(lambda: Account.unsafe_sign_hash(digest, key), 100),
    ))
    ours, base, tries = time_pow(args.searches)
    rows.append((
        "PoW search, target 2**248 (mean of %d; %.0f tries each)"
        % (args.searches, tries / args.searches),
        ours / args.searches,
        base / args.searches,
    ))

    backend = eth_keys.KeyAPI().backend.__class__.__name__
    print("greenminer (pure Python) vs eth_utils.keccak (C) / eth-account (eth-keys %s)\n"
          % backend)
    print("| operation | greenminer | baseline | greenminer / baseline |")
    print("| --- | ---: | ---: | ---: |")
    for name, t_ours, t_base in rows:
        ratio = t_ours / t_base
        print("| %s | %s | %s | %s× |" % (name, _fmt(t_ours), _fmt(t_base),
                                          ("%.0f" if ratio >= 10 else "%.2f") % ratio))


def _fmt(seconds):
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f µs" % (seconds * 1e6)


if __name__ == "__main__":
    main()
