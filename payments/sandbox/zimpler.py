"""A sandbox double of Zimpler's v4 API on loopback, for tests and the demo.

It answers `POST /v4/deposits`, `GET /v4/deposits/:id` and `POST /v4/deposits/:id/approve`
with our API key (Bearer), keeps each deposit's state, and builds what Zimpler posts:
the deposit object to `notification_url` and, for Pay N Play, to `kyc_callback_url`.
The test moves a deposit along (`set_state`, `set_kyc`) the way the player's bank would.
Withdrawals: `POST /v4/withdrawals` (a known user_id or national id; a ref seen before
answers the same withdrawal), `GET /v4/withdrawals/:id`, `POST .../approve` (authorized,
same amount) and `.../reject`; `set_withdrawal_state` moves one along, and
`withdrawal_notification_body` is what Zimpler posts to its notification_url.

    with ZimplerSandbox(api_key=...) as zimpler:
        settings.ZIMPLER_API_BASE_URL = zimpler.base_url
"""

from __future__ import annotations

import json
import re
import secrets

from .loopback import Answer, LoopbackSandbox, Request

_DEPOSIT = re.compile(r"^/v4/deposits/([^/?]+)(/approve)?$")
_WITHDRAWAL = re.compile(r"^/v4/withdrawals/([^/?]+)(/approve|/reject)?$")


class ZimplerSandbox(LoopbackSandbox):
    name = "zimpler"
    prefix = "/v4"

    def __init__(self, *, api_key: str = "test-zimpler-api-key"):
        super().__init__()
        self.api_key = api_key
        self.deposits: dict[str, dict] = {}
        self.withdrawals: dict[str, dict] = {}
        self.fail_next = False
        self.refuse_next_withdrawal = False

    def handle(self, request: Request) -> Answer:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return Answer.json(401, {"error": "unauthorized"})
        path = request.path.split("?", 1)[0]
        if self.fail_next:
            self.fail_next = False
            return Answer.json(422, {"error": "refused by the sandbox"})
        if request.method == "POST" and path == "/v4/deposits":
            return self._create(request.json() or {})
        if request.method == "POST" and path == "/v4/withdrawals":
            return self._withdraw(request.json() or {})
        if path.startswith("/v4/withdrawals/"):
            return self._withdrawal(request, _WITHDRAWAL.match(path))
        m = _DEPOSIT.match(path)
        if m is None or m.group(1) not in self.deposits:
            return Answer.json(404, {"error": "not found"})
        deposit = self.deposits[m.group(1)]
        if request.method == "GET" and not m.group(2):
            return Answer.json(200, deposit)
        if request.method == "POST" and m.group(2):
            if deposit["state"] not in ("authorized", "approved"):
                return Answer.json(422, {"error": f"cannot approve a {deposit['state']} deposit"})
            if (request.json() or {}).get("amount") != deposit["amount"]:
                return Answer.json(422, {"error": "amount must equal the deposit's"})
            deposit["state"] = "approved"
            return Answer.json(200, deposit)
        return Answer.json(405, {"error": "method not allowed"})

    def _create(self, body: dict) -> Answer:
        missing = [k for k in ("country_code", "ref", "amount", "currency", "success_url") if not body.get(k)]
        if missing:
            return Answer.json(422, {"error": f"missing {', '.join(missing)}"})
        deposit_id = "dep_" + secrets.token_hex(8)
        self.deposits[deposit_id] = {
            "id": deposit_id,
            "state": "pending",
            "ref": body["ref"],
            "amount": body["amount"],
            "currency": body["currency"],
            "country_code": body["country_code"],
            "user_form_url": f"{self.root_url}/form/{deposit_id}",
            "user_id": None,
            "kyc_info": None,
            "notification_url": body.get("notification_url"),
            "kyc_callback_url": body.get("kyc_callback_url"),
        }
        return Answer.json(201, self.deposits[deposit_id])

    def _withdraw(self, body: dict) -> Answer:
        missing = [k for k in ("ref", "amount", "currency", "country_code") if not body.get(k)]
        if self.refuse_next_withdrawal:
            self.refuse_next_withdrawal = False
            return Answer.json(422, {"error": "withdrawal refused by the sandbox"})
        if missing:
            return Answer.json(422, {"error": f"missing {', '.join(missing)}"})
        users = {d.get("user_id") for d in self.deposits.values()} - {None}
        nins = {
            (d.get("kyc_info") or {}).get("national_identification_number") for d in self.deposits.values()
        }
        if body.get("user_id") not in users and body.get("national_identification_number") not in nins - {
            None
        }:
            return Answer.json(422, {"error": "unknown user: user_id or national_identification_number"})
        seen = next((w for w in self.withdrawals.values() if w["ref"] == body["ref"]), None)
        if seen is not None:
            return Answer.json(200, seen)
        withdrawal_id = "wd_" + secrets.token_hex(8)
        self.withdrawals[withdrawal_id] = {
            "id": withdrawal_id,
            "state": "pending",
            "ref": body["ref"],
            "amount": body["amount"],
            "currency": body["currency"],
            "country_code": body["country_code"],
            "user_id": body.get("user_id"),
            "notification_url": body.get("notification_url"),
        }
        return Answer.json(201, self.withdrawals[withdrawal_id])

    def _withdrawal(self, request: Request, m) -> Answer:
        if m is None or m.group(1) not in self.withdrawals:
            return Answer.json(404, {"error": "not found"})
        withdrawal = self.withdrawals[m.group(1)]
        if request.method == "GET" and not m.group(2):
            return Answer.json(200, withdrawal)
        if request.method != "POST" or not m.group(2):
            return Answer.json(405, {"error": "method not allowed"})
        if withdrawal["state"] not in ("authorized", "approved" if m.group(2) == "/approve" else "rejected"):
            return Answer.json(422, {"error": f"cannot do that to a {withdrawal['state']} withdrawal"})
        if m.group(2) == "/reject":
            withdrawal["state"] = "rejected"
            return Answer.json(200, withdrawal)
        if (request.json() or {}).get("amount") != withdrawal["amount"]:
            return Answer.json(422, {"error": "amount must equal the withdrawal's"})
        withdrawal["state"] = "approved"
        return Answer.json(200, withdrawal)

    def by_withdrawal_ref(self, ref: str) -> dict:
        return next(w for w in self.withdrawals.values() if w["ref"] == ref)

    def set_withdrawal_state(self, withdrawal_id: str, state: str) -> dict:
        self.withdrawals[withdrawal_id]["state"] = state
        return self.withdrawals[withdrawal_id]

    def withdrawal_notification_body(self, withdrawal_id: str, **overrides) -> bytes:
        return json.dumps({**self.withdrawals[withdrawal_id], **overrides}).encode()

    # --- the player's side and Zimpler's posts -------------------------------------------------------

    def by_ref(self, ref: str) -> dict:
        return next(d for d in self.deposits.values() if d["ref"] == ref)

    def set_state(self, deposit_id: str, state: str) -> dict:
        deposit = self.deposits[deposit_id]
        deposit["state"] = state
        if state in ("authorized", "approved") and not deposit.get("user_id"):
            deposit["user_id"] = "usr_" + secrets.token_hex(6)  # Zimpler knows the payer now
        return deposit

    def set_kyc(
        self,
        deposit_id: str,
        *,
        national_id: str,
        first_name: str = "Sven",
        last_name: str = "Svensson",
        date_of_birth: str = "1981-01-01",
        country: str = "SE",
    ) -> dict:
        deposit = self.deposits[deposit_id]
        user_id = "usr_" + secrets.token_hex(6)
        deposit["user_id"] = user_id
        deposit["kyc_info"] = {
            "country_code": country,
            "user_id": user_id,
            "national_identification_number": national_id,
            "first_name": first_name,
            "last_name": last_name,
            "date_of_birth": date_of_birth,
            "pep": False,
            "address": {
                "line_1": "Storgatan 1",
                "line_2": "",
                "postcode": "11122",
                "city": "Stockholm",
                "country": country,
            },
        }
        return deposit

    def notification_body(self, deposit_id: str, **overrides) -> bytes:
        """What Zimpler posts: the whole deposit object (overrides forge a body)."""
        return json.dumps({**self.deposits[deposit_id], **overrides}).encode()
