from services.ai.text.summary import Thread, split_sentences, summarize, summarize_sentences

THREAD = Thread(
    title="VPN disconnects every few minutes",
    description=(
        "Since Monday the VPN client disconnects every few minutes while I work from home. "
        "I lose access to the shared drive each time the VPN drops. "
        "My cat likes sitting on the keyboard. "
        "Thanks!"
    ),
    comments=(
        "We pushed a new VPN profile with a longer idle timeout; please reconnect the VPN client.",
        "Thanks, the VPN has stayed connected all afternoon.",
    ),
)


def _all_sentences(thread):
    return [
        s
        for text in (thread.title, thread.description, *thread.comments)
        for s in split_sentences(text)
    ]


def test_the_summary_keeps_chosen_sentences_in_their_original_order():
    chosen = summarize_sentences(THREAD, max_sentences=3, max_chars=1000)
    everything = _all_sentences(THREAD)

    assert len(chosen) == 3
    assert [everything.index(s) for s in chosen] == sorted(everything.index(s) for s in chosen)


def test_the_summary_stays_under_the_length_cap():
    for cap in (60, 120, 200, 400):
        assert len(summarize(THREAD, max_sentences=5, max_chars=cap)) <= cap


def test_the_summary_prefers_the_problem_over_asides_and_pleasantries():
    chosen = summarize_sentences(THREAD, max_sentences=3, max_chars=1000)

    assert "My cat likes sitting on the keyboard." not in chosen
    assert "Thanks!" not in chosen
    assert any("VPN" in sentence for sentence in chosen)


def test_an_empty_thread_has_an_empty_summary():
    assert summarize(Thread(title="", description="")) == ""


def test_sentences_split_on_end_punctuation_and_blank_lines_but_not_on_versions():
    text = "Upgrade to 10.2.1 failed. Why?\n\nNo idea!\n- first bullet\n- second bullet"

    assert split_sentences(text) == [
        "Upgrade to 10.2.1 failed.",
        "Why?",
        "No idea!",
        "first bullet",
        "second bullet",
    ]
