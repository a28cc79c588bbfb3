-- Houqin: database roles and the database itself, for the local docker compose stack.
--
-- The postgres image runs every file in /docker-entrypoint-initdb.d once, as the superuser
-- (POSTGRES_USER, default "postgres"), when it initialises an EMPTY data directory. It does not
-- run again on later starts; to re-apply it to an existing volume (the script is idempotent):
--
--   docker compose exec -T postgres psql -v ON_ERROR_STOP=1 -U postgres -d postgres \
--       -f /docker-entrypoint-initdb.d/01-roles.sql
--
-- Do not set POSTGRES_DB=houqin in the compose file: the image would then create the database
-- owned by the superuser before this script runs, and the tables' owner must not be a superuser.
--
-- !!! The passwords below ('ownerpw', 'apppw') are DEMO VALUES FOR LOCAL COMPOSE ONLY. They match
-- !!! DATABASE_URL / MIGRATION_DATABASE_URL in docker-compose.yml. In any shared or production
-- !!! environment create the roles with real secrets (or change them: ALTER ROLE ... PASSWORD).
--
-- Two roles, because of row-level security (see docs/operations.md):
--   houqin_owner  owns the database, the schema objects and every table; `houqin db upgrade`
--                 connects as it. Not a superuser: superusers always bypass RLS.
--   houqin_app    what the web/worker/beat processes connect as. LOGIN only: not superuser, no
--                 BYPASSRLS, owns nothing, cannot create objects; its table privileges are granted
--                 by `houqin db upgrade` after each migration. Policies therefore always apply to it.
--   (`houqin db create-app-role` creates the app role the same way on a server not set up by this
--   file.)

\set ON_ERROR_STOP on

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'houqin_owner') THEN
        CREATE ROLE houqin_owner LOGIN PASSWORD 'ownerpw'
            NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'houqin_app') THEN
        CREATE ROLE houqin_app LOGIN PASSWORD 'apppw'
            NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
    END IF;
END
$$;

-- Re-assert the attributes that RLS depends on, in case the roles already existed with others.
ALTER ROLE houqin_owner NOSUPERUSER NOBYPASSRLS;
ALTER ROLE houqin_app NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;

-- CREATE DATABASE cannot run inside a DO block (nor a transaction): build it conditionally and
-- let psql's \gexec execute it. template0 + UTF8 so Chinese text is stored whatever template1 is.
SELECT 'CREATE DATABASE houqin OWNER houqin_owner ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'houqin')
\gexec

-- Schema privileges are per database: switch to it (still as the superuser).
\connect houqin

-- PostgreSQL 15+ already creates schema public owned by pg_database_owner (here: houqin_owner)
-- and without CREATE for PUBLIC; the statements below make that explicit and also hold on older
-- servers or clusters initialised from a customised template.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO houqin_owner;
-- The app role may look up objects in the schema but never create any (it must own nothing).
-- `houqin db upgrade` grants this too, together with the table privileges.
GRANT USAGE ON SCHEMA public TO houqin_app;
-- The ranking engine stages a whole period in a temporary table (CREATE TEMP TABLE ... AS runs in
-- parallel, INSERT ... SELECT does not; see service/scoring/engine.py). The table is visible only to
-- the session that made it and dropped at commit. PUBLIC has this privilege by default, but a
-- hardened cluster may have revoked it.
GRANT TEMPORARY ON DATABASE houqin TO houqin_app;
