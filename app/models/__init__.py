"""The line's records. Instants are UTC (`UTCDateTime`); phone numbers are E.164. One
module per concern; every record is importable from here."""

from app.db import Base
from app.models.clinical import CoachingNote, DiaryEntry
from app.models.common import PHONE, new_secret
from app.models.contact import (
    UNRETURNED_MISSED,
    AttentionItem,
    Call,
    CheckIn,
    Message,
    PendingConfirmation,
    Success,
)
from app.models.identity import ApiToken, AuditEntry, RecoveryCode, User, UserSession
from app.models.people import Client, CoachingHours, Lockout, Therapist
from app.models.practice import PracticeSetting, PracticeSkill
from app.models.schedule import OnCallOverride, OnCallShift, Rotation, RotationMember

__all__ = [
    "Base",
    "PHONE",
    "new_secret",
    "Therapist",
    "CoachingHours",
    "Client",
    "Lockout",
    "OnCallShift",
    "Rotation",
    "RotationMember",
    "OnCallOverride",
    "PendingConfirmation",
    "Call",
    "Message",
    "AttentionItem",
    "CheckIn",
    "Success",
    "UNRETURNED_MISSED",
    "User",
    "UserSession",
    "RecoveryCode",
    "ApiToken",
    "AuditEntry",
    "PracticeSkill",
    "PracticeSetting",
    "DiaryEntry",
    "CoachingNote",
]
