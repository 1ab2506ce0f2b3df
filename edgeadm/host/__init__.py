"""Changes to the local machine, each recorded in a journal *before* it is made, so reset undoes them exactly.

This package is the only place edgeadm writes outside a temporary directory:
- `journal`: the typed entries (one per kind of change, each knowing its own undo) and their persistence in a
  state directory given by the caller;
- `local`: `LocalHost`, the journaled operations phases use (files, directories, units, sysctls, network devices,
  the runtime's containers, the registered Node);
- `revert`: replay a journal newest first, keep going, report what was left behind.
"""

from edgeadm.host.journal import Journal, JournalError
from edgeadm.host.local import HostError, LocalHost, run
from edgeadm.host.revert import LeftBehind, undo

__all__ = ["HostError", "Journal", "JournalError", "LeftBehind", "LocalHost", "run", "undo"]
