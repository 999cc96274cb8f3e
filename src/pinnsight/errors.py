"""The one exception type that user-facing code turns into a clear error line."""


class PinnsightError(ValueError):
    """Bad input from a user: unknown name, invalid value, malformed config, unusable run directory."""


class TrainingInterrupted(Exception):
    """A signal stopped a checkpointed training at a chunk boundary; its checkpoint is saved at ``path``."""

    def __init__(self, message: str, signum: int, path):
        super().__init__(message)
        self.signum, self.path = signum, path
