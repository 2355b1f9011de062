# Pitboss production image: gunicorn web, Celery worker and beat from the same image.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PITBOSS_DATA_DIR=/data STATIC_ROOT=/app/staticfiles

RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-dejavu-core postgresql-client curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY . .
RUN useradd --system --home /app --uid 1000 pitboss \
 && mkdir -p /data /app/staticfiles && chown -R pitboss /data /app/staticfiles
# collectstatic at build time needs no database or secrets.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput -v0

USER pitboss
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["scripts/docker-web.sh"]
