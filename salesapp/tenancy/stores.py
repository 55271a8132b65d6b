"""Engines for stores: one per store, never one per tenant.

Pooled stores keep their engine for the life of the process. Dedicated stores' engines
are kept in a bounded LRU: the least recently used is disposed when the bound is
reached, so database connections stay bounded whatever the number of tenants.

A store that goes down costs only its own tenants: connecting gives up after
``connect_timeout`` seconds (the tween answers 503), and when the store is back its
engine serves again by itself, the connections of before the outage dropped unused.
"""

from __future__ import annotations

import os
import select
import threading
import weakref
from collections import OrderedDict

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from ..settings import Settings
from . import urls
from .directory import StoreKind, StoreRef
from .urls import connect_args  # every connection's options (imported from here too)


def drop_dead_connections(dbapi_connection, connection_record, connection_proxy) -> None:
    """Pool checkout hook: refuse a pooled connection the server has closed.

    An idle connection has nothing to read unless its server said goodbye (shut down,
    restarted, terminated it) or the socket is gone; such a connection would fail the
    request that used it. Refused here, the pool replaces it with a new connection.
    A poll of the socket costs no round trip, unlike ``pool_pre_ping``'s SELECT on every
    checkout; a connection that breaks later still fails its request (503), and
    SQLAlchemy then drops every connection of the pool made before it.
    """
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN)
        ready = poller.poll(0)
    except Exception:  # closed already: psycopg has no file descriptor to give
        raise DisconnectionError("the connection is closed") from None
    if ready:
        raise DisconnectionError("the server closed the connection")


class StoreEngines:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._pooled: dict[tuple, Engine] = {}
        self._dedicated: OrderedDict[tuple, Engine] = OrderedDict()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (found := ref()) and found._after_fork())

    def _after_fork(self) -> None:
        """In a forked child (gunicorn --preload): the pooled connections are the
        parent's; drop them unclosed (the parent goes on using them) and a lock a thread
        of the parent held."""
        self._lock = threading.Lock()
        for engine in list(self._pooled.values()) + list(self._dedicated.values()):
            engine.dispose(close=False)

    def _create(self, store: StoreRef) -> Engine:
        engine = create_engine(
            urls.sqlalchemy_url(store.app_url),
            pool_size=self.settings.pool_size,
            max_overflow=self.settings.max_overflow,
            pool_timeout=self.settings.connect_timeout,
            pool_recycle=3600,
            connect_args=connect_args(self.settings),
        )
        event.listen(engine, "checkout", drop_dead_connections)
        return engine

    def engine_for(self, tenant) -> Engine:
        """The engine of the store that holds ``tenant`` (a TenantSnapshot)."""
        return self.engine_for_store(tenant.store)

    def engine_for_store(self, store: StoreRef) -> Engine:
        key = store.key
        if store.kind == StoreKind.POOLED:
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
        return {StoreKind.POOLED: len(self._pooled), StoreKind.DEDICATED: len(self._dedicated)}

    def dispose(self) -> None:
        with self._lock:
            for engine in list(self._pooled.values()) + list(self._dedicated.values()):
                engine.dispose()
            self._pooled.clear()
            self._dedicated.clear()
