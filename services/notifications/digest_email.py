"""A digest as an email: a subject that counts what needs attention, and plain-text and HTML
bodies listing it, each credential linked to its page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from html import escape

from models.notification import DigestFrequency
from services.notifications.digest import Digest, DigestLine, DigestSection


@dataclass(frozen=True)
class DigestEmail:
    subject: str
    text: str
    html: str

    def as_payload(self) -> dict[str, str]:
        return {"subject": self.subject, "text": self.text, "html": self.html}


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def render_digest(digest: Digest, link_of: Callable[[int], str]) -> DigestEmail:
    """`link_of` turns a credential id into the link to its page."""
    counts = [
        (digest.expiring.total, "expiring"),
        (digest.newly_expired.total, "newly expired"),
        (digest.pending.total, "waiting for approval"),
        (digest.not_compliant_total, "not compliant"),
    ]
    said = ", ".join(f"{n} {what}" for n, what in counts if n) or "nothing needs attention"
    kind = "Weekly" if digest.period is DigestFrequency.WEEKLY else "Daily"
    subject = f"{kind} credentials digest, {_day(digest.day)}: {said}"

    sections = [
        (f"Expiring within {digest.window_days} days", digest.expiring),
        (
            "Expired in the last 7 days"
            if digest.period is DigestFrequency.WEEKLY
            else "Expired since yesterday",
            digest.newly_expired,
        ),
        ("Waiting for approval", digest.pending),
    ]
    text = [f"Hello {digest.recipient_name},", "", f"{subject}.", ""]
    html = [
        f"<p>Hello {escape(digest.recipient_name)},</p>",
        f"<p>{escape(subject)}.</p>",
    ]
    for title, section in sections:
        if not section.total:
            continue
        text += [f"{title} ({section.total}):"]
        text += [f"- {_line_text(line)}  {link_of(line.credential_id)}" for line in section.lines]
        html += [f"<h3>{escape(title)} ({section.total})</h3>", "<ul>"]
        html += [
            f'<li><a href="{escape(link_of(line.credential_id), quote=True)}">'
            f"{escape(_line_text(line))}</a></li>"
            for line in section.lines
        ]
        html.append("</ul>")
        more = _more(section)
        if more:
            text.append(more)
            html.append(f"<p>{escape(more)}</p>")
        text.append("")
    if digest.not_compliant_total:
        title = f"Not meeting their job role's requirements ({digest.not_compliant_total})"
        text += [f"{title}:", *(f"- {p.person_name}: {p.role_name}" for p in digest.not_compliant)]
        html += [f"<h3>{escape(title)}</h3>", "<ul>"]
        html += [
            f"<li>{escape(p.person_name)}: {escape(p.role_name)}</li>" for p in digest.not_compliant
        ]
        html.append("</ul>")
        hidden = digest.not_compliant_total - len(digest.not_compliant)
        if hidden:
            text.append(f"and {hidden} more")
            html.append(f"<p>and {hidden} more</p>")
        text.append("")
    text.append("You receive this digest because you chose it in your notification settings.")
    html.append(
        "<p>You receive this digest because you chose it in your notification settings.</p>"
    )
    return DigestEmail(subject, "\n".join(text) + "\n", "\n".join(html) + "\n")


def _line_text(line: DigestLine) -> str:
    parts = [f"{line.holder_name}: {line.type_name}"]
    if line.credential_number:
        parts.append(f"no. {line.credential_number}")
    if line.expiry_date is not None:
        parts.append(f"expiry date {_day(line.expiry_date)}")
    return ", ".join(parts)


def _more(section: DigestSection) -> str | None:
    hidden = section.total - len(section.lines)
    return f"and {hidden} more" if hidden > 0 else None
