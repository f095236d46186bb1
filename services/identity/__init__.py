"""Identity: sign-in, tenants and their members, sessions and DZDesk's own tokens.

service.py       nameko entrypoints only: authenticate, parse, call application/subjects
domain/          pure rules of members and service accounts: decide(state, command, members),
                 evolve, replay
application.py   load a member, decide, append, project; sign-in, refresh, sign-out;
                 the caller and their tenant; signing-key rotation
projections.py   which event writes which read-model row (the SQL is in store.py)
store.py         SQL: the sign-in directory, tenants and users, subjects' events
sessions.py      SQL: sessions, rotating refresh tokens, Microsoft sign-ins in flight
service_accounts.py  create, list, rotate, revoke service accounts; the client-credentials grant
credentials.py   SQL of service accounts and their hashed secrets; client id and secret format
client_auth.py   the token endpoint's client authentication (form, HTTP Basic), OAuth errors
subjects.py      the privacy participant: export, purge and rectify one subject
schemas.py       marshmallow: request bodies, RPC payloads, the token response
cookies.py       the session and sign-in state cookies and the responses that set them
federation.py    Google and Microsoft ID tokens, Microsoft's code flow
tokens.py        Ed25519 signing keys and their rotation, access JWTs, refresh tokens
keystore.py      the key ring in the database (private keys sealed), the JWK Set
vault.py         identity's own secrets, derived from IDENTITY_SECRET_KEY
settings.py      typed settings (IdentitySettings)
dependencies.py  the SignIn provider: the providers' verifiers and the vault, built once
events.py        event types and the class of each data field
exceptions.py    IdentityError and its subclasses, each with its HTTP status
migrations/      numbered SQL files
"""
