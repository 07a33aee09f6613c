"""What the co-pilot remembers: persistent cases (checkpointer, case index) and audit logs."""

from __future__ import annotations

from memory.audit import AuditLog
from memory.cases import CaseRecord, CaseStore, new_case_id, validate_case_id

__all__ = ["AuditLog", "CaseRecord", "CaseStore", "new_case_id", "validate_case_id"]
