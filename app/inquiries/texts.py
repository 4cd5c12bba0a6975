"""Texts sent to requesters, in Indonesian with an English line where it helps.

Every answer and ticket notice names the complaint channels of the service standard
(SIPUMA, the complaints mailbox, Bravo Bea Cukai 1500 225) and carries the link to the
satisfaction survey.
"""

from __future__ import annotations

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


def subject(reference: str, subject: str | None) -> str:
    """The subject of an email reply, carrying the reference for threading."""
    base = subject or "Permintaan informasi"
    return f"[{reference}] {base}"[:300]
