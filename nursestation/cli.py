"""The `nursestation` command: the station window and the tools a clinic's IT person uses."""

from __future__ import annotations

import argparse
import sys

from nursestation import __version__
from nursestation.devices.registry import GATEWAY_NAMES, PROTOCOL_NAMES

DESCRIPTION = """\
NurseStation - the nursing-station screen and record for ketamine infusion clinics.

Run without a command to open the station window. The configuration file (TOML) names the
database, the chairs and their devices, and the treatment protocol file; see README.md.
"""

EPILOG = """\
environment:
  NURSESTATION_CONFIG    configuration file (same as --config)
  NURSESTATION_DATA_DIR  data directory: default database, logs, backups

examples:
  nursestation --demo                        try it with simulated chairs
  nursestation overview                      the charge nurse's overview of every chair
  nursestation user add --role charge jdoe   create a user (asks for the PIN)
  nursestation user unlock jdoe              after too many wrong PINs
  nursestation db backup                     back the record up now
  nursestation db set-password               PostgreSQL password into the OS keyring
  nursestation decode --protocol masimo capture.bin
  nursestation hl7 send 42 --to mllp://ehr.example.org:2575
  nursestation audit verify                  check the audit log has not been altered
"""

DECODE_PROTOCOLS = (*PROTOCOL_NAMES, *GATEWAY_NAMES)

#: Options of the windows (the station and the overview): (flags, argparse keywords).
_WINDOW_OPTIONS: tuple[tuple[tuple[str, ...], dict], ...] = (
    (("--config",), {"metavar": "PATH", "help": "configuration file (TOML)"}),
    (("--demo",), {"action": "store_true",
                   "help": "run on simulated chairs (simulators on pseudo-terminals, a demo "
                           "database)"}),
    (("--chairs",), {"type": int, "default": None, "metavar": "N",
                     "help": "with --demo: number of chairs (1-64, default 6)"}),
    (("--demo-devices",), {"choices": ("auto", "pty", "tcp"), "default": "auto",
                           "help": "with --demo: simulated devices on pseudo-terminals or on "
                                   "loopback TCP (socket://127.0.0.1:PORT; auto: TCP where "
                                   "there are no pseudo-terminals, e.g. Windows)"}),
    (("--chair",), {"metavar": "NAME", "help": "open this chair's detail view at start"}),
    (("--demo-desaturate",), {"metavar": "CHAIR", "default": None,
                              "help": "with --demo: this chair's patient desaturates about 20 s "
                                      "after start (a high-priority alarm to look at)"}),
    (("--screenshot",), {"metavar": "FILE", "help": "save a PNG of the window and exit"}),
    (("--quit-after",), {"type": float, "metavar": "SECONDS",
                         "help": "quit after this many seconds (with --screenshot: take it "
                                 "then)"}),
    (("-v", "--verbose"), {"action": "store_true", "help": "log debug messages"}),
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nursestation",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"nursestation {__version__}")
    for flags, kw in _WINDOW_OPTIONS:
        p.add_argument(*flags, **kw)

    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    ov = sub.add_parser("overview", help="the charge nurse's overview of every chair")
    # the window options also work after the command: `nursestation overview --demo`
    for flags, kw in _WINDOW_OPTIONS:
        ov.add_argument(*flags, **{**kw, "default": argparse.SUPPRESS})

    dec = sub.add_parser("decode", help="decode a raw device capture to JSON lines")
    dec.add_argument("--protocol", required=True, choices=DECODE_PROTOCOLS)
    dec.add_argument("file", help="capture file, or - for standard input (hl7: MLLP or plain "
                                  "HL7 text)")

    sim = sub.add_parser("simulate", help="run one device simulator on a port")
    sim.add_argument("--protocol", required=True, choices=PROTOCOL_NAMES)
    sim.add_argument("--port", required=True,
                     help="'pty' (make a pseudo-terminal and print its path) or tcp://127.0.0.1:PORT")
    sim.add_argument("--scenario", default="ketamine-visit", help="physiology scenario name")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--speed", type=float, default=1.0, help="scenario time multiplier")

    rep = sub.add_parser("report", help="write a visit's printed summary as PDF")
    rep.add_argument("visit", type=int, help="visit id (see `nursestation visits`)")
    rep.add_argument("--out", required=True, metavar="FILE.pdf")

    h7 = sub.add_parser("hl7", help="HL7 v2 feed to the EHR: send a visit, show the queue")
    h7sub = h7.add_subparsers(dest="hl7_command", metavar="ACTION", required=True)
    h7send = h7sub.add_parser("send", help="send a visit's vitals (ORU^R01) and signed summary "
                                           "(MDM^T02) now, waiting for each ACK")
    h7send.add_argument("visit", type=int, help="visit id (see `nursestation visits`)")
    h7send.add_argument("--to", metavar="mllp://HOST:PORT",
                        help="the receiver (default: send_to in the [hl7] table)")
    h7send.add_argument("--no-summary", action="store_true", help="send the vitals only")
    h7status = h7sub.add_parser("status", help="the outbound queue: sent, waiting, failing")
    h7status.add_argument("--json", action="store_true", help="JSON lines for scripts")

    vis = sub.add_parser("visits", help="list visits")
    vis.add_argument("--json", action="store_true", help="JSON for scripts")
    # `nursestation visits --demo` / `report 12 --demo ...`: the demo's own database
    for cmd in (rep, vis):
        for flags in (("--demo",), ("--config",)):
            cmd.add_argument(*flags, **{**dict(_WINDOW_OPTIONS)[flags],
                                        "default": argparse.SUPPRESS})

    db = sub.add_parser("db", help="database maintenance")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dbsub.add_parser("upgrade", help="apply database migrations (backs up the database first)")
    dbsub.add_parser("roles", help="print the PostgreSQL roles and grants (station writer, "
                                   "read-only overview) as SQL for psql")
    dbb = dbsub.add_parser("backup", help="back the database up now (SQLite online backup; "
                                          "pg_dump for PostgreSQL)")
    dbb.add_argument("--out", metavar="DIR", help="directory (default: the configured "
                                                  "backup_dir, else <data dir>/backups)")
    dbr = dbsub.add_parser("restore", help="replace the database with a backup (no station may "
                                           "be running on it)")
    dbr.add_argument("file", help="a file made by `nursestation db backup`")
    dbr.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    dbp = dbsub.add_parser("set-password", help="keep the PostgreSQL password in this "
                                                "account's OS keyring (asked for), then try it")
    dbp.add_argument("--stdin", action="store_true", help="read the password from stdin")
    dbsub.add_parser("clear-password", help="remove the PostgreSQL password from the OS keyring")

    audit = sub.add_parser("audit", help="audit log")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    asub.add_parser("verify", help="check the audit log's hash chain; names the first broken row")

    user = sub.add_parser("user", help="user accounts")
    usub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    uadd = usub.add_parser("add", help="create a user (the PIN is asked for, or read from stdin)")
    uadd.add_argument("username")
    uadd.add_argument("--name", dest="display_name", help="display name (default: username)")
    uadd.add_argument("--role", choices=("nurse", "charge", "admin"), default="nurse")
    uadd.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    usub.add_parser("list", help="every account: role, active, wrong PINs, locked")
    for action, text in (("disable", "disable an account (it is kept: its entries name it)"),
                         ("enable", "enable a disabled account again"),
                         ("unlock", "clear an account's wrong-PIN count and lockout"),
                         ("reset-pin", "give an account a new PIN (asked for, or from stdin)")):
        up = usub.add_parser(action, help=text)
        up.add_argument("username")
        if action == "reset-pin":
            up.add_argument("--pin-stdin", action="store_true", help="read the PIN from stdin")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from nursestation.config import ConfigError
    from nursestation.core.protocol import ProtocolError
    from nursestation.logsetup import setup_logging

    setup_logging(verbose=args.verbose)
    try:
        return _dispatch(args)
    except (ConfigError, ProtocolError) as exc:
        print(f"nursestation: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # the record's errors: their modules (SQLAlchemy, the ORM) are imported only by what
        # opens the record (the station opens it after its first frame), so only then can
        # one of them have been raised
        if not _record_error(exc):
            raise
        from sqlalchemy.exc import OperationalError

        if not isinstance(exc, OperationalError):
            print(f"nursestation: {exc}", file=sys.stderr)
            return 2
        # the database server is down, unreachable, or refuses the login: say which and why
        from nursestation.db.engine import db_error_reason, shown_url

        url = getattr(args, "_database_url", "") or ""
        target = shown_url(url) if url else "the database"
        reason = db_error_reason(exc)
        if url:
            from nursestation.db.password import explain_login_failure

            reason = explain_login_failure(url, reason)
        print(f"nursestation: cannot open {target}: {reason}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def _record_error(exc: BaseException) -> bool:
    """Is ``exc`` one the command reports in a line (a refused schema or demo database, a
    claimed chair, an unreachable server), rather than a bug?"""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import OperationalError

    from nursestation.db.engine import SchemaMismatch
    from nursestation.db.meta import NotADemoDatabase
    from nursestation.db.repo import ChairClaimed

    return isinstance(exc, (NotADemoDatabase, SchemaMismatch, ChairClaimed, OperationalError))


def _dispatch(args: argparse.Namespace) -> int:
    # Tools that need no configuration.
    if args.command == "decode" and args.protocol == "hl7":
        from nursestation.hl7.tools import decode_main as hl7_decode_main

        return hl7_decode_main(args.file)
    if args.command == "decode":
        from nursestation.devices.tools import decode_main

        return decode_main(args.protocol, args.file)
    if args.command == "simulate":
        from nursestation.devices.tools import simulate_main

        return simulate_main(args.protocol, args.port, args.scenario, args.seed, args.speed)

    from nursestation.config import load_config

    config = load_config(args.config, demo=args.demo, chairs=args.chairs,
                         demo_devices=getattr(args, "demo_devices", "auto"))
    args._database_url = config.database_url

    if args.command == "visits":
        from nursestation.db.tools import cmd_visits

        return cmd_visits(config, as_json=args.json)
    if args.command == "db":
        from nursestation.db import tools

        if args.db_command == "roles":
            return tools.cmd_db_roles(config)
        if args.db_command == "backup":
            return tools.cmd_db_backup(config, args.out)
        if args.db_command == "restore":
            return tools.cmd_db_restore(config, args.file, args.yes)
        if args.db_command == "set-password":
            return tools.cmd_db_set_password(config, args.stdin)
        if args.db_command == "clear-password":
            return tools.cmd_db_clear_password(config)
        return tools.cmd_db_upgrade(config)
    if args.command == "audit":
        from nursestation.db.tools import cmd_audit_verify

        return cmd_audit_verify(config)
    if args.command == "user":
        from nursestation.db import tools

        if args.user_command == "add":
            return tools.cmd_user_add(config, args.username, args.display_name, args.role,
                                      args.pin_stdin)
        if args.user_command == "list":
            return tools.cmd_user_list(config)
        return tools.cmd_user_admin(config, args.user_command, args.username,
                                    getattr(args, "pin_stdin", False))
    if args.command == "hl7":
        from nursestation.hl7.outbound import cmd_send, cmd_status

        if args.hl7_command == "send":
            return cmd_send(config, args.visit, args.to, summary=not args.no_summary)
        return cmd_status(config, as_json=args.json)
    if args.command == "report":
        from nursestation.report import cmd_report

        return cmd_report(config, args.visit, args.out)

    # Refuse a bad protocol file before any window opens.
    from nursestation.core.protocol import load_protocol

    protocol = load_protocol(config.protocol_file)

    from nursestation.qtcheck import check_xcb

    fix = check_xcb()
    if fix is not None:  # Qt would abort with its own message; say what to install instead
        print(fix, file=sys.stderr)
        return 4

    from nursestation.ui.app import run_app

    return run_app(
        config,
        protocol,
        overview=args.command == "overview",
        screenshot=args.screenshot,
        quit_after=args.quit_after,
        open_chair=args.chair,
        desaturate=args.demo_desaturate,
    )
