"""Many writers on one ticket: nothing lost, nothing refused, and the rules still refuse what they
must."""

import eventlet

WRITERS, COMMENTS = 8, 100


def test_eight_writers_adding_a_hundred_comments_each_lose_none_and_are_refused_none(
    api, requester, agent
):
    ticket = api.open(requester)
    writers = [api.user("agent") for _ in range(WRITERS)]

    def write(index):
        who = writers[index]
        return [
            api.call(
                "POST",
                f"/v1/tickets/{ticket['id']}/comments",
                who,
                {"body": f"writer {index} note {n}"},
            ).status_code
            for n in range(COMMENTS)
        ]

    statuses = [
        status
        for answers in eventlet.GreenPool(WRITERS).imap(write, range(WRITERS))
        for status in answers
    ]
    assert statuses == [201] * WRITERS * COMMENTS
    shown = api.call("GET", f"/v1/tickets/{ticket['id']}", agent).json()
    assert len(shown["comments"]) == WRITERS * COMMENTS
    history = api.call("GET", f"/v1/tickets/{ticket['id']}/history", agent).json()["items"]
    assert [entry["version"] for entry in history] == list(range(1, WRITERS * COMMENTS + 2))
    bodies = [
        entry["fields"]["body"] for entry in history if entry["type"] == "ticketing.comment_added"
    ]
    for index in range(WRITERS):
        own = [body for body in bodies if body.startswith(f"writer {index} ")]
        assert own == [f"writer {index} note {n}" for n in range(COMMENTS)]


def test_a_comment_on_a_closed_ticket_is_still_a_409_with_the_reason(api, requester, agent):
    ticket = api.open(requester)
    for to in ("resolved", "closed"):
        moved = api.call("POST", f"/v1/tickets/{ticket['id']}/transitions", agent, {"to": to})
        assert moved.status_code == 200, moved.text
    refused = api.call("POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "too late"})
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "closed" in refused.json()["detail"]


def test_two_updates_sent_with_the_same_if_match_at_once_give_one_success_and_one_412(
    api, requester, agent
):
    ticket = api.open(requester)

    def update(urgency):
        return api.call(
            "PATCH",
            f"/v1/tickets/{ticket['id']}",
            agent,
            {"urgency": urgency},
            **{"If-Match": '"1"'},
        ).status_code

    assert sorted(eventlet.GreenPool(2).imap(update, ("high", "low"))) == [200, 412]


def test_a_conflict_answer_never_names_a_stream_or_a_version(api, requester, agent):
    ticket = api.open(requester)
    api.call("POST", f"/v1/tickets/{ticket['id']}/comments", agent, {"body": "first"})
    stale = api.call(
        "PATCH", f"/v1/tickets/{ticket['id']}", agent, {"urgency": "high"}, **{"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert "ticket-" not in stale.text and "stream" not in stale.text
