"""The one exception type that user-facing code turns into a clear error line."""


class PinnsightError(ValueError):
    """Bad input from a user: unknown name, invalid value, malformed config, unusable run directory."""
