#!/usr/bin/env bash
# `make run`: web + Celery worker (with embedded beat) together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT="${PORT:-8000}"
HOST="${HOST:-127.0.0.1}"
export PITBOSS_ENVIRONMENT="${PITBOSS_ENVIRONMENT:-demo}"

trap 'trap - EXIT INT TERM; kill 0 2>/dev/null; wait 2>/dev/null' EXIT INT TERM

.venv/bin/celery -A backoffice worker -B --pool=solo --loglevel=WARNING \
  --schedule="${PITBOSS_DATA_DIR:-data}/celerybeat-schedule" &

echo
echo "=================================================================="
echo " Pitboss console:  http://${HOST}:${PORT}/admin/"
$PY manage.py load_demo --list-only | sed 's/^/ /'
echo "=================================================================="
echo

exec_cmd=(.venv/bin/gunicorn backoffice.wsgi:application --bind "${HOST}:${PORT}" --workers 2 --threads 4
          --access-logfile - --log-level warning)
"${exec_cmd[@]}" &
wait -n
