"""The console area tests' names for the shared factory (``tests.factory.console``): a
signed-in officer's browser, the same-origin header, reading a hidden input."""

from __future__ import annotations

from tests.factory.console import ORIGIN, hidden, signed_in
from tests.factory.console import ConsoleOfficer as Browser

__all__ = ["ORIGIN", "Browser", "hidden", "signed_in"]
