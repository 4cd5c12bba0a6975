"""Examples of inquiry responses for the OpenAPI document, consistent with each other."""

from __future__ import annotations

from typing import Any

INQUIRY_ID = "8a32be5a-e600-4989-9a4a-b3fef5652a03"
ETAG = f'"{INQUIRY_ID}-v4"'

SLA: dict[str, Any] = {
    "policy_code": "default",
    "due_at": "2026-11-24T17:00:00+07:00",
    "start_day": "2026-11-23",
    "late_intake": False,
    "state": "on_track",
    "working_seconds_left": 26100,
    "at_risk_at": "2026-11-24T13:00:00+07:00",
    "first_response_at": None,
    "outcome": None,
}

RECEIPT: dict[str, Any] = {
    "id": INQUIRY_ID,
    "reference": "IQ-0N057A4R",
    "office_code": "KANWIL-ACEH",
    "channel": "webchat",
    "status": "new",
    "received_at": "2026-11-23T02:00:00Z",
    "sla": SLA,
    "etag": f'"{INQUIRY_ID}-v1"',
}

SUMMARY: dict[str, Any] = {
    "id": INQUIRY_ID,
    "reference": "IQ-0N057A4R",
    "office_code": "KANWIL-ACEH",
    "channel": "webchat",
    "status": "in_progress",
    "subject": "Kiriman tertahan",
    "requester": {
        "name": "Cut Nyak Dhien",
        "email": "cut@example.com",
        "phone": "+6281234567890",
        "handle": None,
        "nik": "1171**********01",
        "npwp": None,
        "organization": None,
    },
    "assignee": "officer-1",
    "received_at": "2026-11-23T02:00:00Z",
    "ticket_number": None,
    "escalated_unit_code": None,
    "sla": SLA,
    "etag": ETAG,
}

CONSULTATION: dict[str, Any] = {
    "id": 7,
    "with": "unit",
    "unit_code": "P2",
    "question": "Apakah kiriman ini terkena nota pembatalan?",
    "asked_by": "officer-1",
    "asked_at": "2026-11-23T03:10:00Z",
    "answer": "Tidak.",
    "answered_by": "p2-officer",
    "answered_at": "2026-11-23T04:00:00Z",
}

DETAIL: dict[str, Any] = {
    **SUMMARY,
    "channel_account": "webchat:kanwil-aceh",
    "message": "Paket saya tertahan, apa yang harus saya lakukan?",
    "documents": [{"type": "awb", "number": "12612345675", "legacy": False}],
    "messages": [
        {
            "id": 1,
            "direction": "inbound",
            "kind": "request",
            "body": "Paket saya tertahan, apa yang harus saya lakukan?",
            "author": None,
            "sent_at": "2026-11-23T02:00:00Z",
        }
    ],
    "consultations": [CONSULTATION],
    "answered_at": None,
    "escalated_at": None,
    "resolved_at": None,
    "closed_at": None,
}

PAGE: dict[str, Any] = {"items": [SUMMARY], "next_cursor": None}

EVENTS: dict[str, Any] = {
    "items": [
        {
            "id": 1,
            "action": "created",
            "actor": "chat-gateway",
            "actor_roles": ["integration"],
            "from_status": None,
            "to_status": "new",
            "details": {"channel": "webchat"},
            "at": "2026-11-23T02:00:00Z",
        },
        {
            "id": 2,
            "action": "assign",
            "actor": "officer-1",
            "actor_roles": ["officer"],
            "from_status": "new",
            "to_status": "in_progress",
            "details": {"assignee": "officer-1"},
            "at": "2026-11-23T02:05:00Z",
        },
    ]
}

PUBLIC_TICKET: dict[str, Any] = {
    "ticket_number": "KANWIL-ACEH-2026-000042",
    "reference": "IQ-0N057A4R",
    "status": "escalated",
    "received_at": "2026-11-23T02:00:00Z",
    "escalated_at": "2026-11-23T06:00:00Z",
    "resolved_at": None,
    "closed_at": None,
}
