"""SQLAlchemy models and the statements over them: the only place SQL lives.

Importing this package registers every table on `Base.metadata` (Alembic and the drift
test rely on that).
"""

from models.base import Base, TenantOwned
from models.company import Company, CompanyKeyContact, CompanyManager
from models.organization import Organization
from models.permission import Permission, PermissionSet
from models.token import ApiToken
from models.user import User

__all__ = [
    "ApiToken",
    "Base",
    "Company",
    "CompanyKeyContact",
    "CompanyManager",
    "Organization",
    "Permission",
    "PermissionSet",
    "TenantOwned",
    "User",
]
