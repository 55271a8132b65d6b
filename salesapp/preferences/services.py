"""A tenant's workspace settings: read by the point of sale, changed by an Admin."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from ..audit.recorder import record
from ..services import TenantService
from .models import SignInPolicy, WorkspaceSettings


class SettingsService(TenantService):
    """The one settings row of a tenant, on that tenant's session."""

    def get(self) -> WorkspaceSettings:
        """The tenant's settings; the row is created with the defaults if missing
        (ON CONFLICT DO NOTHING: two requests creating it at once both succeed)."""
        row = self.db.get(WorkspaceSettings, self.tenant_id)
        if row is None:
            self.db.execute(
                insert(WorkspaceSettings)
                .values(tenant_id=self.tenant_id)
                .on_conflict_do_nothing(index_elements=["tenant_id"])
            )
            row = self.db.get(WorkspaceSettings, self.tenant_id)
        return row

    def update(
        self,
        *,
        allow_negative_stock: bool,
        currency: str,
        receipt_footer: str,
        admins_need_two_factor: bool = False,
    ) -> WorkspaceSettings:
        """Save validated values (see :func:`.forms.parse_settings`)."""
        row = self.get()
        row.allow_negative_stock = allow_negative_stock
        row.currency = currency
        row.receipt_footer = receipt_footer
        self._set_admins_need_two_factor(admins_need_two_factor)
        self.db.flush()
        return row

    def admins_need_two_factor(self) -> bool:
        """Whether Admins must use two-factor sign-in (read on an Admin's requests)."""
        return bool(self.db.scalar(select(SignInPolicy.admins_need_two_factor)))

    def _set_admins_need_two_factor(self, value: bool) -> None:
        before = self.admins_need_two_factor()
        if value == before:
            return
        self.db.execute(
            insert(SignInPolicy)
            .values(tenant_id=self.tenant_id, admins_need_two_factor=value)
            .on_conflict_do_update(
                index_elements=["tenant_id"], set_={"admins_need_two_factor": value}
            )
        )
        record(self.db, "settings.update", "sign-in policy", admins_need_two_factor=[before, value])
