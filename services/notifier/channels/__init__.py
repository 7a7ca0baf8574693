"""Ways a notification leaves the system: signed webhooks and SMTP e-mail."""

from services.notifier.channels.base import (
    Channel,
    DeliveryFailure,
    PermanentFailure,
    Recipient,
    TransientFailure,
)

__all__ = ["Channel", "DeliveryFailure", "PermanentFailure", "Recipient", "TransientFailure"]
