"""What a Temporal Fusion Transformer looks at: variable importance and attention over time.

Importance is the variable-selection weight of each input, averaged over windows (and over time
steps for encoder and decoder inputs); attention is the weight decoder steps give each relative
time step, averaged over windows, heads and decoder steps (negative lags are history). As in
pytorch-forecasting, encoder inputs are averaged over each window's observed history only: the
steps before a short history hold placeholders (no demand, flagged unobserved) and weigh
nothing, and a window without history counts in the encoder's average only when no window has
any.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from forecasting.plots import period_name, plt, save_figure
from forecasting.spec import ITEM, LOCATION, PanelSpec
from forecasting.store import PanelStore
from forecasting.windows import BATCH_KEYS, WindowList


@torch.inference_mode()
def interpret_windows(
    net: torch.nn.Module,
    store: PanelStore,
    series: torch.Tensor,
    origins: torch.Tensor,
    encoder_length: int,
    horizon: int,
    prior_scale: torch.Tensor | float,
    batch_size: int = 512,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(importance table, attention table) of ``net`` over the given windows."""
    # An ensemble interprets through its members: an ensemble of LSTMs has the method but its
    # members have none (it raised a bare AttributeError from the first batch).
    members = list(getattr(net, "members", [net]))
    lacking = [m for m in [net, *members] if not hasattr(m, "interpret")]
    if lacking:
        what = type(net).__name__
        if lacking[0] is not net:
            what = f"{what} of {type(lacking[0]).__name__}"
        raise ValueError(f"{what} has no interpretable weights (use model 'tft')")
    net.eval()
    sums: dict[str, torch.Tensor] = {}
    count = with_history = 0
    windows = WindowList(
        store, series, origins, encoder_length, horizon, batch_size, prior_scale, with_target=False
    )
    for batch in windows:
        out = net.interpret(*(batch[key] for key in BATCH_KEYS))
        encoder = out["encoder_weights"].float()
        mask = (batch["encoder_mask"] > 0).to(encoder.dtype)  # (B, L): observed history
        observed = mask.sum(1, keepdim=True)
        reduced = {
            "static": out["static_weights"].sum(0),
            "encoder": ((encoder * mask[..., None]).sum(1) / observed.clamp(min=1)).sum(0),
            "encoder_all": encoder.mean(1).sum(0),
            "decoder": out["decoder_weights"].mean(1).sum(0),
            "attention": out["attention"].mean(dim=(1, 2)).sum(0),
        }
        for key, value in reduced.items():
            sums[key] = sums.get(key, 0) + value.float()
        count += batch["scale"].shape[0]
        with_history += int((observed > 0).sum())
    if count == 0:
        raise ValueError("no windows to interpret")
    counts = {"static": count, "encoder": with_history, "decoder": count}
    if not with_history:  # no window has history: every encoder step is all there is
        sums["encoder"], counts["encoder"] = sums["encoder_all"], count
    names = {
        "static": net.static_names,
        "encoder": net.encoder_names,
        "decoder": net.decoder_names,
    }
    rows = [
        {"kind": kind, "variable": name, "importance": float(weight) / counts[kind]}
        for kind, variables in names.items()
        for name, weight in zip(variables, sums[kind].tolist(), strict=True)
    ]
    importance = pd.DataFrame(rows).sort_values(["kind", "importance"], ascending=[True, False])
    lags = np.arange(-encoder_length, horizon)
    attention = pd.DataFrame({"lag": lags, "weight": (sums["attention"] / count).numpy()})
    return importance.reset_index(drop=True), attention


def in_column_names(importance: pd.DataFrame, spec: PanelSpec) -> pd.DataFrame:
    """``importance`` with the inputs that are the table's key columns named as the table names
    them: the item and location embeddings by ``spec``'s item and location columns, the demand
    history (the networks' ``target``) by its demand column. The covariates keep their own names;
    none can be named like these (key columns and the networks' inputs are refused as
    covariates). A key column named like another input of its kind (a demand column
    'observed' beside the demand's observation flag, a location column 'log_scale') keeps the
    network's name: the table listed two rows of one name, and the plot drew them as one bar."""
    names = {ITEM: spec.item_col, LOCATION: spec.location_col, "target": spec.target_col}
    variable = importance["variable"].to_numpy(dtype=object).copy()
    for rows in importance.groupby("kind").indices.values():
        others = set(variable[rows]) - set(names)
        renames = {old: new for old, new in names.items() if new not in others}
        variable[rows] = [renames.get(name, name) for name in variable[rows]]
    return importance.assign(variable=variable)


def plot_interpretation(
    importance: pd.DataFrame,
    attention: pd.DataFrame,
    path: str | Path,
    title: str = "",
    freq: str | None = None,
) -> Path:
    """Bar charts of variable importance per kind and a line of attention by lag (in time
    steps of the panel's frequency ``freq``: days, weeks or months; "periods" if None)."""
    kinds = ["static", "encoder", "decoder"]
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.2))
    for ax, kind in zip(axes[:3], kinds, strict=True):
        part = importance[importance["kind"] == kind].sort_values("importance")
        # column names are text, not TeX: "$" escaped ("$...$" started math mode or failed to
        # parse; tick labels drawn later would not keep a parse_math setting)
        names = [str(name).replace("$", r"\$") for name in part["variable"]]
        ax.barh(names, part["importance"], color="tab:blue")
        ax.set_title(f"{kind} variables")
        ax.set_xlabel("mean selection weight")
        ax.tick_params(axis="y", labelsize=8)
    ax = axes[3]
    ax.plot(attention["lag"], attention["weight"], color="tab:orange")
    ax.axvline(0, color="0.5", lw=0.8, ls="--")
    ax.set_title("attention by time step (0 = forecast origin)")
    ax.set_xlabel(f"lag ({period_name(freq)}s)")
    ax.set_ylabel("mean attention weight")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)
