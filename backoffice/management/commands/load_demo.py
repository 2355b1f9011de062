from django.core.management.base import BaseCommand

from backoffice.demo import DEMO_OPERATORS, DEMO_PASSWORD, ensure_demo_operators


class Command(BaseCommand):
    help = "Load the demo data once: demo operators (one per role) and what other apps add."

    def add_arguments(self, parser):
        parser.add_argument("--list-only", action="store_true", help="print the demo logins, load nothing")

    def handle(self, list_only=False, **opts):
        if not list_only:
            ensure_demo_operators()
            from players.demo import ensure_demo_players

            created = ensure_demo_players()
            if created:
                self.stdout.write(f"Demo players loaded: {created} (MT, SE, FI, GB, DE).")
            from compliance.demo import ensure_demo_compliance

            money_loaded = False
            if ensure_demo_compliance():
                self.stdout.write("Demo compliance data loaded: KYC queue, limits, exclusions, RG alerts.")
                money_loaded = True
            from games.demo import ensure_demo_games, ensure_demo_rounds

            if games := ensure_demo_games():
                self.stdout.write(f"Demo games catalogue loaded: {games} games from 5 fictional providers.")
            if rounds := ensure_demo_rounds():
                self.stdout.write(f"Demo game rounds played through the seamless wallet: {rounds}.")
                money_loaded = True
            from payments.demo import ensure_demo_payments

            if payments := ensure_demo_payments():
                by_provider = ", ".join(f"{p} {n}" for p, n in sorted(payments.deposits.items()))
                self.stdout.write(
                    f"Demo deposits through the provider sandboxes: {sum(payments.deposits.values())} "
                    f"credited ({by_provider}), {payments.failed} failed, {payments.duplicates} "
                    f"duplicate notification, {payments.refused} players refused by the gates."
                )
                self.stdout.write(
                    f"Demo withdrawals requested: {payments.in_review} in review, {payments.held} held by a check."
                )
                self.stdout.write(
                    f"Demo chargebacks: {payments.chargebacks} on an Adyen deposit (player suspended)."
                )
                money_loaded = True
            if money_loaded:
                # Prove the demo ledger once, so the dashboard's ledger tile has a result.
                from wallet.tasks import ledger_verify_task

                result = ledger_verify_task.apply().get()
                self.stdout.write(
                    f"Ledger verified: {'every invariant holds' if result['ok'] else 'VIOLATIONS'}."
                )
        self.stdout.write(f"Demo operators (password for all: {DEMO_PASSWORD}):")
        for email, _name, role_names in DEMO_OPERATORS:
            self.stdout.write(f"  {email:28} {', '.join(role_names)}")
        self.stdout.write(
            "Second factor: python manage.py totp_code EMAIL prints the current code of a demo operator."
        )
