"""Where a webhook may point: https only, and only to public addresses unless allowed.

A URL is checked when a webhook is created or changed, and its host is resolved again before
every attempt, which then connects to the address checked (a name may come to point at an
internal address after it was checked, or between a check and the connection). Refused
are addresses that are not global (loopback, private, link-local, shared, reserved: the cloud
metadata addresses 169.254.169.254, fd00:ec2::254 and 100.100.100.200 among them), multicast
and IPv4 addresses mapped into IPv6, unless the host name or a CIDR that holds the address is
listed in INTEGRATIONS_ALLOWED_HOSTS (tests, on-premises receivers).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from services.integrations.exceptions import UnsafeUrl

MAX_URL = 2000


class Allowance:
    """The allow-list: exact host names (case-insensitive) and networks."""

    def __init__(self, entries=()):
        self.hosts, self.networks = set(), []
        for entry in entries:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def allows_host(self, host):
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address):
        return any(address in network for network in self.networks)


def parse(url):
    """(host, port) of an acceptable https URL; UnsafeUrl otherwise."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise UnsafeUrl("it must be a URL of at most 2000 characters")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise UnsafeUrl("it is not a valid URL") from exc
    if parts.scheme != "https":
        raise UnsafeUrl("it must be https")
    if not parts.hostname:
        raise UnsafeUrl("it has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials do not belong in the URL; verify the signature instead")
    if parts.fragment:
        raise UnsafeUrl("it must not have a fragment")
    return parts.hostname, port


def refused(address):
    """Why an address may not be reached without an allowance, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return "an IPv4-mapped IPv6 address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local (or metadata) address"
    if not address.is_global:
        return "a private or reserved address"
    return None


def resolve(host, port):
    """Every address `host` resolves to; UnsafeUrl when it does not resolve."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
        return [literal]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UnsafeUrl("its host does not resolve") from exc
    return sorted({ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos}, key=str)


def check(url, allowance):
    """The address to connect to (None for a host allowed by name, resolved as usual); raises
    UnsafeUrl unless `url` is https and every address of its host may be reached."""
    host, port = parse(url)
    if allowance.allows_host(host):
        return None
    addresses = resolve(host, port)
    for address in addresses:
        reason = refused(address)
        if reason and not allowance.allows_address(address):
            raise UnsafeUrl(f"its host resolves to {reason}")
    return addresses[0]
