"""Lambda SnapStart (template.yaml's `SnapStart` parameter): what an environment restored from a snapshot must not take
from it.

One snapshot seeds every environment restored from it, for as long as the version lives: an access token cached at
initialisation would be shared by all of them and outlive its expiry, pooled connections point at sockets that do
not survive the restore, and the secret may have rotated since. So each handler registers its service's hooks here:
before the snapshot, connections and tokens are dropped (none is written into it); after each restore, the secret is
read again and the gateways start without tokens or connections. The hooks come from the Snapshot Restore for Python
library (`snapshot_restore_py`, on PyPI as snapshot-restore-py), which the Lambda Python runtimes include; where it
is absent (local runs, tests) there is no snapshot, and nothing is registered.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def register_snapshot_hooks(before_snapshot: Callable[[], None], after_restore: Callable[[], None]) -> bool:
    """Register both hooks with the runtime; False where the runtime has no SnapStart library."""
    try:
        runtime_hooks = importlib.import_module("snapshot_restore_py")
    except ImportError:
        return False
    runtime_hooks.register_before_snapshot(before_snapshot)
    runtime_hooks.register_after_restore(after_restore)
    return True
