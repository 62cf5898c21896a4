"""Backup and restore of the three services: ``jiaozi backup <service>`` and ``jiaozi
restore <service>`` (``cli``), what each service's archive holds and how it goes back
(``services``), and the encrypted archive itself (``archive``, over the ``keys`` recipe).

It lives under ``jiaozi`` because it reads each service's settings and database modules
(lazily, inside the function that needs them, so one service's command does not load
another's), and only ``jiaozi`` may import every service; nothing in ``credential``,
``keys``, ``ops``, ``issuer``, ``registry`` or ``verifier`` imports it.
"""

from jiaozi.backup.archive import BackupError, open_archive, write_archive

__all__ = ["BackupError", "open_archive", "write_archive"]
