"""canonical_json follows RFC 8785 (JCS) and agrees with the rfc8785 package."""

import json

import pytest
import rfc8785

from services.audit.chain import canonical_json


def test_object_keys_are_sorted_by_utf16_code_units_as_in_rfc8785_section_3_2_3():
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }

    keys = list(json.loads(canonical_json(value)))

    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_numbers_strings_and_literals_match_the_rfc8785_section_3_2_2_example():
    source = (
        '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],'
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",'
        ' "literals": [null, true, false]}'
    )

    canonical = canonical_json(json.loads(source))

    assert canonical == (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,'
        '0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    ).encode("utf-8")


def test_integral_floats_are_written_without_a_fraction():
    assert (
        canonical_json({"a": 1.0, "b": -0.0, "c": 1e21, "d": 1e20})
        == b'{"a":1,"b":0,"c":1e+21,"d":100000000000000000000}'
    )


def test_non_ascii_text_is_written_as_utf8_not_escaped():
    assert canonical_json({"name": "Zo\u00eb \u2603"}) == '{"name":"Zo\u00eb \u2603"}'.encode()


def test_integers_beyond_ieee_double_precision_are_rejected():
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"n": 2**53})


def test_non_string_keys_are_rejected():
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({1: "one"})


def test_lone_surrogates_are_rejected():
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"text": "\ud800"})


def _random_value(rng, depth=0):
    alphabet = 'aZ09 "\\\n\x01\x7f\u00e9\u20ac\ue000\uffff\U0001f600'
    kinds = ["str", "int", "float", "bool", "none"] + (["list", "dict"] if depth < 3 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(6)))
    if kind == "int":
        return rng.randint(-(2**53) + 1, 2**53 - 1) if rng.random() < 0.3 else rng.randint(-9, 999)
    if kind == "float":
        return rng.choice([rng.uniform(-1e6, 1e6), 1e-7 * rng.random(), float(rng.randint(0, 9))])
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "none":
        return None
    if kind == "list":
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        "".join(rng.choice(alphabet) for _ in range(3)): _random_value(rng, depth + 1)
        for _ in range(rng.randrange(5))
    }


def test_random_documents_canonicalize_exactly_as_the_rfc8785_package_does(rng):
    documents = [_random_value(rng) for _ in range(500)]

    mismatches = [doc for doc in documents if canonical_json(doc) != rfc8785.dumps(doc)]

    assert mismatches == []
