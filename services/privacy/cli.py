"""The dzdesk-keys command: rotate privacy's master key, see which versions still wrap keys."""

import argparse
import base64
import json
import os
import sys

from services.privacy.rotation import key_versions, rotate_master
from shared import config
from shared.crypto import MasterKeyError, MasterKeyRing, new_data_key

EXIT_OK, EXIT_USAGE = 0, 2


def _parser():
    parser = argparse.ArgumentParser(prog="dzdesk-keys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rotate = commands.add_parser(
        "rotate-master",
        help="re-wrap every subject and export key under the current master key "
        "(the first of DZDESK_MASTER_KEYS); safe to run while privacy serves, and again",
    )
    rotate.add_argument("--batch", type=int, default=500, help="keys per batch (default 500)")
    commands.add_parser("status", help="how many live keys each master key version wraps")
    commands.add_parser(
        "new-master-key", help="print a fresh master key (base64 of 32 random bytes)"
    )
    return parser


def main(argv=None, env=None):
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)
    if args.command == "new-master-key":
        print(base64.b64encode(new_data_key()).decode())
        return EXIT_OK
    system_url = config.database_url("privacy", "system", env)
    if args.command == "status":
        print(json.dumps(key_versions(system_url)))
        return EXIT_OK
    try:
        # as the service reads them: DZDESK_MASTER_KEY_FILE (compose's secret) included
        master_keys = MasterKeyRing.from_config(config.nameko_config("privacy", env))
    except MasterKeyError as error:
        print(f"dzdesk-keys: {error}", file=sys.stderr)
        return EXIT_USAGE
    done = rotate_master(
        master_keys, config.database_url("privacy", "app", env), system_url, max(1, args.batch)
    )
    print(json.dumps(done))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
