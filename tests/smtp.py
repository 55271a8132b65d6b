"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1, a free port), keeping what
it receives in memory: the app under test sends to it through its real mailer (no
mock), and a test reads what arrived.

    def test_it(smtp_server, ...):
        ... the app sends ...
        message = smtp_server.wait_for(1)[0]
        assert message["To"] == "ann@example.com"

The session's app is configured with its host and port (tests/conftest.py's ``app``).
Each test starts with an empty inbox (``smtp_server`` empties it).
"""

from __future__ import annotations

import email.message
import threading
import time
from dataclasses import dataclass, field

import pytest

from salesapp.mail import SmtpServer, read_message


@dataclass
class Received:
    """One message as the server got it: the envelope and the parsed message."""

    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    def __getitem__(self, header):
        return self.message[header]

    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part else ""


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message received, in order."""

    messages: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope):
        received = Received(
            envelope.mail_from,
            list(envelope.rcpt_tos),
            read_message(envelope.original_content or envelope.content),
        )
        with self.lock:
            self.messages.append(received)
        return "250 Message accepted for delivery"


class TestSmtpServer:
    """The server and its inbox."""

    __test__ = False  # not a test class, for pytest

    def __init__(self):
        self.inbox = Inbox()
        self.server = SmtpServer(self.inbox).start()
        self.host, self.port = self.server.host, self.server.port

    @property
    def messages(self) -> list[Received]:
        with self.inbox.lock:
            return list(self.inbox.messages)

    def clear(self) -> None:
        with self.inbox.lock:
            self.inbox.messages.clear()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The messages once ``count`` have arrived (the app sends after its commit,
        before it answers; the server's thread may take a moment to hand them over)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        messages = self.messages
        assert len(messages) >= count, f"{len(messages)} message(s) arrived, {count} expected"
        return messages

    def mail_settings(self, **kw):
        """The app's mail settings that send here."""
        return self.server.settings(default_sender="receipts@shop.example.test", **kw)

    def stop(self) -> None:
        self.server.stop()


@pytest.fixture(scope="session")
def smtp_session_server():
    """The session's SMTP server (the session's app sends to it)."""
    server = TestSmtpServer()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(smtp_session_server):
    """The session's SMTP server with an empty inbox."""
    smtp_session_server.clear()
    yield smtp_session_server
    smtp_session_server.clear()
