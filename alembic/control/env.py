"""Catalog (control database) migrations."""

import salesapp.operations.job_models
import salesapp.operations.operator_models  # noqa: F401  (the operators' tables)
from alembic import context
from salesapp.operations.migrations import run_env
from salesapp.operations.models import CatalogBase as Base

run_env(context, Base.metadata)
