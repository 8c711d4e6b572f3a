"""Tortoise models of events-service, one module per aggregate, re-exported here."""

from models.announcements import Announcement, Audience
from models.checkin import Admission, AttendeeLookup, BadgePrint, CheckinConflict, ScanLog
from models.events import Event, RegistrationLink
from models.judging import (
    Award,
    ConflictDeclaration,
    Criterion,
    Entry,
    EntryMember,
    JudgeAssignment,
    Round,
    RoundEntry,
    Score,
    ScoreHistory,
    WinnerRecord,
)
from models.outbox import OutboxMessage
from models.people import ErasureRecord, Organisation, Person
from models.programme import (
    CompanyTally,
    EventTally,
    FinancingRecord,
    Milestone,
    Programme,
    ProgrammeTally,
    ServiceRecord,
    TalentTally,
)
from models.registrations import Registration
from models.staff import RevokedToken, StaffUser

MODEL_MODULES = [
    "models.people",
    "models.programme",
    "models.events",
    "models.registrations",
    "models.checkin",
    "models.judging",
    "models.outbox",
    "models.staff",
    "models.announcements",
]

__all__ = [
    "MODEL_MODULES",
    "Admission",
    "Announcement",
    "AttendeeLookup",
    "Audience",
    "Award",
    "BadgePrint",
    "CheckinConflict",
    "CompanyTally",
    "ConflictDeclaration",
    "Criterion",
    "Entry",
    "EntryMember",
    "ErasureRecord",
    "Event",
    "EventTally",
    "FinancingRecord",
    "JudgeAssignment",
    "Milestone",
    "Organisation",
    "OutboxMessage",
    "Person",
    "Programme",
    "ProgrammeTally",
    "Registration",
    "RegistrationLink",
    "RevokedToken",
    "Round",
    "RoundEntry",
    "ScanLog",
    "Score",
    "ScoreHistory",
    "ServiceRecord",
    "StaffUser",
    "TalentTally",
    "WinnerRecord",
]
