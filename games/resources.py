"""The games catalogue as CSV (django-import-export). A row names its provider by code;
markets are comma-separated country codes. An import is all or nothing: one bad row
(an unknown provider, an RTP of 120) and no row is written."""

from import_export import fields, resources, widgets

from backoffice import audit

from .models import Game, GameProvider

UNKNOWN_PROVIDER = "Unknown game provider {code!r}: create it first (manage.py create_game_provider)."


class ProviderByCodeWidget(widgets.ForeignKeyWidget):
    def __init__(self):
        super().__init__(GameProvider, field="code")

    def clean(self, value, row=None, **kwargs):
        try:
            return super().clean(value, row, **kwargs)
        except GameProvider.DoesNotExist:
            raise ValueError(UNKNOWN_PROVIDER.format(code=value)) from None


class MarketsWidget(widgets.SimpleArrayWidget):
    """ "MT, se,FI" <-> ["MT", "SE", "FI"]."""

    def clean(self, value, row=None, **kwargs):
        return [m.strip().upper() for m in str(value or "").split(self.separator) if m.strip()]

    def render(self, value, obj=None, **kwargs):
        return self.separator.join(value or [])


class GameResource(resources.ModelResource):
    provider = fields.Field(attribute="provider", column_name="provider", widget=ProviderByCodeWidget())
    markets = fields.Field(attribute="markets", column_name="markets", widget=MarketsWidget())

    class Meta:
        model = Game
        fields = (
            "provider",
            "external_code",
            "title",
            "category",
            "rtp",
            "wagering_contribution",
            "markets",
            "enabled",
        )
        export_order = fields
        import_id_fields = ("provider", "external_code")
        clean_model_instances = True  # model validators and check constraints, row by row
        use_transactions = True
        skip_unchanged = True
        report_skipped = True

    def import_data(self, dataset, *args, **kwargs):
        # All or nothing, from the console and from the shell alike.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    def import_instance(self, instance, row, **kwargs):
        try:
            super().import_instance(instance, row, **kwargs)
        finally:
            # Before validation, so the global code's uniqueness is checked too.
            if instance.provider_id and instance.external_code:
                instance.code = Game.code_for(instance.provider.code, instance.external_code)

    def after_import(self, dataset, result, **kwargs):
        if kwargs.get("dry_run") or result.has_errors() or result.has_validation_errors():
            return
        totals = dict(result.totals)
        audit.record(
            actor=kwargs.get("user"),
            action="games.game.import",
            after={k: totals.get(k, 0) for k in ("new", "update", "skip")},
            note=kwargs.get("file_name") or "",
        )
