"""``make demo``: the whole national chain on one machine, the real services on SQLite.

Under a fresh ``var/demo/`` (in the current directory) it runs the key ceremony in its own
root home and gives the registry and two offices (北京 11/001 and 上海 31/001) their own
homes and keys (``ceremony``); starts the registry (:8300), both offices' issuers (:8100,
:8101) and the verifier (:8200) as child processes (``services``); issues sample
certificates at both offices through the HTTP API as a clerk, downloads their signed PDFs,
verifies them, revokes one at office A (supervisor A asks, supervisor B approves) and
shows its verdict change (``samples``); records a person certified at office B on the
restricted list at office A and shows, once the national sync has run, B's certificate
无效 at the verifier and B refusing that person a new application (``national``). The
clerks make the teachers' claim codes; every officer's API key, the codes and an
environment file for ``jiaozi batch issue`` are written down (0600). Then it prints where
to look, the holder pages with one code among them (``report``), and keeps everything
running until Ctrl-C (``run``).
``layout`` names every directory it writes.

    python -m jiaozi.demo [--exit] [--issuer-port 8100] [--issuer-b-port 8101]
                          [--verifier-port 8200] [--registry-port 8300]

``--exit`` (or ``JIAOZI_DEMO_EXIT=1``) stops the services and exits 0 once the samples
are made, then says the services have stopped and lists only what needs none of them:
tests and CI use it. A port that is taken is replaced by a free one (said so);
port 0 asks for any free port.
"""

from __future__ import annotations

from .run import main

__all__ = ["main"]
