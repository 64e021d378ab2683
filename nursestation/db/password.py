"""Where a PostgreSQL database's password comes from: the OS keyring first, then libpq's own.

A configuration file never holds it (``config`` refuses a ``database_url`` with one). In order:

1. the **OS keyring** of the account the station runs as (Windows Credential Manager, macOS
   Keychain, the Secret Service on Linux), under service ``nursestation`` and account
   ``user@host:port/database`` - stored by ``nursestation db set-password``;
2. what libpq reads by itself when no password is given: ``PGPASSWORD`` in the environment,
   ``~/.pgpass`` (``%APPDATA%\\postgresql\\pgpass.conf``), a ``pg_service.conf`` entry - or no
   password at all (a client certificate, peer authentication).

A computer without a usable keyring (a Linux service account with no Secret Service) says so
once in the log and goes on with (2). The keyring is asked once per database and process (the
answer is kept), so a locked or slow keyring never holds up the writer's reconnects.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from sqlalchemy.engine import URL, make_url

log = logging.getLogger(__name__)

KEYRING_SERVICE = "nursestation"


class KeyringUnavailable(RuntimeError):
    """There is no OS keyring to store the password in; the message says what to use."""


@dataclass(frozen=True)
class PasswordLookup:
    password: str | None
    #: where it came from or why there is none, for the log and the IT person
    source: str


_cache: dict[str, PasswordLookup] = {}
_lock = threading.Lock()


def _pg_url(url: str | URL) -> URL | None:
    u = make_url(url) if isinstance(url, str) else url
    return u if u.get_backend_name() == "postgresql" else None


def _first(v: object) -> str:
    if isinstance(v, tuple):
        v = v[0] if v else ""
    return str(v) if v else ""


def keyring_account(url: str | URL) -> str | None:
    """``user@host:port/database`` for a PostgreSQL URL (None for SQLite): the account the
    password is kept under, so two databases or roles never share one."""
    u = _pg_url(url)
    if u is None:
        return None
    user = u.username or _first(u.query.get("user")) or os.environ.get("PGUSER", "")
    host = u.host or _first(u.query.get("host")) or os.environ.get("PGHOST", "") or "localhost"
    port = u.port or _first(u.query.get("port")) or os.environ.get("PGPORT", "") or 5432
    return f"{user}@{host}:{port}/{u.database or ''}"


def _keyring():
    """The OS keyring backend, or raise KeyringUnavailable saying why."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    except Exception as exc:
        raise KeyringUnavailable(f"the OS keyring cannot be used ({exc})") from exc
    if isinstance(backend, fail.Keyring | null.Keyring):
        raise KeyringUnavailable(
            "this computer has no OS keyring the station can use (on Linux: a Secret Service "
            "such as GNOME Keyring or KWallet, unlocked for the station's account)")
    return backend


def _libpq_source() -> str:
    if os.environ.get("PGPASSWORD"):
        return "PGPASSWORD in the environment"
    if os.environ.get("PGPASSFILE") or os.environ.get("PGSERVICE"):
        return "libpq's PGPASSFILE / PGSERVICE"
    return "libpq's own (~/.pgpass, pg_service.conf), if any"


def lookup_password(url: str | URL) -> PasswordLookup:
    """The password for ``url`` from the OS keyring, else None with where libpq will look
    (see the module docstring). A password in the URL itself wins (tests, tools)."""
    u = _pg_url(url)
    if u is None:
        return PasswordLookup(None, "a SQLite file has no password")
    if u.password:
        return PasswordLookup(str(u.password), "the database URL")
    account = keyring_account(u)
    assert account is not None
    with _lock:
        cached = _cache.get(account)
        if cached is not None:
            return cached
        try:
            password = _keyring().get_password(KEYRING_SERVICE, account)
        except KeyringUnavailable as exc:
            found = PasswordLookup(None, f"{_libpq_source()} ({exc})")
            log.info("database password for %s: %s", account, found.source)
        except Exception as exc:  # noqa: BLE001 - a locked keyring: libpq's sources instead
            found = PasswordLookup(None, f"{_libpq_source()} (the OS keyring did not answer: "
                                         f"{exc.__class__.__name__}: {exc})")
            log.warning("database password for %s: %s", account, found.source)
        else:
            if password:
                found = PasswordLookup(password, "the OS keyring")
            else:
                found = PasswordLookup(None, f"{_libpq_source()} (none stored in the OS "
                                             f"keyring; `nursestation db set-password` does)")
            log.info("database password for %s: %s", account, found.source)
        _cache[account] = found
        return found


def with_password(url: str) -> URL:
    """``url`` as a URL object carrying the keyring's password when there is one (a URL object
    never shows its password when printed or logged)."""
    u = make_url(url)
    if _pg_url(u) is None or u.password:
        return u
    found = lookup_password(u)
    return u.set(password=found.password) if found.password else u


def store_password(url: str, password: str) -> str:
    """Keep ``password`` for ``url`` in the OS keyring; returns the keyring's account name.
    Raises KeyringUnavailable (with what to use instead) when there is none."""
    account = keyring_account(url)
    if account is None:
        raise KeyringUnavailable("the database is a SQLite file: it has no password")
    backend = _keyring()
    backend.set_password(KEYRING_SERVICE, account, password)
    with _lock:
        _cache[account] = PasswordLookup(password, "the OS keyring")
    return account


def clear_password(url: str) -> tuple[str, bool]:
    """Remove ``url``'s password from the OS keyring: (account, whether there was one)."""
    account = keyring_account(url)
    if account is None:
        raise KeyringUnavailable("the database is a SQLite file: it has no password")
    backend = _keyring()
    import keyring.errors

    had = backend.get_password(KEYRING_SERVICE, account) is not None
    if had:
        try:
            backend.delete_password(KEYRING_SERVICE, account)
        except keyring.errors.PasswordDeleteError:
            had = False
    with _lock:
        _cache.pop(account, None)
    return account, had


def forget_cached() -> None:
    """Ask the keyring again next time (tests; a tool after set-password)."""
    with _lock:
        _cache.clear()


def explain_login_failure(url: str, reason: str) -> str:
    """The driver's ``reason`` for a failed connection, with where the password was looked for
    when the server refused the login."""
    u = _pg_url(url)
    if u is None or not ("password" in reason or "authentication" in reason):
        return reason
    found = lookup_password(u)
    where = (f"password from {found.source}, account {keyring_account(u)}" if found.password
             else f"password: {found.source}")
    return f"{reason} ({where})"
