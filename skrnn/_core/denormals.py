"""Subnormal floats flushed to zero while the core computes (x86-64 Linux).

Why: values below the smallest normal float (1.2e-38 in float32) are
computed through microcode assists on x86, tens to hundreds of times slower,
and training makes them. Measured on this project's 2-core machine, where a
(128, 128) float32 matrix product took 6.5 ms on subnormal input instead of
51 us:

* backpropagation through a long sequence shrinks gradients at every step:
  fitting a vanilla RNN ("last" pooling) on 256 series of 1,000 steps took
  4.5 s instead of 0.94 s, a GRU 14.4 s instead of 4.3 s, with the same loss
  curves (``benchmarks/bench_long_sequences.py``);
* weights with no gradient but the L2 term decay into them: in the SMS spam
  classifier with early stopping, the embedding rows of words that only the
  validation split holds; a fold took 59.5 s instead of 24.4 s, with the same
  accuracy (``benchmarks/bench_text_classification.py --no-flush``).

The processor can treat such values as zero instead (the flush-to-zero and
denormals-are-zero bits of its MXCSR register), as TensorFlow and XLA run
their CPU kernels: next to any normal value a float32 below 1.2e-38 is far
beneath the format's resolution.

What changes besides speed: a subnormal reads as zero, so a log or a square
root of one gives -inf or 0 (a known JAX gotcha). Inside the core every log
takes a softmax row sum, kept above 1e-19 (``losses._rows_far_below``), and
every square root a solver's sum or average of squared gradients, next to
an epsilon of 1e-8 that outweighs the square root of any subnormal.

How: MXCSR belongs to each thread, and NumPy offers no way to set it; the C
library's ``fegetenv``/``fesetenv`` read and write it with the x87 state, in a
``fenv_t`` whose 32-bit word 7 is MXCSR on x86-64 Linux (glibc and musl
alike). ``flush_denormals()`` sets the two bits for the calling thread and
puts back what they were; a first use checks that a subnormal product does
come out zero, and if not (or on any other platform, where subnormals are
either cheap, as on ARM, or unreachable from here) the context does nothing.
Other threads keep their own setting (a thread started inside the block
inherits it, as POSIX threads do; the core starts none). That includes BLAS
workers: products run in the calling thread when BLAS has one thread, as the
core's loop has up to H=128 (``recurrent.loop_threads``) and in parallel jobs.
"""

import ctypes
import ctypes.util
import platform
import sys
import threading
from contextlib import contextmanager

import numpy as np

FLUSH_BITS = 0x8040  # MXCSR: flush to zero (bit 15), denormals are zero (bit 6)
_MXCSR_WORD = 7  # fenv_t as uint32 words: the x87 environment (28 bytes), then MXCSR
_ENV_WORDS = 16  # room to spare: fegetenv writes sizeof(fenv_t), 32 bytes here

ENABLED = True  # False: flush_denormals() does nothing (see enabled())


class _ThreadState(threading.local):
    depth = 0  # nesting of flush_denormals() blocks in this thread


_STATE = _ThreadState()
_FENV = None  # (fegetenv, fesetenv), False when unavailable; found on first use
_PROBE_LOCK = threading.Lock()


def _fenv_functions():
    # A 32-bit Python on an x86-64 kernel has i386's fenv_t, without MXCSR in word 7.
    if sys.platform != "linux" or platform.machine() != "x86_64" or sys.maxsize < 2**32:
        return None
    for name in (None, ctypes.util.find_library("m")):  # the process's own symbols, then libm
        try:
            lib = ctypes.CDLL(name)
            return lib.fegetenv, lib.fesetenv
        except (OSError, AttributeError, TypeError):
            continue
    return None


def _set_bits(functions, bits):
    """Set MXCSR's FLUSH_BITS to ``bits``; return what they were."""
    fegetenv, fesetenv = functions
    env = (ctypes.c_uint32 * _ENV_WORDS)()
    if fegetenv(env) != 0:
        raise OSError("fegetenv failed")
    before = env[_MXCSR_WORD] & FLUSH_BITS
    if before != bits:
        env[_MXCSR_WORD] = (env[_MXCSR_WORD] & ~FLUSH_BITS) | bits
        if fesetenv(env) != 0:
            raise OSError("fesetenv failed")
    return before


def _subnormal_survives():
    """Whether half the smallest normal float32, a subnormal, comes out of a ufunc nonzero."""
    smallest = np.full(8, np.finfo(np.float32).tiny, dtype=np.float32)
    return bool(np.multiply(smallest, np.float32(0.5)).any())


def _probe():
    """The fenv functions if they flush and restore in this process, else False."""
    functions = _fenv_functions()
    if functions is None:
        return False
    try:
        before = _set_bits(functions, FLUSH_BITS)
        flushes = not _subnormal_survives()
        _set_bits(functions, before)
        if flushes and (before == FLUSH_BITS or _subnormal_survives()):
            return functions
    except OSError:
        pass
    return False


def _usable():
    """The fenv functions, once checked to flush and to restore in this process."""
    global _FENV
    if _FENV is None:
        # Threads whose first use comes while another one probes (tens of ms: finding libm runs
        # ldconfig) wait for its answer; they used to read "unusable" and run that first call unflushed.
        with _PROBE_LOCK:
            if _FENV is None:
                _FENV = _probe()
    return _FENV


@contextmanager
def enabled(on):
    """Flushing on or off inside the block, for benchmarks that compare both."""
    global ENABLED
    previous, ENABLED = ENABLED, on
    try:
        yield
    finally:
        ENABLED = previous


def supported():
    """True when ``flush_denormals()`` takes effect on this platform."""
    return bool(_usable())


@contextmanager
def flush_denormals():
    """Flush subnormal floats to zero in this thread inside the block.

    Nested blocks cost a counter; the outermost one restores the thread's
    previous setting, even when the block raises.
    """
    state = _STATE
    functions = _usable() if ENABLED and state.depth == 0 else None
    previous = None  # the bits before this block, once it has set them
    state.depth += 1
    try:  # entered first, so that a KeyboardInterrupt arriving after the change restores it
        if functions:
            previous = _set_bits(functions, FLUSH_BITS)
        yield
    finally:
        state.depth -= 1
        if previous is not None:
            _set_bits(functions, previous)
