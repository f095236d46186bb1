"""Privacy: subject keys (crypto-shredding), data-subject requests run as sagas, policies.

service.py       nameko entrypoints: authenticate, parse, call the application, respond
application.py   filing requests, reading them, downloading exports, legal holds, shredding
schemas.py       marshmallow bodies and queries, and what each reader of a request sees
subjects.py      privacy's own part of a subject: shred their key and copies, export theirs
sagas/           erasure, export and rectification sagas and the loops that drive them
keyring.py       the subject keyring table: get or create, re-wrap, shred
exports.py       export keys per request, sealed parts; bundle.py the bundle's contents
rotation.py      master key rotation (re-wrap every key); cli.py the dzdesk-keys command
policies.py      privacy policy versions: publish, read, accept
settings.py      PrivacySettings, read once
dependencies.py  the MasterKeys provider
store.py         SQL
events.py        event types and the class of each data field
exceptions.py    PrivacyError and its subclasses with their HTTP status
migrations/      numbered SQL files
"""
