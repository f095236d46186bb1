#!/bin/sh
# Starts one DZDesk service, named by the first argument or by $SERVICE.
set -eu
if [ "$#" -eq 0 ]; then
    set -- "${SERVICE:?pass a service name (identity, ticketing, privacy, audit, ai, integrations, notifications) or set SERVICE}"
fi
exec dzdesk-service "$@"
