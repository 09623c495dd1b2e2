from django.core.management.base import BaseCommand

from organizations import integrity


class Command(BaseCommand):
    help = "Verify every union tree's MPTT fields against the parent links; --repair fixes them."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="rebuild broken trees")

    def handle(self, *args, repair=False, **options):
        reports = integrity.verify_all()
        broken = [r for r in reports if not r.ok]
        nodes = sum(r.nodes for r in reports)
        self.stdout.write(f"{len(reports)} trees, {nodes} organizations, {len(broken)} broken")
        for report in broken:
            for problem in report.problems[:20]:
                self.stdout.write(f"  tree {report.tree_id}: {problem}")
            if len(report.problems) > 20:
                self.stdout.write(f"  … and {len(report.problems) - 20} more")
        if broken and repair:
            for report in broken:
                after = integrity.repair_tree(report.tree_id)
                state = "repaired" if after.ok else "STILL BROKEN"
                self.stdout.write(f"tree {report.tree_id}: {state}")
                if not after.ok:
                    raise SystemExit(1)
        elif broken:
            raise SystemExit(1)
