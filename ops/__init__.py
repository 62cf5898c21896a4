"""Operations shared by the three services: backup and restore (``ops.backup``,
``ops.backup_services``, the ``jiaozi backup`` and ``jiaozi restore`` commands in
``ops.backup_cli``).

May import ``credential``, ``keys``, and each service's settings and database modules
(lazily, inside the function that needs them, so one service's command does not load
another's). Nothing in ``credential``, ``keys``, ``issuer``, ``registry`` or ``verifier``
imports it.
"""

from ops.backup import BackupError, open_archive, write_archive

__all__ = ["BackupError", "open_archive", "write_archive"]
