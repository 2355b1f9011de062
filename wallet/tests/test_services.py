import pytest

from backoffice import approvals
from backoffice.errors import DomainError
from backoffice.models import ApprovalRequest, AuditEvent
from backoffice.money import Money
from wallet import selectors, services
from wallet.models import Account, Posting, Transaction
from wallet.services import Leg
from wallet.tests.factories import PlayerFactory, bet, fund, key, player_with_accounts, provider, psp
from wallet.verify import ledger_check

pytestmark = pytest.mark.django_db


def test_deposit_moves_the_player_balance_and_appends_house_postings():
    player, acc = player_with_accounts()
    txn = fund(player, 2500)
    cash = acc[Account.Kind.PLAYER_CASH]
    cash.refresh_from_db()
    assert cash.balance == 2500 and not txn.replayed
    postings = {p.account_id: p for p in Posting.objects.filter(transaction_id=txn.pk)}
    assert postings[cash.pk].balance_after == 2500
    house = psp()
    assert postings[house.pk].amount == -2500 and postings[house.pk].balance_after is None
    house.refresh_from_db()
    assert house.balance is None  # house rows are never updated per posting
    assert selectors.house_balance(house) == -2500
    assert ledger_check().ok


@pytest.mark.parametrize(
    "legs_of,code",
    [
        (lambda c, h, s: [Leg(c, 100)], "legs_too_few"),
        (lambda c, h, s: [Leg(c, 0), Leg(h, 0)], "zero_leg"),
        (lambda c, h, s: [Leg(c, 100), Leg(c, -100)], "duplicate_account"),
        (lambda c, h, s: [Leg(c, 100), Leg(s, -100)], "mixed_currency"),
        (lambda c, h, s: [Leg(c, 100), Leg(h, -99)], "unbalanced"),
    ],
)
def test_bad_legs_are_refused_before_touching_the_database(legs_of, code, django_assert_num_queries):
    player, acc = player_with_accounts()
    legs = legs_of(acc[Account.Kind.PLAYER_CASH], psp(), psp("SEK"))
    with django_assert_num_queries(0), pytest.raises(DomainError) as exc:
        services.transaction_post(kind="deposit", idempotency_key=key(), legs=legs)
    assert exc.value.code == code
    assert not Transaction.objects.exists()


def test_floats_kinds_and_keys_are_refused():
    player, acc = player_with_accounts()
    cash = acc[Account.Kind.PLAYER_CASH]
    with pytest.raises(TypeError):
        services.transaction_post(
            kind="deposit", idempotency_key=key(), legs=[Leg(cash, 1.5), Leg(psp(), -1.5)]
        )
    with pytest.raises(DomainError) as exc:
        services.transaction_post(kind="gift", idempotency_key=key(), legs=[Leg(cash, 1), Leg(psp(), -1)])
    assert exc.value.code == "unknown_kind"
    with pytest.raises(DomainError) as exc:
        services.transaction_post(kind="deposit", idempotency_key="", legs=[Leg(cash, 1), Leg(psp(), -1)])
    assert exc.value.code == "idempotency_key_required"


def test_insufficient_funds_is_refused_and_writes_nothing():
    player, acc = player_with_accounts()
    fund(player, 1000)
    with pytest.raises(DomainError) as exc:
        bet(player, 1001)
    assert exc.value.code == "insufficient_funds"
    assert exc.value.message == "Insufficient funds: player cash holds EUR 10.00, EUR 10.01 is needed."
    assert Transaction.objects.count() == 1 and Posting.objects.count() == 2
    bet(player, 1000)
    assert selectors.player_balances(player)["cash"] == 0


def test_replay_with_same_content_returns_the_first_transaction():
    player, _ = player_with_accounts()
    first = fund(player, 700, idempotency_key="psp:abc")
    again = fund(player, 700, idempotency_key="psp:abc")
    assert again.pk == first.pk and again.replayed
    assert Posting.objects.count() == 2
    assert selectors.player_balances(player)["cash"] == 700


def test_replay_with_different_content_is_refused():
    player, _ = player_with_accounts()
    first = fund(player, 700, idempotency_key="psp:abc")
    with pytest.raises(DomainError) as exc:
        fund(player, 701, idempotency_key="psp:abc")
    assert exc.value.code == "idempotency_conflict" and f"#{first.pk}" in exc.value.message
    assert selectors.player_balances(player)["cash"] == 700


def test_reversal_mirrors_the_original_once_and_is_audited(operators):
    player, _ = player_with_accounts()
    dep = fund(player, 900)
    rev = services.transaction_reverse(
        transaction_id=dep.pk,
        actor=operators["finance"],
        reason="duplicate PSP notice",
        idempotency_key="rev:1",
    )
    assert rev.kind == Transaction.Kind.REVERSAL and rev.reverses_id == dep.pk
    assert selectors.player_balances(player)["cash"] == 0
    assert sorted(Posting.objects.filter(transaction_id=rev.pk).values_list("amount", flat=True)) == [
        -900,
        900,
    ]
    events = AuditEvent.objects.filter(action="wallet.transaction.reverse")
    assert events.count() == 1 and events.get().actor == operators["finance"]
    # the same key again answers the same reversal; another key is refused
    assert (
        services.transaction_reverse(
            transaction_id=dep.pk, actor=operators["finance"], reason="again", idempotency_key="rev:1"
        ).pk
        == rev.pk
    )
    with pytest.raises(DomainError) as exc:
        services.transaction_reverse(
            transaction_id=dep.pk, actor=operators["finance"], reason="again", idempotency_key="rev:2"
        )
    assert exc.value.code == "already_reversed"
    with pytest.raises(DomainError) as exc:
        services.transaction_reverse(
            transaction_id=rev.pk, actor=operators["finance"], reason="undo", idempotency_key="rev:3"
        )
    assert exc.value.code == "reversal_of_reversal"
    assert AuditEvent.objects.filter(action="wallet.transaction.reverse").count() == 1
    assert ledger_check().ok


def test_reversal_refusals(operators):
    player, _ = player_with_accounts()
    dep = fund(player, 900)
    bet(player, 500)
    for kwargs, code in [
        ({"transaction_id": dep.pk, "reason": " "}, "reason_required"),
        ({"transaction_id": 10**12, "reason": "x"}, "not_found"),
        ({"transaction_id": dep.pk, "reason": "x"}, "insufficient_funds"),  # 500 already played
    ]:
        with pytest.raises(DomainError) as exc:
            services.transaction_reverse(actor=operators["finance"], idempotency_key=key(), **kwargs)
        assert exc.value.code == code
    assert not Transaction.objects.filter(kind=Transaction.Kind.REVERSAL).exists()


def test_accounts_are_created_once_in_the_player_currency():
    player = PlayerFactory(currency="SEK")
    first = services.player_accounts_ensure(player)
    again = services.player_accounts_ensure(player)
    assert {a.pk for a in first.values()} == {a.pk for a in again.values()}
    assert {a.currency for a in first.values()} == {"SEK"} and len(first) == 3
    assert provider("SEK").pk == provider("SEK").pk
    with pytest.raises(DomainError) as exc:
        services.house_account(Account.Kind.PLAYER_CASH, "", "EUR")
    assert exc.value.code == "not_house_kind"


def test_player_balances_shape_in_one_query(django_assert_num_queries):
    player, acc = player_with_accounts()
    fund(player, 1234)
    with django_assert_num_queries(1):
        balances = selectors.player_balances(player)
    assert balances == {
        "currency": "EUR",
        "cash": 1234,
        "bonus": 0,
        "withdrawal_pending": 0,
        "withdrawable": 1234,
    }
    assert selectors.player_balances(PlayerFactory(currency="GBP"))["currency"] == "GBP"


# --- manual adjustments ------------------------------------------------------------------------


def _adjust(operators, player, text, direction="credit", who="finance"):
    return services.adjustment_request(
        player_id=player.pk,
        amount=Money.parse(text, player.currency),
        direction=direction,
        reason="goodwill, ticket 42",
        reference="T-42",
        actor=operators[who],
    )


def test_small_adjustment_posts_at_once_and_is_audited(operators):
    player = PlayerFactory()
    txn = _adjust(operators, player, "12.50")
    assert isinstance(txn, Transaction) and txn.initiated_by_id == operators["finance"].pk
    assert selectors.player_balances(player)["cash"] == 1250
    ev = AuditEvent.objects.get(action="wallet.adjustment.post")
    assert (
        ev.actor == operators["finance"]
        and ev.after["amount"] == "12.50"
        and ev.note == "goodwill, ticket 42"
    )
    assert selectors.house_balance(services.house_account(Account.Kind.HOUSE_ADJUSTMENTS, "", "EUR")) == -1250


def test_large_adjustment_waits_for_a_second_operator(operators, settings):
    settings.WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR = 10_000
    player = PlayerFactory()
    req = _adjust(operators, player, "100.00")
    assert isinstance(req, ApprovalRequest) and req.state == ApprovalRequest.State.PENDING
    assert not Transaction.objects.exists()
    assert AuditEvent.objects.filter(action="wallet.adjustment.request").count() == 1
    with pytest.raises(DomainError) as exc:
        approvals.approval_approve(request_id=req.pk, actor=operators["finance"])
    assert exc.value.code == "four_eyes"
    with pytest.raises(DomainError) as exc:
        approvals.approval_approve(request_id=req.pk, actor=operators["support"])
    assert exc.value.code == "approval_forbidden"
    req = approvals.approval_approve(request_id=req.pk, actor=operators["finance2"])
    assert req.state == ApprovalRequest.State.APPROVED
    assert selectors.player_balances(player)["cash"] == 10_000
    ev = AuditEvent.objects.get(action="wallet.adjustment.post")
    assert ev.actor == operators["finance2"] and ev.after["requested_by"] == operators["finance"].email
    assert Transaction.objects.get().initiated_by == operators["finance"]


def test_large_debit_without_funds_fails_the_approval_and_posts_nothing(operators, settings):
    settings.WALLET_ADJUSTMENT_APPROVAL_THRESHOLD_MINOR = 10_000
    player = PlayerFactory()
    req = _adjust(operators, player, "200.00", direction="debit")
    req = approvals.approval_approve(request_id=req.pk, actor=operators["finance2"])
    assert req.state == ApprovalRequest.State.FAILED and req.error.startswith("Insufficient funds")
    assert not Transaction.objects.exists()


def test_adjustment_refusals(operators):
    player = PlayerFactory()
    cases = [
        (dict(who="support"), "forbidden"),
        (dict(direction="sideways"), "bad_direction"),
    ]
    for kwargs, code in cases:
        with pytest.raises(DomainError) as exc:
            _adjust(operators, player, "1.00", **kwargs)
        assert exc.value.code == code
    base = dict(player_id=player.pk, direction="credit", actor=operators["finance"])
    for kwargs, code in [
        (dict(amount=Money(100, "EUR"), reason="r", reference="  "), "reference_required"),
        (dict(amount=Money(100, "EUR"), reason=" ", reference="T-1"), "reason_required"),
        (dict(amount=Money(0, "EUR"), reason="r", reference="T-1"), "not_positive"),
        (dict(amount=Money(100, "SEK"), reason="r", reference="T-1"), "wrong_currency"),
    ]:
        with pytest.raises(DomainError) as exc:
            services.adjustment_request(**base, **kwargs)
        assert exc.value.code == code
    with pytest.raises(DomainError) as exc:
        _adjust(operators, player, "5.00", direction="debit")
    assert exc.value.code == "insufficient_funds"
    assert (
        not Transaction.objects.exists()
        and not AuditEvent.objects.filter(action__startswith="wallet.").exists()
    )
