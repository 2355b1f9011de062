"""The rollups and FX rates in the console: read-only lists (the rows are derived data,
recomputed by Celery and `manage.py rebuild_rollups`; rates come from `import_fx_rates`).
The dashboard and report screens read them through reports.selectors."""

from django.contrib import admin
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice.money import format_minor
from backoffice.views import ReadOnlyAdminMixin

from .models import DailyGame, DailyMarket, DailyPayment, FxRate, RollupDay


def _eur(value) -> str:
    return "no FX rate" if value is None else format_minor(value, "EUR")


class _Rollup(ReadOnlyAdminMixin, ModelAdmin):
    date_hierarchy = "day"
    show_full_result_count = False
    list_per_page = 100

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]


@admin.register(DailyMarket)
class DailyMarketAdmin(_Rollup):
    list_display = [
        "day",
        "market",
        "currency",
        "registrations",
        "ftd_count",
        "active_players",
        "deposits",
        "ggr_display",
        "ngr_display",
        "ngr_eur_display",
        "tax_display",
        "final",
    ]
    list_filter = ["market", "currency", "final"]

    @display(description="Deposits")
    def deposits(self, obj):
        return format_minor(obj.deposits_amount, obj.currency)

    @display(description="GGR")
    def ggr_display(self, obj):
        return format_minor(obj.ggr, obj.currency)

    @display(description="NGR")
    def ngr_display(self, obj):
        return format_minor(obj.ngr, obj.currency)

    @display(description="NGR (EUR)")
    def ngr_eur_display(self, obj):
        return _eur(obj.ngr_eur)

    @display(description="Gaming tax")
    def tax_display(self, obj):
        return format_minor(obj.gaming_tax, obj.currency)


@admin.register(DailyGame)
class DailyGameAdmin(_Rollup):
    list_display = [
        "day",
        "game",
        "provider",
        "currency",
        "rounds",
        "players",
        "bets_display",
        "ggr_display",
        "final",
    ]
    list_filter = ["provider", "currency", "final"]
    list_select_related = ["game", "provider"]

    @display(description="Bets")
    def bets_display(self, obj):
        return format_minor(obj.bets, obj.currency)

    @display(description="GGR")
    def ggr_display(self, obj):
        return format_minor(obj.ggr, obj.currency)


@admin.register(DailyPayment)
class DailyPaymentAdmin(_Rollup):
    list_display = [
        "day",
        "provider",
        "method",
        "currency",
        "direction",
        "attempts",
        "successes",
        "amount_display",
        "fees_display",
        "final",
    ]
    list_filter = ["provider", "direction", "currency", "final"]

    @display(description="Amount")
    def amount_display(self, obj):
        return format_minor(obj.amount, obj.currency)

    @display(description="Fees")
    def fees_display(self, obj):
        return format_minor(obj.fees, obj.currency)


@admin.register(RollupDay)
class RollupDayAdmin(_Rollup):
    list_display = ["day", "computed_at", "duration_ms", "final", "finalised_at", "missing"]
    list_filter = ["final"]

    @display(description="Missing FX rates")
    def missing(self, obj):
        return ", ".join(m["currency"] for m in obj.missing_rates) or "-"


@admin.register(FxRate)
class FxRateAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["date", "currency", "rate", "source", "imported_at"]
    list_filter = ["currency", "source"]
    date_hierarchy = "date"
    show_full_result_count = False
    readonly_fields = ["date", "currency", "rate", "source", "imported_at"]


# Report pages, runs and downloads (reports/admin_reports.py); also registers the run tasks.
from . import admin_reports  # noqa: E402, F401
