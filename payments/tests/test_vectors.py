"""Every public test vector in payments/tests/vectors/ (copied from
../shared/reference/vectors/) through our verifiers; tampered cases must fail."""

import json
from pathlib import Path

import pytest
from Adyen.util import generate_notification_sig, is_valid_hmac_notification

from payments.providers import adyen, nuvei, payz, trustly

VECTORS = Path(__file__).parent / "vectors"


def _cases(provider: str, kind: str | None = None) -> list:
    cases = json.loads((VECTORS / f"{provider}.json").read_text())
    return [pytest.param(c, id=c["name"]) for c in cases if kind is None or c["kind"] == kind]


def test_every_vector_file_is_covered():
    # A new case kind in a vector file must get a test here, not be skipped silently.
    kinds = {
        p: {c["kind"] for c in json.loads((VECTORS / f"{p}.json").read_text())}
        for p in ("adyen", "nuvei", "payz", "trustly")
    }
    assert kinds == {
        "adyen": {"notification_hmac", "payload_hmac"},
        "nuvei": {"dmn_checksum"},
        "payz": {"notification_checksum", "response_checksum", "request_checksum"},
        "trustly": {"serialize", "verify_notification", "verify_response", "sign_request"},
    }


# --- Adyen ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("adyen", "notification_hmac"))
def test_adyen_notification_hmac(case):
    item = case["notification_item"]
    signed = {**item, "additionalData": {**(item.get("additionalData") or {})}}
    signed["additionalData"]["hmacSignature"] = case["expected_hmac_base64"]
    assert adyen.signing_string(item) == case["signing_string"]
    assert adyen.item_valid(signed, case["hmac_key_hex"]) is case["expected_valid"]
    if case["expected_valid"]:
        assert adyen.item_signature(item, case["hmac_key_hex"]) == case["expected_hmac_base64"]


@pytest.mark.parametrize(
    "case", [c for c in _cases("adyen", "notification_hmac") if "notification_item_raw_json" in c.values[0]]
)
def test_adyen_raw_items_parse_to_the_same_signing_string(case):
    # The real webhook bodies, parsed as our endpoint parses them.
    raw = case["notification_item_raw_json"]
    body = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": json.loads(raw)}]})
    (item,) = adyen.parse_items(body.encode())
    assert adyen.signing_string(item) == case["signing_string"]


@pytest.mark.parametrize("case", _cases("adyen", "notification_hmac"))
def test_adyen_our_signer_agrees_with_the_official_package(case):
    item = {k: v for k, v in case["notification_item"].items() if k != "additionalData"}
    official = generate_notification_sig(item, case["hmac_key_hex"]).decode()
    assert adyen.item_signature(item, case["hmac_key_hex"]) == official
    assert is_valid_hmac_notification(
        {**item, "additionalData": {"hmacSignature": official}}, case["hmac_key_hex"]
    )


@pytest.mark.parametrize("case", _cases("adyen", "payload_hmac"))
def test_adyen_payload_hmac(case):
    payload = case["payload"].encode()
    assert (
        adyen.payload_valid(payload, case["expected_hmac_base64"], case["hmac_key_hex"])
        is case["expected_valid"]
    )


def test_adyen_refuses_a_missing_or_garbled_signature():
    case = json.loads((VECTORS / "adyen.json").read_text())[0]
    item = dict(case["notification_item"])
    assert not adyen.item_valid(item, case["hmac_key_hex"])
    assert not adyen.item_valid(
        {**item, "additionalData": {"hmacSignature": "ünïcode"}}, case["hmac_key_hex"]
    )


# --- Nuvei ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("nuvei"))
def test_nuvei_dmn_checksum(case):
    fields = case["dmn_fields"]
    assert (
        case["merchant_secret_key"] + "".join(fields[f] for f in nuvei.CHECKSUM_FIELDS)
        == case["signing_string"]
    )
    given = {**fields, "advanceResponseChecksum": case["expected_checksum"]}
    assert nuvei.dmn_valid(given, case["merchant_secret_key"]) is case["expected_valid"]
    if case["expected_valid"]:
        assert nuvei.dmn_checksum(fields, case["merchant_secret_key"]) == case["expected_checksum"]


# --- Payz ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("payz", "notification_checksum"))
def test_payz_notification_checksum(case):
    assert payz.notification_valid(case["xml"], case["merchant_password"]) is case["expected_valid"]
    if case["expected_valid"]:
        assert payz.notification_checksum(case["xml"], case["merchant_password"]) == case["expected_checksum"]


def test_payz_tampered_notification_fails():
    case = json.loads((VECTORS / "payz.json").read_text())[0]
    assert not payz.notification_valid(
        case["xml"].replace("<Amount>0.78<", "<Amount>7.80<"), case["merchant_password"]
    )


@pytest.mark.parametrize("case", _cases("payz", "response_checksum"))
def test_payz_response_checksum(case):
    f = case["response_fields"]
    xml = payz.response_xml(
        status=f["Status"],
        code=f["TransactionResult.Code"],
        description=f["TransactionResult.Description"],
        password=case["merchant_password"],
    )
    assert xml == case["response_xml"]
    assert f"<Checksum>{case['expected_checksum']}</Checksum>" in xml


@pytest.mark.parametrize("case", _cases("payz", "request_checksum"))
def test_payz_payment_page_request_checksum(case):
    values = [v for _name, v in case["fields_in_order"]]
    assert payz.request_checksum(values, case["merchant_password"]) == case["expected_checksum"]


# --- Trustly -------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("trustly", "serialize"))
def test_trustly_serialize(case):
    assert trustly.serialize(case["data"]) == case["expected_serialization"]


@pytest.mark.parametrize("case", _cases("trustly", "verify_notification"))
def test_trustly_verify_notification(case):
    key = trustly.load_public_key(case["public_key_pem"])
    assert trustly.plaintext(case["method"], case["uuid"], case["data"]) == case["plaintext"]
    assert trustly.verify_notification(case["raw_body"], key) is case["expected_valid"]


@pytest.mark.parametrize("case", _cases("trustly", "verify_response"))
def test_trustly_verify_response(case):
    key = trustly.load_public_key(case["public_key_pem"])
    assert trustly.plaintext(case["method"], case["uuid"], case["data"]) == case["plaintext"]
    assert trustly.verify_response(case["raw_body"], key) is case["expected_valid"]


@pytest.mark.parametrize("case", _cases("trustly", "sign_request"))
def test_trustly_sign_request(case):
    key = trustly.load_private_key(case["private_key_pem"])
    assert trustly.plaintext(case["method"], case["uuid"], case["data"]) == case["plaintext"]
    assert trustly.sign(case["method"], case["uuid"], case["data"], key) == case["expected_signature"]
    # What we sign verifies with the matching public key; a changed field does not.
    public = key.public_key()
    assert trustly.verify(case["method"], case["uuid"], case["data"], case["expected_signature"], public)
    assert not trustly.verify(
        case["method"], case["uuid"] + "0", case["data"], case["expected_signature"], public
    )


def test_trustly_notification_answer_is_signed_with_our_key():
    case = json.loads((VECTORS / "trustly.json").read_text())
    key = trustly.load_private_key(next(c for c in case if c["kind"] == "sign_request")["private_key_pem"])
    answer = trustly.notification_answer("credit", "f1b77aac-516d-4b89-a125-c005f4c020f0", "OK", key)
    assert trustly.verify_response(json.dumps(answer), key.public_key())
    assert answer["result"]["data"] == {"status": "OK"}


def test_trustly_settings_default_to_the_published_test_keys(settings):
    # The files the settings name load, and the public one verifies the vector.
    case = next(
        c for c in json.loads((VECTORS / "trustly.json").read_text()) if c["kind"] == "verify_notification"
    )
    public = trustly.load_public_key(Path(settings.TRUSTLY_PUBLIC_KEY_FILE).read_bytes())
    assert trustly.verify_notification(case["raw_body"], public)
    trustly.load_private_key(Path(settings.TRUSTLY_PRIVATE_KEY_FILE).read_bytes())
