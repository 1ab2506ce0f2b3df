"""The click command tree and `main`, the one place that turns errors into exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass

import click

from edgeadm import __version__, console
from edgeadm.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EdgeadmError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@dataclass
class GlobalOptions:
    """Options every command sees; built once by the root group. `display` shows a run's events."""

    kubeconfig: str | None
    verbosity: int
    debug: bool
    display: console.Display


_debug_requested = bool(os.environ.get("EDGEADM_DEBUG"))


@click.group(context_settings=CONTEXT_SETTINGS)
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


def _register() -> None:
    from edgeadm.cli import addon, detach, join, manifests, package, reset, token, version

    root.add_command(addon.addon)
    root.add_command(detach.detach)
    root.add_command(token.token)
    root.add_command(join.join)
    root.add_command(reset.reset)
    root.add_command(manifests.manifests)
    root.add_command(version.version)
    root.add_command(package.package)


_register()


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
            traceback.print_exc(file=sys.stderr)
        console.error(exc.message, exc.hint)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the error boundary
        if _debug_requested:
            traceback.print_exc(file=sys.stderr)
        where = "".join(f" ({note})" for note in getattr(exc, "__notes__", []))
        console.error(f"unexpected {type(exc).__name__}: {exc}{where}",
                      "re-run with -v to see the traceback and report it")
        return EXIT_ERROR
    return int(rv) if isinstance(rv, int) else EXIT_OK
