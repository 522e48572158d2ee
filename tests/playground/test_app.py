"""The app's logic, driven through Streamlit's AppTest as a user would click it."""

import json
import math

import pytest

from playground import widget_state as W
from playground.panels.inspection import CHART_KEYS as INSPECTION_CHARTS
from tests.playground.apptest_helpers import (
    ack,
    chart_ids,
    charts,
    click,
    messages,
    metric,
    open_app,
    session,
    steps,
)


def test_app_starts_at_step_zero_with_every_control():
    at = open_app()
    assert steps(at) == 0 and metric(at, "Epoch") == "0"
    labels = {b.label for b in at.button}
    assert {"Play", "Step", "Step epoch", "Reset"} <= labels
    assert at.selectbox(key=W.key("data.dataset")).value == "circle"
    assert len(chart_ids(at)) >= 5  # network, output, loss, two gradient charts


def test_step_advances_exactly_one_mini_batch():
    at = open_app()
    click(at, "Step")
    assert steps(at) == 1
    click(at, "Step")
    assert steps(at) == 2
    assert session(at).trainer.step_count == 2


def test_step_epoch_runs_one_epoch():
    at = open_app()
    click(at, "Step epoch")
    sess = session(at)
    n_train = len(sess.dataset.y_train)
    assert steps(at) == math.ceil(n_train / sess.config.training.batch_size)
    assert metric(at, "Epoch") == "1"


def test_play_becomes_pause_and_back():
    at = open_app()
    click(at, "Play")
    assert session(at).running
    assert "Pause" in {b.label for b in at.button}
    click(at, "Pause")
    assert not session(at).running
    assert "Play" in {b.label for b in at.button}


def test_reset_returns_to_step_zero():
    at = open_app()
    click(at, "Step")
    click(at, "Reset")
    assert steps(at) == 0


def test_changing_the_dataset_resets_and_says_so():
    at = open_app()
    click(at, "Step")
    at.selectbox(key=W.key("data.dataset")).select("xor").run()
    assert not at.exception
    assert session(at).config.data.dataset == "xor"
    assert steps(at) == 0
    assert "reset" in messages(at)


def test_changing_the_learning_rate_mid_run_does_not_reset():
    at = open_app()
    click(at, "Step")
    click(at, "Step")
    at.select_slider(key=W.key("training.optimizer.learning_rate")).set_value(0.3).run()
    assert not at.exception
    assert steps(at) == 2
    assert session(at).trainer.config.training.optimizer.learning_rate == 0.3
    assert metric(at, "Learning rate") == "0.3"


def test_architecture_controls_change_the_network():
    at = open_app()
    next(b for b in at.button if b.label == "Add layer").click().run()
    assert len(session(at).config.network.hidden) == 3
    at.number_input(key=W.layer_key(0, "units")).set_value(7).run()
    at.selectbox(key=W.layer_key(0, "activation")).select("relu").run()
    hidden = session(at).config.network.hidden
    assert hidden[0].units == 7 and hidden[0].activation == "relu"
    assert session(at).trainer.network.blocks[0].units == 7


def test_every_number_box_offers_its_own_value_as_its_default():
    """Streamlit's browser side falls back to a number box's default when it loses the box's
    state (seen after a reconnect to a restarted server); a default at the minimum would then
    be applied by the next click (10 points, 1 unit per layer). The default is what it shows,
    from the link, after an edit and after a preset alike."""
    at = open_app({"data.n_points": "300", "network.hidden": "6:tanh,3:relu"})
    at.number_input(key=W.layer_key(1, "units")).set_value(5).run()
    boxes = {box.key: box for box in at.number_input if box.key.startswith(W.PREFIX)}
    assert {W.key("data.n_points"), W.layer_key(0, "units"), W.layer_key(1, "units")} <= set(boxes)
    assert [boxes[W.layer_key(i, "units")].value for i in (0, 1)] == [6, 5]
    assert boxes[W.key("data.n_points")].value == 300
    for box in boxes.values():
        assert box.proto.default == box.value, box.key
    at.selectbox(key="preset_choice").select("vanishing_gradients").run()
    units = at.number_input(key=W.layer_key(9, "units"))
    assert units.value == units.proto.default == 8


def test_a_preset_loads_from_the_menu():
    at = open_app()
    at.selectbox(key="preset_choice").select("vanishing_gradients").run()
    assert not at.exception
    config = session(at).config
    assert len(config.network.hidden) == 10
    assert {layer.activation for layer in config.network.hidden} == {"sigmoid"}
    assert at.number_input(key=W.layer_key(9, "units")).value == 8


def test_a_preset_link_opens_with_its_settings():
    at = open_app({"preset": "digits"})
    assert session(at).config.data.dataset == "digits"
    assert session(at).dataset.image_shape == (8, 8)


def test_a_bad_query_parameter_gives_a_notice_not_an_exception():
    at = open_app({"training.optimizer.learning_rate": "banana", "data.noise": "999"})
    text = messages(at)
    assert "learning_rate" in text and "data.noise" in text
    assert session(at).config.training.optimizer.learning_rate == 0.03
    click(at, "Step")
    assert steps(at) == 1


def test_the_url_carries_the_config():
    at = open_app()
    at.selectbox(key=W.key("data.dataset")).select("spiral").run()
    assert (
        at.query_params["data.dataset"] == ["spiral"] or at.query_params["data.dataset"] == "spiral"
    )


def test_a_teacher_can_hide_sections():
    at = open_app({"hide": "data,network"})
    keys = {s.key for s in at.selectbox}
    assert W.key("data.dataset") not in keys
    assert W.layer_key(0, "activation") not in keys
    click(at, "Step")
    assert steps(at) == 1


def test_divergence_shows_a_message_and_the_session_keeps_working():
    at = open_app(
        {
            "data.dataset": "plane",
            "training.optimizer.learning_rate": "10",
            "network.hidden": "8:relu,8:relu",
        }
    )
    for _ in range(3):
        click(at, "Step epoch")
    sess = session(at)
    assert sess.trainer.stopped and "diverged" in sess.trainer.stop_reason
    assert "diverged" in messages(at).lower()
    click(at, "Reset")
    click(at, "Step")
    assert steps(at) == 1


def test_session_is_safe_when_streamlit_runs_two_script_threads():
    """With fast reruns an abandoned script thread may still be training while a new one
    draws: the session lock must keep the trainer consistent."""
    import threading

    from core.config import PlaygroundConfig
    from core.data import load_dataset
    from playground.session import PlaygroundSession

    session = PlaygroundSession.start(PlaygroundConfig(), lambda c: load_dataset(c.data))
    session.play()
    errors: list[BaseException] = []

    def train():
        try:
            for _ in range(200):
                session.tick(0.002)
        except BaseException as err:  # noqa: BLE001 (collected for the assertion)
            errors.append(err)

    def draw():
        try:
            for _ in range(400):
                with session.lock:
                    snap = session.trainer.snapshot()
                    assert len(snap.history.run["batch_loss"]) >= 0
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=train), threading.Thread(target=draw)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert session.trainer.step_count > 0


def test_every_inspection_view_draws_its_charts():
    at = open_app({"preset": "digits"})
    click(at, "Step epoch")
    from playground.panels.inspection import IMAGE_VIEWS, INSPECT_VIEWS

    for view in INSPECT_VIEWS + IMAGE_VIEWS:
        at.session_state["inspect_view"] = view
        at.run()
        assert not at.exception, view
        assert len(chart_ids(at)) >= 4, view


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, INSPECTION_CHARTS[:5]),
        ({"preset": "digits"}, INSPECTION_CHARTS),
        ({"preset": "compare_vanishing_gradients"}, INSPECTION_CHARTS[:5]),
    ],
)
def test_all_views_at_once_draws_every_inspection_chart_and_each_moves_on(query, expected):
    at = open_app(query)
    at.session_state["inspect_view"] = "All"
    at.run()
    click(at, "Step epoch")
    assert not at.exception
    drawn = [key for key in INSPECTION_CHARTS if any(key in c for c in chart_ids(at))]
    assert drawn == list(expected)
    before = {key: _chart_json(at, key) for key in ("gradients_chart", "update_ratio_chart")}
    click(at, "Step epoch")
    assert all(_chart_json(at, key) != seen for key, seen in before.items())  # live, all
    assert at.session_state["inspect_view"] == "All"


def _chart_json(at, key: str) -> str:
    """The figure (as sent) of the first chart whose element id holds `key`."""
    return next(json.dumps(figure) for chart_id, figure in charts(at) if key in chart_id)


@pytest.mark.parametrize(
    ("dataset", "chart"),
    [
        ("iris", "tabular_confusion_chart"),
        ("breast_cancer", "tabular_confusion_chart"),
        ("diabetes", "predicted_chart"),
    ],
)
def test_tabular_data_shows_its_own_output_chart(dataset, chart):
    at = open_app({"data.dataset": dataset})
    click(at, "Step epoch")
    assert session(at).dataset.raw_dim is None
    assert any(chart in chart_id for chart_id in chart_ids(at)), chart


# --- messages, uploads and saved models (issue 8, items 9-13) ----------------------------------

CSV_UPLOADER = "Or train on your own CSV file"
MODEL_UPLOADER = "Start from a saved model (.npz)"


def _uploader(at, label: str):
    return next(u for u in at.file_uploader if u.label == label)


def _upload(at, label: str, name: str, data: bytes):
    _uploader(at, label).set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _captions(at) -> str:
    return " ".join(str(c.value) for c in at.caption).replace("\\", "")


def _csv(rows: int, seed: int = 0, header: str = "a,b,y") -> bytes:
    """Two numeric features and a 0/1 label (last column)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lines = [header]
    for _ in range(rows):
        a, b = rng.normal(size=2)
        lines.append(f"{a:.4f},{b:.4f},{int(a + b > 0)}")
    return ("\n".join(lines) + "\n").encode()


def _model_bytes(hidden: str, dataset: str = "circle", steps: int = 0) -> bytes:
    """A model file from a session of its own: `hidden` as in a link ('4:tanh,2:tanh')."""
    from core.data import load_dataset
    from playground.exports import model_bytes
    from playground.session import PlaygroundSession
    from playground.url_state import query_to_state

    config = query_to_state({"network.hidden": [hidden], "data.dataset": [dataset]}).config
    donor = PlaygroundSession.start(config, lambda c: load_dataset(c.data))
    for _ in range(steps):
        donor.step()
    return model_bytes(donor)


def _dismiss_buttons(at):
    return [b for b in at.button if (b.key or "").startswith("dismiss_notice_")]


def test_a_rejected_link_notice_stays_across_clicks_until_dismissed():
    at = open_app({"training.optimizer.learning_rate": "banana"})
    assert "learning_rate" in messages(at)
    click(at, "Step")
    click(at, "Step")
    assert "learning_rate" in messages(at)  # it vanished at the first click before
    (button,) = _dismiss_buttons(at)
    button.click().run()
    assert "learning_rate" not in messages(at)
    assert _dismiss_buttons(at) == []


def test_a_model_message_stays_until_the_next_model_upload_replaces_it():
    at = open_app()
    _upload(at, MODEL_UPLOADER, "junk.npz", b"not a model at all")
    assert "That model cannot be used" in messages(at)
    click(at, "Step")
    assert "That model cannot be used" in messages(at)
    _upload(at, MODEL_UPLOADER, "good.npz", _model_bytes("4:tanh"))
    text = messages(at)
    assert "Loaded the saved model" in text and "cannot be used" not in text
    click(at, "Step")
    assert "Loaded the saved model" in messages(at)


def test_a_refused_csv_empties_the_uploader_and_training_keeps_the_old_data():
    at = open_app()
    wide = (",".join(f"c{i}" for i in range(201)) + "\n" + ",".join(["1"] * 201) + "\n") * 1
    _upload(at, CSV_UPLOADER, "wide.csv", wide.encode())
    assert _uploader(at, CSV_UPLOADER).value is None  # it kept showing wide.csv before
    text = messages(at)
    assert "wide.csv" in text and "current data (circle)" in text
    assert session(at).config.data.dataset == "circle"
    click(at, "Step")
    assert steps(at) == 1 and "wide.csv" in messages(at)


def test_a_csv_refused_while_loading_keeps_the_previous_file():
    at = open_app()
    _upload(at, CSV_UPLOADER, "good.csv", _csv(40))
    assert len(session(at).dataset.y_train) + len(session(at).dataset.y_test) == 40
    one_class = b"a,b,y\n" + b"".join(f"{i},{i * 2},1\n".encode() for i in range(30))
    _upload(at, CSV_UPLOADER, "one_class.csv", one_class)
    assert _uploader(at, CSV_UPLOADER).value is None
    assert "single class" in messages(at) and "current data (good.csv)" in messages(at)
    at.number_input(key=W.key("data.seed")).set_value(7).run()  # reloads the data
    assert not at.exception
    dataset = session(at).dataset
    assert dataset.name == "good.csv" and len(dataset.y_train) + len(dataset.y_test) == 40


def test_a_second_csv_with_the_same_target_column_is_loaded():
    at = open_app()
    _upload(at, CSV_UPLOADER, "first.csv", _csv(40, seed=1))
    _upload(at, CSV_UPLOADER, "second.csv", _csv(60, seed=2))
    dataset = session(at).dataset
    assert dataset.name == "second.csv"  # it was silently ignored before
    assert len(dataset.y_train) + len(dataset.y_test) == 60
    assert "Loaded second.csv" in messages(at)


def test_csv_data_says_what_it_is_and_hints_at_a_label_column():
    rows = ["label,x1,x2"] + [f"{i % 2},{i * 0.37 % 3:.3f},{i * 0.71 % 5:.3f}" for i in range(50)]
    rows += ["1,,0.5", "0,0.2,"]  # two rows with a missing value
    at = open_app()
    _upload(at, CSV_UPLOADER, "labels_first.csv", ("\n".join(rows) + "\n").encode())
    text = _captions(at)
    assert "labels_first.csv: 50 rows used" in text
    assert "Predicting 'x2': regression (inferred from its values; change it under Task)" in text
    assert "'label' looks like class labels" in text
    assert "2 inputs: label, x1" in text
    assert "Dropped 2 of 52 rows" in text  # the dataset's own notes
    at.selectbox(key=W.key("data.csv_target")).select("label").run()
    text = _captions(at)
    assert "Predicting 'label': binary classification of 2 classes (0, 1)" in text
    assert "looks like class labels" not in text


def test_pause_measures_the_metrics_of_the_weights_shown():
    from core.config import PlaygroundConfig
    from core.data import load_dataset
    from core.trainer import EVAL_MAX
    from playground.session import PlaygroundSession

    for seed in range(3):
        config = PlaygroundConfig()
        config.training.seed = seed
        sess = PlaygroundSession.start(config, lambda c: load_dataset(c.data))
        sess.play()
        sess.tick(10.0, max_steps=7)  # mid-epoch: the last evaluation was at step 0
        sess.pause()
        snap = sess.trainer.snapshot()
        assert snap.step == 7 and snap.eval_step == 7
        assert snap.val_loss == sess.trainer.evaluate(EVAL_MAX)["val_loss"]


def test_a_model_saved_after_pause_reloads_at_its_step_with_the_numbers_shown():
    from playground.exports import model_bytes

    at = open_app()
    click(at, "Play")
    ack(at)  # the browser drew a frame: one tick trains
    click(at, "Pause")
    shown = {label: metric(at, label) for label in ("Steps", "Epoch", "Test loss", "Train loss")}
    assert int(shown["Steps"].replace(",", "")) > 0
    data = model_bytes(session(at))
    fresh = open_app()
    _upload(fresh, MODEL_UPLOADER, "paused.npz", data)
    assert {label: metric(fresh, label) for label in shown} == shown
    assert f"continues from step {shown['Steps']}" in messages(fresh)


def test_transfer_learning_reports_per_layer_in_the_new_networks_names():
    at = open_app({"network.hidden": "4:tanh,2:tanh,2:tanh"})
    at.radio(key="model_upload_mode").set_value("matching weights in the current network").run()
    click(at, "Step")
    _upload(at, MODEL_UPLOADER, "small.npz", _model_bytes("4:tanh,2:tanh"))
    text = messages(at)
    assert "hidden 1: copied (weights and biases)" in text
    assert "hidden 2: copied (weights and biases)" in text
    assert (
        "hidden 3: starts fresh: 2 inputs x 2 units here, 2 x 1 in the file "
        "(the file's output layer)" in text
    )
    assert "output: starts fresh" in text
    assert steps(at) == 0  # a new network seeded with the saved layers


def test_picking_an_optimizer_starts_it_from_its_own_defaults():
    """Adadelta used to keep the shared learning rate 0.03 and eps 1e-8 (and barely learned)."""
    from core.optimizers import describe_defaults

    def optimizer_widget(setting: str):
        return at.session_state[W.key(f"training.optimizer.{setting}")]

    at = open_app()
    name_box = at.selectbox(key=W.key("training.optimizer.name"))
    name_box.set_value("adadelta").run()
    assert not at.exception
    opt = session(at).config.training.optimizer
    assert (opt.name, opt.learning_rate, opt.rho, opt.eps) == ("adadelta", 1.0, 0.9, 1e-6)
    assert (optimizer_widget("learning_rate"), optimizer_widget("eps")) == (1.0, 1e-6)
    assert describe_defaults("adadelta") in " ".join(str(c.value) for c in at.caption)
    assert {n.label for n in at.number_input} >= {"ρ", "ε"}
    at.select_slider(key=W.key("training.optimizer.learning_rate")).set_value(0.3).run()
    assert session(at).config.training.optimizer.learning_rate == 0.3  # the user's own choice
    at.selectbox(key=W.key("training.optimizer.name")).set_value("adam").run()
    opt = session(at).config.training.optimizer
    assert (opt.name, opt.learning_rate, opt.beta1, opt.beta2, opt.eps) == (
        "adam",
        0.01,
        0.9,
        0.999,
        1e-8,
    )


def test_a_link_keeps_its_own_optimizer_settings():
    at = open_app({"training.optimizer.name": "adam", "training.optimizer.learning_rate": "0.003"})
    opt = session(at).config.training.optimizer
    assert (opt.name, opt.learning_rate) == ("adam", 0.003)
