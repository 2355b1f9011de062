from django.core.management.base import BaseCommand

from backoffice.roles import sync_roles


class Command(BaseCommand):
    help = "Make the role groups match backoffice/roles.py exactly (also runs after every migrate)."

    def handle(self, **opts):
        for role, n in sync_roles().items():
            self.stdout.write(f"{role}: {n} permissions")
