"""Three changes to moto's Step Functions interpreter that the local cloud needs; the ASL runs as is.

* **A definition is parsed once per process.** moto parses the state machine's ASL with its ANTLR
  grammar at every execution's start: 0.1-0.3 s of pure-Python parsing for the pipeline's
  1,200-line definition, on a 2-core machine. The syntax tree depends on the text only, so it is
  kept by text; each execution still gets its own evaluation components, built from the tree by
  moto's ``Preprocessor`` as before (they hold per-execution state, the tree does not).
* **A stopped execution stays stopped.** In Step Functions, ``StopExecution`` ends an execution
  ABORTED. moto's ``Environment.set_error`` overwrites any state, so a task that was in flight when
  the stop came, and fails because of it, turns the execution into FAILED (seen under load). The
  local wait loops spend most of their time in a task (the long-polled Describe), where a stop
  usually lands.
* **A stop right after the start stops the execution.** moto's ``StopExecution`` fails with an
  ``AttributeError`` until the execution's thread has made its environment (its first
  milliseconds): a Ctrl-C of ``local run`` then ended in a traceback. The stop now waits for it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

TREES_KEPT = 8  # the local stack has two state machines; tests make a few more
STARTING_SECONDS = 10.0  # how long a stop waits for the execution's thread to make its environment


def install() -> None:
    """Apply the three changes (idempotent). Call before the first execution starts."""
    _cache_parse_trees()
    _keep_stopped_executions_stopped()
    _stop_once_started()


def _cache_parse_trees() -> None:
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    parser = asl_parser.AmazonStateLanguageParser
    if getattr(parser.parse, "sagedrop_cached", False):
        return
    original = parser.parse
    trees: OrderedDict[str, object] = OrderedDict()
    lock = threading.Lock()

    def parse(definition: str):
        with lock:
            tree = trees.get(definition)
            if tree is not None:
                trees.move_to_end(definition)
        if tree is not None:
            return Preprocessor().visit(tree), tree
        program, tree = original(definition)  # a syntax error raises here and is not kept
        with lock:
            trees[definition] = tree
            while len(trees) > TREES_KEPT:
                trees.popitem(last=False)
        return program, tree

    parse.sagedrop_cached = True
    parser.parse = staticmethod(parse)


def _keep_stopped_executions_stopped() -> None:
    from moto.stepfunctions.parser.asl.eval import environment

    original = environment.Environment.set_error
    if getattr(original, "sagedrop_keeps_stop", False):
        return

    def set_error(self, error) -> None:
        with self._state_mutex:  # an RLock: the original takes it again
            if not isinstance(self._program_state, environment.ProgramStopped):
                original(self, error)

    set_error.sagedrop_keeps_stop = True
    environment.Environment.set_error = set_error


def _stop_once_started() -> None:
    from moto.stepfunctions.parser.backend import execution_worker

    original = execution_worker.ExecutionWorker.stop
    if getattr(original, "sagedrop_waits_for_start", False):
        return

    def stop(self, stop_date, error, cause) -> None:
        deadline = time.monotonic() + STARTING_SECONDS
        while self.env is None and time.monotonic() < deadline:
            time.sleep(0.005)
        original(self, stop_date=stop_date, error=error, cause=cause)

    stop.sagedrop_waits_for_start = True
    execution_worker.ExecutionWorker.stop = stop
