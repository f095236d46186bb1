"""Data-subject requests as sagas: pure state machines, and the loops that drive them.

- base.py          what every saga shares: participants, retries, deadline, serialisation
- erasure.py       ErasureSaga: review, shred the key, every participant purges
- export.py        ExportSaga: review, collect parts, assemble the bundle, expire it
- rectification.py RectificationSaga: every rectifier applies the corrected values
- actions.py       what a saga asks its driver to do, and SagaPolicy (its timings)
- kinds.py         which saga runs each request type, policy and participants from settings
- steps.py         one saga step in a tenant transaction: local actions, events, calls
- participants.py  calls to participants, and ParticipantLoop (pool + caller start-up)
- driver.py        SagaDriver: claims due sagas, calls participants, records outcomes
- restore.py       ShredReconciler: re-shreds keys the audit log saw shredded, after a restore
"""
