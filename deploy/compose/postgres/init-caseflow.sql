-- caseflow's roles and databases in the compose PostgreSQL (deploy/compose/compose.yaml mounts this file into
-- /docker-entrypoint-initdb.d). The image runs it ONCE, as the superuser, when the data volume is empty; to add a
-- service or change a password later, run the same statements (or ALTER ROLE ... PASSWORD) with psql by hand.
--
-- Each service gets a login role and a database of the same name owned by it: the service creates its schema and
-- tables there itself at start (its migrations), so it must own the database. Nobody else may connect to it
-- (REVOKE CONNECT FROM PUBLIC; the owner keeps its own privileges). The passwords come from the container's
-- environment (CASEFLOW_DB_PASSWORD_<ROLE>, set from the compose env file), read with psql's \getenv (psql 15+);
-- they must be URL-safe, since each service receives postgresql://<role>:<password>@postgres:5432/<role>.
\set ON_ERROR_STOP on

-- intake
\getenv intake_password CASEFLOW_DB_PASSWORD_INTAKE
\if :{?intake_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_INTAKE is not set in the postgres container'; END $$;
\endif
CREATE ROLE intake LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'intake_password';
CREATE DATABASE intake OWNER intake;
REVOKE CONNECT, TEMPORARY ON DATABASE intake FROM PUBLIC;

-- legal_aid
\getenv legal_aid_password CASEFLOW_DB_PASSWORD_LEGAL_AID
\if :{?legal_aid_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_LEGAL_AID is not set in the postgres container'; END $$;
\endif
CREATE ROLE legal_aid LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'legal_aid_password';
CREATE DATABASE legal_aid OWNER legal_aid;
REVOKE CONNECT, TEMPORARY ON DATABASE legal_aid FROM PUBLIC;

-- mediation
\getenv mediation_password CASEFLOW_DB_PASSWORD_MEDIATION
\if :{?mediation_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_MEDIATION is not set in the postgres container'; END $$;
\endif
CREATE ROLE mediation LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'mediation_password';
CREATE DATABASE mediation OWNER mediation;
REVOKE CONNECT, TEMPORARY ON DATABASE mediation FROM PUBLIC;

-- notary
\getenv notary_password CASEFLOW_DB_PASSWORD_NOTARY
\if :{?notary_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_NOTARY is not set in the postgres container'; END $$;
\endif
CREATE ROLE notary LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'notary_password';
CREATE DATABASE notary OWNER notary;
REVOKE CONNECT, TEMPORARY ON DATABASE notary FROM PUBLIC;

-- metrics
\getenv metrics_password CASEFLOW_DB_PASSWORD_METRICS
\if :{?metrics_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_METRICS is not set in the postgres container'; END $$;
\endif
CREATE ROLE metrics LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'metrics_password';
CREATE DATABASE metrics OWNER metrics;
REVOKE CONNECT, TEMPORARY ON DATABASE metrics FROM PUBLIC;

-- gateway
\getenv gateway_password CASEFLOW_DB_PASSWORD_GATEWAY
\if :{?gateway_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_GATEWAY is not set in the postgres container'; END $$;
\endif
CREATE ROLE gateway LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'gateway_password';
CREATE DATABASE gateway OWNER gateway;
REVOKE CONNECT, TEMPORARY ON DATABASE gateway FROM PUBLIC;

-- router
\getenv router_password CASEFLOW_DB_PASSWORD_ROUTER
\if :{?router_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'CASEFLOW_DB_PASSWORD_ROUTER is not set in the postgres container'; END $$;
\endif
CREATE ROLE router LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'router_password';
CREATE DATABASE router OWNER router;
REVOKE CONNECT, TEMPORARY ON DATABASE router FROM PUBLIC;
