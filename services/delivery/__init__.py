"""Delivery to the outside world: an outbox of what must be sent (email now; the
claim, backoff and record machinery is channel-agnostic behind `channel.Channel`), and the
worker pass that sends it.

`queue_delivery` queues from a service in the caller's transaction; the journal queues a
notification's email itself (`email_delivery_for`). `deliver_due` is one worker pass.
"""

from services.delivery.outbox import email_delivery_for, queue_delivery
from services.delivery.worker import DeliveryOptions, PassResult, deliver_due

__all__ = ["DeliveryOptions", "PassResult", "deliver_due", "email_delivery_for", "queue_delivery"]
