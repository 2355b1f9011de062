"""Console forms take unfold's widgets so custom pages look like the rest of the admin."""

from django import forms
from unfold import widgets as uw

_WIDGETS = {
    forms.Textarea: uw.UnfoldAdminTextareaWidget,
    forms.EmailInput: uw.UnfoldAdminEmailInputWidget,
    forms.TextInput: uw.UnfoldAdminTextInputWidget,
    forms.NumberInput: uw.UnfoldAdminTextInputWidget,
    forms.CheckboxSelectMultiple: uw.UnfoldAdminCheckboxSelectMultiple,
    forms.RadioSelect: uw.UnfoldAdminRadioSelectWidget,
    forms.Select: uw.UnfoldAdminSelectWidget,
    forms.CheckboxInput: uw.UnfoldBooleanWidget,
    forms.DateInput: uw.UnfoldAdminSingleDateWidget,
    forms.PasswordInput: uw.UnfoldAdminPasswordWidget,
}


class ConsoleForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            new = _WIDGETS.get(type(f.widget))
            if new is not None:
                attrs = f.widget.attrs
                choices = getattr(f.widget, "choices", None)
                f.widget = new(attrs=attrs) if new is not uw.UnfoldAdminSingleDateWidget else new()
                if choices is not None:
                    f.widget.choices = choices
