"""`make demo`'s tour, run against the whole suite behind the gateway: every step holds."""

import io

from dzdesk_dev import demo


def test_the_guided_tour_holds_from_sign_in_to_erasure(suite):
    out = io.StringIO()
    code = demo.main(gateway=suite.gateway, provider_url=suite.provider.http_url, out=out)
    printed = out.getvalue()
    assert code == 0, printed
    assert "The tour held: 12 steps." in printed
    for words in (
        "Two organizations sign in",
        "Carol opens an incident",
        "internal note",
        "The SLA clock",
        "audit log",
        "downloads everything",
        "Before erasure",
        "After erasure",
    ):
        assert words in printed
