"""Epoch secret keys: drawing one, its public key, and its file (mode 0o600, never overwritten)."""

import os
import secrets
from pathlib import Path

from coincurve import PrivateKey
from coincurve.utils import GROUP_ORDER_INT as N

from offchain.oracle.errors import OracleError
from offchain.oracle.state import fsync_dir


def new_secret():
    """A fresh epoch secret key, uniform in ``[1, n-1]``."""
    return secrets.randbelow(N - 1) + 1


def public_key(sk):
    """``SK · G`` as ``(x, y)``."""
    return PrivateKey.from_int(sk).public_key.point()


def write_key_file(path, sk):
    """
    Create the key file of an epoch, mode 0o600, failing if it exists.

    The folder is created with mode 0o700. The key is on disk (fsync) when this returns.

    Raises
    ------
    FileExistsError
        If the file exists (the caller reads it instead: it may already be committed).
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, f"0x{int(sk):064x}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(path.parent)


def read_key_file(path):
    """
    The secret key in a key file, or ``None`` when there is no file.

    Raises
    ------
    OracleError
        If the file holds no valid key (a crash while creating it).
    """
    try:
        text = Path(path).read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    try:
        sk = int(text, 16) if text.startswith("0x") and len(text) == 66 else 0
    except ValueError:
        sk = 0
    if not 0 < sk < N:
        raise OracleError(f"oracle: {path} holds no valid secret key")
    return sk


def ensure_key_file(path):
    """
    The epoch's secret key: the one in its file, or a new one written first.

    Only for an epoch the chain shows uncommitted: an unreadable file (left by a crash while
    it was created, before any commit could be sent) is then replaced.
    """
    try:
        sk = read_key_file(path)
    except OracleError:
        os.unlink(path)
        sk = None
    if sk is None:
        sk = new_secret()
        write_key_file(path, sk)
    return sk
