#!/usr/bin/env bash
# `make run`: web + Celery worker (with embedded beat) together, and live traffic from
# `manage.py simulate` unless PITBOSS_SIMULATE=0; Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
export PITBOSS_ENVIRONMENT="${PITBOSS_ENVIRONMENT:-demo}"
SIMULATE="${PITBOSS_SIMULATE:-1}"

if [ "$SIMULATE" != "0" ]; then
  # The simulator runs the payment providers' sandbox doubles; Pitboss calls them when a
  # deposit starts, so the server must be pointed at them (unless already configured).
  SIM_PORT="${PITBOSS_SIMULATE_PORT:-$((PORT + 100))}"
  export ADYEN_API_BASE_URL="${ADYEN_API_BASE_URL:-http://127.0.0.1:${SIM_PORT}/v71}"
  export NUVEI_API_BASE_URL="${NUVEI_API_BASE_URL:-http://127.0.0.1:$((SIM_PORT + 1))/ppp/api/v1}"
  export ZIMPLER_API_BASE_URL="${ZIMPLER_API_BASE_URL:-http://127.0.0.1:$((SIM_PORT + 2))/v4}"
fi

trap 'trap - EXIT INT TERM; kill 0 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

.venv/bin/celery -A backoffice worker -B --pool=solo --loglevel=WARNING \
  --schedule="${PITBOSS_DATA_DIR:-data}/celerybeat-schedule" &
worker=$!

echo
echo "=================================================================="
echo " Pitboss console:  http://${HOST}:${PORT}/admin/"
$PY manage.py load_demo --list-only | sed 's/^/ /'
if [ "$SIMULATE" != "0" ]; then
  echo " Live traffic: manage.py simulate at ${PITBOSS_SIMULATE_RATE:-0.5} actions/s (PITBOSS_SIMULATE=0: off)"
fi
echo "=================================================================="
echo

exec_cmd=(.venv/bin/gunicorn backoffice.wsgi:application --bind "${HOST}:${PORT}" --workers 2 --threads 4
          --access-logfile - --log-level warning)
"${exec_cmd[@]}" &
web=$!

if [ "$SIMULATE" != "0" ]; then
  # Starts once the server answers; runs until Ctrl-C. If it stops, the console goes on.
  PYTHONUNBUFFERED=1 $PY manage.py simulate --url "http://${HOST}:${PORT}" --rate "${PITBOSS_SIMULATE_RATE:-0.5}" \
    --duration 0 --threads 2 --wait 60 &
fi
wait -n "$worker" "$web"
