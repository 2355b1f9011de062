"""Free-text player search on PostgreSQL: pg_trgm and a GIN trigram index on
search_text, so `LIKE '%anna%'` over a million players reads the index, not the table.
SQLite (the `make run` demo) scans instead; nothing else depends on the index."""

from django.db import migrations


def backfill_search_text(apps, schema_editor):
    Player = apps.get_model("players", "Player")
    for p in Player.objects.filter(search_text="").iterator():
        p.search_text = " ".join(x for x in (p.first_name, p.last_name, p.email) if x).lower()[:400]
        p.save(update_fields=["search_text"])


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm", params=None)
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS player_search_trgm ON players_player "
        "USING gin (search_text gin_trgm_ops)",
        params=None,
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS player_search_trgm", params=None)


class Migration(migrations.Migration):
    dependencies = [("players", "0002_consents_sessions_notes")]

    operations = [
        migrations.RunPython(backfill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
