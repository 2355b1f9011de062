"""Reports in the console: the index (a card per report the operator may run), one page per
report (filter form, on-screen table with its chart, Generate PDF / CSV / XLSX, and a
CSV streamed on demand), the runs list (state, progress bar, who, when) and a run's page
(progress refreshed by htmx while it runs, files with size and SHA-256, audited downloads)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from unfold.admin import ModelAdmin
from unfold.decorators import display

from backoffice import audit, console
from backoffice.errors import DomainError
from backoffice.views import ReadOnlyAdminMixin, admin_context

from . import registry, run_tasks, runs  # noqa: F401  (run_tasks: registers the Celery tasks in every process)
from .render.csvfile import iter_csv
from .render.svg import chart_for
from .rollups import local_today
from .run_models import ReportFile, ReportRun

VIEW_RUNS = "reports.view_reportrun"
SCREEN_ROWS = 500


def _initial(report: registry.Report) -> dict:
    today = local_today()
    if issubclass(report.form_class, registry.MonthForm):
        date_from, date_to = runs.period_dates("previous_month", today=today)
    else:
        date_from, date_to = today.replace(day=1), today
    return {"date_from": date_from, "date_to": date_to}


def reports_index_view(request):
    cards = [
        {"report": r, "url": reverse(f"admin:reports_report_{r.key.replace('-', '_')}")}
        for r in registry.for_user(request.user)
    ]
    return TemplateResponse(
        request, "reports/index.html", admin_context(request, title="Reports", cards=cards)
    )


def report_view(request, key: str):
    """GET with the filters shows the table; POST with a format queues a run."""
    report = registry.get(key)
    if not request.user.has_perm(report.permission):
        raise PermissionDenied
    if request.method == "POST":
        fmt = request.POST.get("format", "")
        try:
            run = runs.report_run_request(
                key=key, params=request.POST.dict(), formats=[fmt], actor=request.user
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            form = report.form_class(request.POST)
            form.is_valid()
            return TemplateResponse(
                request,
                "reports/report.html",
                admin_context(request, title=report.title, report=report, form=form),
                status=400,
            )
        messages.success(request, f"Run #{run.pk} queued: {fmt.upper()} of {report.title}.")
        return redirect("admin:reports_reportrun_change", run.pk)
    submitted = "date_from" in request.GET
    form = report.form_class(request.GET if submitted else None, initial=_initial(report))
    context = {"report": report, "form": form}
    if submitted and form.is_valid():
        params = report.clean(request.GET.dict())
        table = report.table(params)
        if request.GET.get("export") == "csv":
            return _csv_stream(request, report, params, table)
        rows = []
        for i, row in enumerate(table.iter_rows()):
            if i >= SCREEN_ROWS:
                context["truncated"] = True
                break
            rows.append(row)
        context.update(
            table=table,
            rows=[[(c.text(r), c.kind not in ("text", "date")) for c in table.columns] for r in rows],
            totals=[(c.text(table.totals), c.kind not in ("text", "date")) for c in table.columns]
            if table.totals
            else None,
            chart=mark_safe(chart_for(table, rows)),  # every label escaped by the chart module
            csv_url=f"{request.path}?{request.GET.urlencode()}&export=csv",
            params=params,
        )
    return TemplateResponse(
        request, "reports/report.html", admin_context(request, title=report.title, **context)
    )


def _csv_stream(request, report, params: dict, table) -> StreamingHttpResponse:
    """The table as CSV, streamed row by row from the query's iterator (constant memory)."""
    audit.record(
        actor=request.user, action="reports.report.export_csv", after={"key": report.key, "params": params}
    )
    response = StreamingHttpResponse(iter_csv(table), content_type="text/csv; charset=utf-8")
    name = f"{report.key}-{params['date_from']}-{params['date_to']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


console.register_view("reports/", reports_index_view, "reports_index", VIEW_RUNS)
for _report in registry.all_reports():
    console.register_view(
        f"reports/{_report.key}/",
        (lambda key: lambda request: report_view(request, key))(_report.key),
        f"reports_report_{_report.key.replace('-', '_')}",
        _report.permission,
    )
console.register_nav(console.NavItem("Reports", "Reports", "admin:reports_index", VIEW_RUNS, "summarize", 1))
console.register_nav(
    console.NavItem("Reports", "Report runs", "admin:reports_reportrun_changelist", VIEW_RUNS, "history", 2)
)


# --- runs ------------------------------------------------------------------------------------


def progress_bar(run: ReportRun) -> str:
    colour = {"failed": "bg-red-600", "done": "bg-green-600"}.get(run.state, "bg-primary-600")
    return format_html(
        '<div class="flex items-center gap-2 min-w-32">'
        '<div class="bg-base-100 dark:bg-base-800 grow h-1.5 overflow-hidden rounded-default" '
        'role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
        '<div class="h-1.5 {}" style="width: {}%"></div></div>'
        '<span class="text-xs whitespace-nowrap">{} %</span></div>',
        run.progress,
        colour,
        run.progress,
        run.progress,
    )


def _keys_for(user) -> list[str]:
    return [r.key for r in registry.for_user(user)]


@admin.register(ReportRun)
class ReportRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "run_link",
        "report",
        "period",
        "state",
        "progress_display",
        "who",
        "created_at",
        "finished_at",
    ]
    list_display_links = None
    list_filter = ["state", "key"]
    list_select_related = ["requested_by"]
    show_full_result_count = False
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # An operator lists the runs of the reports they may run (and so download).
        return super().get_queryset(request).filter(key__in=_keys_for(request.user))

    @display(description="Run")
    def run_link(self, obj):
        return format_html(
            '<a class="text-primary-600 font-semibold" href="{}">#{}</a>',
            reverse("admin:reports_reportrun_change", args=[obj.pk]),
            obj.pk,
        )

    @display(description="Report")
    def report(self, obj):
        try:
            return registry.get(obj.key).title
        except LookupError:
            return obj.key

    @display(description="Period")
    def period(self, obj):
        return runs._period(obj.params)

    @display(description="Progress")
    def progress_display(self, obj):
        return progress_bar(obj)

    @display(description="Requested by")
    def who(self, obj):
        return obj.requester

    def get_urls(self):
        return [
            path(
                "<int:run_id>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="reports_reportrun_progress",
            ),
            path(
                "files/<int:file_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="reports_reportfile_download",
            ),
            *super().get_urls(),
        ]

    def _run(self, request, run_id) -> ReportRun:
        if not request.user.has_perm(VIEW_RUNS):
            raise PermissionDenied
        run = get_object_or_404(
            ReportRun.objects.select_related("requested_by").prefetch_related("files"), pk=run_id
        )
        if run.key not in _keys_for(request.user):
            raise PermissionDenied
        return run

    def _context(self, run: ReportRun) -> dict:
        try:
            report = registry.get(run.key)
        except LookupError:
            report = None
        active = run.state in (ReportRun.State.QUEUED, ReportRun.State.RUNNING)
        return {
            "run": run,
            "report": report,
            "params": report.describe(run.params) if report else list(run.params.items()),
            "files": list(run.files.all()),
            "active": active,
            "bar": progress_bar(run),
            "poll_url": reverse("admin:reports_reportrun_progress", args=[run.pk]) if active else "",
            "elapsed": ((run.finished_at or timezone.now()) - run.started_at).total_seconds()
            if run.started_at
            else None,
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self._run(request, object_id)
        title = f"Run #{run.pk}: {self.report(run)}"
        return TemplateResponse(
            request,
            "reports/run.html",
            admin_context(request, title=title, opts=self.opts, **self._context(run)),
        )

    def progress_view(self, request, run_id: int):
        run = self._run(request, run_id)
        return TemplateResponse(request, "reports/run_progress.html", self._context(run))

    def download_view(self, request, file_id: int):
        try:
            f, filepath = runs.report_file_open(file_id=file_id, actor=request.user)
        except ReportFile.DoesNotExist:
            raise Http404 from None
        except DomainError as exc:
            if exc.code == "forbidden":
                raise PermissionDenied from None
            raise Http404(exc.message) from None
        if not filepath.exists():
            raise Http404("The file is missing from storage.")
        name = f"{f.run.key}-{f.run.params.get('date_from')}-{f.run.params.get('date_to')}-run{f.run_id}.{f.format}"
        # FileResponse streams the stored file in chunks: constant memory whatever its size.
        return FileResponse(filepath.open("rb"), as_attachment=True, filename=name)
