"""`dzdesk-dev`: development commands against a running `make run` (tokens on demand, the guided
tour)."""

import argparse
import json
import sys

from dzdesk_dev import sign_in


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dzdesk-dev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    token = commands.add_parser(
        "token",
        help="sign in through the real sign-in endpoint and print the access token",
        description="Signs in as anyone through the gateway with an ID token from the development "
        "provider that `make run` starts, and prints the access token.",
    )
    token.add_argument("--email", required=True)
    token.add_argument("--name", help="the display name (default: from the email)")
    where = token.add_mutually_exclusive_group()
    where.add_argument("--org", help="a Google Workspace domain (default: the email's domain)")
    where.add_argument(
        "--microsoft-tenant",
        metavar="ID",
        help="sign in with Microsoft in this tenant (a UUID, or a word for a stable one)",
    )
    token.add_argument(
        "--json", action="store_true", help="print the whole answer, not only the token"
    )
    for command in (token, commands.add_parser("demo", help="the guided tour (`make demo`)")):
        command.add_argument(
            "--gateway",
            default=None,
            help=f"the gateway (DZDESK_GATEWAY_URL, else {sign_in.DEFAULT_GATEWAY_URL})",
        )
        command.add_argument(
            "--sign-in",
            dest="provider_url",
            default=None,
            help="the development provider (DZDESK_DEV_SIGN_IN_URL, else "
            f"{sign_in.DEFAULT_SIGN_IN_URL})",
        )
    return parser


def main(argv=None, out=None) -> int:
    args = _parser().parse_args(argv)
    out = out or sys.stdout
    if args.command == "demo":
        from dzdesk_dev import demo

        return demo.main(gateway=args.gateway, provider_url=args.provider_url, out=out)
    try:
        answer = sign_in.sign_in(
            args.email,
            args.name,
            args.org,
            args.microsoft_tenant,
            gateway=args.gateway,
            provider_url=args.provider_url,
        )
    except sign_in.SignInFailed as exc:
        print(f"dzdesk-dev: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(answer, indent=2) if args.json else answer["access_token"], file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
