"""The TFT's variable selection network over all its variables at once.

pytorch-forecasting's ``VariableSelectionNetwork`` runs one small network per variable in a
Python loop: a prescaling ``Linear(1, d)`` and a gated residual network (GRN) per real input, a
``ResampleNorm`` per embedded categorical, then a GRN over all of them flattened, whose softmax
weighs the per-variable outputs. On the TFT's inputs that is about a hundred small operations per
call, twice per step (encoder and decoder), and the per-variable loop is most of the network's
cost on a CPU. :class:`VariableSelection` computes the same function with one operation per stage
for all variables:

* real variables: their GRNs are stacked variable-major (n, rows, features), so every
  per-variable ``Linear`` is one batched product with its bias fused; the prescaling
  ``Linear(1, d)`` of a scalar input is folded into the layers it feeds, and the layer norm of
  the resampled residual (a vector ``x * d + e`` of a scalar x) is computed in closed form;
* categorical variables: everything the network does with a categorical input before the softmax
  weighing depends on its code only (the embedding, its ``ResampleNorm``, its share of the
  flattened GRN's first layer and residual), so those are computed once per step for each level
  (a table of ``sum(cardinalities)`` rows), looked up and weighed with one ``embedding_bag``
  for all categorical variables;
* the context (static covariates) enters the flattened GRN once per series, broadcast over time,
  instead of being expanded to every time step first.

The parametrization (initialization, dropout placement, layer norms, the linear interpolation of
``ResampleNorm``) follows pytorch-forecasting's blocks; ``tests/test_tft.py`` loads the weights of
its ``VariableSelectionNetwork`` into this module and checks both give the same outputs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from forecasting.models.dropout import Dropout
from forecasting.models.inputs import lookup_sum


def interpolation_matrix(size_in: int, size_out: int) -> torch.Tensor:
    """(size_in, size_out): ``x @ M`` is pytorch-forecasting's ``TimeDistributedInterpolation``
    (``F.interpolate(mode="linear", align_corners=True)``), a linear map of the last axis."""
    eye = torch.eye(size_in).unsqueeze(1)
    return F.interpolate(eye, size_out, mode="linear", align_corners=True).squeeze(1)


def _kaiming(n: int, size_in: int, size_out: int) -> nn.Parameter:
    # pytorch-forecasting's GRN: kaiming_normal_(fan_in, leaky_relu with a=0) on fc1 / fc2.
    return nn.Parameter(torch.randn(n, size_in, size_out) * math.sqrt(2.0 / size_in))


def _xavier(n: int, size_in: int, size_out: int) -> nn.Parameter:
    bound = math.sqrt(6.0 / (size_in + size_out))
    return nn.Parameter(torch.empty(n, size_in, size_out).uniform_(-bound, bound))


def _norm(x: torch.Tensor, size: int, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """Layer norm over the last axis (``size``, a Python int: the TorchScript ONNX exporter
    needs it constant) with one (weight, bias) per variable (axis -2)."""
    return F.layer_norm(x, (size,)) * weight + bias


class VariableSelection(nn.Module):
    """Variable selection over ``n_real`` real inputs and categorical inputs of embedding sizes
    ``cat_sizes``: (..., hidden) selected features and (..., n) softmax weights, variables in the
    order reals, then categoricals.

    ``forward(reals, codes, embedded, context)``: ``reals`` (..., n_real); ``codes`` (..., n_cat)
    row indices into ``embedded`` (the categoricals' embedding tables side by side, see
    :class:`~forecasting.models.inputs.CategoricalTables`); ``context`` (B, context_size) per
    series, broadcast over the time axis of (B, T, ...) inputs.
    """

    def __init__(
        self,
        n_real: int,
        cat_sizes: Sequence[int],
        hidden_size: int,
        real_size: int,
        dropout: float = 0.1,
        context_size: int | None = None,
    ):
        super().__init__()
        self.n_real, self.cat_sizes = n_real, tuple(cat_sizes)
        self.n_inputs = n = n_real + len(self.cat_sizes)
        if n == 0:
            raise ValueError("variable selection needs at least one variable")
        self.hidden_size, self.real_size = hidden_size, real_size
        self.dropout = Dropout(dropout)
        hidden, real = hidden_size, real_size

        # Real variables: Linear(1, real) prescaling, then a GRN(real -> min(real, hidden) ->
        # hidden) each; its residual is resampled to ``hidden`` and normed when sizes differ.
        self.real_hidden = rh = min(real, hidden)
        self.prescale_weight = nn.Parameter(torch.empty(n_real, real).uniform_(-1.0, 1.0))
        self.prescale_bias = nn.Parameter(torch.empty(n_real, real).uniform_(-1.0, 1.0))
        self.fc1 = _kaiming(n_real, real, rh)
        self.fc1_bias = nn.Parameter(torch.zeros(n_real, rh))
        self.fc2 = _kaiming(n_real, rh, rh)
        self.fc2_bias = nn.Parameter(torch.zeros(n_real, rh))
        self.gate = _xavier(n_real, rh, 2 * hidden)
        self.gate_bias = nn.Parameter(torch.zeros(n_real, 2 * hidden))
        self.norm_weight = nn.Parameter(torch.ones(n_real, hidden))
        self.norm_bias = nn.Parameter(torch.zeros(n_real, hidden))
        self.resample = real != hidden
        self.register_buffer("real_interp", interpolation_matrix(real, hidden), persistent=False)
        self.residual_mask = nn.Parameter(torch.zeros(n_real, hidden))
        self.residual_weight = nn.Parameter(torch.ones(n_real, hidden))
        self.residual_bias = nn.Parameter(torch.zeros(n_real, hidden))

        # Categorical variables: ResampleNorm(embedding size -> hidden) each.
        n_cat = len(self.cat_sizes)
        interp = [interpolation_matrix(size, hidden) for size in self.cat_sizes]
        self.register_buffer(
            "cat_interp",
            torch.cat(interp) if interp else torch.zeros(0, hidden),
            persistent=False,
        )
        self.cat_mask = nn.Parameter(torch.zeros(n_cat, hidden))
        self.cat_norm_weight = nn.Parameter(torch.ones(n_cat, hidden))
        self.cat_norm_bias = nn.Parameter(torch.zeros(n_cat, hidden))

        # The flattened GRN over all inputs side by side -> one weight per variable.
        total = n_real * real + sum(self.cat_sizes)
        self.flat_size = total
        self.flat_hidden = fh = min(hidden, n)
        if n > 1:
            self.flat_fc1 = nn.Linear(total, fh)
            self.flat_context = nn.Linear(context_size, fh, bias=False) if context_size else None
            self.flat_fc2 = nn.Linear(fh, fh)
            self.flat_gate = nn.Linear(fh, 2 * n)
            self.flat_norm = nn.LayerNorm(n)
            self.flat_resample = total != n
            self.register_buffer("flat_interp", interpolation_matrix(total, n), persistent=False)
            self.flat_mask = nn.Parameter(torch.zeros(n))
            self.flat_residual_norm = nn.LayerNorm(n)
            for layer in (self.flat_fc1, self.flat_fc2):
                nn.init.kaiming_normal_(layer.weight, a=0, mode="fan_in", nonlinearity="leaky_relu")
                nn.init.zeros_(layer.bias)
            if self.flat_context is not None:
                nn.init.xavier_uniform_(self.flat_context.weight)
            nn.init.xavier_uniform_(self.flat_gate.weight)
            nn.init.zeros_(self.flat_gate.bias)

    # ---------------------------------------------------------------- parts

    def _flat_weight(self) -> torch.Tensor:
        """(inputs side by side, flat hidden + n): the flattened GRN's first layer and the
        interpolation of its residual, both linear in its input."""
        return torch.cat([self.flat_fc1.weight.t(), self.flat_interp], dim=1)

    def _cat_tables(
        self, embedded: torch.Tensor, rows: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per categorical level (row of ``embedded``): its normed output (levels, hidden) and,
        with several variables, its share of the flattened GRN's first layer and residual."""
        gate = 2.0 * torch.sigmoid(self.cat_mask)[rows]
        out = _norm(
            embedded @ self.cat_interp * gate,
            self.hidden_size,
            self.cat_norm_weight[rows],
            self.cat_norm_bias[rows],
        )
        if self.n_inputs == 1:
            return out, None
        return out, embedded @ self._flat_weight()[self.n_real * self.real_size :]

    def _real_residual(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The real GRNs' residual branch, ``LayerNorm(interpolate(prescaled x) * gate)`` for
        x (r, R), as coefficients (r, R, k) and vectors (r, k, hidden) whose product it is. The
        normed vector is ``x * d + e`` for a scalar x, so its mean and variance are closed forms
        in x, and the result ``(x * s) * d' + s * e' + bias`` is a product with k = 3."""
        w, b = self.prescale_weight, self.prescale_bias
        if not self.resample:  # sizes agree: the residual is the prescaled input itself
            return torch.stack([x, torch.ones_like(x)], dim=-1), torch.stack([w, b], dim=1)
        gate = 2.0 * torch.sigmoid(self.residual_mask)
        d = w @ self.real_interp * gate  # (r, hidden)
        e = b @ self.real_interp * gate
        d = d - d.mean(dim=-1, keepdim=True)
        e = e - e.mean(dim=-1, keepdim=True)
        dd, de, ee = (d * d).mean(-1), (d * e).mean(-1), (e * e).mean(-1)
        # var(x) = dd x^2 + 2 de x + ee, as a completed square (no cancellation in x).
        shift = de / dd.clamp(min=1e-12)
        floor = (ee - de * shift).clamp(min=0.0)
        scale = torch.rsqrt(dd[:, None] * (x + shift[:, None]).square() + floor[:, None] + 1e-5)
        coefficients = torch.stack([x * scale, scale, torch.ones_like(x)], dim=-1)
        weight = self.residual_weight
        vectors = torch.stack([d * weight, e * weight, self.residual_bias], dim=1)
        return coefficients, vectors

    def _real_outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The real variables' GRNs, x (r, R) -> r outputs (R, hidden), computed
        variable-major so that each per-variable layer is one batched product. The prescaling
        ``Linear(1, d)`` is folded into the first layer (a scalar input times a vector), without
        dropout the second layer into the gate's, the gate's bias rides on a column of ones and
        the residual is added by the product that makes it."""
        w, b = self.prescale_weight.unsqueeze(1), self.prescale_bias.unsqueeze(1)  # (r, 1, real)
        first = (w @ self.fc1).squeeze(1)  # (r, rh): prescaled x through fc1
        first_bias = (b @ self.fc1).squeeze(1) + self.fc1_bias
        h = F.elu(torch.addcmul(first_bias.unsqueeze(1), x.unsqueeze(-1), first.unsqueeze(1)))
        if self.training and self.dropout.p > 0:
            h = self.dropout(torch.bmm(h, self.fc2).add_(self.fc2_bias.unsqueeze(1)))
            gate, gate_bias = self.gate, self.gate_bias
        else:
            gate = self.fc2 @ self.gate
            gate_bias = (self.fc2_bias.unsqueeze(1) @ self.gate).squeeze(1) + self.gate_bias
        h = torch.bmm(F.pad(h, (0, 1), value=1.0), torch.cat([gate, gate_bias.unsqueeze(1)], 1))
        h = torch.baddbmm(F.glu(h, dim=-1), *self._real_residual(x))  # (r, R, hidden)
        hidden = (self.hidden_size,)
        # ``unbind``, not ``h[k]``: the backward of each of n selects writes a zero tensor of
        # h's full size and adds them up (12% of a TFT training step); unbind's stacks once.
        return [
            F.layer_norm(part, hidden, weight, bias)
            for part, weight, bias in zip(
                h.unbind(0), self.norm_weight.unbind(0), self.norm_bias.unbind(0)
            )
        ]

    def _real_flat(self, x: torch.Tensor) -> torch.Tensor:
        """The real variables' share of the flattened GRN's first layer and residual, x (r, R)
        -> (R, flat hidden + n): linear in each scalar x, so one (R, r) x (r, k) product."""
        weight = self._flat_weight()[: self.n_real * self.real_size]
        weight = weight.view(self.n_real, self.real_size, -1)  # (r, real, k)
        slope = (self.prescale_weight.unsqueeze(1) @ weight).squeeze(1)  # (r, k)
        offset = (self.prescale_bias.unsqueeze(1) @ weight).squeeze(1).sum(0)  # (k,)
        return torch.addmm(offset, x.t(), slope)

    def forward(
        self,
        reals: torch.Tensor,
        codes: torch.Tensor,
        embedded: torch.Tensor | None = None,
        rows: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``codes`` are rows of ``embedded`` (levels, sum of embedding sizes), and ``rows``
        (levels,) the variable each level belongs to, as
        :class:`~forecasting.models.inputs.CategoricalTables` gives them."""
        lead = reals.shape[:-1]
        hidden, n_real, n_cat = self.hidden_size, self.n_real, len(self.cat_sizes)
        several = self.n_inputs > 1
        # Variable-major (n, R, ...) layouts: per-variable layers are batched products, and the
        # weighted sum over variables adds whole contiguous slices.
        real_out = flat = None
        if n_real:
            x = reals.reshape(-1, n_real).t().contiguous()  # (r, R)
            real_out = self._real_outputs(x)
            if several:
                flat = self._real_flat(x)
        cat_codes = out_table = None
        if n_cat:
            assert embedded is not None and rows is not None
            out_table, flat_table = self._cat_tables(embedded, rows)
            cat_codes = codes.reshape(-1, n_cat)
            if flat_table is not None:
                shares = lookup_sum(flat_table, cat_codes)
                flat = shares if flat is None else flat + shares
        if not several:
            if real_out is not None:
                return real_out[0].view(*lead, hidden), real_out[0].new_ones(*lead, 1)
            assert out_table is not None and cat_codes is not None
            single = out_table.index_select(0, cat_codes[:, 0])
            return single.view(*lead, hidden), single.new_ones(*lead, 1)
        assert flat is not None
        fh = self.flat_hidden
        h = (flat[:, :fh] + self.flat_fc1.bias).view(*lead, fh)
        if context is not None and self.flat_context is not None:
            c = self.flat_context(context)
            h = h + c.view(c.shape[0], *([1] * (h.ndim - 2)), fh)
        h = self.flat_fc2(F.elu(h))
        h = F.glu(self.flat_gate(self.dropout(h)), dim=-1)
        residual = flat[:, fh:].view(*lead, -1)
        if self.flat_resample:
            residual = self.flat_residual_norm(residual * (2.0 * torch.sigmoid(self.flat_mask)))
        weights = torch.softmax(self.flat_norm(h + residual), dim=-1)  # (..., n)
        by_row = weights.reshape(-1, self.n_inputs)
        selected = None
        if real_out is not None:
            by_variable = by_row[:, :n_real].t().contiguous().unsqueeze(-1).unbind(0)
            selected = real_out[0] * by_variable[0]  # by_variable: r of (R, 1)
            for k in range(1, n_real):
                selected = selected.addcmul(real_out[k], by_variable[k])
        if out_table is not None and cat_codes is not None:
            part = lookup_sum(out_table, cat_codes, by_row[:, n_real:].contiguous())
            selected = part if selected is None else selected + part
        assert selected is not None
        return selected.view(*lead, hidden), weights
