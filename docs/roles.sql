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
-- migrations grant it SELECT/INSERT/UPDATE/DELETE on tenant tables and SELECT on the
-- catalog's lookup tables. Row-level security is forced on every tenant table, so
-- it sees only the rows of the tenant named by app.tenant_id.
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

-- Then, from the application host:
--   SALESAPP_CATALOG_URL=postgresql://salesapp_owner:...@db.internal/salesapp_catalog \
--   SALESAPP_SECRET_KEY=... SALESAPP_APP_PASSWORD=... SALESAPP_BASE_DOMAINS=example.com \
--   salesapp -c production.ini init
