"""A `dask worker --preload` that SIGKILLs its own worker at a chosen moment.

``GLASSNET_TEST_KILL=<state>:<key prefix>:<n>``: the worker kills itself when the
``n``-th key whose name starts with the prefix reaches ``state`` there, e.g.
``memory:ndarray-:1`` (the first array scattered to it: the scatter never gets
its answer) or ``executing:Batch:3`` (the third batch of fits it starts).
"""

import os
import signal

from distributed import WorkerPlugin


class KillAt(WorkerPlugin):
    def __init__(self, state, prefix, nth):
        self.state, self.prefix, self.nth, self.seen = state, prefix, nth, 0

    def transition(self, key, start, finish, **kwargs):
        if finish == self.state and str(key).startswith(self.prefix):
            self.seen += 1
            if self.seen == self.nth:
                os.kill(os.getpid(), signal.SIGKILL)


async def dask_setup(worker):
    spec = os.environ.get("GLASSNET_TEST_KILL")
    if spec:
        state, prefix, nth = spec.split(":")
        await worker.plugin_add(plugin=KillAt(state, prefix, int(nth)), name="glassnet-kill")
