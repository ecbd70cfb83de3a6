"""SQLAlchemy models and the statements over them: the only place SQL lives.

Importing this package registers every table on `Base.metadata` (Alembic and the drift
test rely on that).
"""

from models.activity import ActivityAction, CredentialActivity
from models.audit import AuditEntry
from models.base import Base, TenantOwned
from models.company import Company, CompanyKeyContact, CompanyManager
from models.credential import ApprovalStatus, Credential, CredentialVersion
from models.credential_settings import CredentialSettings
from models.credential_type import CredentialType, FieldRule
from models.delivery import Delivery, DeliveryChannel, DeliveryKind, DeliveryStatus
from models.digest import DigestRun
from models.event import CredentialEvent, CredentialEventKind
from models.event_queue import StagedCredentialEvent
from models.import_job import ImportJob, ImportRowResult
from models.job_role import JobRole, JobRoleMember, JobRoleRequirement, JobRoleRequirementType
from models.media import CredentialMedia, MediaAccess
from models.notification import (
    DigestFrequency,
    Notification,
    NotificationKind,
    NotificationSettings,
)
from models.organization import Organization
from models.permission import Permission, PermissionSet
from models.reminder import ExpiryReminder, ReminderKind, SchedulerState
from models.token import ApiToken
from models.user import User
from models.webhook import WebhookAttempt, WebhookEndpoint, WebhookEndpointStatus

__all__ = [
    "ActivityAction",
    "ApiToken",
    "ApprovalStatus",
    "AuditEntry",
    "Base",
    "Company",
    "CompanyKeyContact",
    "CompanyManager",
    "Credential",
    "CredentialActivity",
    "CredentialEvent",
    "CredentialEventKind",
    "CredentialMedia",
    "CredentialSettings",
    "CredentialType",
    "CredentialVersion",
    "Delivery",
    "DeliveryChannel",
    "DeliveryKind",
    "DeliveryStatus",
    "DigestFrequency",
    "DigestRun",
    "ExpiryReminder",
    "FieldRule",
    "ImportJob",
    "ImportRowResult",
    "JobRole",
    "JobRoleMember",
    "JobRoleRequirement",
    "JobRoleRequirementType",
    "MediaAccess",
    "Notification",
    "NotificationKind",
    "NotificationSettings",
    "Organization",
    "Permission",
    "PermissionSet",
    "ReminderKind",
    "SchedulerState",
    "StagedCredentialEvent",
    "TenantOwned",
    "User",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookEndpointStatus",
]
