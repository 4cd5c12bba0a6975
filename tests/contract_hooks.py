"""Schemathesis hooks for the contract run (``tests/contract.py``)."""

from __future__ import annotations

import schemathesis


@schemathesis.serializer("message/rfc822")
def _raw_mail(_ctx: schemathesis.SerializationContext, value: object) -> bytes:
    # Raw mail is bytes; generated strings are sent as UTF-8 (lone surrogates kept, so
    # that undecodable input reaches the parser too).
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
