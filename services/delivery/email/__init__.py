"""The email channel: content of each notification kind, SMTP, and what decides at send
time whether a person gets an email."""
