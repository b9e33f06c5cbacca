"""Real servers on loopback for the notifier tests: an HTTP webhook sink and an SMTP server, switchable between modes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message as MailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sophie.notifiers.base import DeliveryError, Message, Notifier

CERTS = Path(__file__).parent / "certs"
T0 = datetime(2026, 3, 5, 16, 45, tzinfo=UTC)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookSink:
    """A local HTTP server. ``mode``: accept (200), fail (500), busy (429 + Retry-After), reject (400),
    hang (answers after ``hang_seconds``), redirect (307)."""

    url: str = ""
    mode: str = "accept"
    hang_seconds: float = 3.0
    received: list[Received] = field(default_factory=list)
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.received]


def webhook_handler(sink: WebhookSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with sink.lock:
                sink.attempts += 1
                mode = sink.mode
            if mode == "hang":
                time.sleep(sink.hang_seconds)
            status = {"accept": 200, "fail": 500, "busy": 429, "reject": 400, "hang": 200, "redirect": 307}[mode]
            if status == 200 and mode == "accept":
                with sink.lock:
                    sink.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "120")
            if status == 307:
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.send_header("Content-Length", "2")
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(b"ok")

    return Handler


@dataclass
class MailSink:
    """A local SMTP server (aiosmtpd). ``mode``: accept, busy (451: try later), reject (550)."""

    host: str = "127.0.0.1"
    port: int = 0
    mode: str = "accept"
    messages: list[MailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refused: int = 0  # recipients turned away with 451 while busy

    def message_ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


class _MailHandler:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.sink.mode == "busy":
            self.sink.refused += 1
            return "451 4.3.0 try again later"
        if self.sink.mode == "reject":
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sink.messages.append(message_from_bytes(envelope.content))
        self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_smtp(sink: MailSink, **options: Any) -> Any:
    from aiosmtpd.controller import Controller

    sink.port = free_port()
    controller = Controller(_MailHandler(sink), hostname="127.0.0.1", port=sink.port, ready_timeout=10, **options)
    controller.start()
    return controller


def start_webhook(sink: WebhookSink) -> tuple[ThreadingHTTPServer, threading.Thread]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), webhook_handler(sink))
    server.daemon_threads = True
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/sophie"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


class Recorder(Notifier):
    name = "recorder"

    def __init__(self, failures: list[DeliveryError | Exception] | None = None) -> None:
        self.failures = list(failures or [])
        self.sent: list[str] = []

    def send(self, message: Message, *, now: datetime) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message.key)
