"""Models moved into core keep their rows: migrating a database of the previous layout (with
data in it) to the current one loses nothing, on PostgreSQL."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import AuditEntry

BEFORE_MOVE = [("organizations", "0005_audit_reason_result_append_only"), ("core", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.migrate(targets).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_audit_entries_keep_rows_ids_and_permissions_when_the_log_moves_to_core(django_user_model):
    assert connection.vendor == "postgresql"
    try:
        old = migrate(BEFORE_MOVE)
        Organization = old.get_model("organizations", "Organization")
        OldEntry = old.get_model("organizations", "AuditEntry")
        ContentType = old.get_model("contenttypes", "ContentType")
        Permission = old.get_model("auth", "Permission")
        union = Organization.objects.create(
            name="迁移测试工会", level="national", tree_id=9001, lft=1, rght=2, depth=0
        )
        user = django_user_model.objects.create(username="auditor")
        entry = OldEntry.objects.create(
            actor_id=user.pk,
            action="member.enrolled",
            object_type="members.member",
            object_id="42",
            organization_id=union.pk,
            changes={"name": "张三"},
            reason="迁移前",
        )
        content_type, _ = ContentType.objects.get_or_create(
            app_label="organizations", model="auditentry"
        )
        permission, _ = Permission.objects.get_or_create(
            content_type=content_type,
            codename="view_auditentry",
            defaults={"name": "Can view audit entry"},
        )

        migrate(latest())

        moved = AuditEntry.objects.get(pk=entry.pk)
        assert (moved.action, moved.object_id, moved.changes, moved.reason) == (
            "member.enrolled",
            "42",
            {"name": "张三"},
            "迁移前",
        )
        assert (moved.actor_id, moved.organization_id) == (user.pk, union.pk)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT app_label FROM django_content_type WHERE id = %s", [content_type.pk]
            )
            assert cursor.fetchone() == ("core",)
            cursor.execute(
                "SELECT content_type_id FROM auth_permission WHERE id = %s", [permission.pk]
            )
            assert cursor.fetchone() == (content_type.pk,)
        # Still append-only: the trigger came along with the table.
        with pytest.raises(Exception, match="audit entries are append-only"):
            AuditEntry.objects.filter(pk=entry.pk).update(reason="改")
    finally:
        migrate(latest())
