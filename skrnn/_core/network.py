"""A whole recurrent network, forward and backward, over a dict of named arrays.

    input ──> [embedding] ──> layer 0 ──> ... ──> layer L-1 ──> [pooling] ──> head ──> logits

* input: token ids (N, T), read by row lookup (never one-hot), or dense
  features (N, T, D);
* ``embedding_dim=None`` makes the first layer's ``W_xh`` (V, G*H) the
  embedding itself: the lookup of a one-hot input's projection;
* each layer runs one cell forward in time, and with ``bidirectional`` a second
  one over each sequence's real steps in reverse; their outputs are concatenated;
* pooling ("last", "mean", "max") turns the per-step outputs into one vector
  per sequence (many-to-one); ``pooling=None`` keeps every step (many-to-many,
  time-major logits (T, N, C));
* inverted dropout on the inputs of layers >= 1 and on the head's input, only
  when a dropout rate and a Generator are given.

Parameters are a flat dict: ``embedding``, ``layer{l}.W_xh``, ``layer{l}.W_hh``,
``layer{l}.b`` (``layer{l}.b_hn`` for GRU), ``layer{l}_reverse.*`` for the
reverse direction, ``W_hy`` and ``b_y``. Gradients come back under the same keys.

``pooled_forward`` is prediction's forward for a pooling network: the same
logits, with time read in chunks and the state carried, so that its memory
does not grow with the length of a sequence.

``TokenStepper`` runs a token model one step at a time at batch size 1, for
a whole generated text, with its weights fused and its buffers prepared once
(what ``RNNCharGenerator.generate`` uses).

Arrays that ``forward`` and ``backward`` return (logits, gradients) and keep in
the cache are drawn from ``recurrent.BUFFERS``: they are reused by a later
call only once nothing references them any more, so holding on to any of them
is safe. ``BUFFERS.clear()`` lets the pool's memory go (at most 512 MiB per
thread).
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .cells import CELLS
from .denormals import flush_denormals
from .init import glorot_uniform
from .recurrent import (
    BUFFERS,
    active_rows,
    blas_limit,
    column_sums,
    final_state,
    forward_weights,
    from_gate_blocks,
    layer_backward,
    layer_forward,
    loop_threads,
    recurrent_weight_grad,
)

POOLINGS = ("last", "mean", "max")


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture of a network; everything else lives in the parameter dict."""

    n_inputs: int  # vocabulary size (tokens) or features per step (dense)
    n_outputs: int  # classes, or vocabulary size for a language model
    hidden_size: int
    input_kind: str = "tokens"  # "tokens" | "dense"
    cell: str = "rnn"
    num_layers: int = 1
    embedding_dim: int | None = None
    pooling: str | None = None  # None: per-step outputs
    bidirectional: bool = False

    @property
    def directions(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    @property
    def output_size(self):
        return self.hidden_size * len(self.directions)


def init_params(spec, rng, dtype=np.float32):
    """Fresh parameters drawn from the Generator ``rng``."""
    cell = CELLS[spec.cell]
    params = {}
    if spec.input_kind == "tokens" and spec.embedding_dim is not None:
        params["embedding"] = rng.standard_normal((spec.n_inputs, spec.embedding_dim)).astype(dtype) * np.dtype(dtype).type(0.1)
        in_size = spec.embedding_dim
    else:
        in_size = spec.n_inputs
    for layer in range(spec.num_layers):
        for suffix in spec.directions:
            for name, value in cell.init_params(rng, in_size, spec.hidden_size, dtype).items():
                params[f"layer{layer}{suffix}.{name}"] = value
        in_size = spec.output_size
    params["W_hy"] = glorot_uniform(rng, spec.output_size, spec.n_outputs, dtype)
    params["b_y"] = np.zeros(spec.n_outputs, dtype=dtype)
    return params


def zero_state(spec, n_rows, dtype):
    """Initial state for every layer and direction: list of tuples of (N, H)."""
    n_states = CELLS[spec.cell].n_states
    return [
        tuple(np.zeros((n_rows, spec.hidden_size), dtype=dtype) for _ in range(n_states))
        for _ in range(spec.num_layers * len(spec.directions))
    ]


def _layer_params(params, prefix):
    start = len(prefix) + 1
    return {k[start:]: v for k, v in params.items() if k.startswith(prefix + ".")}


def selection_matrix(ids, n_rows, dtype):
    """Sparse (n_rows, M) matrix S with S[ids[j], j] = 1.

    ``S @ values`` sums the rows of ``values`` (M, K) by id: the gradient of a
    row lookup. Built once and applied to every gate; ``np.add.at`` is more
    than 10x slower.
    """
    M = ids.shape[0]
    # Column j holds one entry, at row ids[j]: the compressed-column arrays are
    # ready as they are, with no sorting (2-3x faster to build than from COO).
    # Indices in scipy's own index dtype: given int64, it checks and converts
    # them, which cost more than the product itself.
    index = np.int32 if max(M, n_rows) < 2**31 - 1 else np.int64
    indptr = np.arange(M + 1, dtype=index)
    return sparse.csc_matrix((np.ones(M, dtype=dtype), ids.astype(index, copy=False), indptr), shape=(n_rows, M))


def scatter_rows(ids, values, n_rows):
    """Row-wise scatter-add: out[v] = sum of values[j] where ids[j] == v.

    ids (M,), values (M, K) -> (n_rows, K).
    """
    return np.asarray(selection_matrix(ids, n_rows, values.dtype) @ values)


def _reverse_index(lengths, T):
    """(T, N) time index reading each sequence's real steps backwards.

    rev[t, i] = lengths[i] - 1 - t for t < lengths[i], else t (padding stays put).
    Applying it twice is the identity, so it also undoes itself.
    """
    t = np.arange(T)[:, None]
    return np.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)


def _gather_time(x, rev):
    """x (T, N, ...) read at time rev[t, i] for each row i."""
    return x[rev, np.arange(x.shape[1])[None, :]]


def _dropout_mask(rng, shape, rate, dtype):
    keep = rng.random(shape) >= rate
    return keep.astype(dtype) / dtype.type(1.0 - rate)


def _input_projection(p, cell, src, src_ids, T, N, out=None):
    """xw = x @ W_xh + b for every step: (G, T, N, H) in the cell's gate order,
    sigmoid-gate blocks halved (``forward_weights``), into ``out`` if given.

    src (T, N, D) floats, or None with src_ids (T, N) token ids: then it is a
    row lookup, and for a vocabulary no larger than T*N one of the small table
    W_xh + b, which folds the bias into the lookup.
    """
    W, b = p["W_xh"], p["b"]
    G = cell.n_gates
    H = W.shape[1] // G
    xw = BUFFERS.take((G, T, N, H), W.dtype) if out is None else out
    if src is None:
        V = W.shape[0]
        if src_ids.size and (src_ids.min() < 0 or src_ids.max() >= V):
            raise IndexError(f"token ids must lie in [0, {V}); got {src_ids.min()}..{src_ids.max()}.")
        if V <= T * N:
            table = forward_weights(W + b, cell)  # (G, V, H)
            # mode="clip" (ids were checked above): with out=, "raise" copies through a buffer
            np.take(table, src_ids, axis=1, out=xw, mode="clip")
            return xw
        for k, gate in enumerate(cell.gate_order):
            np.take(W[:, gate * H : (gate + 1) * H], src_ids, axis=0, out=xw[k], mode="clip")
        xw[: cell.n_sigmoid] *= 0.5
    else:
        W3 = forward_weights(W, cell)  # (G, D, H)
        np.matmul(src.reshape(T * N, src.shape[-1]), W3, out=xw.reshape(G, T * N, H))  # (T*N, D) @ (G, D, H)
    b3 = forward_weights(b[None], cell)  # (G, 1, H)
    xw += b3[:, None]
    return xw


def _run_layer(cell, p, src, src_ids, n_active, state0, H, dtype):
    """One direction of a layer over the steps of ``src`` or ``src_ids``: its workspace (``layer_forward``)."""
    T, N = n_active.shape[0], state0[0].shape[0]
    ws = cell.allocate(T, N, H, dtype, BUFFERS.take)
    into = ws["h"][None, 1:] if cell.input_in_h else None
    xw = _input_projection(p, cell, src, src_ids, T, N, out=into)
    layer_forward(cell, ws, xw, n_active, p, state0)
    return ws


def _length_order(lengths):
    """The permutation sorting rows by decreasing length (stable), or None when they already are."""
    return None if np.all(lengths[:-1] >= lengths[1:]) else np.argsort(-lengths, kind="stable")


def forward(params, spec, X, lengths, state0=None, *, dropout=0.0, rng=None):
    """Run the network.

    X        (N, T) integer token ids, or (N, T, D) floats
    lengths  (N,) real steps of each row, 0 <= lengths <= T
    state0   optional list (one per layer and direction) of tuples of (N, H)
    dropout  rate in [0, 1); applied only when ``rng`` is given (training)
    Returns (logits, states, cache): logits (N, C) when pooling, else
    time-major (T, N, C); states the state after each row's last real step
    (same layout as state0); cache for ``backward``.
    """
    dtype = params["W_hy"].dtype
    lengths = np.asarray(lengths, dtype=np.intp)
    if X.shape[1] == 0 and spec.pooling:  # no row has a step (empty texts): one step of padding, never run
        X = np.zeros((X.shape[0], 1, *X.shape[2:]), dtype=X.dtype)
    N, T = X.shape[0], X.shape[1]
    cell = CELLS[spec.cell]
    if state0 is None:
        state0 = zero_state(spec, N, dtype)
    order = _length_order(lengths)  # then each step's live rows are a prefix
    if order is not None:
        X, lengths = X[order], lengths[order]
        state0 = [tuple(s[order] for s in st) for st in state0]
    n_active = active_rows(lengths, T)
    use_dropout = dropout > 0 and rng is not None
    cache = {
        "spec": spec, "order": order, "lengths": lengths,
        "n_active": n_active, "state0": state0, "layers": [], "dtype": dtype,
    }
    rev = _reverse_index(lengths, T) if spec.bidirectional else None
    cache["rev"] = rev

    if spec.input_kind == "tokens":
        ids = np.ascontiguousarray(X.T)  # (T, N)
        cache["ids"] = ids
        inp = params["embedding"][ids] if "embedding" in params else None
    else:
        inp = np.ascontiguousarray(X.transpose(1, 0, 2), dtype=dtype)  # (T, N, D)

    states = []
    n_threads = loop_threads(N, spec.hidden_size)
    with blas_limit(n_threads), flush_denormals():
        for layer in range(spec.num_layers):
            if layer > 0 and use_dropout:
                mask = _dropout_mask(rng, inp.shape, dropout, dtype)
                inp = inp * mask
            else:
                mask = None
            outs, dirs = [], []
            for d, suffix in enumerate(spec.directions):
                p = _layer_params(params, f"layer{layer}{suffix}")
                s0 = state0[layer * len(spec.directions) + d]
                reverse = suffix == "_reverse"
                if inp is None:  # token ids straight into W_xh
                    src_ids = _gather_time(ids, rev) if reverse else ids
                    src = None
                else:
                    src_ids = None
                    src = _gather_time(inp, rev) if reverse else inp
                ws = _run_layer(cell, p, src, src_ids, n_active, s0, spec.hidden_size, dtype)
                out = ws["h"][1:]
                if reverse:
                    out = _gather_time(out, rev)
                else:
                    states.append(final_state(cell, ws, lengths))
                outs.append(out)
                dirs.append({"params": p, "ws": ws, "src": src, "state0": s0, "reverse": reverse})
            cache["layers"].append({"dirs": dirs, "mask": mask, "inp_shape": None if inp is None else inp.shape})
            if len(outs) == 1:
                inp = outs[0]
            else:  # (T, N, 2H)
                inp = np.concatenate(outs, axis=2, out=BUFFERS.take((T, N, 2 * spec.hidden_size), dtype))

        rep = _pool(inp, lengths, spec, cache) if spec.pooling else inp
        if use_dropout:
            head_mask = _dropout_mask(rng, rep.shape, dropout, dtype)
            rep = rep * head_mask
        else:
            head_mask = None
        cache["rep"], cache["head_mask"] = rep, head_mask
        C = params["W_hy"].shape[1]
        logits = BUFFERS.take(rep.shape[:-1] + (C,), dtype)
        # (N, Hd) @ (Hd, C) or (T*N, Hd) @ (Hd, C): 2-D, a 3-D product runs as T small ones
        np.matmul(rep.reshape(-1, rep.shape[-1]), params["W_hy"], out=logits.reshape(-1, C))
        logits += params["b_y"]
    if order is not None:
        inverse = np.argsort(order)
        logits = logits[inverse] if spec.pooling else logits[:, inverse]
        states = [tuple(s[inverse] for s in st) for st in states]
    return logits, states, cache


def pooled_forward(params, spec, X, lengths, max_steps):
    """Logits and pooled representations for prediction, reading time in chunks.

    What ``forward`` returns for a pooling network, as (logits (N, C), rep
    (N, Hd)) in the caller's row order, but its memory does not grow with the
    workspace of all T steps: each layer runs over chunks of at most
    ``max_steps`` steps, its state carried from one to the next. A layer below
    the last keeps only its outputs (T, N, Hd), the next layer's input; the
    last layer pools as it goes. Inference only (no cache, no dropout).

    Each direction pools its own run: a reverse run reads a row's real steps
    backwards, so its last step is the row's first, and the mean and max over
    real steps do not depend on their order.
    """
    dtype = params["W_hy"].dtype
    lengths = np.asarray(lengths, dtype=np.intp)
    N, T = X.shape[0], X.shape[1]
    cell = CELLS[spec.cell]
    H, n_dirs = spec.hidden_size, len(spec.directions)
    order = _length_order(lengths)
    if order is not None:
        X, lengths = X[order], lengths[order]
    n_active = active_rows(lengths, T)
    rev = _reverse_index(lengths, T) if spec.bidirectional else None
    cols = np.arange(N)[None, :]
    if spec.input_kind == "tokens":
        src_ids, inp = np.ascontiguousarray(X.T), None  # (T, N)
    else:
        src_ids, inp = None, np.ascontiguousarray(X.transpose(1, 0, 2), dtype=dtype)  # (T, N, D)
    embedding = params.get("embedding")
    rep = np.zeros((N, n_dirs * H), dtype=dtype)
    with blas_limit(loop_threads(N, H)), flush_denormals():
        for layer in range(spec.num_layers):
            last_layer = layer == spec.num_layers - 1
            out = None if last_layer else np.empty((T, N, n_dirs * H), dtype=dtype)
            for d, suffix in enumerate(spec.directions):
                p = _layer_params(params, f"layer{layer}{suffix}")
                reverse = suffix == "_reverse"
                state = tuple(np.zeros((N, H), dtype=dtype) for _ in range(cell.n_states))
                pooled = rep[:, d * H : (d + 1) * H]
                for t0 in range(0, T, max_steps):
                    t1 = min(t0 + max_steps, T)
                    steps = rev[t0:t1] if reverse else slice(t0, t1)  # original time of each step
                    ids = inp_chunk = None
                    if inp is None:
                        ids = src_ids[steps, cols] if reverse else src_ids[steps]
                        if embedding is not None:
                            inp_chunk, ids = embedding[ids], None
                    else:
                        inp_chunk = inp[steps, cols] if reverse else inp[steps]
                    ws = _run_layer(cell, p, inp_chunk, ids, n_active[t0:t1], state, H, dtype)
                    h = ws["h"][1:]
                    if last_layer:
                        _pool_chunk(pooled, h, t0, lengths, n_active, spec.pooling)
                    elif reverse:
                        out[steps, cols, d * H : (d + 1) * H] = h
                    else:
                        out[t0:t1, :, d * H : (d + 1) * H] = h
                    # rows that end in this chunk are never read again: zero state is as good as any
                    state = tuple(ws[name][-1].copy() for name in ("h", "c")[: cell.n_states])
                    del ws, h
            inp, src_ids, embedding = out, None, None
        if spec.pooling == "mean":
            rep /= np.maximum(lengths, 1)[:, None].astype(dtype)
        rep[lengths == 0] = 0
        logits = rep @ params["W_hy"]  # (N, Hd) @ (Hd, C)
        logits += params["b_y"]
    if order is not None:
        inverse = np.argsort(order)
        logits, rep = logits[inverse], rep[inverse]
    return logits, rep


def _pool_chunk(pooled, h, t0, lengths, n_active, pooling):
    """Fold steps t0.. (outputs ``h`` (Tc, N, H), zero at padding) into ``pooled`` (N, H)."""
    Tc = len(h)
    if pooling == "last":  # the output of each row's last step, if it falls in this chunk
        rows = np.flatnonzero((lengths > t0) & (lengths <= t0 + Tc))
        pooled[rows] = h[lengths[rows] - 1 - t0, rows]
    elif pooling == "mean":  # a sum here, divided by the lengths at the end
        pooled += h.sum(axis=0)
    else:  # max over real steps: the first n_active[t] rows of step t
        start = 0
        if t0 == 0:
            pooled[...] = h[0]
            start = 1
        for t in range(start, Tc):
            n = int(n_active[t0 + t])
            if not n:
                break
            np.maximum(pooled[:n], h[t, :n], out=pooled[:n])


def _pool(out, lengths, spec, cache):
    """(T, N, Hd) -> (N, Hd); a sequence with no steps pools to zeros."""
    T, N, Hd = out.shape
    rows = np.arange(N)
    last = np.maximum(lengths - 1, 0)
    empty = lengths == 0
    cache["out_shape"] = out.shape
    if spec.pooling == "last":
        pooled = out[last, rows].copy()
        if spec.bidirectional:  # the reverse direction ends at step 0
            H = spec.hidden_size
            pooled[:, H:] = out[0, :, H:]
    elif spec.pooling == "mean":
        pooled = out.sum(axis=0) / np.maximum(lengths, 1)[:, None].astype(out.dtype)
    else:  # max over real steps only: rows are sorted by length, so step t's real rows are a prefix
        pooled = np.empty((N, Hd), dtype=out.dtype)
        _pool_chunk(pooled, out, 0, lengths, cache["n_active"], "max")
        # The first step holding each maximum, for backward: a row's padding comes after its real
        # steps, so it is never first. (numpy's argmax along axis 0 took 3-4x this whole pooling.)
        rank = np.arange(T, 0, -1, dtype=np.min_scalar_type(T))[:, None, None]  # T - t
        first = np.multiply(out == pooled, rank).max(axis=0)
        cache["argmax"] = (T - first.astype(np.intp)) % T  # (N, Hd); 0 where nothing matched (NaN)
    pooled[empty] = 0
    return pooled


def _pool_backward(dpooled, lengths, spec, cache):
    T, N, Hd = cache["out_shape"]
    dout = BUFFERS.take((T, N, Hd), dpooled.dtype)
    dout.fill(0)
    dpooled = dpooled.copy()
    dpooled[lengths == 0] = 0
    rows = np.arange(N)
    if spec.pooling == "last":
        last = np.maximum(lengths - 1, 0)
        if spec.bidirectional:
            H = spec.hidden_size
            dout[last, rows, :H] = dpooled[:, :H]
            dout[0, :, H:] += dpooled[:, H:]
        else:
            dout[last, rows] = dpooled
    elif spec.pooling == "mean":
        real = (np.arange(T)[:, None] < lengths[None, :]).astype(dpooled.dtype)  # (T, N)
        dout += real[:, :, None] * (dpooled / np.maximum(lengths, 1)[:, None].astype(dpooled.dtype))[None]
    else:
        np.put_along_axis(dout, cache["argmax"][None], dpooled[None], axis=0)
    return dout


def backward(params, dlogits, cache):
    """Gradients of the loss for every parameter, given dL/dlogits.

    dlogits has the shape of forward's logits, in the caller's row order.
    """
    spec = cache["spec"]
    cell = CELLS[spec.cell]
    order, lengths, n_active = cache["order"], cache["lengths"], cache["n_active"]
    if order is not None:
        dlogits = dlogits[order] if spec.pooling else dlogits[:, order]
    rep = cache["rep"]
    grads = {}
    Hd, C = rep.shape[-1], dlogits.shape[-1]
    T, N = n_active.shape[0], lengths.shape[0]
    H = spec.hidden_size
    rev = cache["rev"]

    n_threads = loop_threads(N, H)
    with blas_limit(n_threads), flush_denormals():
        dl = dlogits.reshape(-1, C)
        grads["W_hy"] = rep.reshape(-1, Hd).T @ dl  # (Hd, M) @ (M, C)
        grads["b_y"] = column_sums(dl)
        drep = BUFFERS.take(rep.shape, dl.dtype)
        np.matmul(dl, params["W_hy"].T, out=drep.reshape(-1, Hd))  # (M, C) @ (C, Hd)
        if cache["head_mask"] is not None:
            drep *= cache["head_mask"]
        dout = _pool_backward(drep, lengths, spec, cache) if spec.pooling else drep
        for layer in range(spec.num_layers - 1, -1, -1):
            entry = cache["layers"][layer]
            dinp = None
            for d, info in enumerate(entry["dirs"]):
                prefix = f"layer{layer}{spec.directions[d]}"
                dh = dout[:, :, d * H : (d + 1) * H] if spec.bidirectional else dout
                if info["reverse"]:
                    dh = _gather_time(dh, rev)
                p, ws = info["params"], info["ws"]
                dx, dhw = layer_backward(cell, dh, n_active, p, ws)
                dx = [g.reshape(T * N, H) for g in dx]  # per gate, in the cell's order
                grads[f"{prefix}.b"] = from_gate_blocks(np.stack([column_sums(g) for g in dx])[:, None], cell)[0]
                grads[f"{prefix}.W_hh"] = recurrent_weight_grad(cell, ws, dhw)
                for name, value in cell.extra_grads(dhw, column_sums).items():
                    grads[f"{prefix}.{name}"] = value
                if info["src"] is None:  # token ids were the input: scatter into W_xh rows
                    ids = cache["ids"]
                    src_ids = _gather_time(ids, rev) if info["reverse"] else ids
                    select = selection_matrix(src_ids.ravel(), spec.n_inputs, dhw.dtype)
                    grads[f"{prefix}.W_xh"] = from_gate_blocks(np.stack([select @ g for g in dx]), cell)
                    continue
                src2d = info["src"].reshape(T * N, info["src"].shape[-1])
                # (D, T*N) @ (T*N, H) per gate
                grads[f"{prefix}.W_xh"] = from_gate_blocks(np.stack([src2d.T @ g for g in dx]), cell)
                if layer == 0 and spec.input_kind == "dense":
                    continue
                # d_src = sum_k dx_k @ W_xh_k.T, one (T*N, H) @ (H, D) product per gate
                W_xh, G = p["W_xh"], len(dx)
                d_src = BUFFERS.take(info["src"].shape, dhw.dtype)
                d2 = d_src.reshape(T * N, d_src.shape[-1])
                tmp = BUFFERS.take(d2.shape, dhw.dtype) if G > 1 else None
                for k, gate in enumerate(cell.gate_order):
                    W_k = W_xh[:, gate * H : (gate + 1) * H]  # (D, H)
                    np.matmul(dx[k], W_k.T, out=d2 if k == 0 else tmp)
                    if k:
                        d2 += tmp
                if info["reverse"]:
                    d_src = _gather_time(d_src, rev)
                if dinp is None:
                    dinp = d_src
                else:
                    dinp += d_src
            if dinp is None:
                continue
            if entry["mask"] is not None:
                dinp *= entry["mask"]
            if layer == 0:  # embedding lookup
                dinp2d = dinp.reshape(T * N, dinp.shape[-1])
                grads["embedding"] = scatter_rows(cache["ids"].ravel(), dinp2d, spec.n_inputs)
            dout = dinp
    return grads


class TokenStepper:
    """Generation at batch size 1: one token in, the next logits out, lean.

    This object prepares, once per generated text, what every step reads:

    * layer 0's input projection of every token, ``table[v] = x_v W_xh + b``
      (the ``W_xh`` row itself, or the embedding row's projection), so that a
      step looks one row up;
    * for each layer, one matrix ``[W_hh | W_next]`` (H, G*H + K), where
      ``W_next`` is the next layer's ``W_xh`` or, for the last layer, the head
      ``W_hy``: a layer's new h is multiplied once, by one matrix-vector product
      that gives both its recurrent product for the *next* step and what the
      layer above (or the head) needs *now*; the bias row ``[b_h | b_next]``
      is the matrix's last row, h being kept as ``[h, 1]``, so the product
      adds it;
    * gate columns in the cell's ``infer_layout``, sigmoid columns halved, and
      every buffer preallocated: a step allocates nothing.

    So a one-layer model costs one matrix-vector product and about ten small
    in-place ufunc calls per character. The state given (forward's layout, a
    list of tuples of (1, H) arrays, or None for zeros) is copied, not changed.
    ``logits`` (C,) are those after the state given, then after each ``step``;
    the array is overwritten by the next step. Equals ``forward`` on the same
    tokens up to rounding (a matrix-vector product sums in another order than
    a matrix product).
    """

    def __init__(self, params, spec, state=None):
        if spec.bidirectional or spec.input_kind != "tokens":
            raise ValueError("TokenStepper runs unidirectional token models only.")
        cell = CELLS[spec.cell]
        dtype = params["W_hy"].dtype
        H, L = spec.hidden_size, spec.num_layers
        if state is None:
            state = zero_state(spec, 1, dtype)
        columns, scale = cell.infer_layout(H)
        scale = scale.astype(dtype)
        if np.array_equal(columns, np.arange(columns.shape[0])):
            columns = slice(None)  # PyTorch's order already: no gather
        G_H = scale.shape[0]

        def laid_out(W, out=None):
            """W (..., G*H) in the inference layout (columns, scale), into ``out``: one pass."""
            return np.multiply(W[..., columns], scale, out=out)

        def x_side(layer):  # (W_xh, b) of a layer, in the inference layout
            prefix = f"layer{layer}."
            b_x, _ = cell.infer_biases(params, prefix)
            return params[prefix + "W_xh"], b_x

        W0, b0 = x_side(0)
        if "embedding" in params:
            W0 = params["embedding"] @ W0  # (V, D) @ (D, G*H): each token's projection
        self.table = laid_out(W0 + b0).astype(dtype, copy=False)  # (V, G*H)
        self._matrices, self._outs, self._steps, self._h = [], [], [], []
        self._states = []
        for layer in range(L):
            prefix = f"layer{layer}."
            _, b_h = cell.infer_biases(params, prefix)
            if layer + 1 < L:  # the next layer's input side, in the inference layout
                W_next, b_next = (laid_out(a) for a in x_side(layer + 1))
            else:  # the head, as it is
                W_next, b_next = params["W_hy"], params["b_y"]
            # One (H + 1, G*H + K) matrix; the bias row rides in the product, h being stored as [h, 1].
            M = np.empty((H + 1, G_H + W_next.shape[1]), dtype=dtype)
            laid_out(params[prefix + "W_hh"], out=M[:H, :G_H])
            laid_out(b_h, out=M[H, :G_H])
            M[:H, G_H:] = W_next
            M[H, G_H:] = b_next
            out = np.empty(M.shape[1], dtype=dtype)
            h1 = np.ones(H + 1, dtype=dtype)
            h1[:H] = state[layer][0][0]
            st = (h1[:H],) + tuple(np.array(s[0], dtype=dtype) for s in state[layer][1:])  # (H,) copies
            self._matrices.append(M)
            self._outs.append(out)
            self._states.append(st)
            self._h.append(h1)
            self._steps.append(cell.fused_step(out[:G_H], st, np.empty(G_H, dtype=dtype)))
            np.dot(h1, M, out=out)
        self._width = G_H
        self.logits = self._outs[-1][G_H:]
        self.step = self._bind_step()

    def _bind_step(self):
        """``step(token)``: read ``token`` (int) and return the next logits (C,),
        the array ``logits``, overwritten by the next step. A closure over
        local names, as this runs once per generated character."""
        table, logits, dot = self.table, self.logits, np.dot
        if len(self._steps) == 1:
            (advance,), (h1,), (M,), (out,) = self._steps, self._h, self._matrices, self._outs

            def step(token):
                advance(table[token])
                dot(h1, M, out=out)
                return logits

            return step
        layers = list(zip(self._steps, self._h, self._matrices, self._outs))
        # layer l + 1 reads the tail of layer l's product: its input projection
        inputs = [None] + [out[self._width :] for out in self._outs[:-1]]

        def step(token):
            xw = table[token]
            for (advance, h1, M, out), below in zip(layers, inputs):
                advance(xw if below is None else below)
                dot(h1, M, out=out)
            return logits

        return step

    def state(self):
        """The current state in forward's layout: a list of tuples of (1, H) copies."""
        return [tuple(s[None].copy() for s in st) for st in self._states]
