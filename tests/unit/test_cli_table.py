"""The root group's command table (what `edgeadm --help` lists without importing the commands) matches the
commands themselves, and --help never imports the heavy libraries or the subcommands."""

from __future__ import annotations

import subprocess
import sys

import click

from edgeadm.cli import COMMANDS, LazyGroup, root


def test_table_matches_the_commands() -> None:
    assert isinstance(root, LazyGroup)
    ctx = click.Context(root)
    for name, (_, _, short) in COMMANDS.items():
        command = root.get_command(ctx, name)
        assert command is not None and command.name == name
        assert command.help is not None
        assert " ".join(command.help.split("\n\n")[0].split()) == short, name


def test_help_imports_no_subcommand() -> None:
    code = ("import sys; from edgeadm.cli import main; main(['--help']);"
            "print('LOADED=' + ','.join(sorted(m for m in sys.modules if m.startswith('edgeadm.cli.')"
            " or m in ('edgeadm.events', 'logging', 'dataclasses', 'kubernetes', 'yaml', 'jinja2'))))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip().splitlines()[-1] == "LOADED="
