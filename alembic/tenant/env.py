"""Store (tenant schema) migrations: run once per store, pooled or dedicated."""

from alembic import context
from salesapp.models import Base
from salesapp.operations.migrations import run_env

run_env(context, Base.metadata)
