"""Texts sent to requesters, in Indonesian with an English line where it helps.

Every answer and ticket notice names the complaint channels of the service standard
(SIPUMA, the complaints mailbox, Bravo Bea Cukai 1500 225) and carries the link to the
satisfaction survey.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

COMPLAINT_CHANNELS = (
    "Pengaduan, saran, dan masukan / Complaints and suggestions:\n"
    "- SIPUMA: https://www.beacukai.go.id/pengaduan.html\n"
    "- Email: pengaduan.beacukai@customs.go.id\n"
    "- Bravo Bea Cukai: 1500 225"
)


def _survey(survey_url: str) -> str:
    return (
        "Bantu kami meningkatkan layanan dengan mengisi survei kepuasan / "
        f"Please rate our service: {survey_url}"
    )


def _footer(reference: str, survey_url: str) -> str:
    return (
        f"\n\n---\nNomor referensi / Reference: {reference}\n"
        f"{_survey(survey_url)}\n\n{COMPLAINT_CHANNELS}"
    )


def info_request(name: str, reference: str, message: str) -> str:
    """The officer asks the requester for missing data."""
    return (
        f"Yth. {name},\n\n{message}\n\n"
        "Mohon balas pesan ini dengan data yang diminta agar permintaan Anda dapat kami "
        "selesaikan. / Please reply with the requested data.\n\n"
        f"Nomor referensi / Reference: {reference}"
    )


def answer(name: str, reference: str, message: str, survey_url: str) -> str:
    """The answer to the requester's question."""
    return f"Yth. {name},\n\n{message}" + _footer(reference, survey_url)


def escalation_notice(
    name: str, reference: str, ticket_number: str, message: str, survey_url: str
) -> str:
    """The requester learns their ticket number."""
    return (
        f"Yth. {name},\n\n{message}\n\n"
        "Permintaan informasi Anda telah diteruskan ke unit terkait dengan nomor tiket "
        f"{ticket_number}. Simpan nomor ini untuk menanyakan status tiket. / Your request "
        f"was escalated; your ticket number is {ticket_number}."
    ) + _footer(reference, survey_url)


def resolution(name: str, reference: str, ticket_number: str, message: str, survey_url: str) -> str:
    """The final answer to an escalated ticket."""
    return (f"Yth. {name},\n\nTiket / Ticket {ticket_number}:\n\n{message}") + _footer(
        reference, survey_url
    )


_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|bls|balas|fw|fwd)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_OUR_TAG = re.compile(r"\s*\[IQ-[0-9A-Z]{8}(?:\s*/\s*[^\]]*)?\]", re.I)


def subject(reference: str, subject: str | None, ticket_number: str | None = None) -> str:
    """The subject of an email reply: "Re: <their subject> [IQ-... / ticket]", never
    "Re: Re:", and our tag only once however often the thread went back and forth."""
    base = _OUR_TAG.sub("", _REPLY_PREFIX.sub("", subject or "")).strip()
    base = base or "Permintaan informasi"
    tag = f"[{reference} / {ticket_number}]" if ticket_number else f"[{reference}]"
    room = 300 - len(tag) - len("Re:  ")
    if len(base) > room:
        base = base[: room - 1].rstrip() + "…"
    return f"Re: {base} {tag}"


DAYS = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Jayapura": "WIT",
}


def in_words(instant: datetime, zone: str) -> str:
    """An instant as Indonesians write it, in the office's zone:
    ``Selasa, 1 Desember 2026 pukul 17.00 WIB``."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime refused")
    local = instant.astimezone(ZoneInfo(zone))
    name = ZONE_NAMES.get(zone)
    if name is None:
        offset = local.utcoffset() or timedelta(0)
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        hours, rest = divmod(abs(minutes), 60)
        name = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")
    return (
        f"{DAYS[local.weekday()]}, {local.day} {MONTHS[local.month - 1]} {local.year} "
        f"pukul {local.hour:02d}.{local.minute:02d} {name}"
    )


def acknowledgement(name: str, reference: str, due_at: datetime, zone: str) -> str:
    """The automatic receipt on intake: the reference and the due time in words."""
    due = in_words(due_at, zone)
    return (
        f"Yth. {name},\n\n"
        "Terima kasih, permintaan informasi Anda telah kami terima dengan nomor referensi "
        f"{reference}. Kami akan menjawab paling lambat {due}.\n"
        f"Thank you, we received your request (reference {reference}) and will answer by "
        f"{due_at.astimezone(ZoneInfo(zone)).strftime('%Y-%m-%d %H:%M')} "
        f"({ZONE_NAMES.get(zone, zone)}).\n\n"
        "Sebutkan nomor referensi ini bila menghubungi kami lagi. Pesan ini dikirim otomatis. / "
        "Please quote this reference when you contact us again. This message was sent "
        f"automatically.\n\n{COMPLAINT_CHANNELS}"
    )
