"""``metrics_allow``: the addresses ``/metrics`` answers, as IP networks.

Parsed from a setting written as a comma-separated list or a JSON list of IP addresses
and CIDR networks; the default is loopback only.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable

__all__ = ["DEFAULT_METRICS_ALLOW", "AddressAllow", "parse_metrics_allow"]

DEFAULT_METRICS_ALLOW: tuple[str, ...] = ("127.0.0.0/8", "::1/128")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_metrics_allow(value: object) -> tuple[str, ...]:
    """Return the networks ``value`` names (a comma-separated string, a JSON list or a
    sequence of strings), each normalised ("10.0.0.0/8", "192.0.2.7/32"). Raises
    ValueError naming an entry that is not an IP address or network."""
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        items: Iterable[object] = json.loads(text) if text.startswith("[") else text.split(",")
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    else:
        raise ValueError("must be a comma-separated or JSON list of IP addresses or networks")
    out = []
    for item in items:
        entry = str(item).strip()
        if not entry:
            continue
        try:
            out.append(str(ipaddress.ip_network(entry, strict=False)))
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address or network") from None
    return tuple(out)


class AddressAllow:
    """Is a client address in the allowed networks? (An unparsable address is not.)"""

    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks
        )

    def __call__(self, address: str | None) -> bool:
        """Return True if ``address`` lies in one of the networks."""
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in n for n in self.networks if n.version == ip.version)
