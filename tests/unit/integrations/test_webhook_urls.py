"""Where a webhook may point: https, public addresses, or what the allow-list names."""

import ipaddress

import pytest

from services.integrations import urls
from services.integrations.exceptions import UnsafeUrl

NOTHING = urls.Allowance()


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://93.184.215.14/hook", "https"),
        ("ftp://93.184.215.14/hook", "https"),
        ("https:///hook", "no host"),
        ("https://user:pw@93.184.215.14/hook", "credentials"),
        ("https://93.184.215.14/hook#part", "fragment"),
        ("https://93.184.215.14:99999/hook", "not a valid URL"),
        ("https://" + "a" * 2001 + ".example/", "2000"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://[::1]/hook", "loopback"),
        ("https://10.1.2.3/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("https://172.16.5.4/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://[fd00:ec2::254]/hook", "private"),
        ("https://100.100.100.200/hook", "private"),
        ("https://0.0.0.0/hook", "private"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("https://224.0.0.1/hook", "multicast"),
        ("https://localhost/hook", "loopback"),
    ],
)
def test_a_url_that_is_not_https_or_not_public_is_refused(url, reason):
    with pytest.raises(UnsafeUrl) as refused:
        urls.check(url, NOTHING)
    assert reason in str(refused.value)
    assert refused.value.status == 422


def test_a_public_https_address_is_accepted_and_is_where_the_request_goes():
    address = urls.check("https://93.184.215.14/hooks/dzdesk?x=1", NOTHING)
    assert address == ipaddress.ip_address("93.184.215.14")
    urls.check("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:8443/hook", NOTHING)


def test_a_host_that_does_not_resolve_is_refused():
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        urls.check("https://no-such-host.invalid/hook", NOTHING)


def test_the_allow_list_admits_a_named_host_or_a_network():
    allowance = urls.Allowance(["127.0.0.1/32", "Receiver.Internal", "10.0.0.0/8"])
    urls.check("https://127.0.0.1:8443/hook", allowance)
    urls.check("https://10.20.30.40/hook", allowance)
    # not resolved: allowed by name, it is connected to as the system resolves it
    assert urls.check("https://receiver.internal./hook", allowance) is None
    with pytest.raises(UnsafeUrl):
        urls.check("https://127.0.0.2/hook", allowance)
    with pytest.raises(UnsafeUrl, match="https"):
        urls.check("http://127.0.0.1/hook", allowance)  # the allow-list never allows http


def test_every_address_a_name_resolves_to_is_checked(monkeypatch):
    monkeypatch.setattr(
        urls,
        "resolve",
        lambda host, port: [
            ipaddress.ip_address("93.184.215.14"),
            ipaddress.ip_address("10.0.0.1"),
        ],
    )
    with pytest.raises(UnsafeUrl, match="private"):
        urls.check("https://rebinding.example/hook", NOTHING)
