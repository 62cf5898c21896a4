"""The publication job inside the issuer's process: a thread started by the app's lifespan
that runs ``issuer.lifecycle.publish_all`` every ``publish_interval_seconds``.

It is crash-safe and idempotent because the job is (compare-and-set on every write): a
killed process leaves at worst an artefact not yet refreshed, which the next run (of any
replica, or ``jiaozi issuer publish``) signs. A failed run is logged, never raised: the
public routes keep serving the stored tokens meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from credential import PublicKey, Signer
from issuer import lifecycle
from issuer.errors import ReconcileNeeded
from issuer.settings import IssuerSettings
from keys import KeysError, current_trust_token, jiaozi_home

__all__ = ["Publisher", "stored_trust_token"]

log = logging.getLogger("jiaozi.issuer.publication")


def stored_trust_token() -> str | None:
    """Return the trust list stored under ``JIAOZI_HOME/trust`` (verified against the
    root public keys there), or None if there is none that verifies."""
    try:
        return current_trust_token(jiaozi_home())
    except KeysError:
        return None


class Publisher:
    """Runs the publication job on a daemon thread, first after one interval (changes are
    published as they happen; ``jiaozi issuer serve`` runs the job once before serving)."""

    def __init__(
        self,
        engine: Engine,
        *,
        settings: IssuerSettings,
        signer_provider: Callable[[], Signer],
        public_keys_provider: Callable[[], list[PublicKey]] | None,
        trust_token_provider: Callable[[], str | None] | None,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.signer_provider = signer_provider
        self.public_keys_provider = public_keys_provider
        self.trust_token_provider = trust_token_provider
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> lifecycle.Publication:
        """Run the job once; return what it did. Raises what the job raises."""
        keys = self.public_keys_provider() if self.public_keys_provider is not None else None
        trust = self.trust_token_provider() if self.trust_token_provider is not None else None
        with Session(self.engine) as session:
            done = lifecycle.publish_all(
                session,
                signer=self.signer_provider(),
                settings=self.settings,
                now=self.clock(),
                public_keys=keys,
                trust_token=trust,
            )
        self.runs += 1
        if done.status_lists or done.documents or done.restrictions:
            log.info(
                "published status lists %s, documents %s, restricted list %s",
                done.status_lists,
                done.documents,
                done.restrictions,
            )
        return done

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.publish_interval_seconds):
            try:
                self.run_once()
            except ReconcileNeeded as exc:  # an operator's step, not a fault: one line
                log.warning("the publication job is waiting: %s", exc.detail)
            except Exception:  # the next run starts over; GETs serve what is stored
                log.exception(
                    "the publication job failed; retrying in %ss",
                    self.settings.publish_interval_seconds,
                )

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="jiaozi-publisher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, waiting for a run in progress to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
