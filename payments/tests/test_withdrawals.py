"""Withdrawals: the API (refusals, checks, cancel), finance's decisions (four-eyes above
the threshold), the Adyen payout through the sandbox double and its confirmation, and the
queue page. Money moves through the real ledger; only the provider is a double."""

import json

import pytest
from django.urls import reverse

from backoffice.apiclients import api_client_create
from backoffice.errors import DomainError
from backoffice.models import ApprovalRequest, AuditEvent
from compliance.models import KycProfile, RgAlert
from payments import withdrawals
from payments.models import Payment, WithdrawalCheck
from wallet.models import Transaction
from wallet.selectors import player_balances
from wallet.verify import ledger_check

from .withdrawal_helpers import confirm_payout, funded

pytestmark = pytest.mark.django_db
URL = "/api/platform/v1/withdrawals"


@pytest.fixture
def api(client):
    _c, key = api_client_create(name="frontend")

    def call(body, url=URL):
        return client.post(
            url, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}"
        )

    return call


def _body(player, **extra) -> dict:
    return {"player_id": player.public_id, "provider": "adyen", "amount": "50.00", "currency": "EUR", **extra}


def _error(r, status: int, code: str, field: str | None = None) -> dict:
    assert r.status_code == status, r.content
    err = r.json()["error"]
    assert err["code"] == code and err["message"]
    if field:
        assert err["field"] == field
    return err


def _request(player, amount: str = "50.00", provider: str = "adyen") -> Payment:
    return withdrawals.withdrawal_request(player=player, provider=provider, amount=amount, currency="EUR")


# --- the request -----------------------------------------------------------------------------------


def test_a_withdrawal_moves_cash_to_pending_and_queues_for_finance(api, client, adyen):
    player = funded(client, adyen)
    r = api(_body(player))
    assert r.status_code == 201, r.content
    out = r.json()
    p = Payment.objects.get(kind="withdrawal")
    assert out["reference"] == p.reference and out["state"] == "in_review" and out["held"] == ""
    assert out["amount"] == "50.00" and {c["code"] for c in out["checks"]} == {
        "kyc_level",
        "cdd",
        "aml",
        "same_method",
        "complaints",
    }
    assert all(c["result"] == "pass" for c in out["checks"])
    assert player_balances(player)["cash"] == 15000 and player_balances(player)["withdrawal_pending"] == 5000
    assert p.request_txn.kind == Transaction.Kind.WITHDRAWAL_REQUEST
    assert p.payment_method is not None and p.payment_method.last_four == "1111"
    assert list(p.events.values_list("to_state", flat=True)) == ["requested", "in_review"]
    assert AuditEvent.objects.filter(action="payments.withdrawal.request").count() == 1
    assert ledger_check().ok


def test_refusals_move_nothing(api, client, adyen):
    player = funded(client, adyen, amount=1000)
    _error(api(_body(player, amount="50.00")), 400, "insufficient_funds", "amount")
    _error(api(_body(player, amount="abc")), 400, "bad_amount", "amount")
    _error(api(_body(player, amount="0")), 400, "bad_amount", "amount")
    _error(api(_body(player, currency="SEK")), 400, "wrong_currency", "currency")
    _error(api(_body(player, provider="paypal")), 400, "unknown_provider", "provider")
    assert api({**_body(player), "extra": 1}).status_code == 422
    _error(api({**_body(player), "player_id": "NOPE"}), 404, "player_not_found")
    assert not Payment.objects.filter(kind="withdrawal").exists()
    assert player_balances(player)["cash"] == 1000


def test_the_gate_refuses_with_its_code(api, client, adyen):
    player = funded(client, adyen)
    KycProfile.objects.filter(player=player).update(required_level=2, required_reason="CDD threshold")
    _error(api(_body(player)), 403, "kyc_required")
    player.status = "blocked"
    player.save(update_fields=["status"])
    KycProfile.objects.filter(player=player).update(required_level=0)
    assert api(_body(player)).status_code == 403
    assert not Payment.objects.filter(kind="withdrawal").exists()


def test_checks_hold_with_their_reasons(client, adyen, operators):
    player = funded(client, adyen)
    KycProfile.objects.filter(player=player).update(level=0)
    # Trustly: the player never deposited there (closed loop) and KYC is missing.
    p = _request(player, provider="trustly")
    assert p.state == "requested" and p.status_note.startswith("Held: ")
    held = dict(WithdrawalCheck.objects.filter(payment=p, result="hold").values_list("code", "reason"))
    assert set(held) == {"kyc_level", "same_method"}
    assert "never deposited through Trustly" in held["same_method"]
    assert player_balances(player)["withdrawal_pending"] == 5000
    # Finance cannot approve a held withdrawal; after KYC, checking again is not enough
    # for Trustly (still the same-method hold); rejecting returns the money.
    with pytest.raises(DomainError) as e:
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])
    assert e.value.code == "withdrawal_not_in_review"
    KycProfile.objects.filter(player=player).update(level=1)
    p = withdrawals.withdrawal_recheck(payment_id=p.pk, actor=operators["finance"])
    assert p.state == "requested" and p.checks.filter(run=2, result="hold").count() == 1
    q = _request(player)  # Adyen, where they deposited: passes now
    assert q.state == "in_review"


def test_open_complaints_are_a_note_not_a_hold(client, adyen):
    from disputes.models import Complaint

    player = funded(client, adyen)
    Complaint.objects.create(player=player, category="payment", subject="slow", body="x", channel="email")
    p = _request(player)
    assert p.state == "in_review"
    assert p.checks.get(code="complaints").result == "note"


def test_the_cdd_meter_opens_a_requirement_and_holds(client, adyen, settings):
    player = funded(client, adyen, amount=300000)  # above the EUR 2,000 default threshold
    p = _request(player)
    assert p.state == "requested"
    assert p.checks.get(code="cdd").result == "hold"
    assert KycProfile.objects.get(player=player).requirement_open


def test_the_player_cancels_while_pending_and_it_counts_as_reversed(api, client, adyen, operators):
    from compliance.markers import markers_scan

    player = funded(client, adyen)
    refs = [api(_body(player)).json()["reference"] for _ in range(3)]
    assert player_balances(player)["cash"] == 5000
    r = api({"player_id": player.public_id}, url=f"{URL}/{refs[0]}/cancel")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    _error(api({"player_id": player.public_id}, url=f"{URL}/{refs[0]}/cancel"), 409, "withdrawal_not_pending")
    other = funded(client, adyen)
    _error(api({"player_id": other.public_id}, url=f"{URL}/{refs[1]}/cancel"), 404, "withdrawal_not_found")
    assert api({"player_id": player.public_id}, url=f"{URL}/{refs[1]}/cancel").status_code == 200
    # A rejection by finance returns money too, but is not the player's reversal.
    withdrawals.withdrawal_reject(
        payment_id=Payment.objects.get(reference=refs[2]).pk, actor=operators["finance"], reason="fraud check"
    )
    balances = player_balances(player)
    assert balances["cash"] == 20000 and balances["withdrawal_pending"] == 0
    cancels = Transaction.objects.filter(kind="withdrawal_cancel")
    assert cancels.count() == 3 and cancels.filter(metadata__has_key="returned_by").count() == 1
    markers_scan()
    alert = RgAlert.objects.get(player=player, marker="reversed_withdrawals")
    assert alert.evidence["reversed_last_30_days"] == 2
    assert ledger_check().ok


# --- finance's decision and the payout -------------------------------------------------------------


def test_approve_sends_the_payout_and_the_confirmation_pays_it(
    client, payouts, operators, django_capture_on_commit_callbacks
):
    player = funded(client, payouts)
    p = _request(player)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"], note="ok")
    assert len(callbacks) == 1
    p.refresh_from_db()
    assert p.state == "sent" and p.provider_reference == payouts.payouts[p.reference]
    path, headers, sent = payouts.requests[-1]
    assert path.endswith("/submitThirdParty") and headers["idempotency-key"] == f"payout:{p.reference}"
    assert (
        sent["amount"] == {"value": 5000, "currency": "EUR"} and sent["shopperReference"] == player.public_id
    )
    assert AuditEvent.objects.filter(action="payments.withdrawal.approve").count() == 1
    # A redelivered task sends nothing again.
    withdrawals.withdrawal_payout_send(payment_id=p.pk)
    assert sum(1 for r in payouts.requests if r[0].endswith("/submitThirdParty")) == 1

    assert confirm_payout(client, payouts, p).status_code == 200
    assert confirm_payout(client, payouts, p).status_code == 200  # a duplicate: no-op
    p.refresh_from_db()
    assert p.state == "paid" and p.settle_txn.kind == "withdrawal"
    assert player_balances(player)["withdrawal_pending"] == 0 and player_balances(player)["cash"] == 15000
    assert Transaction.objects.filter(kind="withdrawal").count() == 1
    assert ledger_check().ok


def test_a_failed_payout_returns_the_money(client, payouts, operators, django_capture_on_commit_callbacks):
    player = funded(client, payouts)
    p = _request(player)
    with django_capture_on_commit_callbacks(execute=True):
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])
    p.refresh_from_db()
    assert confirm_payout(client, payouts, p, success=False).status_code == 200
    p.refresh_from_db()
    assert p.state == "failed" and "Account closed" in p.status_note
    assert player_balances(player)["cash"] == 20000 and player_balances(player)["withdrawal_pending"] == 0
    # A late success after the money was returned is flagged, not applied.
    assert confirm_payout(client, payouts, p).status_code == 200
    from payments.models import Notification

    assert Notification.objects.filter(payment=p, flagged=True).count() == 1
    assert Transaction.objects.filter(kind="withdrawal").count() == 0
    assert ledger_check().ok


def test_a_refused_payout_fails_at_once_and_an_adapter_without_payouts_waits(
    client, payouts, operators, django_capture_on_commit_callbacks, monkeypatch
):
    player = funded(client, payouts)
    p, q = _request(player), _request(player)
    payouts.fail_next = True
    with django_capture_on_commit_callbacks(execute=True):
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])
    p.refresh_from_db()
    assert p.state == "failed" and player_balances(player)["cash"] == 15000

    def no_payouts(self, payment):
        raise NotImplementedError("payouts are not built yet")

    monkeypatch.setattr("payments.providers.adyen.AdyenAdapter.send_payout", no_payouts)
    with django_capture_on_commit_callbacks(execute=True):
        withdrawals.withdrawal_approve(payment_id=q.pk, actor=operators["finance"])
    q.refresh_from_db()
    assert q.state == "approved" and "not built yet" in q.status_note and q.payout_claimed_at is None
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        withdrawals.withdrawal_payout_retry(payment_id=q.pk, actor=operators["finance"])
    q.refresh_from_db()
    assert q.state == "sent"


def test_above_the_threshold_a_second_operator_approves(client, adyen, operators, settings):
    settings.PAYMENTS_WITHDRAWAL_APPROVAL_THRESHOLD_MINOR = 5000
    player = funded(client, adyen)
    p = _request(player)
    first, second = operators["finance"], operators["finance2"]
    p = withdrawals.withdrawal_approve(payment_id=p.pk, actor=first, note="looks fine")
    assert p.state == "in_review" and p.approval_request.state == "pending"
    assert p.approval_request.requested_by == first
    with pytest.raises(DomainError) as e:
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=first)
    assert e.value.code == "four_eyes"
    p = withdrawals.withdrawal_approve(payment_id=p.pk, actor=second)
    assert p.state == "approved"
    event = p.events.get(to_state="approved")
    assert event.actor == second and first.email in event.note
    assert ApprovalRequest.objects.get(pk=p.approval_request_id).state == "approved"


def test_only_finance_decides_and_a_rejection_needs_a_reason(client, adyen, operators):
    player = funded(client, adyen)
    p = _request(player)
    for role in ("support", "compliance"):
        with pytest.raises(DomainError) as e:
            withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators[role])
        assert e.value.code == "forbidden"
    with pytest.raises(DomainError) as e:
        withdrawals.withdrawal_reject(payment_id=p.pk, actor=operators["finance"], reason=" ")
    assert e.value.code == "reason_required"
    p = withdrawals.withdrawal_reject(payment_id=p.pk, actor=operators["finance"], reason="duplicate account")
    assert p.state == "rejected" and player_balances(player)["cash"] == 20000
    assert AuditEvent.objects.filter(action="payments.withdrawal.reject").count() == 1
    with pytest.raises(DomainError):
        withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])


# --- the queue page --------------------------------------------------------------------------------


def test_the_queue_shows_checks_position_and_decides(client, adyen, operators, monkeypatch):
    player = funded(client, adyen)
    p = _request(player)
    client.force_login(operators["finance"])
    r = client.get(reverse("admin:payments_withdrawal_queue"))
    html = r.content.decode()
    assert r.status_code == 200 and p.reference in html
    assert 'data-testid="withdrawal-checks"' in html and "same_method" in html and "Approve" in html
    assert "200.00" in html  # deposited
    monkeypatch.setattr("backoffice.security.recently_authenticated", lambda request: True)
    url = reverse("admin:payments_withdrawal_review", kwargs={"payment_id": p.pk})
    r = client.post(url, {"note": "", "reject": "1"})
    assert r.status_code == 200 and "Say why" in r.content.decode()
    r = client.post(url, {"note": "", "approve": "1"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert p.state in ("approved", "sent")


def test_the_queue_asks_for_a_fresh_sign_in_and_compliance_only_reads(client, adyen, operators):
    player = funded(client, adyen)
    p = _request(player)
    url = reverse("admin:payments_withdrawal_review", kwargs={"payment_id": p.pk})
    client.force_login(operators["finance"])
    r = client.post(url, {"note": "", "approve": "1"})
    assert r.status_code == 302 and r["Location"].startswith("/accounts/reauthenticate/")
    client.force_login(operators["compliance"])
    html = client.get(url).content.decode()
    assert "finance decides" in html and 'name="approve"' not in html
    p.refresh_from_db()
    assert p.state == "in_review"


def test_the_queue_runs_a_fixed_number_of_queries(client, adyen, operators, django_assert_max_num_queries):
    player = funded(client, adyen, amount=100000)
    for _ in range(8):
        _request(player, amount="10.00")
    client.force_login(operators["finance"])
    with django_assert_max_num_queries(30):
        r = client.get(reverse("admin:payments_withdrawal_queue"))
    assert r.status_code == 200 and r.content.decode().count("/review/") >= 8


# --- races on PostgreSQL (threads, each its own connection) ----------------------------------------


def _race(work) -> list:
    from django.db import connection

    from wallet.tests.test_postgres import _in_threads

    assert connection.vendor == "postgresql", "The race tests need DATABASE_URL pointing at PostgreSQL."
    return _in_threads(len(work), lambda i: work[i]())


def _outcome(fn):
    def run():
        try:
            fn()
            return "ok"
        except DomainError as exc:
            return exc.code

    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvals_racing_approve_and_pay_out_once(payouts, operators):
    from django.test import Client

    player = funded(Client(), payouts)
    p = _request(player)
    results = _race(
        [
            _outcome(lambda: withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])),
            _outcome(lambda: withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance2"])),
        ]
    )
    assert sorted(results) == ["ok", "withdrawal_not_in_review"]
    p.refresh_from_db()
    assert p.state == "sent" and p.events.filter(to_state="approved").count() == 1
    assert sum(1 for r in payouts.requests if r[0].endswith("/submitThirdParty")) == 1
    # The confirmation delivered four times at once pays once.
    codes = _race([lambda: confirm_payout(Client(), payouts, p).status_code for _ in range(4)])
    assert codes == [200] * 4
    p.refresh_from_db()
    assert p.state == "paid" and Transaction.objects.filter(kind="withdrawal").count() == 1
    assert player_balances(player) == {
        "currency": "EUR",
        "cash": 15000,
        "bonus": 0,
        "withdrawal_pending": 0,
        "withdrawable": 15000,
    }
    assert ledger_check().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_an_approval_moves_the_money_once(payouts, operators):
    from django.test import Client

    player = funded(Client(), payouts)
    for _ in range(3):
        p = _request(player)
        results = _race(
            [
                _outcome(lambda p=p: withdrawals.withdrawal_cancel(reference=p.reference, player=player)),
                _outcome(
                    lambda p=p: withdrawals.withdrawal_approve(payment_id=p.pk, actor=operators["finance"])
                ),
            ]
        )
        p.refresh_from_db()
        assert results.count("ok") == 1, results
        if results[0] == "ok":
            assert p.state == "cancelled" and results[1] == "withdrawal_not_in_review"
        else:
            assert p.state == "sent" and results[0] == "withdrawal_not_pending"
    moved = Transaction.objects.filter(kind__in=["withdrawal_request", "withdrawal_cancel"]).count()
    cancelled = Payment.objects.filter(kind="withdrawal", state="cancelled").count()
    sent = Payment.objects.filter(kind="withdrawal", state="sent").count()
    assert moved == 3 + cancelled and cancelled + sent == 3
    assert player_balances(player)["withdrawal_pending"] == 5000 * sent
    assert player_balances(player)["cash"] == 20000 - 5000 * sent
    assert ledger_check().ok
