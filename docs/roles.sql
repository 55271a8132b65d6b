-- salesapp: what a DBA runs by hand on a server where the application has no right to
-- create roles or databases. Replace the names (prefix "salesapp") and the passwords.
-- Run as a superuser (or a role with CREATEROLE and CREATEDB), e.g.:
--   psql -h db.internal -U postgres -v owner_pw="'...'" -v app_pw="'...'" -f docs/roles.sql

-- The owner role owns every schema object and runs migrations. CREATEDB lets
-- `salesapp init` and `salesapp tenant create --dedicated` create databases (dedicated
-- stores are cloned from the template database, which the owner owns). Never used by
-- web requests.
CREATE ROLE salesapp_owner LOGIN CREATEDB NOSUPERUSER NOCREATEROLE NOBYPASSRLS NOREPLICATION
    PASSWORD :owner_pw;
-- Moves and deletes drop a dedicated database its tenant has left, with
-- DROP DATABASE ... WITH (FORCE), which must end the app role's idle connections to it.
GRANT pg_signal_backend TO salesapp_owner;

-- The app role serves web requests: it may log in and nothing else. It owns nothing;
-- migrations grant it SELECT/INSERT/UPDATE/DELETE on tenant tables, SELECT on the
-- catalog's lookup tables and SELECT/INSERT/DELETE on the catalog's failed_sign_ins.
-- Row-level security is forced on every tenant table, so it sees only the rows of the
-- tenant named by app.tenant_id.
CREATE ROLE salesapp_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS NOREPLICATION
    PASSWORD :app_pw;

-- The catalog, the default pooled store and the tenant template, owned by the owner.
-- (`salesapp init` creates them itself if the owner has CREATEDB; this is the manual way.)
CREATE DATABASE salesapp_catalog OWNER salesapp_owner;
CREATE DATABASE salesapp_pool1 OWNER salesapp_owner;
CREATE DATABASE salesapp_template OWNER salesapp_owner;

-- Only our roles connect; the app role never connects to the template (CREATE DATABASE
-- ... TEMPLATE refuses while anything is connected to it).
REVOKE ALL ON DATABASE salesapp_catalog, salesapp_pool1, salesapp_template FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE salesapp_catalog, salesapp_pool1 TO salesapp_owner, salesapp_app;
GRANT CONNECT, TEMPORARY ON DATABASE salesapp_template TO salesapp_owner;

-- Then, from the application host (the migrations run as the owner and end with the
-- app role's grants below; `salesapp migrate --sql` prints them too):
--   SALESAPP_CATALOG_URL=postgresql://salesapp_owner:...@db.internal/salesapp_catalog \
--   SALESAPP_SECRET_KEY=... SALESAPP_APP_PASSWORD=... SALESAPP_BASE_DOMAINS=example.com \
--   salesapp -c production.ini init
--
-- The grants the migrations give the app role (salesapp/operations/migrations.py,
-- grant_sql), for a DBA who migrates by hand or restores them; run as the owner role.
-- In the catalog (salesapp_catalog): the lookup tables, read-only; tenant_moves tells
-- app processes which tenant is moving and how long its writes pause.
--   GRANT SELECT ON tenants, domains, stores, placements, tenant_moves TO salesapp_app;
-- and the failed sign-ins the app counts there, deployment-wide (migration c0005 grants
-- it; the app role's only write in the catalog):
--   GRANT SELECT, INSERT, DELETE ON failed_sign_ins TO salesapp_app;
-- In the template, every pooled store and every dedicated database:
--   GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO salesapp_app;
--   REVOKE ALL ON alembic_version FROM salesapp_app;
--   REVOKE ALL ON tenant_fences FROM salesapp_app;
--   REVOKE UPDATE, DELETE, TRUNCATE ON audit_events, stock_movements FROM salesapp_app;
-- The app role is granted nothing else: no membership in any role (not the owner, not
-- pg_signal_backend). `salesapp check` fails on any, and `salesapp doctor --yes` revokes
-- it. A DBA does the same with:
--   REVOKE salesapp_owner FROM salesapp_app;
-- Databases `salesapp tenant create --dedicated` and `tenant move --to dedicated` make
-- get, from the owner, the same REVOKE ALL ... FROM PUBLIC and GRANT CONNECT, TEMPORARY
-- to both roles as salesapp_pool1 above.
