#!/bin/sh
# The web container: migrate (idempotent; safe with several replicas thanks to
# PostgreSQL's migration lock), collect static files, then serve.
set -e
python manage.py migrate --noinput
python manage.py collectstatic --noinput -v0
exec gunicorn backoffice.wsgi:application --bind 0.0.0.0:8000 \
  --workers "${GUNICORN_WORKERS:-4}" --threads "${GUNICORN_THREADS:-2}" \
  --access-logfile - --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1}"
