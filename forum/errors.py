"""The project's own exceptions: services raise them, config.exceptions maps them to HTTP once."""


class DomainError(Exception):
    """A refusal with a message meant for the person who asked (API client or moderator)."""

    def __init__(self, message: str = ""):
        super().__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class NotFound(DomainError):
    """The object does not exist, or not in the state the act needs (404)."""


class NotAllowed(DomainError):
    """The actor may not do this: rights, suspension, a locked topic or thread (403)."""


class Conflict(DomainError):
    """The request clashes with what is already there (409)."""


class Invalid(DomainError):
    """Bad input, naming each field with its messages (400)."""

    def __init__(self, errors: dict[str, list[str]] | str, field: str = "non_field_errors"):
        if isinstance(errors, str):
            errors = {field: [errors]}
        self.errors = {name: list(messages) for name, messages in errors.items()}
        # Named fields stay in the text, so an admin message or a log line says which input was refused.
        super().__init__(
            " ".join(
                message if name == "non_field_errors" else f"{name}: {message}"
                for name, messages in self.errors.items()
                for message in messages
            )
        )

    @classmethod
    def on(cls, field: str, message: str) -> "Invalid":
        return cls({field: [message]})


class RateLimited(DomainError):
    """Too many attempts; try again after `wait` seconds (429 with Retry-After)."""

    def __init__(self, message: str, wait: int):
        super().__init__(message)
        self.wait = wait
