#!/bin/sh
# Starts the caseflow role named by CASEFLOW_SERVICE (set per image by the SERVICE build arg).
#   serve        run the role (default)
#   healthcheck  exit 0 when the role is healthy: GET /healthz for HTTP roles, always 0 for worker/router
set -eu
role="${CASEFLOW_SERVICE:?CASEFLOW_SERVICE is not set}"
port="${PORT:-8101}"
case "${1:-serve}" in
  healthcheck)
    case "$role" in
      metrics-worker|router) exit 0 ;;
    esac
    exec python -c "import sys, urllib.request as u; sys.exit(0 if u.urlopen('http://127.0.0.1:${port}/healthz', timeout=2).status == 200 else 1)"
    ;;
  serve)
    case "$role" in
      metrics-worker) exec python -m services.metrics.writer ;;
      router) exec python -m integrations.router ;;
      *)
        # every other role is an HTTP service: services/<role>/main.py with a create_app factory
        [ -f "/app/services/${role}/main.py" ] || { echo "unknown CASEFLOW_SERVICE: $role" >&2; exit 64; }
        exec uvicorn --factory "services.${role}.main:create_app" --host 0.0.0.0 --port "$port" \
          --no-access-log --proxy-headers --forwarded-allow-ips='*' ;;
    esac
    ;;
  *) exec "$@" ;;
esac
