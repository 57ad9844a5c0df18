"""Template filters for time: ``{{ seconds|hm }}`` → ``1:30``."""

from django import template

from timesheets.durations import hours_minutes

register = template.Library()


@register.filter
def hm(seconds: int | None) -> str:
    return hours_minutes(seconds)
