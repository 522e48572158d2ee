"""Plotly figure builders: pure functions from snapshots, histories, datasets and arrays to
`plotly.graph_objects.Figure`. No Streamlit here; the app lays the figures out.

`CAPTIONS[chart_id]` is the one-line "what it shows and how to read it" under each chart.
"""

from playground.charts.distributions import activation_distributions, weight_distributions
from playground.charts.gradients import gradient_heatmap, gradient_norms, update_ratios
from playground.charts.images import confusion_matrix, first_layer_weights, sample_grid
from playground.charts.network_diagram import maps_from_outputs, network_diagram
from playground.charts.output import (
    decision_boundary,
    output_figure,
    predicted_vs_actual,
    regression_curve,
    regression_surface,
)
from playground.charts.runs import (
    RUN_COLORS,
    RunCurves,
    run_color,
    run_color_name,
    run_curves,
    run_layer_lines,
)
from playground.charts.training_curves import loss_curves

CAPTIONS: dict[str, str] = {
    "network": "Each square is a neuron showing its output over the input plane; links are blue "
    "for positive and orange for negative weights, thicker for larger |w|.",
    "output": "The network's prediction over the input plane (colour = class and confidence, or "
    "predicted value) with the data points on top: a good fit puts points on matching colour.",
    "loss": "Loss per step for training (solid) and test (dotted) data, batch loss in grey; "
    "a widening gap means overfitting, green/red lines mark early stopping.",
    "gradients": "Size of each layer's weight gradient over time (log scale, dark = first layer): "
    "first layers far below the last ones means gradients vanish on the way back.",
    "gradient_heatmap": "Layers (rows, input side on top) by time: colour is log10 of the "
    "gradient norm, so dark top rows show vanishing gradients at a glance.",
    "activations": "Distribution of each layer's outputs on the latest batch; piles at the ends "
    "mean saturated units, a spike at 0 for ReLU means dead units.",
    "weights": "How each layer's weight values spread over time (x = step, y = weight value, "
    "darker = more weights there): spreading shows learning, collapse shows decay.",
    "update_ratio": "Size of each step's weight change relative to the weights (log scale); "
    "around the dashed 1e-3 line is healthy, far above is too fast, far below barely learns.",
    "samples": "Test images with the predicted class above each one; red frames and labels mark "
    "wrong predictions with the true class in brackets.",
    "predicted": "Each test example at its true value (x) and the network's prediction (y): "
    "points on the dashed diagonal are perfect predictions; R² near 1 is a good fit.",
    "confusion": "Rows are true classes, columns predicted ones: counts in each cell, colour = "
    "share of the row; a strong diagonal means few confusions.",
    "run_curves": "Loss (top) and accuracy (bottom) of every run, one colour per run: train "
    "solid, test dotted. The runs differ only in the settings the runs table lists.",
    "run_gradients": "Each run's weight-gradient size per layer (log scale): the run's colour, "
    "the layer's dash (first layer solid); first layers far below the last mean vanishing.",
    "run_update_ratio": "Each run's step size relative to its weights per layer (log scale); "
    "the run's colour, the layer's dash; around the dashed 1e-3 line is healthy.",
    "run_output": "Each run's prediction over the same input plane, on the same colour scale, "
    "with the data points on top.",
    "run_network": "Each run's network: links blue for positive and orange for negative weights, "
    "each neuron's output over the input plane.",
    "first_layer": "Each first-layer unit's incoming weights drawn as an image (blue positive, "
    "orange negative): the pixel patterns that unit responds to.",
}

__all__ = [
    "CAPTIONS",
    "RUN_COLORS",
    "RunCurves",
    "activation_distributions",
    "confusion_matrix",
    "decision_boundary",
    "first_layer_weights",
    "gradient_heatmap",
    "gradient_norms",
    "loss_curves",
    "maps_from_outputs",
    "network_diagram",
    "output_figure",
    "predicted_vs_actual",
    "regression_curve",
    "regression_surface",
    "run_color",
    "run_color_name",
    "run_curves",
    "run_layer_lines",
    "sample_grid",
    "update_ratios",
    "weight_distributions",
]
