"""The app's logic, driven through Streamlit's AppTest as a user would click it."""

import math

import pytest

from playground import widget_state as W
from tests.playground.apptest_helpers import click, messages, metric, open_app, session, steps


def test_app_starts_at_step_zero_with_every_control():
    at = open_app()
    assert steps(at) == 0 and metric(at, "Epoch") == "0"
    labels = {b.label for b in at.button}
    assert {"Play", "Step", "Step epoch", "Reset"} <= labels
    assert at.selectbox(key=W.key("data.dataset")).value == "circle"
    assert len(at.get("plotly_chart")) >= 5  # network, output, loss, two gradient charts


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
    from playground.views import IMAGE_VIEWS, INSPECT_VIEWS

    for view in INSPECT_VIEWS + IMAGE_VIEWS:
        at.session_state["inspect_view"] = view
        at.run()
        assert not at.exception, view
        assert len(at.get("plotly_chart")) >= 4, view


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
    assert any(
        getattr(c, "key", None) == chart or chart in str(c.proto.id) for c in at.get("plotly_chart")
    ), chart
