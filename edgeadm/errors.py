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


class UsageError(ConfigError):
    """A flag or option value is invalid (exit code 2, as click's own usage errors). `flag` names the option."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, hint: str | None = None, *, flag: str | None = None) -> None:
        super().__init__(message, hint)
        self.flag = flag


class PreflightError(EdgeadmError):
    """One or more preflight checks failed; nothing was changed."""

    exit_code = EXIT_PREFLIGHT


class PartialFailure(EdgeadmError):
    """Some items of a batch failed; carries the per-item outcome."""

    exit_code = EXIT_PARTIAL

    def __init__(self, message: str, failed: list[str] | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.failed = failed or []


class PhaseError(EdgeadmError):
    """An expected failure inside a phase; the message names the phase and the exit code is the cause's."""

    def __init__(self, phase: str, cause: EdgeadmError) -> None:
        super().__init__(f"phase {phase}: {cause}", cause.hint)
        self.phase = phase
        self.cause = cause
        self.exit_code = cause.exit_code


class Interrupted(EdgeadmError):
    """The user stopped a run (SIGINT) that finished what it had started and reported it."""

    exit_code = EXIT_INTERRUPTED
