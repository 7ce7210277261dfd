"""One time step of each recurrent cell, forward and backward.

Every cell shares one shape of computation, which is what lets a single time
loop (``recurrent.py``) drive all of them:

* the input projection ``xw = x @ W_xh + b`` of every step is computed by the
  loop *before* it starts, as one GEMM over all N*T steps;
* a forward step adds the recurrent product ``h_prev @ W_hh`` (one batched
  GEMM, (n, H) @ (G, H, H), for all G gates) and does elementwise work;
* backward, ``backward_prepare`` computes the cell's local derivatives for all
  steps at once (a few large calls instead of many small ones per step), and a
  step multiplies dL/dh_t into them, giving the gradients of the
  pre-activations of its recurrent part (``dhw``) and, for the gates where
  they differ (the GRU's n), of its input part (``dxw``); ``input_grads``
  gathers the input-side gradients of every gate, and the loop turns both
  into weight gradients afterwards, one GEMM per gate.

What the loop asks of a cell (class attributes and static methods):
``n_gates``, ``n_states``, ``gate_order``, ``n_sigmoid``, ``n_input_only``
(gates whose input-side gradient differs from the recurrent one),
``carries_dh`` (h_prev reaches h outside W_hh), ``input_in_h`` (the input
projections are written into ``ws["h"][1:]``, one gate only); ``init_params``, ``allocate``,
``forward_stepper``, ``backward_prepare``, ``backward_stepper``, ``input_grads``,
and ``extra_grads`` (parameters besides W_xh, W_hh, b). The two
steppers bind one call's arrays and return ``step(t, n)``, which runs step t
on its first n rows: each array is split into its per-step views once per
call, so that a step does no dictionary, attribute or multi-axis index lookup
(at H=64-128 that Python work cost about as much as the step's arithmetic).

Generation at batch size 1 (``network.TokenStepper``) uses a leaner interface:
``infer_layout`` (a column order and per-column factor for the weights, 1/2 on
sigmoid gates, so that sigmoid is ``(1 + tanh) / 2`` with nothing to halve per
step), ``infer_biases`` (the input-side and recurrent-side biases) and
``fused_step``, which binds preallocated 1-D buffers once and returns a
function that advances the state in place from the step's two products, with
no allocation and no slicing per character.

Cells keep no state. Their per-step caches live in a *workspace*: arrays with
a time axis that the loop allocates once per call (``allocate``) and that a
step fills in at index ``t``. ``h`` (T + 1, N, H) holds the initial state in
``h[0]`` and the output of step t in ``h[t + 1]`` (likewise ``c``). Only the
first ``n`` rows of a step are active (the loop sorts sequences by decreasing
length), so a cell works on ``[:n]`` slices and never sees padding.

Gate-major layout. Gate pre-activations, activations and gradients are
(G, T, N, H): gate k of step t is ``a[k, t]``, one contiguous (N, H) block.
numpy runs an elementwise call on contiguous operands in one flat loop; on a
column slice of a (N, G*H) row it falls back to a loop per row, which measured
2-4x slower per step and per pass. Inside this layout each cell orders its
gates as it likes (``gate_order``, indices into PyTorch's order), putting the
sigmoid gates first: ``a[:n_sigmoid]`` is then one slice.

Sigmoids are computed as ``(1 + tanh(a / 2)) / 2``, the halving folded into the
weights the loop passes in: numpy's ``tanh`` is about 10x faster than scipy's
``expit`` on float32, and one ``tanh`` call serves all gates of a step.

Parameters keep PyTorch's layouts, so weights can be copied across (``W_xh``
is ``weight_ih.T``, ``W_hh`` is ``weight_hh.T``, gate blocks in its order):

RNN   h = tanh(x W_xh + h_prev W_hh + b)

GRU   columns [r | z | n] ::

        r = sigmoid(x W_xr + h_prev W_hr + b_r)
        z = sigmoid(x W_xz + h_prev W_hz + b_z)
        n = tanh(x W_xn + b_n + r * (h_prev W_hn + b_hn))
        h = (1 - z) * n + z * h_prev

      ``b`` holds b_ir + b_hr, b_iz + b_hz and b_in; ``b_hn`` sits inside the
      reset product, so it is a parameter of its own. The update-gate bias
      starts at 1 (z about 0.73), for the LSTM's reason below: with zero bias
      the state halves every step, and a length-50 first-symbol task stayed
      at chance where bias 1 learns it.

LSTM  columns [i | f | g | o] ::

        i, f, o = sigmoid(...), g = tanh(...)   (pre-activation x W_x + h W_h + b)
        c = f * c_prev + i * g
        h = o * tanh(c)

      The forget-gate bias starts at 1 so that early training remembers
      (Jozefowicz et al., 2015).
"""

import numpy as np

from .init import glorot_uniform, orthogonal_blocks


def _by_step(a):
    """(G, T, ...) gate-major array -> list of its T steps, each a (G, ...) view."""
    return list(a.swapaxes(0, 1))


class RNNCell:
    """Elman cell, ``h = tanh(x W_xh + h_prev W_hh + b)``."""

    n_gates = 1
    n_states = 1  # (h,)
    gate_order = (0,)
    n_sigmoid = 0
    n_input_only = 0  # gates whose input-side gradient differs from the recurrent one
    carries_dh = False  # no path from h_prev to h outside W_hh
    # The input projections are written into h[1:], where each step adds its recurrent product and
    # applies tanh in place: no (T, N, H) buffer of its own. Measured at N=32, T=64, H=128 with
    # another program (torch) run between steps, that buffer cost 0.3-0.4 ms of a 4.2 ms step.
    input_in_h = True

    @staticmethod
    def init_params(rng, input_size, hidden_size, dtype):
        H = hidden_size
        return {
            "W_xh": glorot_uniform(rng, input_size, H, dtype),
            "W_hh": orthogonal_blocks(rng, H, 1, dtype),
            "b": np.zeros(H, dtype=dtype),
        }

    @staticmethod
    def allocate(T, N, H, dtype, take):
        return {"h": take((T + 1, N, H), dtype)}

    @staticmethod
    def forward_stepper(xw, W, params, ws):
        hs, W0 = list(ws["h"]), W[0]  # xw is ws["h"][None, 1:]: h[t + 1] holds step t's input projection
        N = len(hs[0])
        rec = np.empty_like(hs[0])  # (N, H)
        dot, add, tanh = np.dot, np.add, np.tanh

        def step(t, n):
            h_prev, h, r = hs[t], hs[t + 1], rec
            if n < N:
                h_prev, h, r = h_prev[:n], h[:n], r[:n]
            dot(h_prev, W0, out=r)  # (n, H) @ (H, H); np.dot calls BLAS with less overhead than matmul
            add(h, r, out=h)
            tanh(h, out=h)

        return step

    @staticmethod
    def backward_prepare(ws, dhw, dxw, take):
        """dhw := tanh'(a_t) = 1 - h_t^2 for every step; a step multiplies in dh_t."""
        d = dhw[0]
        h = ws["h"][1:]
        np.multiply(h, h, out=d)
        np.subtract(1, d, out=d)
        return None

    @staticmethod
    def backward_stepper(dstate, dhw, dxw, local, ws, scratch):
        """``step(t, n)``: ``dstate[0]`` holds dL/dh_t; dhw[:, t] becomes dL/da_t."""
        (dh,), das = dstate, list(dhw[0])
        N = len(dh)
        multiply = np.multiply

        def step(t, n):
            da, d = das[t], dh
            if n < N:
                da, d = da[:n], d[:n]
            multiply(da, d, out=da)

        return step

    @staticmethod
    def input_grads(dhw, dxw):
        return tuple(dhw)

    @staticmethod
    def extra_grads(dhw, column_sums):
        return {}

    @staticmethod
    def infer_layout(H):
        """(columns, scale): the generation-time order of PyTorch's G*H gate
        columns, and the factor each column of the weights and biases takes."""
        return np.arange(H), np.ones(H)

    @staticmethod
    def infer_biases(params, prefix):
        """(input-side bias, recurrent-side bias), (G*H,) each in PyTorch's order."""
        b = params[prefix + "b"]
        return b, np.zeros_like(b)

    @staticmethod
    def fused_step(hw, state, scratch):
        """A function ``step(xw)`` that advances ``state`` (tuple of (H,)) in place.

        ``hw`` (G*H,) holds ``h_prev W_hh + b_h`` and ``xw`` (G*H,) ``x W_xh + b``,
        both in ``infer_layout``'s columns and scale; ``scratch`` is (G*H,).
        """
        (h,) = state
        add, tanh = np.add, np.tanh

        def step(xw):
            add(hw, xw, out=h)
            tanh(h, out=h)

        return step


class GRUCell:
    """Gated recurrent unit with PyTorch's equations (reset applied after W_hn)."""

    n_gates = 3
    n_states = 1
    gate_order = (0, 1, 2)  # r, z, n
    n_sigmoid = 2
    n_input_only = 1  # n: the reset gate scales only its recurrent part
    carries_dh = True  # h = ... + z * h_prev: dL/dh_prev has a direct term
    input_in_h = False  # G gates do not fit in h

    @staticmethod
    def init_params(rng, input_size, hidden_size, dtype):
        H = hidden_size
        b = np.zeros(3 * H, dtype=dtype)
        b[H : 2 * H] = 1.0  # z: carry the state early on, as the LSTM's forget gate
        return {
            "W_xh": glorot_uniform(rng, input_size, 3 * H, dtype),
            "W_hh": orthogonal_blocks(rng, H, 3, dtype),
            "b": b,
            "b_hn": np.zeros(H, dtype=dtype),
        }

    @staticmethod
    def allocate(T, N, H, dtype, take):
        return {
            "h": take((T + 1, N, H), dtype),
            "gates": take((3, T, N, H), dtype),  # r, z, n after activation
            "hw_n": take((T, N, H), dtype),  # h_prev W_hn + b_hn
        }

    @staticmethod
    def forward_stepper(xw, W, params, ws):
        hs, hws = list(ws["h"]), list(ws["hw_n"])
        gs, xs = _by_step(ws["gates"]), _by_step(xw)
        N, b_hn = len(hs[0]), params["b_hn"]
        half = W.dtype.type(0.5)
        add, multiply, subtract, tanh, matmul = np.add, np.multiply, np.subtract, np.tanh, np.matmul

        def step(t, n):
            h_prev, h, a, x, hw_n = hs[t], hs[t + 1], gs[t], xs[t], hws[t]
            if n < N:
                h_prev, h, a, x, hw_n = h_prev[:n], h[:n], a[:, :n], x[:, :n], hw_n[:n]
            matmul(h_prev, W, out=a)  # (n, H) @ (3, H, H) -> (3, n, H), r and z halved
            rz = a[:2]
            add(rz, x[:2], out=rz)
            tanh(rz, out=rz)  # sigmoid = (1 + tanh(a / 2)) / 2
            multiply(rz, half, out=rz)
            add(rz, half, out=rz)
            r, z, g = a
            add(g, b_hn, out=hw_n)
            multiply(r, hw_n, out=g)
            add(g, x[2], out=g)
            tanh(g, out=g)
            subtract(h_prev, g, out=h)  # h = n + z * (h_prev - n)
            multiply(h, z, out=h)
            add(h, g, out=h)

        return step

    @staticmethod
    def backward_prepare(ws, dhw, dxw, take):
        """Local derivatives, stored where a step multiplies them in place::

            dxw[0] := (1 - z)(1 - n^2)                  dn = dh * that (input side)
            dhw[z] := (h - n)(1 - z)                    dz = dh * that
            dhw[r] := (h_prev W_hn + b_hn) r (1 - r)    dr = dn * that

        using h - n = z (h_prev - n).
        """
        r, z, g = ws["gates"]
        one_minus_z = dhw[2]  # free until the loop writes dn * r there
        np.subtract(1, z, out=one_minus_z)
        kn = dxw[0]
        np.multiply(g, g, out=kn)
        np.subtract(1, kn, out=kn)
        kn *= one_minus_z
        kz = dhw[1]
        np.subtract(ws["h"][1:], g, out=kz)
        kz *= one_minus_z
        kr = dhw[0]
        np.subtract(1, r, out=kr)
        kr *= r
        kr *= ws["hw_n"]
        return None

    @staticmethod
    def backward_stepper(dstate, dhw, dxw, local, ws, scratch):
        (dh_all,), das, gs = dstate, _by_step(dhw), _by_step(ws["gates"])
        dns = list(dxw[0])  # n's input side
        N = len(dh_all)
        multiply = np.multiply

        def step(t, n):
            dh, (dr, dz, dn_rec), dn, (r, z, _) = dh_all, das[t], dns[t], gs[t]
            if n < N:
                dh, dr, dz, dn_rec, dn, r, z = dh[:n], dr[:n], dz[:n], dn_rec[:n], dn[:n], r[:n], z[:n]
            multiply(dn, dh, out=dn)
            multiply(dz, dh, out=dz)
            multiply(dr, dn, out=dr)
            multiply(dn, r, out=dn_rec)  # the recurrent part of n, through r
            multiply(dh, z, out=dh)  # the direct path h_prev -> h; the loop adds dhw @ W_hh.T

        return step

    @staticmethod
    def input_grads(dhw, dxw):
        return (dhw[0], dhw[1], dxw[0])  # r and z: the input and recurrent parts agree

    @staticmethod
    def extra_grads(dhw, column_sums):
        return {"b_hn": column_sums(dhw[2].reshape(-1, dhw.shape[-1]))}

    @staticmethod
    def infer_layout(H):
        scale = np.ones(3 * H)
        scale[: 2 * H] = 0.5  # r, z: sigmoid(a) = (1 + tanh(a / 2)) / 2
        return np.arange(3 * H), scale

    @staticmethod
    def infer_biases(params, prefix):
        b = params[prefix + "b"]
        b_h = np.zeros_like(b)
        b_h[2 * b_h.shape[0] // 3 :] = params[prefix + "b_hn"]  # inside the reset product
        return b, b_h

    @staticmethod
    def fused_step(hw, state, scratch):
        (h,) = state
        H = h.shape[0]
        hw_rz, hw_n = hw[: 2 * H], hw[2 * H :]
        rz, n = scratch[: 2 * H], scratch[2 * H :]
        r, z = rz[:H], rz[H:]

        half = h.dtype.type(0.5)
        add, multiply, subtract, tanh = np.add, np.multiply, np.subtract, np.tanh

        def step(xw):  # ufuncs with out=: augmented assignment would make the names local
            add(hw_rz, xw[: 2 * H], out=rz)
            tanh(rz, out=rz)
            multiply(rz, half, out=rz)
            add(rz, half, out=rz)
            multiply(hw_n, r, out=n)
            add(n, xw[2 * H :], out=n)
            tanh(n, out=n)
            subtract(h, n, out=h)  # h = n + z (h_prev - n)
            multiply(h, z, out=h)
            add(h, n, out=h)

        return step


class LSTMCell:
    """Long short-term memory cell with PyTorch's gate order [i, f, g, o]."""

    n_gates = 4
    n_states = 2  # (h, c)
    gate_order = (3, 0, 1, 2)  # o, i, f, g: sigmoids first, and i, f, g (scaled by dc) together
    n_sigmoid = 3
    n_input_only = 0
    carries_dh = False  # the direct path runs through c, kept in dstate[1]
    input_in_h = False

    @staticmethod
    def init_params(rng, input_size, hidden_size, dtype):
        H = hidden_size
        b = np.zeros(4 * H, dtype=dtype)
        b[H : 2 * H] = 1.0
        return {
            "W_xh": glorot_uniform(rng, input_size, 4 * H, dtype),
            "W_hh": orthogonal_blocks(rng, H, 4, dtype),
            "b": b,
        }

    @staticmethod
    def allocate(T, N, H, dtype, take):
        return {
            "h": take((T + 1, N, H), dtype),
            "c": take((T + 1, N, H), dtype),
            "tanh_c": take((T, N, H), dtype),
            "gates": take((4, T, N, H), dtype),  # o, i, f, g after activation
        }

    @staticmethod
    def forward_stepper(xw, W, params, ws):
        hs, cs, tcs = list(ws["h"]), list(ws["c"]), list(ws["tanh_c"])
        gs, xs = _by_step(ws["gates"]), _by_step(xw)
        N = len(hs[0])
        half = W.dtype.type(0.5)
        add, multiply, tanh, matmul = np.add, np.multiply, np.tanh, np.matmul

        def step(t, n):
            h_prev, h, c_prev, c, tc, a, x = hs[t], hs[t + 1], cs[t], cs[t + 1], tcs[t], gs[t], xs[t]
            if n < N:
                h_prev, h, c_prev, c, tc, a, x = h_prev[:n], h[:n], c_prev[:n], c[:n], tc[:n], a[:, :n], x[:, :n]
            matmul(h_prev, W, out=a)  # (n, H) @ (4, H, H) -> (4, n, H), o i f halved
            add(a, x, out=a)
            tanh(a, out=a)
            sig = a[:3]
            multiply(sig, half, out=sig)  # sigmoid = (1 + tanh(a / 2)) / 2
            add(sig, half, out=sig)
            o, i, f, g = a
            multiply(f, c_prev, out=c)
            multiply(i, g, out=h)  # scratch for i * g, then h itself
            add(c, h, out=c)
            tanh(c, out=tc)
            multiply(o, tc, out=h)

        return step

    @staticmethod
    def backward_prepare(ws, dhw, dxw, take):
        """Local derivatives for all steps, multiplied in place by a step::

            dhw[o] := tanh(c) o (1 - o)   do = dh * that
            dhw[i] := g i (1 - i)         di = dc * that
            dhw[f] := c_prev f (1 - f)    df = dc * that
            dhw[g] := i (1 - g^2)         dg = dc * that
            dc_from_h := o (1 - tanh(c)^2)   dc += dh * that
        """
        gates = ws["gates"]
        o, i, f, g = gates
        sig, k_sig = gates[:3], dhw[:3]
        np.multiply(sig, sig, out=k_sig)
        np.subtract(sig, k_sig, out=k_sig)  # s (1 - s)
        kg = dhw[3]
        np.multiply(g, g, out=kg)
        np.subtract(1, kg, out=kg)
        kg *= i
        tc = ws["tanh_c"]
        dhw[0] *= tc
        dhw[1] *= g
        dhw[2] *= ws["c"][:-1]
        dc_from_h = take(tc.shape, tc.dtype)
        np.multiply(tc, tc, out=dc_from_h)
        np.subtract(1, dc_from_h, out=dc_from_h)
        dc_from_h *= o
        return dc_from_h

    @staticmethod
    def backward_stepper(dstate, dhw, dxw, local, ws, scratch):
        """``step(t, n)``: ``dstate`` holds dL/dh_t and dL/dc_t (from later steps) on entry."""
        (dh_all, dc_all), das, locs = dstate, _by_step(dhw), list(local)
        fs, tmp_all = list(ws["gates"][2]), scratch[0]  # forget gates; room for dh * local
        N = len(dh_all)
        add, multiply = np.add, np.multiply

        def step(t, n):
            dh, dc, da, loc, f, tmp = dh_all, dc_all, das[t], locs[t], fs[t], tmp_all
            if n < N:
                dh, dc, da, loc, f, tmp = dh[:n], dc[:n], da[:, :n], loc[:n], f[:n], tmp[:n]
            multiply(dh, loc, out=tmp)
            add(dc, tmp, out=dc)
            do, difg = da[0], da[1:]
            multiply(do, dh, out=do)
            multiply(difg, dc, out=difg)  # di, df, dg
            multiply(dc, f, out=dc)  # dL/dc_{t-1} = dc * f

        return step

    @staticmethod
    def input_grads(dhw, dxw):
        return tuple(dhw)

    @staticmethod
    def extra_grads(dhw, column_sums):
        return {}

    @staticmethod
    def infer_layout(H):
        # i, f, o, g: the three sigmoid gates side by side, then g
        columns = np.concatenate([np.arange(2 * H), np.arange(3 * H, 4 * H), np.arange(2 * H, 3 * H)])
        scale = np.ones(4 * H)
        scale[: 3 * H] = 0.5
        return columns, scale

    infer_biases = staticmethod(RNNCell.infer_biases)  # one bias per gate, none inside a product

    @staticmethod
    def fused_step(hw, state, scratch):
        h, c = state
        H = h.shape[0]
        sig = scratch[: 3 * H]
        i, f, o, g = (scratch[k * H : (k + 1) * H] for k in range(4))

        half = h.dtype.type(0.5)
        add, multiply, tanh = np.add, np.multiply, np.tanh

        def step(xw):  # ufuncs with out=: augmented assignment would make the names local
            add(hw, xw, out=scratch)
            tanh(scratch, out=scratch)
            multiply(sig, half, out=sig)
            add(sig, half, out=sig)
            multiply(c, f, out=c)
            multiply(g, i, out=g)
            add(c, g, out=c)
            tanh(c, out=h)
            multiply(h, o, out=h)

        return step


CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}
