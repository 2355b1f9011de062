import pytest
from django.urls import reverse

from backoffice.models import AuditEvent
from games.demo import ensure_demo_games
from games.models import GameProvider
from games.services import provider_secrets

pytestmark = pytest.mark.django_db


def test_rotate_secret_shows_the_new_secret_once(client, operators):
    ensure_demo_games()
    provider = GameProvider.objects.get(code="redstone")
    old = provider_secrets(provider)[0]
    client.force_login(operators["admin"])
    url = reverse("admin:games_provider_rotate_secret", kwargs={"provider_id": provider.pk})
    assert client.get(url).status_code == 200
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("backoffice.security.recently_authenticated", lambda request: True)
        r = client.post(url, {"grace_hours": "24", "note": "ticket 7"}, follow=True)
    assert r.status_code == 200
    provider.refresh_from_db()
    new, previous = provider_secrets(provider)
    assert previous == old
    assert new in r.content.decode()
    assert AuditEvent.objects.filter(action="games.provider.rotate_secret").count() == 1


def test_rotate_secret_asks_for_a_fresh_sign_in(client, operators):
    ensure_demo_games()
    provider = GameProvider.objects.get(code="redstone")
    before = provider.secret_encrypted
    client.force_login(operators["admin"])
    url = reverse("admin:games_provider_rotate_secret", kwargs={"provider_id": provider.pk})
    r = client.post(url, {"grace_hours": "24", "note": "x"})
    assert r.status_code in (302, 401)  # allauth's reauthentication
    provider.refresh_from_db()
    assert provider.secret_encrypted == before


def test_games_list_and_import_page(client, operators, django_assert_max_num_queries):
    ensure_demo_games()
    client.force_login(operators["admin"])
    with django_assert_max_num_queries(25):
        assert client.get(reverse("admin:games_game_changelist")).status_code == 200
    assert client.get(reverse("admin:games_game_import")).status_code == 200
    assert client.get(reverse("admin:games_game_export")).status_code == 200
    client.force_login(operators["finance"])
    assert client.get(reverse("admin:games_game_import")).status_code == 403
