"""Placeholders of answer templates: ``{{nama}}`` and its kin, checked when a template is
saved and filled from the inquiry when it is used. Pure functions of text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# What each placeholder becomes.
PLACEHOLDERS: Mapping[str, str] = {
    "nama": "the requester's name",
    "referensi": "the inquiry's reference (IQ-...)",
    "nomor_tiket": "the escalation ticket number, or '-' before any escalation",
    "batas_waktu": "the due time in words, in the office's zone, as the acknowledgement "
    "writes it ('Selasa, 1 Desember 2026 pukul 17.00 WIB')",
    "kantor": "the office's name",
}

# "{{ name }}": spaces inside the braces are allowed, nothing else is.
_TOKEN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class PlaceholderProblem:
    """Something in a template that is not a known placeholder."""

    text: str
    detail: str


def problems(template: str) -> list[PlaceholderProblem]:
    """Unknown placeholders and unbalanced braces in ``template``, in order."""
    found: list[PlaceholderProblem] = []
    seen: set[str] = set()
    for match in _TOKEN.finditer(template):
        name = match.group(1)
        if name not in PLACEHOLDERS and match.group(0) not in seen:
            seen.add(match.group(0))
            known = ", ".join("{{" + p + "}}" for p in PLACEHOLDERS)
            found.append(
                PlaceholderProblem(
                    match.group(0), f"unknown placeholder {match.group(0)}; known: {known}"
                )
            )
    rest = _TOKEN.sub("", template)
    for stray in ("{{", "}}"):
        if stray in rest:
            found.append(
                PlaceholderProblem(stray, f"'{stray}' does not form a placeholder {{{{name}}}}")
            )
    return found


def used(template: str) -> list[str]:
    """The known placeholders ``template`` uses, each once, in order of appearance."""
    names: list[str] = []
    for match in _TOKEN.finditer(template):
        name = match.group(1)
        if name in PLACEHOLDERS and name not in names:
            names.append(name)
    return names


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each known placeholder replaced by its value, in one pass: a value
    that itself looks like a placeholder (a requester named "{{kantor}}") stays as it is."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else match.group(0)

    return _TOKEN.sub(value, template)
