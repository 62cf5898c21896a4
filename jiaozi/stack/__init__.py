"""``make stack``: a production-like deployment on one machine (issue 14 point 4).

Under ``var/stack/`` (in the current directory) it runs, each as its own process:

- its own PostgreSQL cluster (``initdb`` as the ``postgres`` user, a free port on
  127.0.0.1, its socket directory inside ``var/stack``) holding the issuer's, the
  registry's and the verifiers' databases; never the machine's shared server;
- its own ``redis-server`` on a free port, the verifiers' shared rate-limit counters;
- the registry and one office's issuer on that PostgreSQL, keys made by the demo's key
  ceremony (``jiaozi.demo.ceremony``), production settings;
- two verifier replicas sharing the Redis and one database;
- a publication loop writing the issuer's public artefacts to ``var/stack/public``
  (``jiaozi issuer export-public``'s code, every few seconds);
- nginx (Debian's package, not daemonised, every path under ``var/stack/nginx``)
  terminating TLS with a CA made here: the public zone (verifier replicas, the static
  artefacts, the holder pages) on one port, and the internal zone (the issuer's API and
  console, the registry) on two others, all bound to loopback.

docs/deployment.md explains the zones, and deploy/ holds the nginx template, systemd
units and environment templates this runner fills in.

    python -m jiaozi.stack start [--exit] [--public-port 8443] [--issuer-port 9443]
                                 [--registry-port 9444]
    python -m jiaozi.stack stop | status

``start`` serves until Ctrl-C; ``--exit`` stops everything once it is up and checked
(tests and CI). ``stop`` stops what a previous ``start`` left (its pid file and the
PostgreSQL cluster's), ``status`` prints what runs where.
"""

from __future__ import annotations

from .run import Stack, StackError, main

__all__ = ["Stack", "StackError", "main"]
