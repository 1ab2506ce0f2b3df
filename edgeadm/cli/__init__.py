"""The click command tree and `main`, the one place that turns errors into exit codes."""

from __future__ import annotations

import importlib
import os
import sys

import click

from edgeadm import __version__, console
from edgeadm.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EdgeadmError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


class GlobalOptions:
    """Options every command sees; built once by the root group. `display` shows a run's events."""

    __slots__ = ("debug", "display", "kubeconfig", "verbosity")

    def __init__(self, *, kubeconfig: str | None, verbosity: int, debug: bool, display: console.Display) -> None:
        self.kubeconfig = kubeconfig
        self.verbosity = verbosity
        self.debug = debug
        self.display = display


# name -> (module, attribute, the command's summary: the first paragraph of its docstring). Subcommand modules are
# imported only when their command runs (or its own --help is shown), which keeps `edgeadm --help` and scripts'
# start-up fast; a unit test keeps the summaries equal to the docstrings.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "addon": ("edgeadm.cli.addon", "addon", "Add capabilities to an existing cluster."),
    "detach": ("edgeadm.cli.detach", "detach", "Remove capabilities added with `edgeadm addon`."),
    "token": ("edgeadm.cli.token", "token", "Manage bootstrap tokens for joining nodes."),
    "bundle": ("edgeadm.cli.bundle", "bundle", "Site bundles: join the nodes of a site the cloud cannot reach."),
    "join": ("edgeadm.cli.join", "join", "Join this machine to the cluster at HOST:PORT."),
    "reset": ("edgeadm.cli.reset", "reset", "Revert every change join made to this machine; continues past failures "
                                            "and lists what it could not undo."),
    "manifests": ("edgeadm.cli.manifests", "manifests", "Render every template with the values addon would use "
                                                        "(placeholders for generated secrets)."),
    "version": ("edgeadm.cli.version", "version",
                "Print the edgeadm version and the cluster's version when reachable."),
    "package": ("edgeadm.cli.package", "package", "Build static install packages."),
    "status": ("edgeadm.cli.status", "status", "Show the edge components and each site's and node's state "
                                               "(read-only)."),
}
# commands a batch runs on hosts, not listed in --help
HIDDEN: dict[str, tuple[str, str]] = {"relay-serve": ("edgeadm.cli.relay", "relay_serve")}


class LazyGroup(click.Group):
    """The root group: lists COMMANDS from the table, imports a command's module only when it is needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in HIDDEN:
            module, attr = HIDDEN[cmd_name]
        elif cmd_name in COMMANDS:
            module, attr, _ = COMMANDS[cmd_name]
        else:
            return None
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(n) for n in names)  # what click's own listing allows
        rows = [(n, click.Command(n, help=COMMANDS[n][2]).get_short_help_str(limit)) for n in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


_debug_requested = bool(os.environ.get("EDGEADM_DEBUG"))


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--kubeconfig", envvar=None, metavar="PATH",
              help="Kubeconfig to use. Default: $KUBECONFIG, ~/.kube/config, /etc/kubernetes/admin.conf.")
@click.option("-v", "--verbose", count=True, help="More output (-vv for debug logs; errors show tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only results and errors.")
@click.option("--debug", is_flag=True, help="Debug logs from edgeadm and its libraries; tracebacks on errors.")
@click.version_option(__version__, "--version", prog_name="edgeadm")
@click.pass_context
def root(ctx: click.Context, kubeconfig: str | None, verbose: int, quiet: bool, debug: bool) -> None:
    """Give an existing Kubernetes cluster edge capabilities and join edge nodes to it.

    \b
    On a master:     edgeadm addon edge-apps --ca.cert ... --ca.key ... --master-public-addr HOST:PORT
                     edgeadm token create --print-join-command
    On an edge node: edgeadm join HOST:PORT --token ... --discovery-token-ca-cert-hash sha256:... \\
                         --install-pkg-path PKG --enable-edge=true

    Exit codes: 0 ok, 1 error, 2 usage, 3 preflight failed, 4 partial failure in a batch, 130 interrupted.
    """
    global _debug_requested
    _debug_requested = _debug_requested or debug or verbose > 0
    level = -1 if quiet else verbose
    console.configure_logging(level, debug=debug)
    ctx.obj = GlobalOptions(kubeconfig=kubeconfig, verbosity=level, debug=debug, display=console.Display(level))


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and map every outcome to a documented exit code."""
    try:
        rv = root.main(args=argv, prog_name="edgeadm", standalone_mode=False)
    except click.exceptions.Abort:
        console.error("interrupted")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        console.error("interrupted")
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except EdgeadmError as exc:
        if _debug_requested:
            _traceback()
        console.error(exc.message, exc.hint)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the error boundary
        if _debug_requested:
            _traceback()
        where = "".join(f" ({note})" for note in getattr(exc, "__notes__", []))
        console.error(f"unexpected {type(exc).__name__}: {exc}{where}",
                      "re-run with -v to see the traceback and report it")
        return EXIT_ERROR
    return int(rv) if isinstance(rv, int) else EXIT_OK


def _traceback() -> None:
    import traceback

    traceback.print_exc(file=sys.stderr)
