"""Xero's webhooks: the receiver (HTTP, signature, size limit) and where the webhook
key comes from. Processing the stored events is a service (``services.webhooks``)."""

from __future__ import annotations

from xerolink.webhooks.key import KEY_ENV, SECRET_NAME, webhook_key
from xerolink.webhooks.receiver import (
    MAX_BODY,
    ReceiverHandle,
    signature,
    signed_correctly,
    start_receiver,
)

__all__ = ["KEY_ENV", "MAX_BODY", "SECRET_NAME", "ReceiverHandle", "signature",
           "signed_correctly", "start_receiver", "webhook_key"]
