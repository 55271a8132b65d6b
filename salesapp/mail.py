"""E-mail: the mailer every request sends with, and development's own SMTP server.

``request.mailer`` is pyramid_mailer's mailer bound to the request's transaction manager
(pyramid_tm): ``request.mailer.send(message)`` hands the message over only after the
request's transaction commits, and drops it if the transaction aborts. So an e-mail
never announces what the database did not keep.

Where the mail goes is the ``mail.*`` settings (salesapp.settings.MailSettings):

* with ``mail.host`` set, that SMTP server (production: SALESAPP_MAIL_HOST and friends);
* without one, outside production, an SMTP server of the app's own (aiosmtpd, on
  127.0.0.1, in a daemon thread started once per process) that keeps each message as a
  ``.eml`` file under ``var/mail/``; with ``salesapp.dev_mail = true`` the page
  ``/dev/mail`` lists and shows them (404 otherwise);
* without one in production, nothing: a send raises :class:`MailUnavailable`, whose
  message says which setting to give.

Tests start a real SMTP server of their own (tests/smtp.py) and give the app its port;
nothing is mocked.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import smtplib
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from pyramid.httpexceptions import HTTPNotFound
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid_mailer import get_mailer
from pyramid_mailer.interfaces import IMailer
from pyramid_mailer.mailer import Mailer
from pyramid_mailer.message import Message
from repoze.sendmail.mailer import SMTPMailer

from .ids import uuid7
from .settings import MailSettings, Settings

log = logging.getLogger(__name__)

#: an address a person typed: one @, no spaces or angle brackets, a dot in the domain;
#: what SMTP servers would refuse later is refused here, with a message
_ADDRESS_RE = re.compile(
    r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
MAX_ADDRESS = 254


class MailUnavailable(RuntimeError):
    """No SMTP server is configured (production without ``mail.host``)."""


def check_address(text: str) -> str | None:
    """The e-mail address ``text`` (trimmed), or None when it is not one: for a form to
    say so before anything is sent."""
    address = (text or "").strip()
    if not address or len(address) > MAX_ADDRESS or not _ADDRESS_RE.fullmatch(address):
        return None
    return address


def compose(subject: str, to: str, text: str, html: str | None = None, sender=None) -> Message:
    """A message with a plain-text body (and an HTML one when given), from ``sender``
    or the mailer's ``mail.default_sender``."""
    return Message(subject=subject, recipients=[to], body=text, html=html, sender=sender)


# -- SMTP servers run in this process (development's, and the tests') ---------------------


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (aiosmtpd's controller cannot take port 0)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 in a daemon thread; ``handler`` gets each message
    (its ``handle_DATA``)."""

    handler: object
    port: int = 0
    host: str = "127.0.0.1"

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        self.port = self.port or free_port(self.host)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def settings(self, **kw) -> MailSettings:
        """Mail settings that send here."""
        return MailSettings(host=self.host, port=self.port, **kw)


class MailFolder:
    """An aiosmtpd handler that keeps each message as ``<uuid7>.eml`` in a folder."""

    def __init__(self, folder: Path):
        self.folder = folder

    async def handle_DATA(self, server, session, envelope):
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{uuid7()}.eml"  # time-ordered: sorting the names sorts by arrival
        (self.folder / name).write_bytes(envelope.original_content or envelope.content)
        log.info("development mail to %s kept as %s", ", ".join(envelope.rcpt_tos), name)
        return "250 Message accepted for delivery"

    def messages(self) -> list[tuple[str, email.message.EmailMessage]]:
        """(file name, message), newest first."""
        if not self.folder.is_dir():
            return []
        files = sorted(self.folder.glob("*.eml"), reverse=True)
        return [(path.name, read_message(path.read_bytes())) for path in files]

    def message(self, name: str) -> email.message.EmailMessage | None:
        """The message kept as ``name``, or None (a name is never a path)."""
        if "/" in name or "\\" in name or not name.endswith(".eml"):
            return None
        path = self.folder / name
        return read_message(path.read_bytes()) if path.is_file() else None


def read_message(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


_dev_lock = threading.Lock()
_dev_servers: dict[Path, SmtpServer] = {}


def development_server(folder: Path, port: int = 0) -> SmtpServer:
    """Development's SMTP server keeping mail in ``folder``: started on the first call,
    the same one after (one per process, whatever the number of apps made)."""
    with _dev_lock:
        server = _dev_servers.get(folder)
        if server is None:
            server = _dev_servers[folder] = SmtpServer(MailFolder(folder), port=port).start()
            log.info(
                "development SMTP server on %s:%s keeps mail in %s",
                server.host,
                server.port,
                folder,
            )
        return server


# -- the app's mailer --------------------------------------------------------------------


class NoMailer:
    """Stands in for a mailer where none is configured: sending says what to set."""

    def bind(self, **kw):
        return self

    def send(self, message) -> None:
        raise MailUnavailable(
            "e-mail is not set up on this server: the operator sets mail.host "
            "(SALESAPP_MAIL_HOST) and mail.default_sender (SALESAPP_MAIL_SENDER)"
        )

    send_immediately = send


class _CrlfSMTP(smtplib.SMTP):
    """smtplib turns bare newlines into CRLF only in a ``str`` message, and
    repoze.sendmail hands it bytes with bare newlines: servers that refuse those
    (aiosmtpd; Postfix since its SMTP-smuggling fix) would refuse every message."""

    def sendmail(self, from_addr, to_addrs, msg, *args, **kw):
        if isinstance(msg, bytes):
            msg = re.sub(rb"\r?\n", b"\r\n", msg)
        return super().sendmail(from_addr, to_addrs, msg, *args, **kw)


class _CrlfSMTP_SSL(_CrlfSMTP, smtplib.SMTP_SSL):
    pass


class _SmtpMailer(SMTPMailer):
    smtp, smtp_ssl = _CrlfSMTP, _CrlfSMTP_SSL


def mailer_for(settings: Settings):
    """The mailer the settings ask for (see the module's docstring)."""
    mail = settings.mail
    if not mail.configured:
        if settings.production:
            return NoMailer()
        server = development_server(mail_folder(settings), mail.dev_port)
        mail = server.settings(default_sender=mail.default_sender)
    smtp = _SmtpMailer(
        hostname=mail.host,
        port=mail.port,
        username=mail.username,
        password=mail.password,
        no_tls=not mail.tls,
        force_tls=mail.tls,
        ssl=mail.ssl,
    )
    return Mailer(smtp_mailer=smtp, default_sender=mail.default_sender)


def mail_folder(settings: Settings) -> Path:
    return settings.var_dir / "mail"


def includeme(config):
    settings: Settings = config.registry.salesapp_settings
    config.registry.registerUtility(mailer_for(settings), IMailer)
    # pyramid_mailer's own: the mailer re-bound to request.tm, so a send joins pyramid_tm
    config.add_request_method(get_mailer, "mailer", reify=True)
    if settings.dev_mail:
        config.add_route("dev.mail", "/dev/mail")
        config.add_route("dev.mail.message", "/dev/mail/{name}")
        for route, view in (("dev.mail", dev_mail_list), ("dev.mail.message", dev_mail_message)):
            config.add_view(
                view,
                route_name=route,
                renderer=f"dev/{route.replace('.', '_')}.jinja2",
                permission=NO_PERMISSION_REQUIRED,
                request_method="GET",
            )


# -- development's mail pages (only with salesapp.dev_mail = true) ------------------------


def _folder(request) -> MailFolder:
    return MailFolder(mail_folder(request.registry.salesapp_settings))


def dev_mail_list(request):
    """What development's SMTP server kept, newest first."""
    return {"messages": _folder(request).messages()}


def dev_mail_message(request):
    """One kept message: its headers, its text, its HTML (shown as source, never run)."""
    message = _folder(request).message(request.matchdict["name"])
    if message is None:
        raise HTTPNotFound()
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    return {
        "name": request.matchdict["name"],
        "message": message,
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }
