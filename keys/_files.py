"""Small filesystem and environment helpers shared by the key store and trust admin.

Every file keys/ writes goes through :func:`write_atomic`: a temporary file in the same
directory, fsync, ``os.replace``, fsync of the directory. A crash leaves the old file or
the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from ._errors import PassphraseError

__all__ = [
    "HOME_ENV",
    "MAX_PASSPHRASE_BYTES",
    "PASSPHRASE_ENV",
    "check_passphrase",
    "create_private_file",
    "jiaozi_home",
    "make_private_dir",
    "passphrase_from_env",
    "write_atomic",
]

HOME_ENV = "JIAOZI_HOME"
PASSPHRASE_ENV = "JIAOZI_KEY_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
# PKCS#8 PBES2 through cryptography's OpenSSL backend refuses longer passwords.
MAX_PASSPHRASE_BYTES = 1023


def create_private_file(path: Path) -> None:
    """Create ``path`` (and its directory) empty, readable by its owner alone (0600),
    unless it exists (an existing file keeps its mode).

    For files that hold secrets or personal data and are opened by others' code: a SQLite
    database gives its ``-wal`` and ``-shm`` files the database file's mode, so they are
    private too, whatever the umask would have made them.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def jiaozi_home(environ: Mapping[str, str] | None = None) -> Path:
    """Return the Jiaozi home: ``$JIAOZI_HOME``, or ``var/`` under the working directory."""
    env = os.environ if environ is None else environ
    value = env.get(HOME_ENV, "")
    return Path(value) if value else Path.cwd() / "var"


def passphrase_from_env(environ: Mapping[str, str] | None = None) -> bytes | None:
    """Return ``$JIAOZI_KEY_PASSPHRASE`` as bytes (the exact bytes of the environment),
    or None when it is unset or empty."""
    env = os.environ if environ is None else environ
    value = env.get(PASSPHRASE_ENV)
    if not value:
        return None
    return os.fsencode(value)


def check_passphrase(passphrase: bytes | None) -> bytes:
    """Return ``passphrase`` if private keys may be stored or read with it.

    Raises PassphraseError naming the environment variable when it is missing, empty or
    longer than the backend accepts.
    """
    if not passphrase:
        raise PassphraseError(
            f"{PASSPHRASE_ENV} is not set or empty: private keys are only ever stored and "
            "read encrypted under a passphrase",
            code="no_passphrase",
            env=PASSPHRASE_ENV,
        )
    if len(passphrase) > MAX_PASSPHRASE_BYTES:
        raise PassphraseError(
            f"{PASSPHRASE_ENV} is longer than {MAX_PASSPHRASE_BYTES} bytes, which PKCS#8 "
            "encryption does not support",
            code="long_passphrase",
            env=PASSPHRASE_ENV,
            max=MAX_PASSPHRASE_BYTES,
        )
    return passphrase


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; a directory created here is mode 0700."""
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def write_atomic(path: Path, data: bytes, *, mode: int) -> None:
    """Replace ``path`` with ``data`` atomically; the file ends up with ``mode``.

    Raises OSError as the OS reports it; the caller wraps it.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
