"""Any cell over time: the masked time loop and backpropagation through time.

Layout: time-major, ``(T, N, ...)``, so that the rows of one step are contiguous.
Sequences are sorted by decreasing length before they get here, so at step t
only the first ``n_active[t]`` rows are real and the others are never touched:
padding cannot leak into outputs, losses or gradients, and costs no work.

The hidden states live in one ``(T + 1, N, H)`` array ``h``: ``h[0]`` is the
initial state and ``h[t + 1]`` the output of step t, so step t reads ``h[t]``
and both the outputs (``h[1:]``) and the inputs of every recurrent product
(``h[:-1]``) are plain slices. Gate arrays are gate-major, ``(G, T, N, H)`` (see ``cells.py``). What is not
recurrent is one large matrix product per gate over all N*T steps:

    xw     = x @ W_xh + b                 before the loop   (T*N, D) @ (G, D, H)
    dW_xh  = x.T @ dxw                    after the loop    (D, T*N) @ (G, T*N, H)
    dW_hh  = h[:-1].T @ dhw               after the loop    (H, T*N) @ (G, T*N, H)

so the forward loop does one ``(n, H) @ (G, H, H)`` product per step plus a
few elementwise calls, and the backward loop one ``(G, n, H) @ (G, H, H)``
product plus a few more: the cell's local derivatives are computed for all
steps at once before the backward loop starts (``cell.backward_prepare``).
The weights the loops use are rearranged once per call: gate blocks in the
cell's order, sigmoid gates halved (``forward_weights``), transposed blocks
for the backward product.

Every array here comes from ``BUFFERS``, a pool that hands out an array again
only once nothing references it (see ``BufferPool``).
"""

import math
import os
import sys
import threading
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

_BLAS_LIBRARIES = None


def _blas_libraries():
    """threadpoolctl's handles on the loaded BLAS libraries (numpy's, scipy's)."""
    # Inspecting the loaded libraries costs milliseconds: do it once.
    global _BLAS_LIBRARIES
    if _BLAS_LIBRARIES is None:
        _BLAS_LIBRARIES = ThreadpoolController().select(user_api="blas").lib_controllers
    return _BLAS_LIBRARIES


def loop_threads(n_rows, hidden_size):
    """BLAS threads for a pass (training step or prediction) whose time loop multiplies ``(n_rows, H) @ (H, H)``.

    Measured on a 2-core machine: up to H=128 a second thread gains nothing
    in training (4.5 vs 4.4 us per step at H=64) and little in prediction's
    larger batches (1,394 SMS at H=128 in 0.15 s against 0.18 s), from H=256
    it gains 1.2-1.4x when the second core is idle, and when another process
    holds that core a 2-thread BLAS collapses while a 1-thread one does not
    (with another job on the second core, an LSTM training step at H=128 took
    89 ms with its four gate products on two threads, 17-19 ms on one; those
    1,394 SMS 0.37-1.93 s against 0.19 s). So: one thread below H=256 and for
    small products, otherwise never more than the caller already allows
    (loky, Dask and Ray workers run with one). The gates of a GRU or LSTM are
    separate products of that shape, so their number does not matter. The
    caller holds the whole pass at this count, the large products too: under
    that load an RNN step at H=128 took 72 ms with only its large products on
    two threads, 13 ms with all on one.
    """
    if hidden_size < 256 or n_rows * hidden_size * hidden_size < 32 * 256 * 256:
        return 1
    return max(1, min((lib.get_num_threads() for lib in _blas_libraries()), default=1))


_CAP = threading.local()  # .n: the cap of the innermost blas_limit block this thread is in

# OpenBLAS built with pthreads (NumPy's and SciPy's wheels) has one thread
# count for the whole process, so its cap is process-wide: the tightest cap of
# the blocks open in any thread applies, and the counts found before the first
# block come back when the last one ends. Otherwise a block ending in one
# thread would lift the cap of a fit still running in another. Libraries that
# count per thread (MKL, OpenMP builds) are capped and restored per block.
_OPEN_LOCK = threading.Lock()
_OPEN = []  # caps of the outermost blocks open, in every thread
_BEFORE = []  # each process-wide library's thread count before the first of them
_APPLIED = []  # each process-wide library's thread count as the blocks set it


def _after_fork_in_child():
    """A forked child has only the thread that forked: the blocks other threads had open are gone
    there, and their caps would hold the child's BLAS at that count for good. A lock held by one of
    them at the fork would never be released."""
    global _OPEN_LOCK
    _OPEN_LOCK = threading.Lock()
    if _OPEN and getattr(_CAP, "n", None) is None:  # no block of this thread is open
        _OPEN.clear()
        for lib, before in zip(_split_libraries()[0], _BEFORE):
            _set_threads(lib, before)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _split_libraries():
    """(process-wide, per-thread) BLAS libraries."""
    shared, local = [], []
    for lib in _blas_libraries():
        pooled = getattr(lib, "internal_api", "") == "openblas" and getattr(lib, "threading_layer", "") == "pthreads"
        (shared if pooled else local).append(lib)
    return shared, local


def _set_threads(lib, n):
    # threadpoolctl >= 3.8 lets only the first thread that sets OpenBLAS's
    # count set it again and silently ignores every other thread: a fit in a
    # worker thread ran uncapped (5x slower under load, other weights). Take
    # control for this one change and give it back.
    release = getattr(lib, "clear_controlling_thread", None)
    if release is not None:
        release(force=True)
    lib.set_num_threads(n)
    if release is not None:
        release(force=True)


def _apply_open_caps(shared):
    cap = min(_OPEN, default=math.inf)
    for i, (lib, before) in enumerate(zip(shared, _BEFORE)):
        if _APPLIED[i] != min(before, cap):
            _APPLIED[i] = min(before, cap)
            _set_threads(lib, _APPLIED[i])


@contextmanager
def blas_limit(n_threads):
    """Cap BLAS threads (numpy's and scipy's pools alike) inside the block.

    Talks to the libraries directly: threadpoolctl's ``limit`` spends about
    25 us per call in Python. Inside a block with a cap as tight (a training
    step holds one around its forward and backward, which hold their own), it
    does nothing: asking the libraries costs microseconds per call.
    """
    outer = getattr(_CAP, "n", None)
    if outer is not None and outer <= n_threads:
        yield
        return
    shared, local = _split_libraries()
    previous = [lib.get_num_threads() for lib in local]
    for lib, n in zip(local, previous):
        if n > n_threads:
            lib.set_num_threads(n_threads)
    with _OPEN_LOCK:
        if not _OPEN:
            _BEFORE[:] = _APPLIED[:] = [lib.get_num_threads() for lib in shared]
        _OPEN.append(n_threads)
        _apply_open_caps(shared)
    _CAP.n = n_threads
    try:
        yield
    finally:
        _CAP.n = outer
        with _OPEN_LOCK:
            _OPEN.remove(n_threads)
            _apply_open_caps(shared)
        for lib, n in zip(local, previous):
            if n > n_threads:
                lib.set_num_threads(n)


# CPython's reference counts tell exactly when an array is unreferenced; where
# they may not (other interpreters, free-threaded builds), nothing is pooled.
_REFCOUNTS_EXACT = hasattr(sys, "getrefcount") and getattr(sys, "_is_gil_enabled", lambda: True)()


def _refcount(buf):
    return sys.getrefcount(buf)


def _free_refcount():
    """What ``_refcount`` reads, in the pool's loops, for a buffer that only the pool holds.

    Measured rather than assumed: the count includes the references of the
    loop variable and of the call, and CPython 3.14 loads local variables as
    borrowed references, so that it reads one less there than 3.11-3.13 do.
    A fixed count would take a buffer still in use for a free one.
    """
    buffers = [np.empty(1)]
    for buf in buffers:
        return _refcount(buf)


_FREE_REFCOUNT = _free_refcount() if _REFCOUNTS_EXACT else None


class BufferPool(threading.local):
    """Arrays reused across calls; one is handed out again only when unreferenced.

    Why: a fresh multi-megabyte array costs more here than the arithmetic done
    in it. glibc gives large freed blocks back to the kernel, so each training
    step page-faulted its whole workspace in again (and, with transparent huge
    pages, compacted memory on the fault): measured 1.3-2x the time of a step.

    Why it is safe: the pool keeps one reference to each array it made, and an
    array is free when that is the only one left. A cache that someone still
    holds, a view of a buffer (numpy views reference their base), or an array
    returned to a caller who keeps it are all references, so a forward's cache
    stays valid until its last user drops it, interleaved forwards never share
    a buffer, and no caller can see an array change under it. Each thread has
    its own pool. Small arrays are left to malloc, which recycles them well.

    Placement: an array starts ``offset`` bytes past a cache-line boundary
    (0 unless asked). malloc's 16-byte alignment left that to chance, and it
    moved the per-step products by up to 1.3x from one process to the next
    (see ``per_step_weights_offset``).

    Memory: a request takes the smallest free buffer of 1-2x its size, else a
    new one of its size class (``_size_class``) and a line more, to place it
    in. Making one first drops free buffers idle for ``max_idle`` requests
    (shapes that stopped coming, e.g. varying sequence lengths), and the pool
    never holds more than ``max_bytes``. ``trim()`` lets free buffers go down
    to ``keep_bytes`` (the estimators call it when a fit or a prediction ends,
    so that an idle thread does not hold hundreds of megabytes); ``clear()``
    lets everything go.
    """

    max_bytes = 512 * 2**20  # beyond this, arrays are allocated and freed as usual
    keep_bytes = 64 * 2**20
    min_bytes = 64 * 2**10
    max_idle = 500  # requests; a training step makes 10-30
    line = 64  # bytes: the cache line that ``take``'s offsets are relative to

    def __init__(self):
        self.buffers = []  # flat uint8 arrays, oldest first
        self.last_used = {}  # id(buffer) -> request count when last handed out
        self.requests = 0
        self.nbytes = 0

    def take(self, shape, dtype, offset=0):
        """An uninitialised array of ``shape`` and ``dtype``, reused when possible.

        Pooled arrays (``min_bytes`` and more) start ``offset`` bytes past a
        cache-line boundary; ``offset`` is a multiple of the itemsize below ``line``.
        """
        dtype = np.dtype(dtype)
        need = math.prod(shape) * dtype.itemsize
        if need < self.min_bytes or not _REFCOUNTS_EXACT:
            return np.empty(shape, dtype)
        self.requests += 1
        best, room = None, need + self.line
        for buf in self.buffers:
            if room <= buf.nbytes <= 2 * room and (best is None or buf.nbytes < best.nbytes):
                if _refcount(buf) == _FREE_REFCOUNT:
                    best = buf
        if best is None:
            best = self._new(_size_class(need) + self.line)
            if best is None:
                return np.empty(shape, dtype)
        self.last_used[id(best)] = self.requests
        # The view's base is the buffer itself (it owns its data), so the view counts as its reference.
        start = (offset - best.__array_interface__["data"][0]) % self.line
        return best[start : start + need].view(dtype).reshape(shape)

    def _new(self, nbytes):
        kept = []
        for buf in self.buffers:  # drop idle free buffers, then the oldest free ones if over budget
            idle = self.requests - self.last_used[id(buf)] > self.max_idle
            over = self.nbytes + nbytes > self.max_bytes
            if (idle or over) and _refcount(buf) == _FREE_REFCOUNT:
                self.nbytes -= buf.nbytes
                del self.last_used[id(buf)]
            else:
                kept.append(buf)
        self.buffers = kept
        if self.nbytes + nbytes > self.max_bytes:
            return None
        buf = np.empty(nbytes, np.uint8)
        self.buffers.append(buf)
        self.nbytes += nbytes
        return buf

    def trim(self):
        """Let free buffers go, oldest first, until the pool holds at most ``keep_bytes``."""
        kept = []
        for buf in self.buffers:
            if self.nbytes > self.keep_bytes and _refcount(buf) == _FREE_REFCOUNT:
                self.nbytes -= buf.nbytes
                del self.last_used[id(buf)]
            else:
                kept.append(buf)
        self.buffers = kept

    def clear(self):
        """Forget every buffer (arrays still in use stay valid: they are merely unpooled)."""
        self.buffers = []
        self.last_used = {}
        self.nbytes = 0


BUFFERS = BufferPool()


def _size_class(nbytes):
    """``nbytes`` rounded up to the next of 8 sizes per power of two (at most 12.5% more).

    A request that grows a little from call to call (prediction's passes of
    varying length) then finds its buffer again; with exact sizes, one
    predict_proba over 22,000 texts left about 100 buffers of 1 MB behind.
    """
    nbytes = int(nbytes)
    step = 1 << max(nbytes.bit_length() - 4, 0)
    return -(-nbytes // step) * step


def active_rows(lengths, T):
    """Rows still running at each step, for lengths sorted in decreasing order.

    lengths (N,) -> n_active (T,) with n_active[t] = #{i : lengths[i] > t}.
    """
    return (lengths[None, :] > np.arange(T)[:, None]).sum(axis=1)


def per_step_weights_offset(nbytes):
    """Bytes past a cache-line boundary where a copy of the weights that every
    step multiplies by should start (``BufferPool.take``).

    OpenBLAS packs a product's weights anew on every call. Once they outgrow
    the L2 cache (over 1 MiB: GRU and LSTM from H=384, the RNN from H=768), a
    copy that starts half a line in was packed faster; while they fit, a
    line-aligned one was. Measured with (32, H) @ (G, H, H) on one thread
    (Sapphire Rapids, 2 MB of L2, OpenBLAS 0.3.31): 610 -> 465 us for the GRU
    at H=512, 1.33x for the LSTM, 1.1-1.3x at H=384 and 768, no change at 1024
    (why is not established); at H=128, 6 us aligned against 9. The products
    are bitwise the same either way. malloc aligns to 16 bytes only, so a step's
    time used to depend on the process it ran in: GRU H=512 steps took 99-124
    ms from one process to the next, and 100-104 ms placed so.
    """
    return 32 if nbytes > 2**20 else 0


def forward_weights(W, cell, offset=0):
    """(R, G*H) in PyTorch's gate order -> (G, R, H) in the cell's, sigmoid gates halved.

    A sigmoid is then one tanh call with the others: sigmoid(a) = (1 + tanh(a / 2)) / 2.
    Halving is exact in floating point, so the halved weights give exactly half
    the pre-activations. ``offset``: where the copy starts (``BufferPool.take``).
    """
    G = cell.n_gates
    H = W.shape[-1] // G
    blocks = BUFFERS.take((G,) + W.shape[:-1] + (H,), W.dtype, offset)
    half = W.dtype.type(0.5)
    for k, gate in enumerate(cell.gate_order):
        columns = W[..., gate * H : (gate + 1) * H]
        if k < cell.n_sigmoid:
            np.multiply(columns, half, out=blocks[k])  # copied and halved in one pass
        else:
            np.copyto(blocks[k], columns)
    return blocks


def from_gate_blocks(blocks, cell):
    """(G, R, H) in the cell's gate order -> (R, G*H) in PyTorch's."""
    G, R, H = blocks.shape
    if G == 1:  # one gate: the block is the answer (a view, no copy)
        return blocks[0]
    out = BUFFERS.take((R, G * H), blocks.dtype)
    for k, gate in enumerate(cell.gate_order):
        out[:, gate * H : (gate + 1) * H] = blocks[k]
    return out


def _zero_rows(a, T, t, n):
    """Zero the rows >= n of step t in a workspace array of any layout."""
    if a.ndim == 4:  # (G, T, N, H)
        a[:, t, n:] = 0
    else:  # (T, N, H), or (T + 1, N, H) with step t at t + 1
        a[t + len(a) - T, n:] = 0


def layer_forward(cell, ws, xw, n_active, params, state0):
    """Run ``cell`` over time.

    ws       the workspace, from ``cell.allocate``: ``ws["h"]`` (T + 1, N, H)
             gets the initial state then the outputs, zero at padded steps,
             the cell's other arrays its caches
    xw       (G, T, N, H) input projections, bias included, in the cell's gate
             order with sigmoid-gate blocks halved (as ``forward_weights``);
             for a cell with ``input_in_h``, the view ``ws["h"][None, 1:]``
    n_active (T,) non-increasing count of live rows per step
    state0   tuple of ``cell.n_states`` arrays (N, H): the state before step 0
    """
    G, T, N, H = xw.shape
    if cell.input_in_h and not np.may_share_memory(xw, ws["h"]):
        raise ValueError("this cell reads its input projections from ws['h'][None, 1:]; pass that view as xw.")
    for name, s0 in zip(("h", "c"), state0):
        ws[name][0] = s0
    W_hh = params["W_hh"]
    W = forward_weights(W_hh, cell, per_step_weights_offset(W_hh.nbytes))  # (G, H, H)
    step = cell.forward_stepper(xw, W, params, ws)
    for t, n in enumerate(n_active.tolist()):  # Python ints: cheaper to compare and slice with
        if n < N:  # rows that have ended: zero outputs, and finite caches for backward_prepare
            for a in ws.values():
                _zero_rows(a, T, t, n)
        if n:
            step(t, n)


def final_state(cell, ws, lengths):
    """State after each sequence's last real step: tuple of (N, H) arrays.

    ``ws["h"][lengths[i], i]`` is row i's state after its last step, and its
    initial state when it has none.
    """
    rows = np.arange(len(lengths))
    return tuple(ws[name][lengths, rows] for name in ("h", "c")[: cell.n_states])


def _copy_transposed(src, out, rows=32):
    """out[...] = src.T, ``rows`` rows of ``src`` at a time.

    Whole, the copy writes ``out`` in order and reads ``src`` a column at a
    time, a cache line per element once ``src`` outgrows the cache: at H=512
    the GRU's three blocks took 1.37 ms a backward pass, 0.56 ms in strips of 32
    rows; one (1024, 1024) block 7.0 ms against 0.86.
    """
    for i in range(0, src.shape[0], rows):
        np.copyto(out[:, i : i + rows], src[i : i + rows].T)


def layer_backward(cell, dh_out, n_active, params, ws):
    """Backpropagation through time for one layer.

    dh_out  (T, N, H) dL/dh_t from above (output head, pooling or next layer)
    Returns (dx, dhw): dx a tuple of G arrays (T, N, H), the gradients of the
    input pre-activations of each gate, and dhw (G, T, N, H) those of the
    recurrent pre-activations, both in the cell's gate order and zero at
    padded steps. Most gates share one array for both.
    """
    T, N, H = dh_out.shape
    G = cell.n_gates
    dtype = dh_out.dtype
    take = BUFFERS.take
    dhw = take((G, T, N, H), dtype)
    dxw = take((cell.n_input_only, T, N, H), dtype) if cell.n_input_only else None
    local = cell.backward_prepare(ws, dhw, dxw, take)
    n_active = n_active.tolist()
    for t, n in enumerate(n_active):  # padded rows: zero gradients, so they add nothing to dW
        if n < N:
            dhw[:, t, n:] = 0
            if dxw is not None:
                dxw[:, t, n:] = 0
    # W_k.T for each gate as a contiguous copy: a transposed view runs at half speed.
    W_hh = params["W_hh"]
    W_T = take((G, H, H), dtype, per_step_weights_offset(W_hh.nbytes))
    for k, gate in enumerate(cell.gate_order):
        _copy_transposed(W_hh[:, gate * H : (gate + 1) * H], W_T[k])
    # dL/dh_t (and dL/dc_t), summed over every path; rows beyond n stay zero.
    dstate = tuple(np.zeros((N, H), dtype=dtype) for _ in range(cell.n_states))
    dh_all, carries_dh = dstate[0], cell.carries_dh
    scratch = take((G, N, H), dtype)
    # Where the recurrent product lands: dh itself, unless dh already holds the cell's direct path.
    rec_all = np.empty((N, H), dtype=dtype) if carries_dh else dh_all
    step = cell.backward_stepper(dstate, dhw, dxw, local, ws, scratch)
    # Per-step views, taken once: dh_out[t], and dhw[:, t] ((G, N, H), or (N, H) for one gate).
    dh_outs, dhws = list(dh_out), list(dhw[0]) if G == 1 else list(dhw.swapaxes(0, 1))
    W_T0 = W_T[0]
    add, dot, matmul, add_reduce = np.add, np.dot, np.matmul, np.add.reduce
    last = T - n_active.count(0) - 1  # the last step any row reaches (counts never increase)
    for t in range(last, -1, -1):
        n = n_active[t]
        dh, rec, d_out = dh_all, rec_all, dh_outs[t]
        if n < N:
            dh, rec, d_out = dh[:n], rec[:n], d_out[:n]
        if t < last:  # the recurrent path from step t + 1: sum_k dhw_k @ W_k.T
            d_next = dhws[t + 1]
            if G == 1:
                # (n, H) @ (H, H); dot: less overhead than matmul
                dot(d_next if n == N else d_next[:n], W_T0, out=rec)
            else:
                part = scratch if n == N else scratch[:, :n]
                matmul(d_next if n == N else d_next[:, :n], W_T, out=part)  # (G, n, H) @ (G, H, H)
                add_reduce(part, axis=0, out=rec)
            if carries_dh:  # dh already holds the cell's direct path h_t -> h_t+1
                add(dh, rec, out=dh)
        add(dh, d_out, out=dh)
        step(t, n)
    return cell.input_grads(dhw, dxw), dhw


def column_sums(a):
    """(..., M, K) -> (..., K): a matrix-vector product, 5x faster than
    ``sum(axis=-2)`` at K=64. Call it inside ``blas_limit``: a 2-thread GEMV
    stalls for milliseconds when another process holds the second core."""
    return np.ones(a.shape[-2], dtype=a.dtype) @ a


def recurrent_weight_grad(cell, ws, dhw):
    """dW_hh (H, G*H) = sum_t h_{t-1}.T @ dhw_t, one GEMM per gate over all steps.

    Rows that are padding at step t have dhw = 0, so they contribute nothing.
    """
    G, T, N, H = dhw.shape
    h_prev = ws["h"][:-1].reshape(T * N, H)
    blocks = BUFFERS.take((G, H, H), dhw.dtype)
    np.matmul(h_prev.T, dhw.reshape(G, T * N, H), out=blocks)  # (H, T*N) @ (G, T*N, H)
    return from_gate_blocks(blocks, cell)
