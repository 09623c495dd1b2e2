"""The directory's search keys now hold the short name's pinyin and initials before the full
name's (`validators.search_keys`): recompute them for every union."""

from django.db import migrations


def recompute(apps, schema_editor):
    from organizations.validators import search_keys

    Organization = apps.get_model("organizations", "Organization")
    rows = Organization.objects.only("pk", "name", "short_name").order_by("pk")
    batch = []
    for org in rows.iterator(chunk_size=2000):
        org.name_pinyin, org.name_initials = search_keys(org.name, org.short_name)
        batch.append(org)
        if len(batch) == 2000:
            Organization.objects.bulk_update(batch, ["name_pinyin", "name_initials"])
            batch = []
    Organization.objects.bulk_update(batch, ["name_pinyin", "name_initials"])


class Migration(migrations.Migration):
    dependencies = [("organizations", "0007_union_import")]

    operations = [migrations.RunPython(recompute, migrations.RunPython.noop, elidable=True)]
