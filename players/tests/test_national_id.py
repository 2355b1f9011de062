import pytest

from players import national_id


def test_encryption_round_trip_and_fresh_ciphertexts():
    a, b = national_id.encrypt("131052-308T"), national_id.encrypt("131052-308T")
    assert a != b  # random IV: equal numbers do not look equal at rest
    assert national_id.decrypt(a) == national_id.decrypt(b) == "131052308T"


def test_hash_is_keyed_stable_and_ignores_spelling(settings):
    h = national_id.search_hash("19811228-9874")
    assert h == national_id.search_hash(" 198112289874 ")
    assert len(h) == 64
    settings.NATIONAL_ID_KEY = "a-different-secret-for-another-installation"
    assert national_id.search_hash("198112289874") != h


def test_a_changed_key_cannot_read_old_numbers(settings):
    token = national_id.encrypt("AB123456C")
    settings.NATIONAL_ID_KEY = "a-different-secret-for-another-installation"
    with pytest.raises(national_id.NationalIdUnreadable):
        national_id.decrypt(token)


def test_masking_keeps_the_last_four_only():
    from players.models import Player

    fields = national_id.protect("1234567M")
    assert fields["national_id_last4"] == "567M"
    assert Player(**fields).national_id_masked == "\u2022\u2022\u2022\u2022567M"
    assert national_id.protect("")["national_id_hash"] == ""


def test_deploy_check_refuses_the_insecure_default(settings):
    from players.checks import national_id_key_check

    settings.NATIONAL_ID_KEY = "insecure-dev-national-id-key-do-not-use-in-production"
    assert [e.id for e in national_id_key_check(None)] == ["players.E001"]
    settings.NATIONAL_ID_KEY = "x" * 48
    assert national_id_key_check(None) == []
