"""The ``infodesk`` command: serve, worker, migrate, retention, token, reindex, openapi."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

from app.core.channels import Channel
from app.core.config import get_settings
from app.core.security import Role

DEFAULT_OPENAPI_PATH = Path("openapi") / "openapi.json"


def migrate_and_seed() -> int:
    """Migrate the configured database to head and load the default offices when empty."""
    from sqlmodel import Session

    from app.core.db import get_engine
    from app.core.migrations import upgrade
    from app.offices.service import load_default_offices

    upgrade()
    with Session(get_engine()) as session:
        added = load_default_offices(session=session)
        session.commit()
    return added


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_level)
    added = migrate_and_seed()
    if added:
        print(f"loaded {added} default offices", file=sys.stderr)
    _ensure_secret_key()
    uvicorn.run(
        "app.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,
        proxy_headers=True,
    )
    return 0


def _ensure_secret_key() -> None:
    from sqlmodel import Session

    from app.channels.mailboxes import SecretKeyRequired, ensure_secret_key
    from app.core.db import get_engine

    with Session(get_engine()) as session:
        try:
            ensure_secret_key(session)
        except SecretKeyRequired as exc:
            raise SystemExit(f"infodesk: {exc}") from None


def _imap_poll(_args: argparse.Namespace) -> int:
    from app.calendar.cache import CalendarCache
    from app.channels.imap import poll_round
    from app.core.logging import configure_logging
    from app.sla.policies import PolicyCache

    settings = get_settings()
    configure_logging(settings.log_level)
    _ensure_secret_key()
    report = poll_round(
        calendars=CalendarCache(settings.calendar_cache_seconds),
        policies=PolicyCache(settings.calendar_cache_seconds),
    )
    outcomes = " ".join(f"{k}={v}" for k, v in sorted(report.outcomes.items()))
    print(
        f"mailboxes={report.mailboxes} read={report.read} skipped={report.skipped} "
        f"failed_mailboxes={report.failed_mailboxes}" + (f" {outcomes}" if outcomes else "")
    )
    return 1 if report.failed_mailboxes else 0


def _worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from app.channels.worker import Worker, poll_mail_forever
    from app.core.logging import configure_logging
    from app.privacy.retention import retention_forever

    configure_logging(get_settings().log_level)
    _ensure_secret_key()
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        # The round under way finishes; then the worker exits.
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if not args.no_imap:
        threading.Thread(
            target=poll_mail_forever, args=(stop,), name="infodesk-imap", daemon=True
        ).start()
    if not args.office:
        # One retention job for the deployment: the worker that serves every office.
        threading.Thread(
            target=retention_forever, args=(stop,), name="infodesk-retention", daemon=True
        ).start()
    Worker(stop=stop, office_codes=args.office).run()
    return 0


def _retention(args: argparse.Namespace) -> int:
    from app.privacy.retention import run

    count = run(dry_run=args.dry_run)
    verb = "would anonymise" if args.dry_run else "anonymised"
    print(f"{verb} {count} inquiries closed more than {get_settings().retention_years} years ago")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from app.core.migrations import downgrade, upgrade

    if args.revision == "head":
        added = migrate_and_seed()
        if added:
            print(f"loaded {added} default offices", file=sys.stderr)
    elif args.revision == "base" or args.revision.startswith("-"):
        downgrade(revision=args.revision)
    else:
        upgrade(revision=args.revision)
    return 0


def _token(args: argparse.Namespace) -> int:
    from app.core.security import create_token

    settings = get_settings()
    if not settings.jwt_secret:
        print("infodesk token needs INFODESK_JWT_SECRET (HS256)", file=sys.stderr)
        return 2
    token = create_token(
        settings,
        sub=args.sub,
        roles=args.role or ["officer"],
        office=args.office,
        unit=args.unit,
        name=args.name,
        channels=args.channel,
        ttl=timedelta(minutes=args.minutes),
    )
    print(token)
    return 0


def _reindex(_args: argparse.Namespace) -> int:
    from app.core.db import get_engine
    from app.search.index import rebuild

    with get_engine().begin() as connection:
        count = rebuild(connection)
    print(f"indexed {count} inquiries, templates and articles", file=sys.stderr)
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from app.main import create_app

    document = json.dumps(create_app().openapi(), indent=2, ensure_ascii=False) + "\n"
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != document:
            print(f"{args.output} is out of date: run `infodesk openapi`", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(document, encoding="utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    parser = argparse.ArgumentParser(prog="infodesk", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, load default offices, serve the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=_serve)

    worker = commands.add_parser(
        "worker", help="deliver the outbox (SMTP, webhooks) and poll office mailboxes"
    )
    worker.add_argument("--no-imap", action="store_true", help="do not poll IMAP mailboxes")
    worker.add_argument(
        "--office", action="append", help="deliver only this office's rows (repeatable)"
    )
    worker.set_defaults(handler=_worker)

    migrate = commands.add_parser("migrate", help="migrate the database (default: to head)")
    migrate.add_argument("revision", nargs="?", default="head", help="head, a revision, or base")
    migrate.set_defaults(handler=_migrate)

    token = commands.add_parser("token", help="print a development JWT (HS256 secret only)")
    token.add_argument("--sub", required=True, help="subject (user id)")
    token.add_argument(
        "--role", action="append", choices=[r.value for r in Role], help="repeatable"
    )
    token.add_argument("--office", help="office code, e.g. KANWIL-ACEH")
    token.add_argument("--unit", help="unit code, for the unit role")
    token.add_argument("--name", help="display name")
    token.add_argument(
        "--channel",
        action="append",
        choices=[c.value for c in Channel],
        help="the channels claim: an integration posts only for these (repeatable)",
    )
    token.add_argument("--minutes", type=int, default=480, help="lifetime (default 480)")
    token.set_defaults(handler=_token)

    retention = commands.add_parser(
        "retention", help="anonymise requester data past its retention period now"
    )
    retention.add_argument("--dry-run", action="store_true", help="only count")
    retention.set_defaults(handler=_retention)

    imap_poll = commands.add_parser("imap-poll", help="read new mail of the office mailboxes once")
    imap_poll.set_defaults(handler=_imap_poll)

    reindex = commands.add_parser(
        "reindex", help="rebuild the search index of inquiries, templates and articles"
    )
    reindex.set_defaults(handler=_reindex)

    openapi = commands.add_parser("openapi", help="export the OpenAPI document")
    openapi.add_argument("--output", type=Path, default=DEFAULT_OPENAPI_PATH)
    openapi.add_argument("--check", action="store_true", help="fail if the file is out of date")
    openapi.set_defaults(handler=_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line."""
    # Every table, and the SQLite functions that the search index's triggers call: the
    # worker and the IMAP poller write inquiries without importing app.search.
    import app.models  # noqa: F401

    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    raise SystemExit(main())
