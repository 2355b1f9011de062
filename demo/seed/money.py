"""A seeded player's money: deposits through the providers (credited or failed), the
instruments paid with, withdrawals (paid, cancelled, refused, in review), and the CDD
meter's KYC requirement. Rows as payments.services, payments.withdrawals and
payments.ledger write them (book.py posts the ledger side)."""

import hashlib
import zlib

from . import world as W
from .base import DAY, scrambled


class Payments:
    """Mixed into history.PlayerSim."""

    def _method(self, provider: str, at: float, *, fingerprint_seed: str | None = None) -> tuple[int, str]:
        """The instrument paid with at this provider (created on first use): id, method."""
        method, mtype, brands = W.METHODS[provider]
        key = (provider, fingerprint_seed or f"{self.world.run}:{self.player_id}:{provider}")
        brand = (
            brands[zlib.crc32(key[1].encode()) % len(brands)] if fingerprint_seed else self.r.choice(brands)
        )
        shown = brand if mtype == "card" else method
        if key in self.methods:
            return self.methods[key], shown
        mid = self.ids.take("method")
        fp = hashlib.sha256(key[1].encode()).hexdigest()
        last4 = f"{int(fp[:8], 16) % 10_000:04d}" if mtype != "ewallet" else ""
        bank = brand if mtype == "bank_account" else ""
        when = self.world.dt(at)
        self.w.add(
            "method",
            (
                mid,
                self.player_id,
                provider,
                mtype,
                "" if mtype == "bank_account" else brand,
                last4,
                bank,
                f"{self.first} {self.last}",
                fp,
                when,
                when,
            ),
        )
        self.methods[key] = mid
        return mid, shown

    def _payment_ref(self, pay_id: int) -> str:
        return "PB" + scrambled(pay_id, 16, "0123456789ABCDEF")

    def _psp_ref(self, provider: str, pay_id: int) -> str:
        n = (pay_id * 2_654_435_761) % 10**12
        return {"adyen": f"88{n:014d}", "trustly": f"{n:010d}", "payz": f"{n:09d}"}.get(provider, f"{n:012d}")

    def deposit_allowed(self, amount: int, at: float) -> bool:
        if self.excluded_at(at) or self.world.frozen(self):
            return False
        for period, limit in self.limits.items():
            if self.period_deposits.get((period, self.world.period_index(period, at)), 0) + amount > limit:
                return False
        return True

    def deposit(
        self, at: float, amount: int, provider: str, *, fail: bool = False, fingerprint_seed=None
    ) -> bool:
        """A deposit through `provider`: started, then the provider's notification: credited,
        or failed (nothing moves). True when credited."""
        world, r = self.world, self.r
        if at + 240 >= world.end:  # the history ends before the provider would answer
            return False
        pay_id = self.ids.take("payment")
        ref, psp = self._payment_ref(pay_id), self._psp_ref(provider, pay_id)
        start, done = at, at + r.randint(20, 240)
        fee = world.fee(provider, self.market, self.currency, "deposit", amount)
        self.w.add("event", (pay_id, "", "initiated", world.dt(start), "api", ""))
        if fail:
            self.tally.failed_deposits += 1
            reason = {"adyen": "Refused", "nuvei": "DECLINED", "trustly": "cancelled by the user"}.get(
                provider, "failed"
            )
            self.w.add("event", (pay_id, "initiated", "failed", world.dt(done), "notification", reason))
            self._payment_row(
                pay_id, "deposit", provider, "", None, amount, fee, ref, psp, "failed", start, done
            )
            return False
        method_id, shown = self._method(provider, start, fingerprint_seed=fingerprint_seed)
        legs = [(self.cash_id, amount), (world.house_psp(provider, self.currency), -(amount - fee))]
        if fee:
            legs.append((world.house_fees(self.currency), -fee))
        txn = self.book.post(
            "deposit",
            f"payment:{ref}:credit",
            legs,
            at=done,
            reference=ref,
            metadata=f'{{"payment": "{ref}", "provider": "{provider}", "psp": "{psp}"}}',
            player_accounts=self.player_accounts,
        )
        self.w.add("event", (pay_id, "initiated", "succeeded", world.dt(done), "notification", ""))
        self._payment_row(
            pay_id,
            "deposit",
            provider,
            shown,
            method_id,
            amount,
            fee,
            ref,
            psp,
            "succeeded",
            start,
            done,
            credit=txn,
        )
        seg = world.segments[self.segment.name]
        if not self.deposited_lifetime:
            self.tally.depositors += 1
            seg["depositors"] += 1
        seg["deposited_eur_minor"] += int(amount * world.eur_rate(self.currency))
        self.deposited_lifetime += amount
        self.last_deposit = amount
        self.tally.deposits += 1
        self.tally.deposited += amount
        self.tally.by_provider[provider] = self.tally.by_provider.get(provider, 0) + 1
        for period in self.limits:
            k = (period, world.period_index(period, done))
            self.period_deposits[k] = self.period_deposits.get(k, 0) + amount
        self._cdd(done)
        return True

    def _payment_row(
        self,
        pay_id,
        kind,
        provider,
        shown,
        method_id,
        amount,
        fee,
        ref,
        psp,
        state,
        start,
        changed,
        *,
        credit=None,
        request=None,
        settle=None,
        note="",
    ):
        world = self.world
        self.w.add(
            "payment",
            (
                pay_id,
                kind,
                self.player_id,
                provider,
                shown,
                method_id,
                amount,
                self.currency,
                fee,
                ref,
                psp,
                "{}",
                "",
                state,
                world.dt(changed),
                world.dt(start),
                world.dt(changed),
                credit,
                request,
                settle,
                note,
            ),
        )

    def _cdd(self, at: float) -> None:
        """The CDD meter (compliance.kyc.cdd_meter): accrued deposits over the relationship
        reach the market's threshold: a full-verification requirement opens; most players
        send their documents within a few weeks."""
        if self.kyc_required_since is not None:
            return
        world = self.world
        if int(self.deposited_lifetime * world.eur_rate(self.currency)) < world.cdd_threshold(self.market):
            return
        self.kyc_required_since = at
        if self.r.random() < 0.85:
            self.kyc_done_at = at + self.r.randint(1, 25) * DAY

    def withdrawal_held(self, at: float) -> bool:
        """compliance.gates.can_withdraw: an open KYC requirement holds withdrawals."""
        open_requirement = self.kyc_required_since is not None and (
            self.kyc_done_at is None or at < self.kyc_done_at
        )
        return open_requirement or self.world.frozen(self)

    def withdraw(
        self, at: float, amount: int, provider: str, *, fate: str = "paid", fingerprint_seed=None
    ) -> None:
        """Request (cash -> pending), then paid (pending -> the provider), cancelled by the
        player or refused at the provider (pending -> cash), or still in review at the end."""
        world, r = self.world, self.r
        if at >= world.end - 60:
            return
        pay_id = self.ids.take("payment")
        ref, psp = self._payment_ref(pay_id), self._psp_ref(provider, pay_id)
        fee = world.fee(provider, self.market, self.currency, "withdrawal", amount)
        method_id, shown = self._method(provider, at, fingerprint_seed=fingerprint_seed)
        request = self.book.post(
            "withdrawal_request",
            f"payment:{ref}:request",
            [(self.cash_id, -amount), (self.pending_id, amount)],
            at=at,
            reference=ref,
            metadata=f'{{"payment": "{ref}", "provider": "{provider}"}}',
            player_accounts=self.player_accounts,
        )
        ev = self.w.add
        ev("event", (pay_id, "", "requested", world.dt(at), "api", ""))
        ev("event", (pay_id, "requested", "in_review", world.dt(at + 1), "system", ""))
        decided = at + r.randint(600, 20 * 3600)
        if decided + 600 > world.end:  # nobody has decided yet when the history ends
            fate = "in_review"
        if fate == "in_review":
            self._payment_row(
                pay_id,
                "withdrawal",
                provider,
                shown,
                method_id,
                amount,
                fee,
                ref,
                "",
                "in_review",
                at,
                at + 1,
                request=request,
            )
            return
        if fate == "cancelled":
            back = self.book.post(
                "withdrawal_cancel",
                f"payment:{ref}:return",
                [(self.pending_id, -amount), (self.cash_id, amount)],
                at=decided,
                reference=ref,
                metadata=f'{{"payment": "{ref}", "why": "player_cancel"}}',
                player_accounts=self.player_accounts,
            )
            ev(
                "event",
                (pay_id, "in_review", "cancelled", world.dt(decided), "api", "Cancelled by the player"),
            )
            self._payment_row(
                pay_id,
                "withdrawal",
                provider,
                shown,
                method_id,
                amount,
                fee,
                ref,
                "",
                "cancelled",
                at,
                decided,
                request=request,
                settle=back,
                note="Cancelled by the player.",
            )
            return
        ev("event", (pay_id, "in_review", "approved", world.dt(decided), "operator", ""))
        ev("event", (pay_id, "approved", "sent", world.dt(decided + 5), "system", ""))
        paid = decided + r.randint(60, 600)
        if fate == "failed":
            back = self.book.post(
                "withdrawal_cancel",
                f"payment:{ref}:return",
                [(self.pending_id, -amount), (self.cash_id, amount)],
                at=paid,
                reference=ref,
                metadata=f'{{"payment": "{ref}", "why": "payout_failed", "returned_by": "provider"}}',
                player_accounts=self.player_accounts,
            )
            ev(
                "event",
                (pay_id, "sent", "failed", world.dt(paid), "notification", "beneficiary account closed"),
            )
            self._payment_row(
                pay_id,
                "withdrawal",
                provider,
                shown,
                method_id,
                amount,
                fee,
                ref,
                psp,
                "failed",
                at,
                paid,
                request=request,
                settle=back,
                note="Payout failed, money returned to the player: beneficiary account closed",
            )
            return
        legs = [(self.pending_id, -amount), (world.house_psp(provider, self.currency), amount + fee)]
        if fee:
            legs.append((world.house_fees(self.currency), -fee))
        settle = self.book.post(
            "withdrawal",
            f"payment:{ref}:paid",
            legs,
            at=paid,
            reference=ref,
            metadata=f'{{"payment": "{ref}", "provider": "{provider}", "psp": "{psp}"}}',
            player_accounts=self.player_accounts,
        )
        ev("event", (pay_id, "sent", "paid", world.dt(paid), "notification", ""))
        self._payment_row(
            pay_id,
            "withdrawal",
            provider,
            shown,
            method_id,
            amount,
            fee,
            ref,
            psp,
            "paid",
            at,
            paid,
            request=request,
            settle=settle,
        )
        self.tally.withdrawals += 1
        self.tally.withdrawn += amount
