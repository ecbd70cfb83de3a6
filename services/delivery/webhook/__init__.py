"""The webhook channel: credential events posted to other systems' endpoints, signed per
Standard Webhooks, through the same outbox and worker as email."""
