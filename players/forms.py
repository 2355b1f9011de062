from django import forms

from backoffice.forms import ConsoleForm


class PlayerSearchForm(ConsoleForm):
    q = forms.CharField(
        label="Find a player",
        max_length=200,
        required=False,
        help_text="Public id, email, phone, name, national id, IP address or device id.",
        widget=forms.TextInput(
            attrs={"autofocus": True, "placeholder": "P7K3M9Q2XA, anna@example.com, +46 70..."}
        ),
    )


class ReasonForm(ConsoleForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Reason (kept in the audit log)")


class NoteForm(ConsoleForm):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Note")
    pinned = forms.BooleanField(required=False, label="Pin to the top")
