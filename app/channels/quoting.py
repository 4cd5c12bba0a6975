"""Cutting the quoted history off a reply's text: ``>`` lines, "On ... wrote:", "Pada ...
menulis:", Outlook's "-----Original Message-----" and "From: ... Sent: ..." blocks. Pure."""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(On\s.{1,300}\swrote|Pada\s.{1,300}\smenulis|Le\s.{1,300}\sa écrit)\s*:\s*$",
    re.IGNORECASE,
)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(Original Message|Pesan Asli|Forwarded message|Pesan yang diteruskan)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Dari)\s*:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Dikirim|Terkirim|Tanggal)\s*:\*?\s", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{10,}\s*$")


def _cut_at(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        pair = line + " " + lines[i + 1].strip() if i + 1 < len(lines) else line
        if _ATTRIBUTION.match(line) or (
            line.strip().lower().startswith(("on ", "pada "))
            and _ATTRIBUTION.match(pair)
            and not lines[i + 1].lstrip().startswith(">")
        ):
            return i
        if _ORIGINAL.match(line):
            return i
        if _OUTLOOK_FROM.match(line) and any(_OUTLOOK_NEXT.match(n) for n in lines[i + 1 : i + 4]):
            return i - 1 if i > 0 and _RULE.match(lines[i - 1]) else i
    return None


def strip_quoted(text: str) -> str:
    """The new text of a reply: quoted history (``>`` lines, "On ... wrote:", "Pada ...
    menulis:", Outlook's "-----Original Message-----" and "From: ... Sent: ..." blocks)
    cut off."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _cut_at(lines)
    if cut is not None:
        lines = lines[:cut]
    kept = [line.rstrip() for line in lines if not line.lstrip().startswith(">")]
    return "\n".join(kept).strip()
