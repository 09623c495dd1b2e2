"""The audit log now belongs to core (core 0001 took over the table as it is)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0005_audit_reason_result_append_only"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEntry")],
            database_operations=[],
        ),
    ]
