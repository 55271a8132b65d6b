"""salesapp: a multi-tenant sales-management web application on Pyramid."""

from setuptools import find_namespace_packages, setup

requires = [
    "alembic>=1.13",
    "argon2-cffi>=23.1",
    "babel>=2.14",  # salesapp.localization: numbers, money and dates as a locale writes them
    "click>=8.1",
    "cryptography>=42",
    "phonenumbers>=8.13",  # customers' phone numbers kept in one normalised form
    "psycopg[binary]>=3.1",
    "pyramid>=2.0",
    "pyramid_jinja2>=2.10",
    "pyramid_mailer>=0.15",  # e-mail sent only once the transaction commits
    "pyramid_services>=2.2",
    "pyramid_tm>=2.5",
    "segno>=1.6",  # the two-factor set-up's QR code, made by the app
    "SQLAlchemy>=2.0",
    "transaction>=4.0",
    "tzdata>=2024.1",  # the IANA zones, where the system has none
    "waitress>=3.0",
    "zope.sqlalchemy>=3.1",
    "zxcvbn>=4.5",  # salesapp.accounts.passwords (4.5 added max_length, which it uses)
]

#: the embedded default (no catalog URL): a PostgreSQL shipped in a wheel, for development
#: and the tests. An extra, so that an install for real servers does without it (pgserver
#: has no wheels past Python 3.12)
embedded_requires = [
    "pgserver>=0.1.4",
    "aiosmtpd>=1.4",  # development's local SMTP server (salesapp.mail)
]

#: every core of a machine: a pre-fork server that loads the paste ini (docs/deployment.md)
prefork_requires = [
    "gunicorn>=23",
]

testing_requires = [
    "aiosmtpd>=1.4",  # the tests' SMTP server: e-mail is received, not mocked
    *prefork_requires,  # tests/deployment: the multi-process recipe; scripts/bench.py --processes
    "hypothesis>=6.100",  # tests/properties
    "import-linter>=2.1",  # .importlinter: the direction of imports, checked in CI
    "playwright>=1.40",
    "py-spy>=0.3.14",  # scripts/bench.py --profile: a sampling profile of the running server
    "pytest>=8",
    "ruff>=0.6",
    "schemathesis==4.32.5",  # scripts/api_fuzz.py: pinned, so CI's fuzzing is repeatable
    "WebTest>=3.0",
]

#: The migration scripts stay in the top-level alembic/ (alembic/control, alembic/tenant)
#: and ship inside the package as salesapp/_alembic, where an installed wheel finds them
#: (salesapp.operations.migrations); an editable install reads alembic/ in place.
ALEMBIC_PACKAGE = "salesapp._alembic"
alembic_packages = [ALEMBIC_PACKAGE] + [
    f"{ALEMBIC_PACKAGE}.{name}"
    for name in find_namespace_packages(where="alembic", exclude=["*__pycache__*"])
]

setup(
    name="salesapp",
    version="0.1.0",
    description="Multi-tenant sales management: point of sale, stock, customers, reports",
    python_requires=">=3.11",
    packages=find_namespace_packages(include=["salesapp", "salesapp.*"]) + alembic_packages,
    package_dir={ALEMBIC_PACKAGE: "alembic"},
    package_data={name: ["*.mako"] for name in alembic_packages},
    include_package_data=True,
    zip_safe=False,
    install_requires=requires,
    extras_require={
        "embedded": embedded_requires,
        "testing": testing_requires,
        "prefork": prefork_requires,
    },
    entry_points={
        "paste.app_factory": ["main = salesapp:main"],
        "console_scripts": ["salesapp = salesapp.cli:main"],
    },
)
