"""The kinds of channel an inquiry comes by (core: every layer names them)."""

from enum import StrEnum


class Channel(StrEnum):
    """Where an inquiry came from, and where its answer goes."""

    email = "email"
    webchat = "webchat"
    social = "social"
