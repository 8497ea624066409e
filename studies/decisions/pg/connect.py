"""Connecting to the decisions server: a ``postgresql://`` URL, TLS rules, no password in sight.

The URL names host, port, database and user; the password comes from ``PGPASSFILE`` (or
``~/.pgpass``), a service in ``PGSERVICEFILE``, or a prompt on a terminal, never from the
command line (a URL holding one is refused: it would land in shell histories and process
lists). TLS: a host that is not this machine gets ``sslmode=verify-full`` (encrypted, the
server's certificate checked against ``sslrootcert`` and its name) unless the URL asks for it
already; weaker modes for such a host need ``insecure_tls=True`` (``--insecure-tls``), meant
for a test server. A Unix socket or localhost needs no TLS.
"""

from __future__ import annotations

import getpass
import sys
from dataclasses import dataclass
from typing import Any

from studies.errors import OptionError, StudyError

#: sslmode values that check the server's certificate and name.
STRICT_SSLMODE = "verify-full"
_LOCAL_HOSTS = {"", "localhost", "127.0.0.1", "::1"}


class ServerError(StudyError):
    """The decisions server cannot be reached, refused a statement, or holds something wrong."""


def is_store_url(text: str | None) -> bool:
    """Whether ``text`` names a PostgreSQL store (``postgresql://`` or ``postgres://``)."""
    return bool(text) and str(text).startswith(("postgresql://", "postgres://"))


def _is_local(host: str) -> bool:
    return all(h.startswith("/") or h in _LOCAL_HOSTS for h in host.split(","))


@dataclass(frozen=True)
class ServerAddress:
    """A checked store URL: libpq connection parameters without any password.

    ``params``: keyword parameters for :func:`psycopg.connect` (host, port, dbname, user,
    sslmode...); ``shown``: the URL as safe to print (it never held a password).
    """

    params: dict[str, str]
    shown: str

    @property
    def user(self) -> str:
        return self.params.get("user", "") or getpass.getuser()


def parse_store_url(url: str, *, insecure_tls: bool = False) -> ServerAddress:
    """Check ``url`` and return its connection parameters (see the module docstring).

    Raises :class:`OptionError` for a URL that is not ``postgresql://``, holds a password, or
    asks for weak TLS to a remote host without ``insecure_tls``.
    """
    from psycopg.conninfo import conninfo_to_dict

    if not is_store_url(url):
        raise OptionError("store", "a postgresql://[user@]host[:port]/database URL", url)
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(url).items()}
    except Exception as exc:  # psycopg.ProgrammingError: not a valid conninfo
        raise OptionError("store", "a valid postgresql:// URL", _without_password(url)) from exc
    if "password" in params:
        raise OptionError(
            "store", "a URL without a password (put the password in a PGPASSFILE, mode 0600, "
            "one line host:port:database:user:password, and set PGPASSFILE to its path)",
            _without_password(url))
    if not params.get("dbname") and not params.get("service"):
        raise OptionError("store", "a URL naming the database (postgresql://host/DATABASE) or a "
                          "service of PGSERVICEFILE (postgresql:///?service=NAME)", url)
    host = params.get("host", "")
    # a service whose host the URL does not name is treated as remote (TLS checked); over a
    # Unix socket libpq uses no TLS whatever sslmode says, so that costs local services nothing
    if not _is_local(host) or ("service" in params and "host" not in params):
        mode = params.get("sslmode")
        if mode is None:
            params["sslmode"] = "require" if insecure_tls else STRICT_SSLMODE
        elif mode != STRICT_SSLMODE and not insecure_tls:
            raise OptionError(
                "store", f"sslmode={STRICT_SSLMODE} for the non-local host {host!r} (or pass "
                "--insecure-tls for a test server whose certificate cannot be checked)",
                f"sslmode={mode}")
    return ServerAddress(params, url)


def _without_password(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages)."""
    import re

    url = re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", url)


def connect(address: ServerAddress, *, autocommit: bool = True, prompt: bool | None = None,
            connect_timeout: int = 10, **extra: Any):
    """Open a :class:`psycopg.Connection` to ``address``.

    A password the server asks for comes from libpq's own sources (PGPASSFILE, PGSERVICEFILE);
    failing those, from a prompt when ``prompt`` (default: stdin is a terminal). Raises
    :class:`ServerError` saying what failed, never showing a password.
    """
    import psycopg

    params = {**address.params, "connect_timeout": str(connect_timeout), **extra}
    try:
        return psycopg.connect(autocommit=autocommit, **params)
    except psycopg.OperationalError as exc:
        text = str(exc)
        asked = "password" in text and ("no password supplied" in text or "authentication failed" in text)
        if asked and (sys.stdin.isatty() if prompt is None else prompt) and "password" not in extra:
            secret = getpass.getpass(f"Password for {address.user} on the decisions server: ")
            return connect(address, autocommit=autocommit, prompt=False,
                           connect_timeout=connect_timeout, password=secret)
        raise ServerError(f"cannot connect to the decisions server {address.shown}: "
                          f"{text.strip().splitlines()[0] if text.strip() else type(exc).__name__}"
                          + (". Put the password in a PGPASSFILE (see docs/multi-site.md)" if asked else "")
                          ) from None


def close_quietly(conn) -> None:
    """Close ``conn`` (a psycopg connection or None), ignoring the errors of a broken one."""
    if conn is None:
        return
    try:
        conn.close()
    except Exception:  # noqa: BLE001 - closing a broken connection
        pass
