"""Catalog (control database) migrations."""

from alembic import context
from salesapp.tenancy.migrations import run_env
from salesapp.tenancy.models import CatalogBase as Base

run_env(context, Base.metadata)
