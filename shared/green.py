"""Makes the process cooperative under eventlet; call first, before anything imports psycopg."""

import os
import warnings


def patch():
    # psycopg's C wait function blocks the eventlet hub; wait_select goes through the
    # green select and lets other workers run while a query waits
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # eventlet announces its deprecation; nameko needs it
        import eventlet

    eventlet.monkey_patch()
