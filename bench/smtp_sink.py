"""A local SMTP server for the delivery benchmark, in a process of its own: accepts every
message and, when stopped (SIGTERM or SIGINT), prints how many it received and how many
distinct Message-IDs they carried.

Run: PYTHONPATH=. .venv/bin/python bench/smtp_sink.py PORT
"""

from __future__ import annotations

import re
import signal
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class _Counting:
    def __init__(self) -> None:
        self.received = 0
        self.message_ids: set[bytes] = set()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.received += 1
        found = _MESSAGE_ID.search(content)
        if found:
            self.message_ids.add(found.group(1))
        return "250 2.0.0 OK"


def main(port: int) -> None:
    handler = _Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    controller.start()
    print("ready", flush=True)
    stopped.wait()
    controller.stop()
    print(f"{handler.received} {len(handler.message_ids)}", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
