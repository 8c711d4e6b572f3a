"""Closed vocabularies stored as short strings, shared by models and schemas."""

from enum import StrEnum


class OrganisationKind(StrEnum):
    # Attendees name their organisation on the form; organisers classify it later.
    UNSPECIFIED = "unspecified"
    COMPANY = "company"
    STARTUP = "startup"
    INSTITUTION = "institution"


class EventKind(StrEnum):
    SUMMIT = "summit"
    COMPETITION = "competition"


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class ScanVerdict(StrEnum):
    ADMITTED = "admitted"
    ALREADY_ADMITTED = "already_admitted"
    FORGED = "forged"
    WRONG_EVENT = "wrong_event"
    CANCELLED = "cancelled"
    WAITLISTED = "waitlisted"
    NOT_OPEN = "not_open"
    UNKNOWN = "unknown"
    UNDONE = "undone"


class RoundStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class RankingMethod(StrEnum):
    MEAN = "mean"
    ZSCORE = "zscore"
    ADDITIVE = "additive"


class AssignmentStatus(StrEnum):
    ASSIGNED = "assigned"
    DRAFT = "draft"
    SUBMITTED = "submitted"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class Role(StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    JUDGE = "judge"


class FinancingKind(StrEnum):
    EQUITY = "equity"
    LOAN = "loan"
    GRANT = "grant"
