"""Parse and validate the application settings.

Every setting lives under the ``salesapp.`` prefix in the ini file. Secrets and
deployment-specific values may come from the environment instead, so that
production.ini holds no secret: an environment variable wins over the ini value.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

#: Values that only development may use; `salesapp check` flags them in production.
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"

#: ini key -> environment variable that overrides it
ENVIRONMENT = {
    "salesapp.catalog_url": "SALESAPP_CATALOG_URL",
    "salesapp.server_admin_url": "SALESAPP_SERVER_ADMIN_URL",
    "salesapp.secret_key": "SALESAPP_SECRET_KEY",
    "salesapp.previous_secret_keys": "SALESAPP_PREVIOUS_SECRET_KEYS",
    "salesapp.base_domains": "SALESAPP_BASE_DOMAINS",
    "salesapp.app_password": "SALESAPP_APP_PASSWORD",
    "salesapp.owner_password": "SALESAPP_OWNER_PASSWORD",
    "salesapp.trusted_proxies": "SALESAPP_TRUSTED_PROXIES",
    "salesapp.role_prefix": "SALESAPP_ROLE_PREFIX",
    # the SMTP server mail goes out through (pyramid_mailer's own ``mail.`` keys)
    "mail.host": "SALESAPP_MAIL_HOST",
    "mail.port": "SALESAPP_MAIL_PORT",
    "mail.username": "SALESAPP_MAIL_USERNAME",
    "mail.password": "SALESAPP_MAIL_PASSWORD",
    "mail.default_sender": "SALESAPP_MAIL_SENDER",
}

_PREFIX_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _bool(value, default=False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"expected true or false, got {value!r}")


def _int(name, value, default, minimum=None, maximum=None, hint="") -> int:
    """``value`` as a whole number (``default`` when unset), within the bounds given;
    ``hint`` (after a semicolon) says how to choose a value."""
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{name} must be a whole number, got {value!r}{hint}") from None
    _check_range(name, value, number, minimum, maximum, hint)
    return number


def _float(name, value, default, minimum=None, maximum=None, hint="") -> float:
    """``value`` as a finite number (``default`` when unset), within the bounds given."""
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise SettingsError(f"{name} must be a number, got {value!r}{hint}")
    _check_range(name, value, number, minimum, maximum, hint)
    return number


def _check_range(name, value, number, minimum, maximum, hint) -> None:
    if minimum is not None and maximum is not None and not minimum <= number <= maximum:
        raise SettingsError(f"{name} must be between {minimum} and {maximum}, got {value!r}{hint}")
    if minimum is not None and number < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value!r}{hint}")
    if maximum is not None and number > maximum:
        raise SettingsError(f"{name} must be at most {maximum}, got {value!r}{hint}")


def _list(value) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip().lower() for item in re.split(r"[\s,]+", str(value)) if item.strip())


@dataclass(frozen=True)
class MailSettings:
    """Where e-mail goes out (salesapp.mail). Without a host, development starts its own
    SMTP server that keeps every message under var/mail (``dev_port``: 0 for any free
    port); production sends nothing and says so."""

    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    #: STARTTLS on the plain port (587); ``ssl``: TLS from the first byte (465)
    tls: bool = False
    ssl: bool = False
    default_sender: str = "salesapp@localhost"
    dev_port: int = 0

    @property
    def configured(self) -> bool:
        return bool(self.host)


def parse_mail_settings(get_raw) -> MailSettings:
    """The ``mail.*`` settings (pyramid_mailer's names), checked: ``get_raw(key)`` reads
    one ini key after the environment's overrides."""

    def get(key):
        value = get_raw(key)
        return value.strip() if isinstance(value, str) else value

    tls, ssl = _bool(get("mail.tls"), False), _bool(get("mail.ssl"), False)
    if tls and ssl:
        raise SettingsError(
            "mail.tls and mail.ssl are both on: choose mail.ssl for a port that speaks TLS "
            "from the start (465), mail.tls for STARTTLS (587)"
        )
    sender = get("mail.default_sender") or "salesapp@localhost"
    if "@" not in sender:
        raise SettingsError(
            f"mail.default_sender must be an e-mail address, got {sender!r}; "
            "e.g. receipts@shop.example"
        )
    port_hint = "; give the SMTP server's port (25, 587 with mail.tls, 465 with mail.ssl)"
    return MailSettings(
        host=get("mail.host") or None,
        port=_int("mail.port", get("mail.port"), 465 if ssl else 25, 1, 65535, port_hint),
        username=get("mail.username") or None,
        password=get("mail.password") or None,
        tls=tls,
        ssl=ssl,
        default_sender=sender,
        dev_port=_int(
            "salesapp.dev_mail_port",
            get("salesapp.dev_mail_port"),
            0,
            0,
            65535,
            "; give a free port for development's own SMTP server (0: any free port)",
        ),
    )


@dataclass(frozen=True)
class Settings:
    """The validated settings the tenancy machinery runs on."""

    catalog_url: str | None
    server_admin_url: str | None
    secret_key: str
    base_domains: tuple[str, ...]
    role_prefix: str
    app_password: str | None
    owner_password: str | None
    var_dir: Path
    log_dir: Path = Path("logs")
    #: keys ``secret_key`` replaced, during a rotation's grace (`salesapp rotate
    #: secret-key`): still accepted for session cookies and to decrypt, never to sign or
    #: encrypt; the operator removes them once the grace (a session's 8 hours) is over
    previous_secret_keys: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    production: bool = False
    demo_tenants: bool = False
    cache_ttl: float = 60.0
    listen: bool = True
    pool_size: int = 5
    max_overflow: int = 5
    max_dedicated_engines: int = 20
    connect_timeout: int = 5
    secure_cookies: bool = False
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    #: False only for the benchmark's baseline: one database holding one tenant, no host
    #: resolution, no tween, no per-transaction tenant setting, no row-level security
    #: (docs/benchmarks.md); never in a deployment: with several tenants in the database,
    #: queries that rely on row-level security would see them all
    tenancy: bool = True
    single_tenant: str | None = None
    single_database_url: str | None = None
    #: psycopg prepares a statement run 5 times on one connection; a transaction-mode
    #: pooler older than PgBouncer 1.21 in front of a store cannot keep those: set false
    prepared_statements: bool = True
    #: seconds a tenant resolved before keeps being served from the directory's cache
    #: while the catalog cannot be reached (hosts not seen before get 503 meanwhile)
    catalog_grace: float = 300.0
    #: the largest request body taken: forms and the API, and file uploads (CSV imports)
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024
    #: Strict-Transport-Security max-age sent in production (0: no header)
    hsts_seconds: int = 31536000
    #: failed sign-ins from one address within 15 minutes, on any accounts of any
    #: workspaces of the deployment, before that address must wait
    max_failed_logins_per_address: int = 20
    #: password hashes one process runs at once for sign-in; an attempt that finds none
    #: free within half a second is answered 503 with Retry-After (sign-in abuse cannot
    #: take every CPU: docs/benchmarks.md)
    sign_in_hashing_slots: int = 1
    #: seconds a tenant move waits between the flip and removing the source, so that
    #: requests still reading the source finish (`salesapp tenant move`)
    move_grace_seconds: float = 2.0
    #: a pooled tenant past either threshold is flagged by `salesapp stats` as a
    #: candidate for a dedicated store
    dedicated_threshold_rows: int = 1_000_000
    dedicated_threshold_mb: float = 1024.0
    #: the port pserve listens on in development: printed in the demo tenants' and
    #: new tenants' sign-in addresses (production addresses carry no port)
    demo_port: int = 6543
    #: seconds a migration waits for a table lock before it gives up, pauses and tries
    #: again: every session that wants the table queues behind the waiting migration, so
    #: this bounds how long one open read can stall a store's tenants (`salesapp migrate`)
    migration_lock_timeout: float = 3.0
    #: where e-mail goes out (receipts); see MailSettings
    mail: MailSettings = field(default_factory=MailSettings)
    #: development only: the page /dev/mail lists what the app's own SMTP server kept
    dev_mail: bool = False
    #: whether the public site offers self-service sign-up (salesapp.public.signups);
    #: off, its pages are 404
    signup_enabled: bool = False
    #: the trial a signed-up workspace gets, in days
    trial_days: int = 14
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def embedded(self) -> bool:
        """True when no catalog URL is configured: an embedded PostgreSQL serves."""
        return not self.catalog_url

    @property
    def owner_role(self) -> str:
        return f"{self.role_prefix}_owner"

    @property
    def app_role(self) -> str:
        return f"{self.role_prefix}_app"

    def database_name(self, purpose: str) -> str:
        """Name of one of the deployment's databases: catalog, pool1, template, t_<slug>..."""
        return f"{self.role_prefix}_{purpose}"


def _previous_secret_keys(value, secret: str, production: bool) -> tuple[str, ...]:
    """The keys of salesapp.previous_secret_keys (separated by white space), without the
    current one; production refuses the development key among them (anyone could sign
    a session cookie with it)."""
    keys = tuple(dict.fromkeys(key for key in str(value or "").split() if key != secret))
    if production and DEVELOPMENT_SECRET in keys:
        raise SettingsError(
            "salesapp.previous_secret_keys holds the development key: remove it from "
            "SALESAPP_PREVIOUS_SECRET_KEYS (anyone could sign a session with it)"
        )
    return keys


def parse_settings(raw: dict, environ: dict | None = None) -> Settings:
    """Build :class:`Settings` from ini values, letting the environment override them."""
    environ = os.environ if environ is None else environ
    values = dict(raw)
    for key, env in ENVIRONMENT.items():
        if environ.get(env):
            values[key] = environ[env]

    def get(key, default=None):
        value = values.get(f"salesapp.{key}", default)
        return value.strip() if isinstance(value, str) else value

    production = _bool(get("production"), False)
    secret = get("secret_key") or ""
    if not secret:
        if production:
            raise SettingsError(
                "salesapp.secret_key is not set: set SALESAPP_SECRET_KEY to a long random "
                "string (python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        secret = DEVELOPMENT_SECRET
    if production and secret == DEVELOPMENT_SECRET:
        raise SettingsError(
            "salesapp.secret_key is the development value: set SALESAPP_SECRET_KEY in production"
        )

    previous_keys = _previous_secret_keys(get("previous_secret_keys"), secret, production)

    prefix = get("role_prefix") or "salesapp"
    if not _PREFIX_RE.match(prefix):
        raise SettingsError(
            f"salesapp.role_prefix {prefix!r} must start with a letter and hold only "
            "lower-case letters, digits and underscores (at most 40)"
        )

    here = Path(values.get("here") or os.getcwd())
    var_dir = Path(get("var_dir") or here / "var")
    if not var_dir.is_absolute():
        var_dir = here / var_dir
    log_dir = Path(get("log_dir") or here / "logs")
    if not log_dir.is_absolute():
        log_dir = here / log_dir

    base_domains = _list(get("base_domains", "localhost"))
    if not base_domains:
        raise SettingsError("salesapp.base_domains is empty: name at least one, e.g. localhost")

    tenancy = _bool(get("tenancy"), True)
    single_tenant = get("single_tenant") or None
    single_database_url = get("single_database_url") or None
    if not tenancy and not (single_tenant and single_database_url):
        raise SettingsError(
            "salesapp.tenancy = off needs salesapp.single_tenant (the subdomain served "
            "on every host) and salesapp.single_database_url (a database holding only "
            "that tenant, as a role that row-level security does not apply to)"
        )

    return Settings(
        catalog_url=get("catalog_url") or None,
        server_admin_url=get("server_admin_url") or None,
        secret_key=secret,
        previous_secret_keys=previous_keys,
        base_domains=tuple(d.rstrip(".") for d in base_domains),
        role_prefix=prefix,
        app_password=get("app_password") or None,
        owner_password=get("owner_password") or None,
        var_dir=var_dir,
        log_dir=log_dir,
        trusted_proxies=_list(get("trusted_proxies")),
        production=production,
        demo_tenants=_bool(get("demo_tenants"), False),
        cache_ttl=_float("salesapp.cache_ttl", get("cache_ttl"), 60.0, minimum=0),
        listen=_bool(get("listen"), True),
        pool_size=_int("salesapp.pool_size", get("pool_size"), 5),
        max_overflow=_int("salesapp.max_overflow", get("max_overflow"), 5),
        max_dedicated_engines=_int(
            "salesapp.max_dedicated_engines", get("max_dedicated_engines"), 20
        ),
        connect_timeout=_int("salesapp.connect_timeout", get("connect_timeout"), 5),
        secure_cookies=_bool(get("secure_cookies"), production),
        argon2_time_cost=_int("salesapp.argon2_time_cost", get("argon2_time_cost"), 3),
        argon2_memory_cost=_int("salesapp.argon2_memory_cost", get("argon2_memory_cost"), 65536),
        tenancy=tenancy,
        single_tenant=single_tenant,
        single_database_url=single_database_url,
        prepared_statements=_bool(get("prepared_statements"), True),
        catalog_grace=_float("salesapp.catalog_grace", get("catalog_grace"), 300.0, minimum=0),
        max_body_bytes=_int("salesapp.max_body_bytes", get("max_body_bytes"), 1024 * 1024),
        max_upload_bytes=_int(
            "salesapp.max_upload_bytes", get("max_upload_bytes"), 10 * 1024 * 1024
        ),
        hsts_seconds=_int("salesapp.hsts_seconds", get("hsts_seconds"), 31536000),
        max_failed_logins_per_address=_int(
            "salesapp.max_failed_logins_per_address", get("max_failed_logins_per_address"), 20
        ),
        sign_in_hashing_slots=_int(
            "salesapp.sign_in_hashing_slots",
            get("sign_in_hashing_slots"),
            1,
            minimum=1,
            hint="; give how many sign-in password hashes a process may run at once",
        ),
        move_grace_seconds=_float(
            "salesapp.move_grace_seconds",
            get("move_grace_seconds"),
            2.0,
            minimum=0,
            hint="; give the seconds a move waits before removing the source (0: none)",
        ),
        dedicated_threshold_rows=_int(
            "salesapp.dedicated_threshold_rows",
            get("dedicated_threshold_rows"),
            1_000_000,
            minimum=0,
            hint="; give the row count past which a pooled tenant is worth a dedicated store",
        ),
        dedicated_threshold_mb=_float(
            "salesapp.dedicated_threshold_mb",
            get("dedicated_threshold_mb"),
            1024.0,
            minimum=0,
            hint="; give the megabytes past which a pooled tenant is worth a dedicated store",
        ),
        demo_port=_int(
            "salesapp.demo_port",
            get("demo_port"),
            6543,
            minimum=1,
            maximum=65535,
            hint="; give the port pserve listens on ([server:main] listen)",
        ),
        migration_lock_timeout=_float(
            "salesapp.migration_lock_timeout",
            get("migration_lock_timeout"),
            3.0,
            minimum=0.1,
            maximum=600,
            hint="; give the seconds a migration may wait for a table lock before it pauses "
            "and tries again (a few seconds: the store's tenants wait as long behind it)",
        ),
        mail=parse_mail_settings(values.get),
        dev_mail=_bool(get("dev_mail"), False) and not production,
        signup_enabled=_bool(get("signup_enabled"), False),
        trial_days=_int(
            "salesapp.trial_days",
            get("trial_days"),
            14,
            minimum=1,
            maximum=3650,
            hint="; give the days of a signed-up workspace's trial",
        ),
        raw=values,
    )
