"""Which proxies are believed and which names a request may use: the rules both services'
web layers apply before routing (trusted proxies, ``Host``, ``Origin``). Pure: headers in,
a judgement out; no I/O and no web framework.

The decisions (docs/operations.md section 8):

- ``Host`` names the public URL's host, a loopback literal (``localhost``, ``127.0.0.1``,
  ``::1``: DNS rebinding arrives with the attacker's own name, never these), or a name on
  the explicit extra list. Names compare case-insensitively, without a trailing dot; the
  port is not compared (a proxy may add its own listening port; no attack on the name
  needs a port). ``X-Forwarded-Host`` is never read: a proxy in front passes ``Host`` on.
- On an unsafe method (anything but GET, HEAD, OPTIONS), an ``Origin`` header must be the
  public URL's origin or the request's own (scheme as served and ``Host``); ``null``
  fails. Without ``Origin``, ``Sec-Fetch-Site: cross-site`` fails; with neither the request
  passes (an API client, curl, a server: they carry bearer keys, not cookies).
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["HostRules", "parse_host_list", "parse_proxy_list"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _items(value: object, what: str) -> list[str]:
    """Return the items of a comma-separated string or a JSON list (a list as given)."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except ValueError:
                raise ValueError(f"not a JSON list of {what}") from None
        else:
            value = [t for t in text.split(",") if t.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError(f"must be a list of {what}")
    return [str(item).strip() for item in value]


def parse_proxy_list(value: object) -> tuple[str, ...]:
    """Return the trusted proxy addresses (IPs or networks: comma-separated or a JSON list)
    as normalised networks. Raises ValueError on anything else (``*`` too: trust is named,
    never all)."""
    out: list[str] = []
    for item in _items(value, "proxy addresses"):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return tuple(dict.fromkeys(out))


def _name(text: str) -> str | None:
    """Return a host name or IP literal (no port), lower-case and without a trailing dot,
    or None when ``text`` is neither."""
    text = text.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        pass
    text = text.removesuffix(".")
    if not text.isascii() or len(text) > 253:
        return None
    labels = text.split(".")
    return text if all(_LABEL.match(label) for label in labels) else None


def parse_host_list(value: object) -> tuple[str, ...]:
    """Return the extra host names a request may use (comma-separated or a JSON list),
    normalised. Raises ValueError on a wildcard, a port or anything not a host name or IP
    address: every accepted name is named."""
    out: list[str] = []
    for item in _items(value, "host names"):
        name = _name(item)
        if name is None:
            raise ValueError(
                f"{item!r} is not a host name or IP address (no scheme, port or wildcard)"
            )
        out.append(name)
    return tuple(dict.fromkeys(out))


@functools.lru_cache(maxsize=256)  # a service sees a few Host values, every request
def host_of(header: str) -> str | None:
    """Return the host name in a ``Host`` header value (its port dropped), normalised, or
    None when it is not one."""
    header = header.strip()
    if header.startswith("["):  # [v6] or [v6]:port
        end = header.find("]")
        rest = header[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            return None
        host, port = header[: end + 1], rest[1:]
    else:
        host, _, port = header.partition(":")
    if port and not (port.isascii() and port.isdigit() and len(port) <= 5):
        return None
    return _name(host)


def origin_of(url: str) -> str | None:
    """Return the origin (``scheme://host[:port]``, the default port left out) of an
    http(s) URL or ``Origin`` value, normalised; None when it is not one."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    host = _name(parts.hostname)
    if host is None:
        return None
    shown = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        shown += f":{port}"
    return f"{scheme}://{shown}"


@dataclass(frozen=True)
class HostRules:
    """The names and origins a service answers to: its public URL, the loopback literals
    and the extra host names of its settings."""

    public_url: str
    extra_hosts: tuple[str, ...] = ()
    origin: str = field(init=False)  # the public URL's
    hosts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        origin = origin_of(self.public_url)
        if origin is None:
            raise ValueError(f"{self.public_url!r} is not an http(s) URL")
        host = host_of(origin.partition("://")[2])
        assert host is not None  # origin_of normalised it
        object.__setattr__(self, "origin", origin)
        extra = parse_host_list(list(self.extra_hosts))
        object.__setattr__(self, "hosts", frozenset({host, *LOOPBACK_NAMES, *extra}))

    def host_allowed(self, header: str | None) -> bool:
        """Return True if a ``Host`` header value names a host this service answers to."""
        if header is None:
            return False
        host = host_of(header)
        return host is not None and host in self.hosts

    def judge(
        self, method: str, scheme: str, headers: Iterable[tuple[bytes, bytes]]
    ) -> Literal["bad_host", "bad_origin"] | None:
        """Return why a request (its method, the scheme it was served over and its raw
        headers, as in an ASGI scope) is refused, ``"bad_host"`` or ``"bad_origin"``, or
        None when it passes."""
        hosts: list[str] = []
        origins: list[str] = []
        fetch_site = None
        for name, value in headers:
            if name == b"host":
                hosts.append(value.decode("latin-1"))
            elif name == b"origin":
                origins.append(value.decode("latin-1"))
            elif name == b"sec-fetch-site" and fetch_site is None:
                fetch_site = value.decode("latin-1").strip().lower()
        if len(hosts) != 1 or not self.host_allowed(hosts[0]):
            return "bad_host"
        if method.upper() in SAFE_METHODS:
            return None
        if not origins:
            return "bad_origin" if fetch_site == "cross-site" else None
        own = origin_of(f"{scheme}://{hosts[0].strip()}")
        for sent in origins:
            origin = origin_of(sent)  # "null" and anything unreadable: None
            if origin is None or origin not in (self.origin, own):
                return "bad_origin"
        return None
