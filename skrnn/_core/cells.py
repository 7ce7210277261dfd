"""One time step of each recurrent cell, forward and backward.

Every cell shares one shape of computation, which is what lets a single time
loop (``recurrent.py``) drive all of them:

* the input projection ``xw = x @ W_xh + b`` of every step is computed by the
  loop *before* it starts, as one GEMM over all N*T steps;
* a step adds the recurrent product ``h_prev @ W_hh`` (one GEMM of shape
  (n, H) @ (H, G*H), all G gates stacked) and does elementwise work;
* a backward step returns the gradients of the pre-activations with respect to
  the input part (``dxw``) and the recurrent part (``dhw``) of that step; the
  loop turns those into weight gradients afterwards, again as one GEMM each.

Cells keep no state. Their per-step caches live in a *workspace*: arrays with a
leading time axis that the loop allocates once per call (``allocate``) and that
a step fills in at index ``t``. Only the first ``n`` rows of a step are active
(the loop sorts sequences by decreasing length), so a cell works on ``[:n]``
slices and never sees padding.

Gate layouts follow PyTorch, so weights can be copied across (``W_xh`` is
``weight_ih.T``, ``W_hh`` is ``weight_hh.T``):

RNN   h = tanh(x W_xh + h_prev W_hh + b)

GRU   columns [r | z | n] ::

        r = sigmoid(x W_xr + h_prev W_hr + b_r)
        z = sigmoid(x W_xz + h_prev W_hz + b_z)
        n = tanh(x W_xn + b_n + r * (h_prev W_hn + b_hn))
        h = (1 - z) * n + z * h_prev

      ``b`` holds b_ir + b_hr, b_iz + b_hz and b_in; ``b_hn`` sits inside the
      reset product, so it is a parameter of its own.

LSTM  columns [i | f | g | o] ::

        i, f, o = sigmoid(...), g = tanh(...)   (pre-activation x W_x + h W_h + b)
        c = f * c_prev + i * g
        h = o * tanh(c)

      The forget-gate bias starts at 1 so that early training remembers
      (Jozefowicz et al., 2015).
"""

import numpy as np
from scipy.special import expit

from .init import glorot_uniform, orthogonal_blocks


def _sigmoid(x, out):
    return expit(x, out=out)


class RNNCell:
    """Elman cell, ``h = tanh(x W_xh + h_prev W_hh + b)``."""

    n_gates = 1
    n_states = 1  # (h,)
    separate_dhw = False  # dhw == dxw: the recurrent and input paths share pre-activations

    @staticmethod
    def init_params(rng, input_size, hidden_size, dtype):
        H = hidden_size
        return {
            "W_xh": glorot_uniform(rng, input_size, H, dtype),
            "W_hh": orthogonal_blocks(rng, H, 1, dtype),
            "b": np.zeros(H, dtype=dtype),
        }

    @staticmethod
    def allocate(T, N, H, dtype):
        return {"h": np.zeros((T, N, H), dtype=dtype)}

    @staticmethod
    def forward_step(t, n, xw_t, state_prev, params, ws):
        (h_prev,) = state_prev
        h = ws["h"][t, :n]
        np.matmul(h_prev, params["W_hh"], out=h)  # (n, H) @ (H, H) -> (n, H)
        h += xw_t
        np.tanh(h, out=h)
        return (h,)

    @staticmethod
    def backward_step(t, n, dstate, state_prev, ws, W_hh_T, dxw_t, dhw_t, scratch):
        """``dstate`` holds dL/dh_t on entry and dL/dh_{t-1} on exit."""
        (dh,) = dstate
        h = ws["h"][t, :n]
        np.multiply(h, h, out=dxw_t)
        np.subtract(1, dxw_t, out=dxw_t)
        dxw_t *= dh  # tanh' = 1 - h^2
        np.matmul(dxw_t, W_hh_T, out=dh)  # (n, H) @ (H, H) -> (n, H)

    @staticmethod
    def extra_grads(dxw, dhw):
        return {}


class GRUCell:
    """Gated recurrent unit with PyTorch's equations (reset applied after W_hn)."""

    n_gates = 3
    n_states = 1
    separate_dhw = True  # the reset gate scales the recurrent part of n only

    @staticmethod
    def init_params(rng, input_size, hidden_size, dtype):
        H = hidden_size
        return {
            "W_xh": glorot_uniform(rng, input_size, 3 * H, dtype),
            "W_hh": orthogonal_blocks(rng, H, 3, dtype),
            "b": np.zeros(3 * H, dtype=dtype),
            "b_hn": np.zeros(H, dtype=dtype),
        }

    @staticmethod
    def allocate(T, N, H, dtype):
        return {
            "h": np.zeros((T, N, H), dtype=dtype),
            "gates": np.zeros((T, N, 3 * H), dtype=dtype),  # r, z, n after activation
            "hw_n": np.zeros((T, N, H), dtype=dtype),  # h_prev W_hn + b_hn
        }

    @staticmethod
    def forward_step(t, n, xw_t, state_prev, params, ws):
        (h_prev,) = state_prev
        H = h_prev.shape[1]
        gates = ws["gates"][t, :n]
        hw_n = ws["hw_n"][t, :n]
        np.matmul(h_prev, params["W_hh"], out=gates)  # (n, H) @ (H, 3H) -> (n, 3H)
        rz = gates[:, : 2 * H]
        rz += xw_t[:, : 2 * H]
        _sigmoid(rz, out=rz)
        np.add(gates[:, 2 * H :], params["b_hn"], out=hw_n)
        r, z, g = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
        np.multiply(r, hw_n, out=g)
        g += xw_t[:, 2 * H :]
        np.tanh(g, out=g)
        h = ws["h"][t, :n]
        np.subtract(h_prev, g, out=h)  # h = n + z * (h_prev - n)
        h *= z
        h += g
        return (h,)

    @staticmethod
    def backward_step(t, n, dstate, state_prev, ws, W_hh_T, dxw_t, dhw_t, scratch):
        (dh,) = dstate
        (h_prev,) = state_prev
        H = dh.shape[1]
        gates = ws["gates"][t, :n]
        r, z, g = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
        hw_n = ws["hw_n"][t, :n]
        dr, dz, dg = dxw_t[:, :H], dxw_t[:, H : 2 * H], dxw_t[:, 2 * H :]
        tmp = scratch[:n, :H]
        # dz = dh * (h_prev - n) * z * (1 - z)
        np.subtract(h_prev, g, out=dz)
        dz *= dh
        np.subtract(1, z, out=tmp)
        tmp *= z
        dz *= tmp
        # dn_pre = dh * (1 - z) * (1 - n^2)
        np.subtract(1, z, out=dg)
        dg *= dh
        np.multiply(g, g, out=tmp)
        np.subtract(1, tmp, out=tmp)
        dg *= tmp
        # dr = dn_pre * hw_n * r * (1 - r)
        np.multiply(dg, hw_n, out=dr)
        np.subtract(1, r, out=tmp)
        tmp *= r
        dr *= tmp
        # recurrent pre-activations: r and z as above, n through the reset gate
        dhw_t[:, : 2 * H] = dxw_t[:, : 2 * H]
        np.multiply(dg, r, out=dhw_t[:, 2 * H :])
        dh *= z  # the direct path h_prev -> h
        dh += np.matmul(dhw_t, W_hh_T, out=scratch[:n, H : 2 * H])  # (n, 3H) @ (3H, H)

    @staticmethod
    def extra_grads(dxw, dhw):
        H = dhw.shape[-1] // 3
        return {"b_hn": dhw[..., 2 * H :].sum(axis=(0, 1))}


class LSTMCell:
    """Long short-term memory cell with PyTorch's gate order [i, f, g, o]."""

    n_gates = 4
    n_states = 2  # (h, c)
    separate_dhw = False

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
    def allocate(T, N, H, dtype):
        return {
            "h": np.zeros((T, N, H), dtype=dtype),
            "c": np.zeros((T, N, H), dtype=dtype),
            "tanh_c": np.zeros((T, N, H), dtype=dtype),
            "gates": np.zeros((T, N, 4 * H), dtype=dtype),  # i, f, g, o after activation
        }

    @staticmethod
    def forward_step(t, n, xw_t, state_prev, params, ws):
        h_prev, c_prev = state_prev
        H = h_prev.shape[1]
        a = ws["gates"][t, :n]
        np.matmul(h_prev, params["W_hh"], out=a)  # (n, H) @ (H, 4H) -> (n, 4H)
        a += xw_t
        _sigmoid(a[:, : 2 * H], out=a[:, : 2 * H])
        np.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
        _sigmoid(a[:, 3 * H :], out=a[:, 3 * H :])
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        c = ws["c"][t, :n]
        np.multiply(f, c_prev, out=c)
        c += i * g
        tc = ws["tanh_c"][t, :n]
        np.tanh(c, out=tc)
        h = ws["h"][t, :n]
        np.multiply(o, tc, out=h)
        return (h, c)

    @staticmethod
    def backward_step(t, n, dstate, state_prev, ws, W_hh_T, dxw_t, dhw_t, scratch):
        dh, dc = dstate
        _, c_prev = state_prev
        H = dh.shape[1]
        a = ws["gates"][t, :n]
        i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
        tc = ws["tanh_c"][t, :n]
        di, df, dg, do = dxw_t[:, :H], dxw_t[:, H : 2 * H], dxw_t[:, 2 * H : 3 * H], dxw_t[:, 3 * H :]
        tmp = scratch[:n, :H]
        # do = dh * tanh(c) * o * (1 - o)
        np.multiply(dh, tc, out=do)
        np.subtract(1, o, out=tmp)
        tmp *= o
        do *= tmp
        # dc += dh * o * (1 - tanh(c)^2)
        np.multiply(tc, tc, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= o
        tmp *= dh
        dc += tmp
        # di = dc * g * i (1 - i); df = dc * c_prev * f (1 - f); dg = dc * i * (1 - g^2)
        np.subtract(1, i, out=tmp)
        tmp *= i
        np.multiply(dc, g, out=di)
        di *= tmp
        np.subtract(1, f, out=tmp)
        tmp *= f
        np.multiply(dc, c_prev, out=df)
        df *= tmp
        np.multiply(g, g, out=tmp)
        np.subtract(1, tmp, out=tmp)
        tmp *= i
        np.multiply(dc, tmp, out=dg)
        dc *= f  # dL/dc_{t-1}
        np.matmul(dxw_t, W_hh_T, out=dh)  # (n, 4H) @ (4H, H) -> (n, H)

    @staticmethod
    def extra_grads(dxw, dhw):
        return {}


CELLS = {"rnn": RNNCell, "gru": GRUCell, "lstm": LSTMCell}
