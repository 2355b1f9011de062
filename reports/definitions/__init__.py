"""One module per report; importing this package registers them all (reports.registry)."""

from . import activity, compliance_stats, games, ggr, liability, mga, payments  # noqa: F401
