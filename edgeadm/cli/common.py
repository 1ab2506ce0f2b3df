"""Option helpers shared by commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from edgeadm import console
from edgeadm.report import CHANGED, CREATED, UNCHANGED, Report


def csv_list(_ctx: click.Context, _param: click.Parameter, value: str | tuple[str, ...]) -> tuple[str, ...]:
    items = value if isinstance(value, tuple) else (value,)
    return tuple(p.strip() for v in items for p in (v or "").split(",") if p.strip())


def _address(_ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from edgeadm.addr import split_host_port
    from edgeadm.errors import ConfigError

    try:
        split_host_port(value)
    except ConfigError as exc:
        raise click.BadParameter(exc.message, param=param) from None
    return value


def address_option(name: str, **kw: Any) -> Callable[[Any], Any]:
    return click.option(name, default=None, callback=_address, metavar="HOST[:PORT]", **kw)


output_option = click.option("-o", "--output", type=click.Choice(["text", "json", "yaml"]), default="text",
                             show_default=True, help="Result format on stdout.")


def show_report(report: Report, output: str, *, title: str,
                verbs: tuple[str, ...] = (CREATED, CHANGED, UNCHANGED)) -> None:
    for w in report.warnings:
        console.warn(w)
    if output != "text":
        console.out_data(report.as_dict(), output)
        return
    if report.dry_run:
        for v in verbs:
            for name in report.names(v):
                if v != UNCHANGED:
                    console.out(f"would be {v}: {name}")
    console.out(f"{title}: {report.summary(verbs)}")
