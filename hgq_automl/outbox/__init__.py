"""Writes to MLflow that survive a tracking store that stops answering for a while.

Every write the search makes goes through an `Outbox`. It tries the store a few times with
backoff; when the store still does not answer (a server stopped, a SQLite file locked past
its busy timeout) the write, and every one after it, is queued on disk in the search's
folder (`STORAGE/NAME/tracking_queue/`), in order, files copied there. The queue is
replayed when the store answers again (tried at most every `probe_seconds`), at the end of
the search, by `--resume`, and by `python -m hgq_automl sync NAME`.

A run created while the store is down gets a placeholder id (`queued-...`); the replay maps
placeholders to the real ids, in arguments and in logged texts (e.g. `pareto.json`).

What the replay does not apply is kept: a store that still does not answer, or refuses
every write (read-only, no permission), leaves the queue as it is; a write the store refuses
for good on its own (its run deleted meanwhile, a value it rejects) is set aside in
`tracking_queue.refused/refused.jsonl` beside the queue (files with it), reported in one
line, and the replay goes on with the rest. A last line cut short (a kill or a full disk
while it was written) is dropped with a note; any other line that is not JSON is set aside.

The modules: `outbox` (the `Outbox` class: writing, queueing, replaying), `ops` (the
writes the queue can hold), `verdicts` (what a store's exception says). Everything other
modules use is re-exported here: `from hgq_automl.outbox import X`.
"""

from .outbox import PLACEHOLDER, QUEUE_DIR, Outbox
from .verdicts import first_line, is_transient, refuses_every_write
