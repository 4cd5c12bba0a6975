"""The refusals of the inquiry workflow, each with its stable problem ``code``."""

from __future__ import annotations

from app.core.errors import Conflict, Forbidden, PreconditionFailed


class InvalidTransition(Conflict):
    """The action is not possible in the inquiry's current status (see `current_status`)."""

    code = "invalid_transition"


class AssigneeTaken(Conflict):
    """The inquiry is assigned to another officer; a coordinator can reassign it."""

    code = "assignee_taken"


class ConsultationClosed(Conflict):
    """The consultation has been answered already."""

    code = "consultation_closed"


class InquiryChanged(PreconditionFailed):
    """The inquiry changed since the ETag given in If-Match (see `current_etag`)."""

    code = "inquiry_changed"


class MessageIdReused(Conflict):
    """The channel message id was used for another message already."""

    code = "message_id_reused"


class FollowUpChannel(Conflict):
    """A follow-up must come by the inquiry's own channel, and an email inquiry's as mail.

    The channel the follow-up names must be the inquiry's; an email inquiry's follow-ups
    come through the email endpoint or the office mailbox, never the follow-up endpoint."""

    code = "follow_up_channel"


class ChannelNotAllowed(Forbidden):
    """The token's `channels` claim does not name the channel of this inquiry or follow-up.

    An integration whose token carries the claim posts only for the channels it names."""

    code = "channel_not_allowed"


class InquiryClosed(Conflict):
    """The inquiry was closed longer ago than INFODESK_REOPEN_DAYS; post a new inquiry."""

    code = "inquiry_closed"


# Every refusal of an action on an inquiry, for the routes' OpenAPI responses.
ACTION_REFUSALS = (InvalidTransition, InquiryChanged)
