#!/usr/bin/env bash
# Runs once, when the PostgreSQL container initialises an empty data directory: a read-only
# role for Grafana's campaign panels (SELECT only, so a dashboard can never change a figure).
# Default privileges extend it to the tables and views the migration job and
# `initiatives projector rebuild` create later, as the application's role: among them the
# views the panels read, v_progress and v_status (none exists yet when this runs, so a
# GRANT naming them here would fail).
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v reader_password="$GRAFANA_DB_PASSWORD" <<'SQL'
CREATE ROLE grafana_reader LOGIN PASSWORD :'reader_password';
GRANT USAGE ON SCHEMA public TO grafana_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana_reader;
SQL
