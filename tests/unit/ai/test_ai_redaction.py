import re
import uuid

import pytest

from services.ai.text.redaction import Redactor
from tests.support.ticket_corpus import tenant_corpus


def _person():
    suffix = uuid.uuid4().hex[:6]
    return f"Alice Martin{suffix}", f"alice.{suffix}@acme.example"


def test_a_known_full_name_is_replaced_whatever_its_case_and_spacing():
    name, email = _person()
    first, last = name.split()
    text = f"Hi {first.upper()}   {last.lower()}, please check."

    redacted, mapping = Redactor([(name, email)]).redact(text)

    assert redacted == "Hi [PERSON_1], please check."
    assert mapping == {"[PERSON_1]": name}


def test_a_first_name_alone_and_inside_punctuation_maps_to_the_same_person():
    redacted, mapping = Redactor([("Chloé O'Brien", "c@example.org")]).redact(
        "(Chloé) asked: Chloe O’Brien's laptop?"
    )

    assert redacted == "([PERSON_1]) asked: [PERSON_1]'s laptop?"
    assert mapping == {"[PERSON_1]": "Chloé O'Brien"}


def test_a_name_inside_a_longer_word_is_left_alone():
    redacted, _ = Redactor([("Ann Lee", "ann@example.org")]).redact(
        "Annual planning, Leeds office, annexe."
    )

    assert redacted == "Annual planning, Leeds office, annexe."


def test_a_first_name_that_is_a_common_word_is_redacted_only_when_capitalised():
    redacted, _ = Redactor([("Will Turner", "w@example.org")]).redact("I will ask Will about it.")

    assert redacted == "I will ask [PERSON_1] about it."


@pytest.mark.parametrize("email", ["bob.smith+it@mail.example.com", "X_Y@sub.domain.org"])
def test_any_email_address_is_replaced_even_of_unknown_people(email):
    redacted, mapping = Redactor().redact(f"Write to {email}.")

    assert redacted == "Write to [EMAIL_1]."
    assert mapping == {"[EMAIL_1]": email}


@pytest.mark.parametrize(
    "phone",
    ["+33 6 12 34 56 78", "(555) 123-4567", "555.123.4567", "+1-202-555-0143", "0612345678"],
)
def test_phone_numbers_in_common_formats_are_replaced(phone):
    redacted, mapping = Redactor().redact(f"Call me on {phone} today")

    assert redacted == "Call me on [PHONE_1] today"
    assert mapping["[PHONE_1]"] == phone


@pytest.mark.parametrize(
    "address", ["10.0.3.17", "192.168.1.0/24", "2001:db8::8a2e:370:7334", "fe80::1%eth0", "::1"]
)
def test_ip_addresses_of_both_families_are_replaced(address):
    redacted, mapping = Redactor().redact(f"Host {address} is down")

    assert redacted == "Host [IP_1] is down"
    assert mapping["[IP_1]"] == address


@pytest.mark.parametrize(
    "text",
    [
        "Windows 10.0.19045 update",
        "since 2024-01-15 at 12:30:45",
        "error 0x80070643",
        "ticket 12345678",
        "costs 1,250.00 EUR",
        "std::vector crashed",
    ],
)
def test_dates_versions_times_and_codes_are_not_mistaken_for_personal_data(text):
    assert Redactor().redact(text) == (text, {})


def test_the_same_value_gets_the_same_placeholder_within_one_call():
    name, email = _person()
    text = (
        f"{email} wrote; later {email.upper()} wrote again from 10.1.1.1 and 10.1.1.2,"
        " then 10.1.1.1."
    )

    redacted, _ = Redactor([(name, email)]).redact(text)

    assert (
        redacted
        == "[EMAIL_1] wrote; later [EMAIL_1] wrote again from [IP_1] and [IP_2], then [IP_1]."
    )


def test_an_email_containing_a_known_name_is_replaced_as_one_email():
    redacted, _ = Redactor([("Alice Martin", "x@example.org")]).redact("alice.martin@acme.example")

    assert redacted == "[EMAIL_1]"


def test_restore_puts_the_originals_back_and_leaves_unknown_placeholders():
    name, email = _person()
    redactor = Redactor([(name, email)])
    redacted, mapping = redactor.redact(f"{name} ({email}) on 10.0.0.8")

    restored = Redactor.restore(
        "Dear [PERSON_1], we reached [EMAIL_1] about [IP_1] and [PERSON_9].", mapping
    )

    assert restored == f"Dear {name}, we reached {email} about 10.0.0.8 and [PERSON_9]."


def test_no_name_email_or_phone_of_the_tenants_people_survives_redaction_of_generated_threads(rng):
    tenant = tenant_corpus(seed=rng.randrange(10**6), tickets=300)
    people = tenant.people + tenant.agents
    redactor = Redactor([(person.name, person.email) for person in people])
    forbidden = {
        v.casefold()
        for p in people
        for v in (p.name, p.email, p.phone, *p.name.split())
        if len(v) > 2
    }

    for ticket in tenant.tickets:
        redacted, _ = redactor.redact(ticket.to_thread(people).render())
        words = {w.casefold() for w in re.findall(r"[\w'’.@+-]+", redacted)}
        assert not forbidden & words
        assert not any(
            value in redacted.casefold() for value in forbidden if " " in value or "@" in value
        )
        assert not re.search(r"\b10\.\d+\.\d+\.\d+\b", redacted)


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005"])
def test_a_luhn_valid_card_number_is_replaced_whole(card):
    assert Redactor().redact(f"Card {card} was charged") == (
        "Card [CARD_1] was charged",
        {"[CARD_1]": card},
    )


def test_a_card_shaped_number_failing_luhn_is_left_whole_and_not_vouched_for():
    redacted, _ = Redactor().redact("Order 4111 1111 1111 1112 failed")

    assert redacted == "Order 4111 1111 1111 1112 failed" and Redactor.doubt(redacted)


@pytest.mark.parametrize("number", ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432"])
def test_an_iban_with_a_valid_checksum_is_replaced(number):
    assert Redactor().redact(f"IBAN {number} please") == (
        "IBAN [IBAN_1] please",
        {"[IBAN_1]": number},
    )


@pytest.mark.parametrize(
    "national_id",
    ["078-05-1120", "AB 12 34 56 C", "AB123456C", "12345678Z", "X1234567L", "RSSMRA85T10A562S"],
)
def test_national_ids_of_the_documented_formats_are_replaced(national_id):
    assert Redactor().redact(f"My id {national_id} is wrong")[0] == "My id [ID_1] is wrong"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Please ask Sarah Johnson to approve.", "Please ask [PERSON_1] to approve."),
        ("Dr. Okafor needs the projector.", "Dr. [PERSON_1] needs the projector."),
        ("Jean-Luc van der Berg lost his badge.", "[PERSON_1] lost his badge."),
        ("Xochitl Quispe called.", "[PERSON_1] called."),
        ("Thanks, Mateo", "Thanks, [PERSON_1]"),
    ],
)
def test_names_outside_the_directory_are_replaced(text, expected):
    assert Redactor().redact(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Microsoft Teams crashes when I share my screen.",
        "Windows Server 2019 update failed with 0x80070643.",
        "Outlook is stuck on version 16.0.17328.",
        "The VPN drops since the 2024-01-15 update at 10:30.",
    ],
)
def test_ordinary_desk_text_is_left_as_it_is_and_vouched_for(text):
    redacted, mapping = Redactor().redact(text)

    assert (redacted, mapping) == (text, {}) and Redactor.doubt(redacted) is None


@pytest.mark.parametrize(
    "text", ["Account 12345678 needs a reset.", "Keiko Tanaka called.", "My BSN 111222333."]
)
def test_leftover_digit_runs_and_unknown_name_pairs_are_not_vouched_for(text):
    assert Redactor.doubt(Redactor().redact(text)[0]) is not None
