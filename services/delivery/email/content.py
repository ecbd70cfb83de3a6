"""What an email says: a subject that says what happens when, a plain-text body and an
HTML body (every value escaped), and a link to the credential."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from email import policy
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from typing import Any, cast

from models.notification import NotificationKind
from services.text import has_control_characters


@dataclass(frozen=True)
class Content:
    subject: str
    text: str
    html: str

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Content | None:
        """Content rendered by whoever queued the delivery (digests); None if malformed."""
        parts = [payload.get(key) for key in ("subject", "text", "html")]
        if not all(isinstance(part, str) for part in parts):
            return None
        subject, text, body = (str(part) for part in parts)
        return cls(subject=subject, text=text, html=body)


def day_text(day: date) -> str:
    """14 Dec 2026: unambiguous wherever the reader lives."""
    return f"{day.day} {day:%b %Y}"


def _when(lead_days: int) -> str:
    if lead_days == 0:
        return "today"
    if lead_days == 1:
        return "tomorrow"
    return f"in {lead_days} days"


def _day(data: dict[str, Any]) -> date | None:
    value = data.get("expiryDate")
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def notification_content(
    kind: NotificationKind,
    type_name: str,
    data: dict[str, Any],
    recipient_name: str,
    link: str | None,
) -> Content:
    """One notification as an email."""
    expiry = _day(data)
    on_day = day_text(expiry) if expiry is not None else "its expiry date"
    if kind is NotificationKind.APPROVED:
        subject = f"Your {type_name} was approved"
        lines = [f"Your {type_name} was approved."]
    elif kind is NotificationKind.RESUBMISSION_REQUESTED:
        reason = str(data.get("reason") or "no reason was given")
        subject = f"Your {type_name} needs to be resubmitted"
        lines = [f"Your {type_name} needs to be resubmitted.", f"Reason: {reason}"]
    elif kind is NotificationKind.EXPIRED:
        subject = f"Your {type_name} expired on {on_day}"
        lines = [f"Your {type_name} expired on {on_day}.", "Please renew it."]
    else:
        lead = data.get("leadDays")
        when = _when(lead) if isinstance(lead, int) else "soon"
        subject = f"Your {type_name} expires {when} ({on_day})"
        lines = [f"Your {type_name} expires {when}, on {on_day}.", "Please renew it in time."]
    return _compose(subject, f"Hello {recipient_name},", lines, link)


def _compose(subject: str, greeting: str, lines: list[str], link: str | None) -> Content:
    text = [greeting, "", *lines]
    body = [f"<p>{html.escape(greeting)}</p>", *(f"<p>{html.escape(line)}</p>" for line in lines)]
    if link is not None:
        text += ["", f"Open it: {link}"]
        body.append(f'<p><a href="{html.escape(link, quote=True)}">Open it</a></p>')
    page = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
    return Content(subject=subject, text="\n".join(text) + "\n", html=page)


def _one_line(value: str) -> str:
    """Header values on one line: a line break would end the header (or start another)."""
    line = " ".join(value.split())
    return "".join(ch for ch in line if not has_control_characters(ch))


def build_message(
    content: Content,
    *,
    sender: str,
    recipient_name: str,
    recipient_address: str,
    message_id: str,
    sent_at: datetime,
) -> bytes:
    """The message as it goes on the wire: text and HTML alternatives, headers encoded
    where they are not ASCII. Built with the email package's compat32 classes: its
    EmailMessage parses every header it is given, a millisecond a message, more than
    sending it to a local relay; and it folds a subject holding a colon before its first
    word, which then reads as beginning with a space."""
    message = MIMEMultipart("alternative")
    # A Header encodes what is not ASCII (typeshed types header values as str only).
    message["Subject"] = cast("str", Header(_one_line(content.subject), "utf-8"))
    message["From"] = sender
    message["To"] = formataddr((_one_line(recipient_name), recipient_address))
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    for body, subtype in ((content.text, "plain"), (content.html, "html")):
        message.attach(MIMEText(body if body.endswith("\n") else body + "\n", subtype, "utf-8"))
    return message.as_bytes(policy=_WIRE)


_WIRE = policy.compat32.clone(linesep="\r\n")
