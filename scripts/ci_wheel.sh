#!/usr/bin/env bash
# Install salesapp as an operator would: build the wheel, install it (with
# constraints.txt, without the embedded extra) in a fresh venv outside the checkout,
# then run `salesapp init`, `migrate` and `check` against a real PostgreSQL server.
# Also shows that, with no catalog URL and no pgserver, the CLI and pserve say in one
# line what to install or configure. Everything made on the server has a unique role
# prefix and is dropped at the end, pass or fail.
#
#   scripts/ci_wheel.sh [SUPERUSER_URL]
#
# SUPERUSER_URL defaults to $SALESAPP_TEST_DATABASE_URL, else the machine's server at
# postgresql://postgres@127.0.0.1:5432/postgres. $PYTHON picks the interpreter (python3).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
admin_url=${1:-${SALESAPP_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/postgres}}
python=${PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/salesapp-wheel.XXXXXX")
venv=$work/venv
prefix=saw_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
random() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# only what this script sets below may configure the installed app
for var in $(compgen -e | grep '^SALESAPP_' || true); do unset "$var"; done

cleanup() {
    status=$?
    if [[ -x $venv/bin/python ]]; then
        if "$venv/bin/python" -c 'import sys; from salesapp.operations.bootstrap import drop_deployment; drop_deployment(sys.argv[1], sys.argv[2])' \
            "$admin_url" "$prefix"; then
            echo "dropped the databases and roles named ${prefix}_*"
        else
            echo "ci_wheel: could not drop ${prefix}_*: drop its databases and roles by hand" >&2
            status=1
        fi
    fi
    rm -rf "$work"
    exit $status
}
trap cleanup EXIT

fail() { echo "ci_wheel: $*" >&2; exit 1; }
# pip's output (warnings about this machine's index locations included) only on failure
quietly() { "$@" >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; fail "$* failed"; }; }

echo "== build the wheel from a clean copy of the checkout"
mkdir "$work/src"
tar -C "$repo" --exclude=./.git --exclude=./.venv --exclude=./var --exclude=./logs \
    --exclude=./build --exclude=./dist --exclude='*.egg-info' --exclude=__pycache__ \
    -cf - . | tar -C "$work/src" -xf -
"$python" -m venv "$venv"
quietly "$venv/bin/pip" wheel -q --no-deps -w "$work/dist" "$work/src"
wheel=$(echo "$work"/dist/salesapp-*.whl)
echo "built $(basename "$wheel")"

echo "== install it in a fresh venv, with constraints.txt, without the embedded extra"
cd "$work"  # nothing of the checkout on sys.path from here on
quietly "$venv/bin/pip" install -q -c "$repo/constraints.txt" "$wheel"
if "$venv/bin/python" -c 'import pgserver' 2>/dev/null; then
    fail "pgserver is installed, but salesapp without [embedded] must not need it"
fi
scripts=$("$venv/bin/python" -c 'from salesapp.operations import migrations; print(migrations.ALEMBIC_DIR)')
[[ $scripts == "$venv"/* ]] || fail "migration scripts found at $scripts, not in the installed wheel"
echo "migration scripts: ${scripts#"$work"/}"
cp "$repo/production.ini" "$work/production.ini"

export SALESAPP_SECRET_KEY=$(random)
export SALESAPP_BASE_DOMAINS=salesapp-ci.example.com
export SALESAPP_ROLE_PREFIX=$prefix

echo "== with no catalog URL and no pgserver: one line saying what to do, exit non-zero"
says_what_to_do() {
    local out
    if out=$("$@" 2>&1); then fail "$* succeeded with no database"; fi
    echo "$out"
    # production.ini: production never runs on an embedded server, so the line names
    # the catalog URL to set; elsewhere it also says which extra to install
    [[ $out == *SALESAPP_CATALOG_URL* ]] || fail "$* did not say what to configure"
    [[ $out == *"pip install 'salesapp[embedded]'"* || $out == *"production never runs on the embedded server"* ]] ||
        fail "$* did not say what to install or configure"
    [[ $out != *Traceback* ]] || fail "$* printed a traceback"
}
says_what_to_do "$venv/bin/salesapp" -c production.ini check
says_what_to_do timeout 60 "$venv/bin/pserve" production.ini

echo "== init, migrate and check on $(sed -E 's#//[^@/]*@#//#' <<<"$admin_url")"
export SALESAPP_SERVER_ADMIN_URL=$admin_url
export SALESAPP_OWNER_PASSWORD=$(random) SALESAPP_APP_PASSWORD=$(random)
SALESAPP_CATALOG_URL=$("$venv/bin/python" -c '
import sys
from salesapp.tenancy.urls import with_database, with_role
admin_url, prefix, password = sys.argv[1:]
print(with_role(with_database(admin_url, f"{prefix}_catalog"), f"{prefix}_owner", password))
' "$admin_url" "$prefix" "$SALESAPP_OWNER_PASSWORD")
export SALESAPP_CATALOG_URL
"$venv/bin/salesapp" -c production.ini init
"$venv/bin/salesapp" -c production.ini migrate
"$venv/bin/salesapp" -c production.ini check
echo "ci_wheel: the wheel installs, initialises, migrates and checks a real server"
