"""`{% load money %}{{ posting.amount|money:account.currency }}`: the one way money is
shown in templates ("EUR 1,234.50"). Takes an int of minor units or a Money."""

from django import template

from backoffice.money import Money, format_minor

register = template.Library()


@register.filter(name="money")
def money(value, currency: str = ""):
    if isinstance(value, Money):
        return value.format()
    if value is None or value == "":
        return "-"
    return format_minor(value, currency)


@register.filter(name="money_decimal")
def money_decimal(value, currency: str):
    """The bare decimal string ("1234.50"), e.g. for CSV cells and form defaults."""
    if value is None or value == "":
        return ""
    return Money(value, currency).to_decimal_string()
