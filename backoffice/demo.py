"""Demo operators: one per role, with a published password and TOTP secret. Only for
`make run` and tests; they are flagged is_demo so `totp_code` works for them alone."""

import base64
import hashlib

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP

from . import roles, services
from .models import User

DEMO_PASSWORD = "pitboss-demo-2026"
DEMO_OPERATORS = [
    ("admin@pitboss.test", "Ada Administrator", [roles.ADMINISTRATOR]),
    ("admin2@pitboss.test", "Alan Second-Admin", [roles.ADMINISTRATOR]),
    ("support@pitboss.test", "Sam Support", [roles.SUPPORT]),
    ("compliance@pitboss.test", "Carla Compliance", [roles.COMPLIANCE]),
    ("finance@pitboss.test", "Finn Finance", [roles.FINANCE]),
    ("finance2@pitboss.test", "Fiona Second-Finance", [roles.FINANCE]),
    ("marketing@pitboss.test", "Mia Marketing", [roles.MARKETING]),
    ("risk@pitboss.test", "Rick Risk", [roles.RISK]),
    ("mlro@pitboss.test", "Morgan MLRO", [roles.COMPLIANCE, roles.MLRO]),
]


def demo_totp_secret(email: str) -> str:
    """Deterministic per demo operator, so a re-seeded demo keeps working in an
    authenticator app that scanned it once."""
    return base64.b32encode(hashlib.sha256(f"pitboss-demo:{email}".encode()).digest()[:20]).decode()


def ensure_demo_operators() -> list[User]:
    users = []
    for email, name, role_names in DEMO_OPERATORS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = services.operator_create(
                email=email,
                full_name=name,
                role_names=role_names,
                password=DEMO_PASSWORD,
                actor=None,
                is_demo=True,
            )
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, demo_totp_secret(email))
            RecoveryCodes.activate(user)
        users.append(user)
    return users
