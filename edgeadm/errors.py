"""The error hierarchy of edgeadm; exit codes are mapped from these in exactly one place (cli.main)."""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2  # click's own code for usage errors
EXIT_PREFLIGHT = 3
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130


class EdgeadmError(Exception):
    """An expected failure: one line of message plus an optional hint, never a traceback by default."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class ConfigError(EdgeadmError):
    """Bad input (a file, an address, a kubeconfig) found before anything changed."""


class PreflightError(EdgeadmError):
    """One or more preflight checks failed; nothing was changed."""

    exit_code = EXIT_PREFLIGHT


class PartialFailure(EdgeadmError):
    """Some items of a batch failed; carries the per-item outcome."""

    exit_code = EXIT_PARTIAL

    def __init__(self, message: str, outcomes: dict[str, object] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.outcomes = outcomes or {}


class PhaseError(EdgeadmError):
    """A phase failed; the message names the phase path."""

    def __init__(self, phase: str, cause: BaseException) -> None:
        hint = cause.hint if isinstance(cause, EdgeadmError) else None
        super().__init__(f"phase {phase}: {cause}", hint)
        self.phase = phase
        self.cause = cause
        if isinstance(cause, EdgeadmError):
            self.exit_code = cause.exit_code
