"""On PostgreSQL the audit log is insert-only: a trigger refuses UPDATE and DELETE,
whoever issues them. TRUNCATE is left to privileges (docs/deploy.md: the application
role has no TRUNCATE in production; the test runner needs it to reset its database).
SQLite (the embedded demo) has no such guard."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION pitboss_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pitboss: % on % is not allowed (insert-only table)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER backoffice_auditevent_insert_only
  BEFORE UPDATE OR DELETE ON backoffice_auditevent
  FOR EACH ROW EXECUTE FUNCTION pitboss_refuse_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS backoffice_auditevent_insert_only ON backoffice_auditevent;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("backoffice", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
