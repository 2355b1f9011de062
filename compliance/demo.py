"""Compliance demo data on top of the demo players: KYC documents waiting in the queue,
limits (some pending), exclusions, RG alerts and a national register file. Loaded once."""

import random
from datetime import date, timedelta

from django.utils import timezone

from players.models import Player

from . import kyc, rg
from .models import KycDocument, RgAlert

# A tiny valid PDF and PNG, so the queue's preview shows something real.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 420 260]/Contents 4 0 R"
    b"/Resources<</Font<</F1<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>>>>>>>endobj\n"
    b"4 0 obj<</Length 88>>stream\nBT /F1 18 Tf 30 200 Td (DEMO PASSPORT) Tj 0 -40 Td (Specimen - not a real "
    b"document) Tj ET\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def ensure_demo_compliance(seed: int = 20261125) -> bool:
    if KycDocument.objects.exists() or RgAlert.objects.exists():
        return False
    r = random.Random(seed)
    players = list(Player.objects.filter(status=Player.Status.ACTIVE).order_by("id")[:120])
    if not players:
        return False
    # Most players are verified the way their market does it (BankID in SE, documents
    # elsewhere); the first dozen still wait in the KYC queue.
    from .models import KycProfile

    KycProfile.objects.bulk_create(
        [
            KycProfile(player=p, level=1, verified_by_bank=p.jurisdiction == "SE")
            for p in Player.objects.filter(
                id__in=[q.pk for q in players[12:]]
                + list(Player.objects.exclude(id__in=[q.pk for q in players]).values_list("id", flat=True))
            )
            if r.random() < 0.85
        ],
        ignore_conflicts=True,
    )
    for p in players[:12]:
        for t in r.sample(["passport", "id_card", "proof_of_address", "source_of_funds"], k=r.randint(1, 2)):
            kyc.document_upload(
                player_id=p.pk, document_type=t, file_name=f"{t}.pdf", content=_PDF, source="demo"
            )
    for p in players[12:40]:
        period = r.choice(["day", "week", "month"])
        rg.limit_set(
            player_id=p.pk,
            kind="deposit",
            period=period,
            amount=r.choice([5000, 10000, 50000]),
            actor=None,
            source="demo",
        )
        if r.random() < 0.4:
            rg.limit_set(
                player_id=p.pk, kind="deposit", period=period, amount=200000, actor=None, source="demo"
            )
    for p in players[40:46]:
        rg.exclusion_start(
            player_id=p.pk,
            kind="self_exclusion",
            ends_at=None,
            actor=None,
            source="demo",
            reason="Player asked by email",
        )
    for p in players[46:50]:
        rg.exclusion_start(
            player_id=p.pk,
            kind="timeout",
            ends_at=timezone.now() + timedelta(days=r.randint(1, 20)),
            actor=None,
            source="demo",
        )
    today = date.today()
    for p, marker in zip(players[50:60], list(RgAlert.Marker.values) * 2, strict=False):
        RgAlert.objects.create(
            player=p,
            marker=marker,
            window_start=today - timedelta(days=7),
            window_end=today,
            evidence={"demo": True, "note": "planted by the demo data"},
        )
    se = [p for p in Player.objects.filter(jurisdiction="SE").exclude(national_id_hash="")[:2]]
    if se:
        from .models import NationalRegisterEntry, NationalRegisterImport

        imp = NationalRegisterImport.objects.create(
            register="spelpaus", file_name="demo-spelpaus.csv", entries=len(se)
        )
        NationalRegisterEntry.objects.bulk_create(
            [
                NationalRegisterEntry(
                    register_import=imp, register="spelpaus", national_id_hash=p.national_id_hash
                )
                for p in se
            ]
        )
    return True
