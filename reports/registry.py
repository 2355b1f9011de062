"""The report registry: each report is a key, a title, the permission to run it, a filter
form, and a function that returns its table (typed columns, rows as an iterator so exports
stream, totals, an optional chart, the data's as-of time). Screens, Celery runs and
`manage.py run_report` all go through `get` and `Report.build`; definitions live in
reports/definitions/, one module per report, registered on import."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django import forms

from backoffice.forms import ConsoleForm
from backoffice.money import exponent, format_minor

UNKNOWN_REPORT = "There is no report {key!r}. Reports: {keys}."
RANGE_REVERSED = "The first day ({date_from}) is after the last ({date_to})."
RANGE_TOO_LONG = "A report covers at most {days} days: shorten the range."
WHOLE_MONTH = "A monthly return covers one calendar month: from its first day to its last."
MAX_DAYS = 731

# Who may run which reports (the role map in backoffice/roles.py grants these).
MONEY = "reports.run_money_reports"
COMPLIANCE = "reports.run_compliance_reports"


@dataclass(frozen=True)
class Column:
    """A typed column. `kind`: text, int, money (minor units; `currency` names the row key
    holding the currency, or is a fixed code such as "EUR"), percent (a Decimal fraction,
    0.25 = 25 %), decimal, date."""

    key: str
    label: str
    kind: str = "text"
    currency: str = "currency"

    def currency_of(self, row: dict) -> str:
        if len(self.currency) == 3 and self.currency.isupper():
            return self.currency
        return row.get(self.currency) or ""

    def value(self, row: dict):
        """The cell as data: money as a Decimal in major units (exact), others as stored."""
        v = row.get(self.key)
        if v is None or v == "":
            return None
        if self.kind == "money":
            return Decimal(int(v)).scaleb(-exponent(self.currency_of(row)))
        return v

    def text(self, row: dict) -> str:
        """The cell as people read it (screens, PDF)."""
        v = row.get(self.key)
        if v is None or v == "":
            return ""
        if self.kind == "money":
            return format_minor(int(v), self.currency_of(row))
        if self.kind == "percent":
            return f"{Decimal(v) * 100:.2f} %"
        if self.kind == "int":
            return f"{int(v):,}"
        if self.kind == "date":
            return v.isoformat() if isinstance(v, date) else str(v)
        return str(v)

    def plain(self, row: dict) -> str:
        """The cell in a CSV: no thousands separators, money as "1234.50", percent as 12.50."""
        v = self.value(row)
        if v is None:
            return ""
        if self.kind == "percent":
            return f"{Decimal(v) * 100:.2f}"
        if isinstance(v, date):
            return v.isoformat()
        return str(v)


@dataclass(frozen=True)
class ChartSpec:
    """What to draw from the rows: a bar or line chart of one or more numeric columns
    against a label column (reports/render/svg.py)."""

    kind: str  # "bar" | "line"
    x: str
    series: tuple[str, ...]
    title: str = ""
    where: tuple[tuple[str, object], ...] = ()  # only rows with these key/value pairs


@dataclass
class Table:
    columns: list[Column]
    rows: Iterable[dict]
    as_of: datetime
    totals: dict | None = None
    chart: ChartSpec | None = None
    notes: list[str] = field(default_factory=list)

    def iter_rows(self) -> Iterator[dict]:
        return iter(self.rows)


@dataclass(frozen=True)
class Report:
    key: str
    title: str
    description: str
    permission: str
    form_class: type[forms.Form]
    build: Callable[[dict], Table]
    order: int = 100

    def clean(self, data: dict) -> dict:
        """Validate raw parameters (a POST, the command's options, a schedule's kwargs).
        Returns JSON-able params; raises forms.ValidationError with the form's messages."""
        form = self.form_class(data)
        if not form.is_valid():
            raise forms.ValidationError(
                [f"{k}: {m}" if k != "__all__" else m for k, ms in form.errors.items() for m in ms]
            )
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in form.cleaned_data.items()}

    def table(self, params: dict) -> Table:
        return self.build(parse_params(params))

    def describe(self, params: dict) -> list[tuple[str, str]]:
        """The parameters as label/value pairs, for the PDF's title page and the screens."""
        form = self.form_class()
        out = []
        names = [n for n in form.fields if n in params] + [n for n in params if n not in form.fields]
        for name in names:
            value = params[name]
            f = form.fields.get(name)
            label = f.label if f is not None and f.label else name.replace("_", " ").capitalize()
            if f is not None and getattr(f, "choices", None):
                value = dict(f.choices).get(value, value)
            out.append((str(label), str(value) if value not in ("", None) else "all"))
        return out


def parse_params(params: dict) -> dict:
    out = dict(params)
    for k in ("date_from", "date_to"):
        if isinstance(out.get(k), str):
            out[k] = date.fromisoformat(out[k])
    return out


class DateRangeForm(ConsoleForm):
    date_from = forms.DateField(
        label="From", error_messages={"required": "Give the first day.", "invalid": "Write it as 2026-01-31."}
    )
    date_to = forms.DateField(
        label="To", error_messages={"required": "Give the last day.", "invalid": "Write it as 2026-01-31."}
    )

    def clean(self):
        d = super().clean()
        a, b = d.get("date_from"), d.get("date_to")
        if a and b:
            if a > b:
                raise forms.ValidationError(RANGE_REVERSED.format(date_from=a, date_to=b))
            if (b - a).days >= MAX_DAYS:
                raise forms.ValidationError(RANGE_TOO_LONG.format(days=MAX_DAYS))
        return d


class MonthForm(DateRangeForm):
    """A monthly return: the range must be one whole calendar month."""

    def clean(self):
        d = super().clean()
        a, b = d.get("date_from"), d.get("date_to")
        if a and b:
            nxt = date(a.year + a.month // 12, a.month % 12 + 1, 1)
            if a.day != 1 or (a.year, a.month) != (b.year, b.month) or (nxt - b).days != 1:
                raise forms.ValidationError(WHOLE_MONTH)
        return d


_reports: dict[str, Report] = {}


def register(report: Report) -> Report:
    _reports[report.key] = report
    return report


def _load() -> None:
    from . import definitions  # noqa: F401  (registers every report)


def all_reports() -> list[Report]:
    _load()
    return sorted(_reports.values(), key=lambda r: (r.order, r.title))


def get(key: str) -> Report:
    _load()
    try:
        return _reports[key]
    except KeyError:
        raise LookupError(UNKNOWN_REPORT.format(key=key, keys=", ".join(sorted(_reports)))) from None


def for_user(user) -> list[Report]:
    return [r for r in all_reports() if user.has_perm(r.permission)]
