"""Malformed input answers a 4xx problem document, never a 500."""

import pytest
import requests

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(
    "query", ["limit=%C2%B2", "limit=-1", "limit=1e3", "cursor=WzFd", "cursor=bm90LWpzb24"]
)
def test_a_malformed_list_query_is_a_400_problem(ticketing, query):
    api, *_ = ticketing
    response = requests.get(
        f"{api.base}/v1/tickets?{query}", headers=api.headers(api.user("agent")), timeout=10
    )

    assert (response.status_code, response.headers["Content-Type"]) == (400, PROBLEM)


def test_a_body_of_five_thousand_nested_arrays_is_a_400_problem(ticketing):
    api, *_ = ticketing
    response = requests.post(
        f"{api.base}/v1/tickets",
        data="[" * 5000 + "]" * 5000,
        headers={
            **api.headers(api.user("requester")),
            "Content-Type": "application/json",
            "Idempotency-Key": "nested",
        },
        timeout=10,
    )

    assert (response.status_code, response.headers["Content-Type"]) == (400, PROBLEM)


def test_a_non_ascii_digit_in_if_match_is_a_400_problem(ticketing):
    api, *_ = ticketing
    ticket = api.open(api.user("requester"))
    response = requests.patch(
        f"{api.base}/v1/tickets/{ticket['id']}",
        json={"title": "x"},
        headers={**api.headers(api.user("agent")), "If-Match": '"²"'},
        timeout=10,
    )

    assert (response.status_code, response.headers["Content-Type"]) == (400, PROBLEM)
