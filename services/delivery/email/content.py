"""What an email says: a subject that says what happens when, a plain-text body and an
HTML body (every value escaped), and a link to the credential."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

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
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = _one_line(content.subject)
    message["From"] = sender
    message["To"] = formataddr((_one_line(recipient_name), recipient_address))
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message
