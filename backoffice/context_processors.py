from . import roles


def operator(request) -> dict:
    """The operator's role names for the header. Computed once per request: unfold renders
    a template per component, and each render runs the context processors."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cached = getattr(request, "_pitboss_operator_roles", None)
    if cached is None:
        cached = [roles.ROLE_LABELS.get(g, g) for g in sorted(g.name for g in user.groups.all())]
        request._pitboss_operator_roles = cached
    return {"operator_roles": cached}
