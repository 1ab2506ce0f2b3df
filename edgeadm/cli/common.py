"""Option helpers shared by commands: flag collection, our usage errors shown as click's, phase listings."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from edgeadm import console
from edgeadm.errors import UsageError

if TYPE_CHECKING:
    from edgeadm.report import Report


def csv_list(_ctx: click.Context, _param: click.Parameter, value: str | tuple[str, ...]) -> tuple[str, ...]:
    items = value if isinstance(value, tuple) else (value,)
    return tuple(p.strip() for v in items for p in (v or "").split(",") if p.strip())


@contextmanager
def usage_errors() -> Iterator[None]:
    """Show an options type's UsageError the way click shows its own (usage line, `Error: ...`, exit 2)."""
    try:
        yield
    except UsageError as exc:
        text = f"{exc.message} ({exc.hint})" if exc.hint else exc.message  # what failed, and what to do
        if exc.flag:
            raise click.BadParameter(text, param_hint=f"'{exc.flag}'") from None
        raise click.UsageError(text) from None


class PhasedCommand(click.Command):
    """A command whose --help ends with its workflow's phase listing, taken from the phase tuple itself (computed
    only when help is shown, so start-up never imports the phases)."""

    def __init__(self, *args: Any, phases: Callable[[], Sequence[Any]], epilog_note: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phases = phases
        self._note = epilog_note

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from edgeadm.workflow import describe

        formatter.write_paragraph()
        formatter.write_text("Phases (for --skip-phases):")
        with formatter.indentation():
            formatter.write(describe(self._phases()) + "\n")
        if self._note:
            formatter.write_paragraph()
            formatter.write_text(self._note)


output_option = click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
                             show_default=True, help="Result format on stdout.")


def show_report(report: Report, output: str, *, title: str,
                verbs: tuple[str, ...] = ("created", "changed", "unchanged")) -> None:
    for w in report.warnings:
        console.warn(w)
    if output != "text":
        console.out_data(report.as_dict(), output)
        return
    if report.dry_run:
        for v in verbs:
            for name in report.names(v):
                if v != "unchanged":
                    console.out(f"would be {v}: {name}")
    console.out(f"{title}: {report.summary(verbs)}")
