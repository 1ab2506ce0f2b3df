"""`join --inventory` and `reset --inventory`: the batch flags both commands share, and the summary they print."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from edgeadm import console
from edgeadm.cli import GlobalOptions
from edgeadm.cli.common import usage_errors
from edgeadm.errors import Interrupted, PartialFailure, UsageError

F = TypeVar("F", bound=Callable[..., Any])
BATCH_FLAGS = ("inventory", "accept_new_host_keys", "known_hosts", "retry_failed", "run_dir", "results")


def options(fn: F) -> F:
    """The batch flags (all unset unless --inventory is given)."""
    path = click.Path(dir_okay=False, path_type=Path)
    for opt in reversed([
        click.option("--inventory", type=path, default=None,
                     help="Run on every host of this inventory over SSH, from this machine (see README: batch)."),
        click.option("--accept-new-host-keys", is_flag=True,
                     help="With --inventory: record the keys of hosts not in known_hosts (a changed key is "
                          "always refused)."),
        click.option("--known-hosts", type=path, default=None,
                     help="With --inventory: the known_hosts file (default ~/.ssh/known_hosts)."),
        click.option("--retry-failed", type=path, default=None, metavar="RESULTS.json",
                     help="With --inventory: only the hosts this results file says did not finish."),
        click.option("--run-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="With --inventory: where host logs and results go (default ./edgeadm-runs/ACTION-TIME)."),
        click.option("--results", type=path, default=None,
                     help="With --inventory: the results file (default RUN-DIR/results.json)."),
    ]):
        fn = opt(fn)
    return fn


def given_with(flags: dict[str, Any], action: str) -> None:
    """Batch-only flags without --inventory are a usage error."""
    if flags.get("inventory") is None:
        extra = [f for f in BATCH_FLAGS[1:] if flags.get(f) not in (None, False)]
        if extra:
            flag = "--" + extra[0].replace("_", "-")
            raise UsageError(f"{flag} needs --inventory", flag=flag)


def run(opts: GlobalOptions, action: str, flags: dict[str, Any]) -> None:
    from edgeadm.inventory import BatchOptions
    from edgeadm.workflows import batch as wf
    from edgeadm.workflows import token as token_wf

    with usage_errors():
        o = BatchOptions.parse(action=action, inventory=flags["inventory"], known_hosts=flags["known_hosts"],
                               accept_new_host_keys=flags["accept_new_host_keys"], run_dir=flags["run_dir"],
                               retry_failed=flags["retry_failed"], results=flags["results"])
    kube = token_wf.connect(opts.kubeconfig)
    stop = threading.Event()

    def on_sigint(_sig: int, _frame: Any) -> None:
        # the hosts that are joining finish: cutting a join off mid-way would leave them for `reset` to clean
        stop.set()
        console.warn("stopping: no new host is started; waiting for the running ones to finish")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        b = wf.run(kube, o, opts.display, stop)
    finally:
        signal.signal(signal.SIGINT, previous)
    rows = [("SITE", "NODE", "ADDRESS", "OUTCOME", "PHASE", "SECONDS")] + [
        (r.site, r.nodeName, f"{r.address}:{r.port}", r.outcome, r.phase or "-", f"{r.seconds:.1f}")
        for r in b.results]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        console.out("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    console.out(f"results: {o.results}  logs: {o.run_dir}/")
    failed = b.failed()
    if b.interrupted:
        raise Interrupted(f"interrupted: {len(failed)} of {len(b.results)} host(s) not done",
                          hint=f"resume with: edgeadm {action} --inventory {o.inventory.path} "
                               f"--retry-failed {o.results}")
    if failed:
        raise PartialFailure(f"{len(failed)} of {len(b.results)} host(s) did not {action}: "
                             + ", ".join(f"{r.nodeName} ({r.outcome})" for r in failed[:10])
                             + (" …" if len(failed) > 10 else ""), [r.nodeName for r in failed],
                             hint=f"fix them, then: edgeadm {action} --inventory {o.inventory.path} "
                                  f"--retry-failed {o.results}")
