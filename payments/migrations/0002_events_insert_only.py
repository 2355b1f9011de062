"""A payment's event history is append-only: PostgreSQL refuses UPDATE and DELETE on it."""

from django.db import migrations

FORWARD = """
CREATE TRIGGER payments_paymentevent_insert_only
  BEFORE UPDATE OR DELETE ON payments_paymentevent
  FOR EACH ROW EXECUTE FUNCTION pitboss_refuse_change();
"""
BACKWARD = "DROP TRIGGER IF EXISTS payments_paymentevent_insert_only ON payments_paymentevent;"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    # pitboss_refuse_change() comes from the audit log's migration.
    dependencies = [("payments", "0001_initial"), ("backoffice", "0002_audit_immutable")]
    operations = [migrations.RunPython(forward, backward)]
