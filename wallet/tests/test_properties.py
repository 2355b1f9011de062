"""Random sequences of deposits, bets, transfers, replays and reversals, checked against a
plain Python model of the balances; every invariant holds after each sequence."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.errors import DomainError
from wallet import selectors, services
from wallet.models import Account, Transaction
from wallet.services import Leg
from wallet.tests.factories import PlayerFactory, key, provider, psp
from wallet.verify import ledger_check

pytestmark = pytest.mark.django_db

N_PLAYERS = 3
amounts = st.integers(min_value=1, max_value=5_000)
ops = st.one_of(
    st.tuples(st.just("deposit"), st.integers(0, N_PLAYERS - 1), amounts),
    st.tuples(st.just("bet"), st.integers(0, N_PLAYERS - 1), amounts),
    st.tuples(st.just("transfer"), st.integers(0, N_PLAYERS - 1), st.integers(0, N_PLAYERS - 1), amounts),
    st.tuples(st.just("replay"), st.integers(0, 10**6)),
    st.tuples(st.just("conflict"), st.integers(0, 10**6)),
    st.tuples(st.just("reverse"), st.integers(0, 10**6)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=st.lists(ops, min_size=1, max_size=25))
def test_random_histories_keep_every_invariant(history, operators):
    with transaction.atomic():
        _play(history, operators["finance"])
        report = ledger_check()
        assert report.ok, report.violations
        transaction.set_rollback(True)


def _play(history, actor):
    players = [PlayerFactory() for _ in range(N_PLAYERS)]
    cash = [services.player_accounts_ensure(p)[Account.Kind.PLAYER_CASH] for p in players]
    house_psp, house_games = psp(), provider()
    model = [0] * N_PLAYERS
    posted: list[tuple[str, str, list[Leg], dict[int, int]]] = []  # (kind, key, legs, effect on model)
    reversed_: set[str] = set()

    def post(kind, legs, effect):
        k = key(kind)
        if any(model[i] + d < 0 for i, d in effect.items()):
            with pytest.raises(DomainError) as exc:
                services.transaction_post(kind=kind, idempotency_key=k, legs=legs)
            assert exc.value.code == "insufficient_funds"
            return
        services.transaction_post(kind=kind, idempotency_key=k, legs=legs)
        for i, d in effect.items():
            model[i] += d
        posted.append((kind, k, legs, effect))

    for op in history:
        if op[0] == "deposit":
            _, i, a = op
            post("deposit", [Leg(cash[i], a), Leg(house_psp, -a)], {i: a})
        elif op[0] == "bet":
            _, i, a = op
            post("bet", [Leg(cash[i], -a), Leg(house_games, a)], {i: -a})
        elif op[0] == "transfer":
            _, i, j, a = op
            if i != j:
                post("transfer", [Leg(cash[i], -a), Leg(cash[j], a)], {i: -a, j: a})
        elif op[0] in ("replay", "conflict") and posted:
            kind, k, legs, _effect = posted[op[1] % len(posted)]
            if op[0] == "replay":
                assert services.transaction_post(kind=kind, idempotency_key=k, legs=legs).replayed
            else:
                with pytest.raises(DomainError) as exc:
                    services.transaction_post(kind=kind, idempotency_key=k, legs=legs, reference="other")
                assert exc.value.code == "idempotency_conflict"
        elif op[0] == "reverse" and posted:
            kind, k, _legs, effect = posted[op[1] % len(posted)]
            txn = Transaction.objects.get(idempotency_key=k)
            mirror = {i: -d for i, d in effect.items()}
            try:
                services.transaction_reverse(
                    transaction_id=txn.pk, actor=actor, reason="test", idempotency_key=key()
                )
            except DomainError as err:
                expected = "already_reversed" if k in reversed_ else "insufficient_funds"
                assert err.code == expected
                assert expected == "already_reversed" or any(model[i] + d < 0 for i, d in mirror.items())
            else:
                assert k not in reversed_ and all(model[i] + d >= 0 for i, d in mirror.items())
                reversed_.add(k)
                for i, d in mirror.items():
                    model[i] += d
        assert [selectors.player_balances(p)["cash"] for p in players] == model
