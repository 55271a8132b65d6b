"""Every tenant-schema model, imported so ``Base.metadata`` is complete (alembic/tenant)."""

from .accounts.models import Role, User, UserRole  # noqa: F401
from .db import Base  # noqa: F401
from .locations.models import Location  # noqa: F401
