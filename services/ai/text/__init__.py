"""Text for people and outside providers: thread summaries, reply drafts, and redaction.

summary.py      Thread, and extractive summaries of a ticket thread
providers.py    the local text provider and Azure OpenAI (which only ever sees redacted text)
redaction.py    personal data out of text bound for a provider, the check that none is left,
                and back
identifiers.py  what emails, IP addresses, phones, cards, IBANs and national ids look like
names.py        person names beyond the tenant directory (Faker's name lists, not desk words)
"""
