import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from backoffice.models import ApprovalRequest, AuditEvent
from wallet import views
from wallet.models import LedgerVerifyRun, Transaction
from wallet.tasks import ledger_verify_task
from wallet.tests.factories import bet, fund, player_with_accounts

pytestmark = pytest.mark.django_db


def _history(player, n: int) -> None:
    fund(player, 10 * n + 10)
    for _ in range(n):
        bet(player, 10)


@pytest.mark.parametrize(
    "url_name",
    ["wallet_account_changelist", "wallet_transaction_changelist", "wallet_ledgerverifyrun_changelist"],
)
def test_lists_render_with_a_fixed_number_of_queries(
    client, operators, url_name, django_assert_max_num_queries
):
    client.force_login(operators["finance"])
    player, _ = player_with_accounts()
    _history(player, 3)
    with django_assert_max_num_queries(25):
        short = client.get(reverse(f"admin:{url_name}"))
    _history(player, 40)
    with django_assert_max_num_queries(25):
        long = client.get(reverse(f"admin:{url_name}"))
    assert short.status_code == long.status_code == 200


def test_transaction_page_shows_its_postings(client, operators):
    client.force_login(operators["finance"])
    player, _ = player_with_accounts()
    txn = fund(player, 123450)
    r = client.get(reverse("admin:wallet_transaction_change", args=[txn.pk]))
    assert r.status_code == 200
    assert b"EUR 1,234.50" in r.content and b"EUR -1,234.50" in r.content


def _adjustment_post(client, player, amount, direction="credit"):
    url = reverse("admin:wallet_adjustment_create")
    form = client.get(url)
    key = form.context["form"].initial["idempotency_key"]
    return client.post(
        url,
        {
            "player": player.public_id,
            "direction": direction,
            "amount": amount,
            "reason": "goodwill",
            "reference": "T-1",
            "idempotency_key": key,
        },
        follow=True,
    )


def test_adjustment_form_posts_in_major_units(client, operators):
    client.force_login(operators["finance"])
    player, _ = player_with_accounts()
    r = _adjustment_post(client, player, "12.50")
    assert r.status_code == 200 and b"EUR 12.50 posted to" in r.content
    assert Transaction.objects.get(kind="adjustment").postings.get(account__player=player).amount == 1250


def test_adjustment_form_shows_errors(client, operators, settings):
    client.force_login(operators["finance"])
    player, _ = player_with_accounts()
    r = _adjustment_post(client, player, "12.505")
    assert b"EUR has 2 decimals" in r.content
    r = _adjustment_post(client, player, "5.00", direction="debit")
    assert b"Insufficient funds: player cash holds EUR 0.00, EUR 5.00 is needed." in r.content
    settings.WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR = 1000
    r = _adjustment_post(client, player, "10.00")
    assert b"needs a second operator" in r.content
    assert ApprovalRequest.objects.get().action == "wallet.adjustment"
    assert not Transaction.objects.exists()


def test_statement_export_streams_csv_and_is_audited(client, operators):
    client.force_login(operators["compliance"])
    player, _ = player_with_accounts()
    _history(player, 2)
    r = client.get(reverse("admin:wallet_statement_export", args=[player.pk]))
    lines = b"".join(r.streaming_content).decode().splitlines()
    assert lines[0].startswith("posted_at,transaction,kind,account,amount,balance_after")
    assert len(lines) == 4 and ",bet,player_cash,-0.10,0.10,EUR," in lines[1]
    assert AuditEvent.objects.filter(action="wallet.statement.export").count() == 1
    # The export takes the screen's filters.
    r = client.get(reverse("admin:wallet_statement_export", args=[player.pk]) + "?st_kind=bet")
    bets = b"".join(r.streaming_content).decode().splitlines()[1:]
    assert bets and all(",bet," in line for line in bets) and len(bets) < 3


def _tab(operator, player, context_fn, template, query=""):
    request = RequestFactory().get(f"/admin/players/player/{player.pk}/?tab=statement{query}")
    request.user = operator
    ctx = {**context_fn(request, player), "player": player}
    return render_to_string(template, ctx, request=request)


def _tab_queries(operator, player, context_fn, template) -> tuple[int, str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        html = _tab(operator, player, context_fn, template)
    return len(ctx.captured_queries), html


def test_player_tabs_run_a_fixed_number_of_queries(operators, django_assert_num_queries):
    short, _ = player_with_accounts()
    long, _ = player_with_accounts()
    _history(short, 3)
    _history(long, 120)
    support = operators["support"]
    for fn, template in [
        (views.balances_context, "wallet/tabs/balances.html"),
        (views.statement_context, "wallet/tabs/statement.html"),
    ]:
        _tab(support, short, fn, template)  # warms the operator's permission cache, as the page does
    for fn, template in [
        (views.balances_context, "wallet/tabs/balances.html"),
        (views.statement_context, "wallet/tabs/statement.html"),
    ]:
        n_short, html_short = _tab_queries(support, short, fn, template)
        n_long, html_long = _tab_queries(support, long, fn, template)
        # the same whatever the history (the request's context processors add their own)
        assert n_short == n_long, (n_short, n_long)
        request = RequestFactory().get("/")
        request.user = support
        with django_assert_num_queries(1):
            fn(request, long)
    assert html_short.count('data-testid="statement-row"') == 4 and "Older" not in html_short
    assert (
        html_long.count('data-testid="statement-row"') == views.STATEMENT_PAGE_SIZE and "Older" in html_long
    )


def test_statement_tab_filters_by_kind_and_date(operators):
    player, _ = player_with_accounts()
    _history(player, 3)
    html = _tab(
        operators["support"],
        player,
        views.statement_context,
        "wallet/tabs/statement.html",
        "&st_kind=deposit",
    )
    assert html.count('data-testid="statement-row"') == 1
    html = _tab(
        operators["support"],
        player,
        views.statement_context,
        "wallet/tabs/statement.html",
        "&st_to=2000-01-01",
    )
    assert 'data-testid="statement-row"' not in html


def test_run_now_queues_a_run_that_the_task_completes(client, operators, django_capture_on_commit_callbacks):
    client.force_login(operators["admin"])
    player, _ = player_with_accounts()
    fund(player, 100)
    assert client.get(reverse("admin:wallet_ledger_verify_run")).status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = client.post(reverse("admin:wallet_ledger_verify_run"))
    assert r.status_code == 302 and len(callbacks) == 1
    run = LedgerVerifyRun.objects.get()
    assert run.state == "queued" and run.requested_by == operators["admin"]
    result = ledger_verify_task(run_id=run.pk)
    run.refresh_from_db()
    assert result == {"run_id": run.pk, "ok": True, "violations": 0}
    assert run.state == "done" and run.ok and run.summary["postings"] == 2
    ledger_verify_task(run_id=run.pk)  # a redelivered task does not run it twice
    assert LedgerVerifyRun.objects.get().finished_at == run.finished_at
    page = client.get(reverse("admin:index"))
    assert b'data-testid="tile-ledger"' in page.content and b"Verified" in page.content


def test_nightly_schedule_exists():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="wallet.ledger_verify")
    assert task.enabled and task.crontab.hour == "3" and task.crontab.minute == "0"
