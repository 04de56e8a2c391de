"""Notifications go through the channels: the same world as tests/channels."""

from tests.channels.conftest import world

__all__ = ["world"]
