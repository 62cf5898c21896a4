"""The stack's publication loop: ``jiaozi issuer export-public DIR`` every few seconds, in
one long-lived process (a Python start per run would cost more than the run).

The issuer's own job signs (``jiaozi issuer serve`` re-signs status lists after every
change and when they are due); this loop only copies what is stored into ``DIR`` with one
atomic rename per changed file, the same code as the command. A real host runs the command
from a systemd timer instead (deploy/systemd/jiaozi-publish.timer).

    python -m jiaozi.stack.publish DIR [--every 2]   (with the issuer's JIAOZI_* settings)
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from issuer.settings import IssuerSettings

__all__ = ["export_once", "main"]

log = logging.getLogger("jiaozi.stack.publish")


def export_once(engine: Engine, settings: IssuerSettings, root: Path) -> int:
    """Write the stored public artefacts under ``root`` (changed files only); return how
    many files were written. Raises the database's errors."""
    from sqlalchemy.orm import Session

    from issuer import lifecycle
    from issuer.cli.commands import write_atomically

    with Session(engine) as session:
        artefacts = lifecycle.public_artefacts(session, settings=settings)
    written = 0
    for art in artefacts:
        target = (root / art.path).resolve()
        if not target.is_relative_to(root):  # names are ours; checked all the same
            raise ValueError(f"refusing to write outside {root}: {art.path}")
        written += write_atomically(target, art.body)
    return written


def main(argv: list[str] | None = None) -> int:
    """Run the loop until SIGTERM or SIGINT; return 0."""
    parser = argparse.ArgumentParser(prog="python -m jiaozi.stack.publish")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--every", type=float, default=2.0, help="seconds between runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    from issuer.db.engine import make_engine
    from issuer.settings import IssuerSettings

    settings = IssuerSettings()
    engine = make_engine(settings.database_url)
    root = args.directory.resolve()
    root.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info("exporting the public artefacts to %s every %ss", root, args.every)
    try:
        while not stop.is_set():
            try:
                written = export_once(engine, settings, root)
            except Exception as exc:  # the database restarting: the next run starts over
                log.warning("export failed (%s); retrying in %ss", type(exc).__name__, args.every)
            else:
                if written:
                    log.info("wrote %d artefact(s)", written)
            stop.wait(args.every)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
