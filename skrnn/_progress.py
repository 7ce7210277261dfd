"""A live status line on stderr while a model trains, shown only on a terminal.

The estimators print one line per epoch (``verbose=1``) to stdout.
``TrainingProgress`` adds, between those lines, a status line on stderr that a
background thread redraws a few times a second:

    epoch 3 [##########----------]  51%  13,056/25,600 items  4,120 items/s  3.2 s

Within an epoch the estimators report progress through
``skrnn._training.ON_BATCH``, a ``contextvars.ContextVar`` whose value, when
set, is called after every training batch as ``on_batch(n_done, n_total)``
(items of the current epoch trained so far, and in the whole epoch, or None
when unknown). Before the first batch of an epoch reports, the line shows the
epoch, a spinner and the time spent. Nothing is drawn when stderr is not a
terminal.
"""

import shutil
import sys
import threading
import time

from ._training import ON_BATCH

SPINNER = "|/-\\"
BAR_WIDTH = 20


def render(epoch, seconds, done=None, total=None, unit="items", tick=0, trained=None):
    """The status line: epoch, progress bar (when the total is known), throughput, time.

    ``trained``: seconds the epoch's batches took, once they all have; what
    follows (validation, the epoch line's sample) is not training, so the
    throughput stays that of the batches and the line says the epoch is ending.
    """
    if done is None:
        return f"{SPINNER[tick % len(SPINNER)]} epoch {epoch}, {seconds:.1f} s"
    parts = [f"epoch {epoch}"]
    if total:
        fraction = min(done / total, 1.0)
        filled = int(round(fraction * BAR_WIDTH))
        parts.append(f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {fraction:4.0%}")
    if trained is not None:  # in place of the count, which the full bar already says
        parts.append(f"ending the epoch {SPINNER[tick % len(SPINNER)]}")
    else:
        parts.append(f"{done:,}/{total:,} {unit}" if total else f"{done:,} {unit}")
    busy = seconds if trained is None else trained
    if busy > 0:
        parts.append(f"{done / busy:,.0f} {unit}/s")
    parts.append(f"{seconds:.1f} s")
    return "  ".join(parts)


class _EpochLineWatcher:
    """Stands in for stdout: clears the status line before text goes out, counts epoch lines."""

    def __init__(self, progress, stream):
        self._progress = progress
        self._stream = stream

    def write(self, text):
        with self._progress.lock:
            self._progress._clear()
            n = self._stream.write(text)
            self._stream.flush()
            self._progress._after_stdout(text)
        return n

    def __getattr__(self, name):
        return getattr(self._stream, name)


class TrainingProgress:
    """Context manager: a status line on ``stream`` (stderr) during training.

    Inactive, and invisible, unless ``stream.isatty()``. Epochs are counted
    from the ``Epoch N:`` lines that the estimators print to stdout.
    """

    def __init__(self, unit="items", stream=None, interval=0.1, enabled=True):
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.interval = interval
        self.active = bool(enabled) and self.stream.isatty()
        self.lock = threading.Lock()
        self.epoch = 1
        self.done = None
        self.total = None
        self.trained = None  # seconds of the epoch's batches, once the last one is done
        self._epoch_start = time.perf_counter()
        self._drawn = False
        self._at_line_start = True
        self._tick = 0
        self._stop = threading.Event()
        self._thread = None
        self._stdout = None
        self._hook_token = None

    def update(self, done, total=None):
        """Items of the current epoch done so far (the batch hook's callback)."""
        self.done, self.total = int(done), (None if total is None else int(total))
        # The generator's total is an estimate: a batch beyond it means the epoch is still training.
        if self.total and self.done == self.total:
            self.trained = time.perf_counter() - self._epoch_start
        else:
            self.trained = None

    def __enter__(self):
        if not self.active:
            return self
        self._epoch_start = time.perf_counter()
        self._stdout = sys.stdout
        sys.stdout = _EpochLineWatcher(self, sys.stdout)
        self._hook_token = ON_BATCH.set(self.update)
        self._thread = threading.Thread(target=self._run, name="skrnn-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        if not self.active:
            return False
        self._stop.set()
        self._thread.join()
        if self._hook_token is not None:
            ON_BATCH.reset(self._hook_token)
        sys.stdout = self._stdout
        with self.lock:
            self._clear()
        return False

    def _run(self):
        while not self._stop.wait(self.interval):
            with self.lock:
                self._draw()

    def _draw(self):
        if not self._at_line_start:  # stdout is mid-line: wait for its newline
            return
        self._tick += 1
        line = render(self.epoch, time.perf_counter() - self._epoch_start, self.done, self.total,
                      self.unit, self._tick, self.trained)
        width = shutil.get_terminal_size(fallback=(80, 24)).columns - 1
        self.stream.write("\r\033[K" + line[:width])
        self.stream.flush()
        self._drawn = True

    def _clear(self):
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False

    def _after_stdout(self, text):
        if text:
            self._at_line_start = text.endswith("\n")
        if text.startswith("Epoch "):
            self.epoch += 1
            self.done = self.total = self.trained = None
            self._epoch_start = time.perf_counter()
