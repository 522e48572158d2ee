"""The parts of the page, one module each; `playground/app.py` puts them in order.

- `sidebar`: the settings (data, network, training) and save / load / export.
- `run_buttons`: Play / Pause, Step, Step epoch, Reset, and the lesson's title.
- `messages`: the notices, each with its close button.
- `metrics`: steps, epoch, losses, accuracy and the run's status.
- `output`: what the network computes (decision map, fitted curve, sample predictions, ...).
- `network`: the network diagram with each neuron's output map.
- `loss`: the loss curves.
- `runs`: runs side by side (the runs table, time travel and Branch from here, each run's
  status and diagram).
- `doctor`: the training doctor, what the telemetry says is wrong (rules in `core.doctor`).
- `inspection`: the inspection views (gradients, activations, weights, update ratios, ...).

`playground/live.py` draws the main-area panels in one fragment, a frame of the live view.
Panels draw what the session hands them: no panel runs the network (see
tests/playground/test_views_draw_only.py).
"""
