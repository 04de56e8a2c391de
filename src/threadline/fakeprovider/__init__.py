"""A fake of the messaging providers Threadline talks to (Twilio, the WhatsApp Cloud API,
Messenger, Google RBM, Apple Messages for Business), for tests and `threadline demo`.

It answers the providers' outbound APIs as they document them, sends Threadline the
webhooks they would (signed with signing.py), and offers a control API under /_fake.
Everything is in memory, on loopback.
"""

from threadline.fakeprovider.behaviour import Behaviour
from threadline.fakeprovider.config import FakeAccounts
from threadline.fakeprovider.core import InboundResult
from threadline.fakeprovider.handle import FakeProvider
from threadline.fakeprovider.server import (
    FakeProviderApp,
    create_fake_provider,
    run,
    serve_fake_provider,
)
from threadline.fakeprovider.state import SentMessage
from threadline.fakeprovider.webhooks import Delivery

__all__ = [
    "Behaviour",
    "Delivery",
    "FakeAccounts",
    "FakeProvider",
    "FakeProviderApp",
    "InboundResult",
    "SentMessage",
    "create_fake_provider",
    "run",
    "serve_fake_provider",
]
