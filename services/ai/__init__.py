"""The ai service: triage suggestions, similar tickets, thread summaries and reply drafts, each
learned from one tenant's tickets only.

service.py       nameko entrypoints only: authenticate, parse, call the work below, respond
application.py   what the endpoints answer (triage, similar, threads) and the published triage
                 suggestion for an opened ticket
projections.py   what ai keeps from ticketing and identity events (sealed text, labels, people)
subjects.py      the privacy participant: export and purge one subject
store.py         SQL
schemas.py       marshmallow: HTTP answers, RPC arguments, the data of ai's event
settings.py      AiSettings: AI_* and AZURE_OPENAI_* keys, read once
dependencies.py  nameko providers: the process's tenant models, the text provider; the directory
events.py        ai's event types and the class of each data field
exceptions.py    AiError and its subclasses, each with its HTTP status
models/          per-tenant triage models: documents, features, the model, the registry that
                 keeps them in step with the database
text/            summaries, text providers (local, Azure OpenAI), redaction, person names
migrations/      numbered SQL files
"""
