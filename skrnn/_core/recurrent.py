"""Any cell over time: the masked time loop and backpropagation through time.

Layout: time-major, ``(T, N, ...)``, so that the rows of one step are contiguous.
Sequences are sorted by decreasing length before they get here, so at step t
only the first ``n_active[t]`` rows are real and the others are never touched:
padding cannot leak into outputs, losses or gradients, and costs no work.

What is not recurrent is one large matrix product over all N*T steps:

    xw     = x @ W_xh + b                 before the loop   (T*N, D) @ (D, G*H)
    dW_xh  = x.T @ dxw                    after the loop    (D, T*N) @ (T*N, G*H)
    dW_hh  = h_prev.T @ dhw               after the loop    (H, T*N) @ (T*N, G*H)

so the loop itself does one ``(n, H) @ (H, G*H)`` product per step and per
direction, plus elementwise work into the workspace allocated before it.
"""

import numpy as np
from threadpoolctl import ThreadpoolController

_CONTROLLER = None


def _threadpool_controller():
    # Inspecting the loaded BLAS libraries costs milliseconds: do it once.
    global _CONTROLLER
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def loop_threads(n_rows, hidden_size, n_gates):
    """BLAS threads for the per-step product ``(n_rows, H) @ (H, G*H)``.

    Measured on a 2-core machine: up to H=128 a second thread gains nothing
    (4.5 vs 4.4 us per step at H=64), from H=256 it gains 1.4-1.5x when the
    second core is idle, and when another process holds that core a 2-thread
    BLAS collapses while a 1-thread one does not. So: one thread for small
    products, otherwise never more than the caller already allows (loky, Dask
    and Ray workers run with one).
    """
    if n_rows * hidden_size * hidden_size * n_gates < 32 * 256 * 256:
        return 1
    current = [info["num_threads"] for info in _threadpool_controller().info() if info["user_api"] == "blas"]
    return max(1, min(current, default=1))


def blas_limit(n_threads):
    """Context manager capping BLAS threads (numpy's and scipy's pools alike)."""
    return _threadpool_controller().limit(limits=n_threads, user_api="blas")


def active_rows(lengths, T):
    """Rows still running at each step, for lengths sorted in decreasing order.

    lengths (N,) -> n_active (T,) with n_active[t] = #{i : lengths[i] > t}.
    """
    return (lengths[None, :] > np.arange(T)[:, None]).sum(axis=1)


def layer_forward(cell, xw, n_active, params, state0):
    """Run ``cell`` over time.

    xw       (T, N, G*H) input projections, bias included
    n_active (T,) non-increasing count of live rows per step
    state0   tuple of ``cell.n_states`` arrays (N, H): the state before step 0
    Returns the workspace; ``ws["h"]`` (T, N, H) holds the outputs, zero at
    padded steps.
    """
    T, N, _ = xw.shape
    H = params["W_hh"].shape[0]
    ws = cell.allocate(T, N, H, xw.dtype)
    state = state0
    for t in range(T):
        n = n_active[t]
        if n == 0:
            break
        state = cell.forward_step(t, n, xw[t, :n], tuple(s[:n] for s in state), params, ws)
    return ws


def final_state(cell, ws, lengths, state0):
    """State after each sequence's last real step: tuple of (N, H) arrays.

    A sequence of length 0 keeps ``state0``.
    """
    keys = ("h", "c")[: cell.n_states]
    rows = np.arange(len(lengths))
    last = np.maximum(lengths - 1, 0)
    out = []
    for key, s0 in zip(keys, state0):
        s = ws[key][last, rows]
        empty = lengths == 0
        if empty.any():
            s[empty] = s0[empty]
        out.append(s)
    return tuple(out)


def previous_state(ws, key, t, n, state0_part):
    """The state entering step t (first n rows)."""
    return state0_part[:n] if t == 0 else ws[key][t - 1, :n]


def layer_backward(cell, dh_out, n_active, params, ws, state0):
    """Backpropagation through time for one layer.

    dh_out  (T, N, H) dL/dh_t from above (output head, pooling or next layer);
            a gradient on a sequence's final state enters at its last step.
    Returns (dxw, dhw, dstate0): dxw and dhw are (T, N, G*H) gradients of the
    input and recurrent pre-activations (the same array when the cell does not
    separate them), dstate0 the gradient of the initial state.
    """
    T, N, H = dh_out.shape
    G = cell.n_gates
    dtype = dh_out.dtype
    dxw = np.zeros((T, N, G * H), dtype=dtype)
    dhw = np.zeros((T, N, G * H), dtype=dtype) if cell.separate_dhw else dxw
    dstate = tuple(np.zeros((N, H), dtype=dtype) for _ in range(cell.n_states))
    scratch = np.empty((N, 2 * H), dtype=dtype)
    W_hh_T = np.ascontiguousarray(params["W_hh"].T)  # a transposed view runs at half speed
    keys = ("h", "c")[: cell.n_states]
    for t in range(T - 1, -1, -1):
        n = n_active[t]
        if n == 0:
            continue
        dstate[0][:n] += dh_out[t, :n]
        prev = tuple(previous_state(ws, k, t, n, s0) for k, s0 in zip(keys, state0))
        cell.backward_step(t, n, tuple(d[:n] for d in dstate), prev, ws, W_hh_T, dxw[t, :n], dhw[t, :n], scratch)
    return dxw, dhw, dstate


def recurrent_weight_grad(ws, dhw, h0):
    """dW_hh = sum_t h_{t-1}.T @ dhw_t as two GEMMs: step 0 from h0, the rest batched.

    Rows that are padding at step t have dhw = 0, so they contribute nothing.
    """
    T, N, H = ws["h"].shape
    GH = dhw.shape[2]
    dW = h0.T @ dhw[0]  # (H, N) @ (N, G*H)
    if T > 1:
        dW += ws["h"][:-1].reshape(-1, H).T @ dhw[1:].reshape(-1, GH)  # (H, (T-1)N) @ ((T-1)N, G*H)
    return dW
