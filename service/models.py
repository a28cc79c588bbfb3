"""Imports every model so the metadata is complete, and installs the tenant hooks on the session."""

from service.accounts.models import ApiToken, Role, User, UserSession, inspector_clusters
from service.appeals.models import InspectionAppeal, InspectionAppealTransition
from service.audit import trail  # noqa: F401 - records changes of Audited models on flush
from service.audit.models import AuditEntry
from service.bulletins.models import BulletinIssue
from service.commendations.models import CommendationCandidate, CommendationCertificate, CommendationRound
from service.db import Base, HouqinSession
from service.evaluations.models import Evaluation, EvaluationRating  # also registers the submission check
from service.excel.models import StagedUpload
from service.hazards.models import Hazard, HazardTransition
from service.incidents.models import Incident
from service.incidents.vetoes import Veto
from service.inspections.models import CanteenMonthlyFacts, Inspection, InspectionItemResult
from service.jobs.models import Heartbeat, JobRun, JobRunLog
from service.notices.models import (
    NoticeDelivery,
    NoticePreference,
    NoticeRender,
    NoticeRun,
    NoticeRunLog,
    NoticeSchedule,
)
from service.org.models import Bureau, CanteenMode, Cluster, School, SchoolType
from service.periods.models import Period, UnlockRequest
from service.rankings.models import RankingEntry, RankingSnapshot
from service.reports.models import MonthlyReport, ReportTransition
from service.rubrics.guard import install_immutability_guard
from service.rubrics.models import Rubric, RubricItem, RubricSection, RubricVersion
from service.rules.models import RuleSet
from service.scoring.models import SchoolMonthScore
from service.staff.models import CertificateWarning, StaffMember, StaffVeto
from tenants import TenantOwned, install_tenant_scoping

install_tenant_scoping(HouqinSession, tenant_root=School)
install_immutability_guard(HouqinSession)


def school_owned_tables() -> list[str]:
    """Names of the tables behind the tenant wall (row-level security on ``school_id``)."""
    return sorted(m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantOwned))


__all__ = [
    "ApiToken",
    "AuditEntry",
    "Base",
    "BulletinIssue",
    "Bureau",
    "CanteenMode",
    "CanteenMonthlyFacts",
    "CertificateWarning",
    "Cluster",
    "CommendationCandidate",
    "CommendationCertificate",
    "CommendationRound",
    "Evaluation",
    "EvaluationRating",
    "Hazard",
    "HazardTransition",
    "Heartbeat",
    "Incident",
    "Inspection",
    "InspectionAppeal",
    "InspectionAppealTransition",
    "InspectionItemResult",
    "JobRun",
    "JobRunLog",
    "MonthlyReport",
    "NoticeDelivery",
    "NoticePreference",
    "NoticeRender",
    "NoticeRun",
    "NoticeRunLog",
    "NoticeSchedule",
    "Period",
    "RankingEntry",
    "RankingSnapshot",
    "ReportTransition",
    "Role",
    "Rubric",
    "RubricItem",
    "RubricSection",
    "RubricVersion",
    "RuleSet",
    "School",
    "SchoolMonthScore",
    "SchoolType",
    "StaffMember",
    "StaffVeto",
    "StagedUpload",
    "UnlockRequest",
    "User",
    "UserSession",
    "Veto",
    "inspector_clusters",
    "school_owned_tables",
]
