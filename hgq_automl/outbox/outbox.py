"""`Outbox`: every tracking write, tried with backoff, queued on disk in order while the
store does not answer, and replayed when it does (placeholder run ids mapped to the real
ones); what the store refuses for good is set aside beside the queue."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..diskfull import is_disk_full
from ..tags import ROLE
from .ops import Ops
from .verdicts import _already_done, first_line, is_transient, refuses_every_write

QUEUE_DIR = "tracking_queue"
PLACEHOLDER = "queued-"


class Outbox:
    """The tracking store's writes, queued on disk while it is unavailable.

    Args:
        client: an MlflowClient.
        folder: where the queue lives (`STORAGE/NAME/tracking_queue`); None: no queue,
            writes only retry.
        attempts: tries of a write before the store counts as down.
        backoff: seconds before the second try, doubled each time.
        probe_seconds: while down, how often a write first tries to replay the queue.
    """

    #: Called as `before_write(op, role)` before every write (`role`: the run's, trial,
    #: harvest or search, when known): the seam crash-safety tests kill a search at
    #: (tests/kill_at_script.py). None in the tool.
    before_write: Callable[[str, str], None] | None = None

    def __init__(self, client, folder: Path | None, attempts: int = 4, backoff: float = 0.5, probe_seconds: float = 10.0):
        self.client = client
        self.folder = Path(folder) if folder is not None else None
        self.attempts = attempts
        self.backoff = backoff
        self.probe_seconds = probe_seconds
        self._probed = 0.0
        self.ids: dict[str, str] = {}  # placeholder -> real run id, once replayed
        self.warned = False
        self._roles: dict[str, str] = {}  # run id -> its role (trial, harvest, search), for `before_write`
        #: why the last replay stopped with writes left (the store's error, first line); a
        #: read-only `mlflow server` answers 503 like one that is unavailable for a while
        self.refusal: str | None = None
        self.set_aside = 0  # writes set aside by this object's replays
        self.lost = 0  # writes neither applied nor queued: the queue's disk was full
        self._lost_runs: set[str] = set()  # placeholders of runs whose creation was not kept
        self._checked = False  # the queue's last line checked for a tear

    # -- state of the queue

    @property
    def _queue(self) -> Path:
        return self.folder / "queue.jsonl"

    @property
    def _progress(self) -> Path:
        return self.folder / "replayed.json"

    @property
    def refused_folder(self) -> Path:
        """Where writes the store refused for good are kept (`refused.jsonl`, `files/`)."""
        return self.folder.with_name(f"{self.folder.name}.refused")

    def pending(self) -> int:
        """How many writes wait in the queue."""
        if self.folder is None or not self._queue.is_file():
            return 0
        self._drop_torn_line()
        lines = self._queue.read_bytes().splitlines()
        return len(lines) - self._replayed()[0]

    def _drop_torn_line(self) -> None:
        """A last line cut short (no newline, or not JSON) by a kill or a full disk is
        dropped, with a note on stderr: appending after it would corrupt the next write too."""
        if self._checked or self.folder is None or not self._queue.is_file():
            return
        self._checked = True
        raw = self._queue.read_bytes()
        keep = raw.rfind(b"\n", 0, len(raw) - 1) + 1 if raw.endswith(b"\n") else raw.rfind(b"\n") + 1
        last = raw[keep:]
        if raw.endswith(b"\n"):
            try:
                json.loads(last)
                return
            except ValueError:
                pass
        if not last:
            return
        with open(self._queue, "r+b") as out:
            out.truncate(keep)
            os.fsync(out.fileno())
        import sys

        print(f"hgq_automl: note: the last line of {self._queue} was cut short (a kill or a full disk while it was written); "
              f"dropped it ({len(last)} bytes, one tracking write)", file=sys.stderr, flush=True)

    def _replayed(self) -> tuple[int, dict[str, str]]:
        if not self._progress.is_file():
            return 0, {}
        saved = json.loads(self._progress.read_text())
        return saved["count"], saved["ids"]

    # -- writing

    def write(self, op: str, *args: Any) -> Any:
        """Do one write (`op` names a method of `ops.Ops`), or queue it if the store is down.
        Returns what the write returns (a run id for create_run; a placeholder when queued)."""
        if Outbox.before_write is not None:
            if op == "create_run":
                role = args[2].get(ROLE, "")
            else:
                role = self._roles.get(args[0], "") if args and isinstance(args[0], str) else ""
            Outbox.before_write(op, role)
        result = self._write(op, args)
        if op == "create_run":
            self._roles[result] = args[2].get(ROLE, "")
        return result

    def _write(self, op: str, args: tuple) -> Any:
        if self.pending():
            if time.monotonic() - self._probed >= self.probe_seconds:
                self._probed = time.monotonic()
                self.replay(attempts=1)
            if self.pending():
                return self._enqueue(op, args)
        if self.ids:  # runs made while the store was down, replayed since
            args = tuple(_resolve(list(args), self.ids))
        if self._lost_runs and any(isinstance(a, str) and a in self._lost_runs for a in args):
            self.lost += 1  # a write to a run whose creation was not kept (a full disk) is not kept either
            return None
        delay = self.backoff
        for attempt in range(self.attempts):
            try:
                return getattr(Ops, op)(self.client, *args)
            except Exception as exc:  # noqa: BLE001 - sorted below
                if not is_transient(exc) and not (refuses_every_write(exc) and self.folder is not None):
                    raise
                if attempt + 1 == self.attempts or refuses_every_write(exc):
                    if self.folder is None:
                        raise
                    self._warn(exc)
                    self._probed = time.monotonic()
                    return self._enqueue(op, args)
                time.sleep(delay)
                delay = min(2 * delay, 8.0)
        raise AssertionError("unreachable")

    def _warn(self, exc: BaseException) -> None:
        if not self.warned:
            import sys

            from ..redact import redact

            first = first_line(exc, self.client.tracking_uri)
            what = "refuses writes" if refuses_every_write(exc) else "does not answer"
            print(f"hgq_automl: warning: the MLflow store {redact(self.client.tracking_uri)} {what} ({first}); "
                  f"queueing the tracking in {self.folder} until it does", file=sys.stderr, flush=True)
            self.warned = True

    def _enqueue(self, op: str, args: tuple) -> Any:
        entry: dict[str, Any] = {"op": op, "args": list(args)}
        result = None
        if op == "create_run":
            result = entry["result"] = f"{PLACEHOLDER}{uuid.uuid4().hex}"
        copy = self.folder / "files" / uuid.uuid4().hex
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._drop_torn_line()
            if op in ("log_artifact", "log_artifacts"):  # the local file or folder may be temporary
                source = Path(args[1])
                if source.is_dir():
                    shutil.copytree(source, copy)
                    entry["args"][1] = str(copy)
                else:
                    copy.mkdir(parents=True)
                    shutil.copy2(source, copy / source.name)
                    entry["args"][1] = str(copy / source.name)
            with open(self._queue, "a") as out:
                out.write(json.dumps(entry) + "\n")
                out.flush()
                os.fsync(out.fileno())
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            shutil.rmtree(copy, ignore_errors=True)
            if result is not None:
                self._lost_runs.add(result)
            self._lose(exc)
        return result

    def _lose(self, exc: OSError) -> None:
        """The queue's disk is full too: the write is not kept. Counted and said once; the
        search stops on its full disk (`diskfull`), and its resume logs every trial whose
        checkpoint was saved again (`SearchTracker.finish`) and runs the others anew."""
        import sys

        self.lost += 1
        if self.lost == 1:
            print(f"hgq_automl: warning: the tracking queue {self.folder} cannot be written ({first_line(exc)}): "
                  "tracking writes are not kept until space is freed; a resume logs the search's saved trials again",
                  file=sys.stderr, flush=True)

    # -- replaying

    def replay(self, attempts: int | None = None) -> bool:
        """Replay the queued writes in order; True once none is left. Stops, keeping the
        rest queued, at a write the store does not take because it does not answer or takes
        no write at all (`refusal` says why); a write refused for good on its own is set
        aside (`_set_aside`) and the replay goes on. Progress is saved after each write."""
        self.refusal = None
        if not self.pending():
            return True
        count, ids = self._replayed()
        ids = {**ids, **self.ids}
        lines = self._queue.read_bytes().splitlines()
        aside: list[str] = []
        for line in lines[count:]:
            try:
                entry = json.loads(line)
                op, args = entry["op"], _resolve(entry["args"], ids)
                getattr(Ops, op)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                self._set_aside({"line": line.decode("utf-8", "replace")}, f"not a queued write ({type(exc).__name__})")
                aside.append("a line that is not a queued write")
                entry, op = {}, ""
            delay = self.backoff
            result = None
            for attempt in range((attempts or self.attempts) if op else 0):
                try:
                    result = getattr(Ops, op)(self.client, *args)
                    break
                except Exception as exc:  # noqa: BLE001
                    refused = refuses_every_write(exc)  # before is_transient: its text may hold "failed with exception"
                    if refused or is_transient(exc):
                        if refused or attempt + 1 == (attempts or self.attempts):
                            self.refusal = first_line(exc, self.client.tracking_uri)
                            self.ids = ids
                            self._report(aside)
                            return False
                        time.sleep(delay)
                        delay = min(2 * delay, 8.0)
                        continue
                    if not _already_done(exc):  # else: replayed before a crash, progress not saved
                        reason = first_line(exc, self.client.tracking_uri)
                        self._set_aside({**entry, "args": args}, reason)
                        aside.append(f"{op} ({reason})")
                    break
            if op == "create_run" and result is not None:
                ids[entry["result"]] = result
            count += 1
            tmp = self._progress.with_suffix(".tmp")
            tmp.write_text(json.dumps({"count": count, "ids": ids}))
            tmp.replace(self._progress)
        self.ids = ids
        self._report(aside)
        shutil.rmtree(self.folder, ignore_errors=True)  # all written or set aside
        return True

    def _set_aside(self, entry: dict[str, Any], reason: str) -> None:
        """Keep a write the store refused for good in `refused_folder` (its file too)."""
        folder = self.refused_folder
        (folder / "files").mkdir(parents=True, exist_ok=True)
        entry = {**entry, "refused": reason, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if entry.get("op") in ("log_artifact", "log_artifacts"):  # its copy: files/HEX (a folder) or files/HEX/NAME
            source = Path(entry["args"][1])
            copy = source if source.parent.name == "files" else source.parent
            if copy.exists():
                target = folder / "files" / copy.name
                shutil.move(str(copy), str(target))
                entry["args"][1] = str(target / source.relative_to(copy))
        with open(folder / "refused.jsonl", "a") as out:
            out.write(json.dumps(entry) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.set_aside += 1

    def _report(self, aside: list[str]) -> None:
        if aside:
            import sys

            print(f"hgq_automl: warning: the MLflow store refused {len(aside)} queued tracking write(s) for good "
                  f"(first: {aside[0]}); they are kept in {self.refused_folder / 'refused.jsonl'}",
                  file=sys.stderr, flush=True)

    def real_id(self, run_id: str) -> str:
        """A run's id in the store (a placeholder's replayed id, else itself)."""
        return self.ids.get(run_id, run_id)


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    """`value` with every placeholder run id replaced by its real id."""
    if isinstance(value, str):
        if PLACEHOLDER in value:
            for local, real in ids.items():
                value = value.replace(local, real)
        return value
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    return value
