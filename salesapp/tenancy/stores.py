"""Engines for stores: one per store, never one per tenant.

Pooled stores keep their engine for the life of the process. Dedicated stores' engines
are kept in a bounded LRU: the least recently used is disposed when the bound is
reached, so database connections stay bounded whatever the number of tenants.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from ..settings import Settings
from . import urls
from .directory import StoreRef


def connect_args(settings: Settings) -> dict:
    """psycopg's connection options for the app's engines."""
    args = {"connect_timeout": settings.connect_timeout}
    if not settings.prepared_statements:
        args["prepare_threshold"] = None  # behind a transaction-mode pooler
    return args


class StoreEngines:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._pooled: dict[tuple, Engine] = {}
        self._dedicated: OrderedDict[tuple, Engine] = OrderedDict()

    def _create(self, store: StoreRef) -> Engine:
        return create_engine(
            urls.sqlalchemy_url(store.app_url),
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.max_overflow,
            pool_timeout=self.settings.connect_timeout,
            pool_recycle=3600,
            connect_args=connect_args(self.settings),
        )

    def engine_for(self, tenant) -> Engine:
        """The engine of the store that holds ``tenant`` (a TenantSnapshot)."""
        return self.engine_for_store(tenant.store)

    def engine_for_store(self, store: StoreRef) -> Engine:
        key = store.key
        if store.kind == "pooled":
            engine = self._pooled.get(key)
            if engine is None:
                with self._lock:
                    engine = self._pooled.get(key) or self._pooled.setdefault(
                        key, self._create(store)
                    )
            return engine
        with self._lock:
            engine = self._dedicated.get(key)
            if engine is None:
                engine = self._dedicated[key] = self._create(store)
                while len(self._dedicated) > self.settings.max_dedicated_engines:
                    _, evicted = self._dedicated.popitem(last=False)
                    # Idle connections close now; checked-out ones when their request ends.
                    evicted.dispose()
            else:
                self._dedicated.move_to_end(key)
            return engine

    def counts(self) -> dict:
        return {"pooled": len(self._pooled), "dedicated": len(self._dedicated)}

    def dispose(self) -> None:
        with self._lock:
            for engine in list(self._pooled.values()) + list(self._dedicated.values()):
                engine.dispose()
            self._pooled.clear()
            self._dedicated.clear()
