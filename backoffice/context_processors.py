from . import roles


def operator(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    names = [roles.ROLE_LABELS.get(g, g) for g in sorted(g.name for g in user.groups.all())]
    return {"operator_roles": names}
