"""Catalog (control database) migrations."""
from alembic import context

from salesapp.tenancy.models import CatalogBase as Base
from salesapp.tenancy.migrations import run_env

run_env(context, Base.metadata)
