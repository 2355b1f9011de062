"""Watch lists as versioned data, their name tokens (the prefilter's index) and the
matches that wait for a compliance officer's decision."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WatchList(models.TextChoices):
    OFAC_SDN = "ofac_sdn", "OFAC SDN"
    UN = "un", "UN Security Council consolidated"
    EU = "eu", "EU consolidated financial sanctions"
    PEP = "pep", "Politically exposed persons"


SANCTIONS_LISTS = (WatchList.OFAC_SDN, WatchList.UN, WatchList.EU)


class WatchlistVersion(models.Model):
    """One import of one list. Entries stay with their version, so the diff against the
    previous version (and "what did the list say on 3 March?") can always be answered."""

    watchlist = models.CharField(max_length=16, choices=WatchList.choices)
    source_format = models.CharField(max_length=16)
    file_names = models.CharField(max_length=500)
    sha256 = models.CharField(max_length=64, help_text="Of the imported files, concatenated")
    published_at = models.CharField(max_length=40, blank=True, help_text="The publisher's date, if any")
    imported_at = models.DateTimeField(default=timezone.now)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    current = models.BooleanField(default=True)
    entries = models.PositiveIntegerField(default=0)
    names = models.PositiveIntegerField(default=0, help_text="Primary names and aliases")
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    changes = models.JSONField(default=dict, help_text="Added and removed entry ids (with names)")

    class Meta:
        ordering = ["-imported_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["watchlist"], condition=Q(current=True), name="watchlist_one_current"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_watchlist_display()} {self.imported_at:%Y-%m-%d %H:%M} ({self.entries})"


class WatchlistEntry(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", "Individual"
        ENTITY = "entity", "Entity"
        VESSEL = "vessel", "Vessel"
        AIRCRAFT = "aircraft", "Aircraft"

    version = models.ForeignKey(WatchlistVersion, on_delete=models.CASCADE, related_name="+")
    watchlist = models.CharField(max_length=16, choices=WatchList.choices)
    external_id = models.CharField(max_length=64, help_text="The publisher's id: ent_num, reference number")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=400)
    aliases = models.JSONField(default=list)
    # "YYYY-MM-DD" or "YYYY" (the lists often know only the year).
    dates_of_birth = models.JSONField(default=list)
    countries = models.JSONField(default=list, help_text="ISO 3166-1 alpha-2")
    programs = models.CharField(max_length=300, blank=True)
    details = models.TextField(blank=True)

    class Meta:
        ordering = ["watchlist", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "external_id"], name="watchlist_entry_per_version")
        ]
        verbose_name_plural = "watchlist entries"

    def __str__(self) -> str:
        return f"{self.get_watchlist_display()} {self.external_id} {self.name}"

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]


class WatchlistToken(models.Model):
    """The prefilter: one row per normalised name token of the current versions' entries
    (a previous version's tokens are deleted when a new one arrives). A plain B-tree on
    `token` serves PostgreSQL and SQLite alike."""

    token = models.CharField(max_length=64)
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["token"], name="watchlist_token_idx")]
        constraints = [models.UniqueConstraint(fields=["token", "entry"], name="watchlist_token_unique")]

    def __str__(self) -> str:
        return f"{self.token} -> {self.entry_id}"


class ScreeningMatch(models.Model):
    """A player's name close to a list entry. Natural key (player, list, external id): a
    re-screen or a new version of the list updates the open match, never duplicates it,
    and never reopens a decided one."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for review"
        CONFIRMED = "confirmed", "Confirmed (true match)"
        DISMISSED = "dismissed", "Dismissed (false positive)"
        DELISTED = "delisted", "Entry removed from the list"

    class Band(models.TextChoices):
        REVIEW = "review", "Review"
        STRONG = "strong", "Strong"

    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="screening_matches")
    watchlist = models.CharField(max_length=16, choices=WatchList.choices)
    external_id = models.CharField(max_length=64)
    entry = models.ForeignKey(WatchlistEntry, on_delete=models.PROTECT, related_name="+")
    screened_name = models.CharField(max_length=250)
    matched_name = models.CharField(max_length=400)
    score = models.FloatField()
    band = models.CharField(max_length=8, choices=Band.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    # Kept by the services: a confirmed sanctions match, or an open one in the strong
    # band, holds the player's money and play. The gates ask one indexed EXISTS on it.
    freezes = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["player", "watchlist", "external_id"], name="screening_match_natural_key"
            )
        ]
        indexes = [
            models.Index(fields=["player"], condition=Q(freezes=True), name="screening_freeze_idx"),
            models.Index(fields=["status", "band", "created_at"], name="screening_queue_idx"),
        ]
        permissions = [
            ("decide_screening_match", "Confirm or dismiss sanctions and PEP matches"),
            ("screen_name", "Screen a name against the watch lists (ad hoc)"),
        ]
        verbose_name_plural = "screening matches"

    def __str__(self) -> str:
        return f"{self.player_id} ~ {self.get_watchlist_display()} {self.external_id} ({self.score:.0f})"
