"""Every tenant-schema model, imported so ``Base.metadata`` is complete (alembic/tenant)."""

from .accounts.models import Role, User, UserRole  # noqa: F401
from .api.models import ApiToken  # noqa: F401
from .audit.models import AuditEvent  # noqa: F401
from .customers.models import Customer  # noqa: F401
from .db import Base  # noqa: F401
from .expenses.models import Expense  # noqa: F401
from .inventory.models import StockMovement  # noqa: F401
from .locations.models import Location  # noqa: F401
from .preferences.models import WorkspaceLogo, WorkspaceSettings  # noqa: F401
from .products.models import Product  # noqa: F401
from .purchasing.models import GoodsReceipt, PurchaseOrder, Supplier  # noqa: F401
from .registers.models import CashMovement, Register, Shift  # noqa: F401
from .sales.models import InvoiceCounter, Payment, Refund, RefundLine, Sale, SaleLine  # noqa: F401
from .sales.receipt_models import ReceiptSend  # noqa: F401
from .taxes.models import TaxRate  # noqa: F401
