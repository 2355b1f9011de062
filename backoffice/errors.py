"""The one domain error type. Services raise it for expected refusals; screens show its
message, APIs answer its code (and the field at fault, when there is one)."""


class DomainError(Exception):
    def __init__(self, code: str, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.status = status

    def __str__(self) -> str:
        return self.message
