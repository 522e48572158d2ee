"""Runs side by side in the app (issue 11): Compare, lockstep, a change to one run, overlaid
curves, time travel, Branch from here and the link, as a student uses them (AppTest)."""

from __future__ import annotations

import copy

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core import predictions
from core.config import MAX_REPLAYED_STEPS, PlaygroundConfig
from core.data import load_dataset
from playground import charts as charts_of
from playground import widget_state as W
from playground.panels.runs import TIME_KEY
from playground.session import PlaygroundSession
from playground.url_state import config_to_query, query_to_state, runs_to_query
from tests.playground.apptest_helpers import (
    ack,
    chart_ids,
    charts,
    click,
    messages,
    open_app,
    values,
)
from tests.playground.apptest_helpers import session as session_of
from tests.playground.test_url_state import valid_configs


def _runs_table(at) -> dict[str, str]:
    """Run name -> what differs from the reference, as the runs table shows it."""
    frame = next(t.value for t in at.table if "Made as" in t.value.columns)
    differs = next(c for c in frame.columns if c.startswith("Differs from"))
    return dict(zip(frame["Run"], frame[differs], strict=True))


def _set_activation(at, activation: str) -> None:
    n = at.session_state[W.N_LAYERS_KEY]
    for i in range(n):
        at.selectbox(key=W.layer_key(i, "activation")).select(activation)
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def _steps(at) -> dict[str, int]:
    return {r.name: r.step for r in session_of(at).runs}


def _figure(at, key: str) -> dict:
    return next(fig for chart_id, fig in charts(at) if chart_id.endswith(key))


def test_compare_adds_run_b_and_a_fifth_run_is_refused_with_a_message():
    at = open_app()
    assert "Edit run" not in [r.label for r in at.radio]  # one run: the page as before
    click(at, "Compare")
    assert session_of(at).run_names == ["A", "B"]
    assert next(r for r in at.radio if r.label == "Edit run").value == "B"
    assert set(_runs_table(at)) == {"A", "B"}
    click(at, "Compare")
    click(at, "Compare")
    assert session_of(at).run_names == ["A", "B", "C", "D"]
    click(at, "Compare")
    assert session_of(at).run_names == ["A", "B", "C", "D"]
    assert "At most 4 runs" in messages(at)


def test_step_and_play_keep_every_run_at_the_same_step():
    at = open_app()
    click(at, "Compare")
    click(at, "Step")
    assert _steps(at) == {"A": 1, "B": 1}
    click(at, "Step epoch")
    assert len(set(_steps(at).values())) == 1 and _steps(at)["A"] > 1
    click(at, "Play")
    for _ in range(3):
        ack(at)
    click(at, "Pause")
    steps = _steps(at)
    assert len(set(steps.values())) == 1, steps
    assert steps["A"] > 1


def test_changing_b_shows_in_the_differences_table_and_not_in_a():
    at = open_app()
    before = session_of(at).config.network.hidden[0].activation
    assert before != "relu"
    click(at, "Compare")
    _set_activation(at, "relu")
    ex = session_of(at).experiment
    assert all(layer.activation == "relu" for layer in ex["B"].config.network.hidden)
    assert all(layer.activation == before for layer in ex["A"].config.network.hidden)
    table = _runs_table(at)
    assert "activation relu" in table["B"] and table["A"] == "same settings"
    # the sidebar edits A again: it shows A's activation, and a change there leaves B alone
    at.radio(key="edit_run").set_value("A").run()
    assert at.selectbox(key=W.layer_key(0, "activation")).value == before
    init = at.selectbox(key=W.key("network.init"))
    other = next(o for o in init.options if o != init.value)
    init.select(other).run()
    assert ex["A"].config.network.init == other
    assert ex["B"].config.network.init != other
    assert "activation relu" in _runs_table(at)["B"]


def test_the_loss_chart_has_one_trace_group_per_run_named_after_it():
    at = open_app()
    click(at, "Compare")
    click(at, "Step epoch")
    fig = _figure(at, "loss_chart")
    groups = {t.get("legendgroup") for t in fig["data"]}
    assert {"A", "B"} <= groups
    colors = {t["legendgroup"]: t["line"]["color"] for t in fig["data"] if t.get("legendgroup")}
    assert colors["A"] != colors["B"]
    ids = chart_ids(at)
    for key in ("output_chart_A", "output_chart_B", "network_chart_A", "network_chart_B"):
        assert any(i.endswith(key) for i in ids), (key, ids)


def test_one_run_looks_as_before():
    at = open_app()
    click(at, "Step")
    ids = chart_ids(at)
    assert any(i.endswith("-output_chart") for i in ids)
    assert any(i.endswith("-network_chart") for i in ids)
    assert not any(i.endswith("_A") for i in ids)
    assert not [t for t in at.table if "Made as" in t.value.columns]


def test_the_slider_shows_an_earlier_steps_map_and_marks_the_curves():
    at = open_app()
    for _ in range(3):
        click(at, "Step epoch")
    now = session_of(at).trainer.step_count
    now_map = _figure(at, "output_chart")
    steps = session_of(at).checkpoint_steps()
    assert steps[-1] == now and len(steps) > 2
    earlier = steps[1]
    at.select_slider(key=TIME_KEY).set_value(earlier).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert f"as it was at step {earlier:,}" in text
    then_map = _figure(at, "output_chart")
    assert then_map["data"][0] != now_map["data"][0]  # the map of the weights then
    marks = [s for s in _figure(at, "loss_chart")["layout"].get("shapes", [])]
    assert any(s.get("name") == "shown_step" and s["x0"] == earlier for s in marks)
    assert session_of(at).trainer.step_count == now  # looking back changes nothing


def test_branch_from_here_adds_a_run_with_the_learning_rate_halved():
    at = open_app()
    for _ in range(2):
        click(at, "Step epoch")
    lr = session_of(at).config.training.optimizer.learning_rate
    steps = session_of(at).checkpoint_steps()
    at.select_slider(key=TIME_KEY).set_value(steps[2]).run()
    click(at, "Branch from here")
    ex = session_of(at).experiment
    assert ex.names == ["A", "B"]
    assert ex["B"].branch is not None and ex["B"].branch.step == steps[2]
    assert ex["B"].config.training.optimizer.learning_rate == lr / 2
    assert set(_steps(at).values()) == {steps[2]}  # every run went back there
    assert f"learning rate {lr / 2:g}" in _runs_table(at)["B"]
    assert session_of(at).selected == "B"
    assert next(r for r in at.radio if r.label == "Edit run").value == "B"
    assert at.select_slider(key=W.key("training.optimizer.learning_rate")).value == lr / 2


def test_other_data_is_not_a_controlled_comparison():
    at = open_app()
    click(at, "Compare")
    at.selectbox(key=W.key("data.dataset")).select("xor").run()
    assert "not a controlled comparison" in messages(at)
    assert session_of(at).experiment["A"].config.data.dataset != "xor"


def test_a_run_that_diverges_stops_alone_and_says_so():
    at = open_app()
    click(at, "Compare")
    click(at, "Step")
    session_of(at).experiment["B"].trainer._diverge("loss is inf")  # as the engine stops it
    click(at, "Step")
    assert _steps(at) == {"A": 2, "B": 1}
    assert "Run B stopped alone: training diverged" in messages(at)


def test_a_run_can_be_removed():
    at = open_app()
    click(at, "Compare")
    click(at, "Remove B")
    assert session_of(at).run_names == ["A"]
    assert "Edit run" not in [r.label for r in at.radio]


def test_a_link_with_two_runs_opens_the_same_comparison():
    at = open_app()
    click(at, "Compare")
    _set_activation(at, "relu")
    params = dict(at.query_params)
    assert params.get("runs") in ("A,B", ["A,B"])
    assert any(k.startswith("B.") for k in params)
    again = open_app(params)
    old, new = session_of(at).experiment, session_of(again).experiment
    assert new.names == ["A", "B"]
    for name in ("A", "B"):
        assert new[name].config == old[name].config
    assert "activation relu" in _runs_table(again)["B"]


@settings(max_examples=60, deadline=None)
@given(
    valid_configs(),
    st.lists(valid_configs(), min_size=1, max_size=3),
    st.lists(st.none() | st.integers(0, MAX_REPLAYED_STEPS), min_size=3, max_size=3),
    st.randoms(use_true_random=False),
)
def test_every_comparison_round_trips_through_the_link(base, others, steps, rng):
    names = ["A", "B", "C", "D"][: 1 + len(others)]
    runs = list(zip(names[1:], others, strict=True))
    for _, config in runs:
        config.title, config.notes = base.title, base.notes
    branches = {  # some runs branched from a run before them
        name: (rng.choice(names[:i]), step)
        for i, (name, step) in enumerate(zip(names[1:], steps, strict=False), start=1)
        if step is not None
    }
    params = config_to_query(base) | runs_to_query(base, runs, branches=branches)
    state = query_to_state(params)
    assert state.notices == []
    assert state.config == base and state.reference == "A"
    assert state.runs == runs
    assert state.branches == branches


def _params(at) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}


def test_a_link_rebuilds_a_branch_from_its_step():
    """Branch from here, then open the link: B is again a branch of A at that step, and both
    runs go on bit-identically to the ones the link came from."""
    at = open_app()
    for _ in range(2):
        click(at, "Step epoch")
    step = session_of(at).checkpoint_steps()[3]
    at.select_slider(key=TIME_KEY).set_value(step).run()
    click(at, "Branch from here")
    params = _params(at)
    assert params["B.branch"] == f"A@{step}"
    again = open_app(params)
    old, new = session_of(at).experiment, session_of(again).experiment
    assert new.names == ["A", "B"]
    assert (new["B"].branch.source, new["B"].branch.step) == ("A", step)
    assert {r.step for r in new.runs} == {step}
    assert new["B"].config == old["B"].config
    made = next(t.value for t in again.table if "Made as" in t.value.columns)
    assert list(made["Made as"])[1] == f"branch of A at step {step}"
    for ex in (old, new):
        ex.run(60, max_steps=25)
    for name in ("A", "B"):
        assert np.array_equal(
            new[name].trainer.network.flat_params, old[name].trainer.network.flat_params
        )


def test_a_bad_branch_in_a_link_says_so_and_starts_from_step_0():
    for text in ("C@10", "A@x", "A@-1", f"A@{10**9}"):
        state = query_to_state({"runs": "A,B", "B.branch": text})
        assert [n for n, _ in state.runs] == ["B"] and state.branches == {}, text
        assert any("branch" in n for n in state.notices), text
    state = query_to_state({"runs": "A,B", "B.branch": "A@512"})
    assert state.branches == {"B": ("A", 512)} and state.notices == []


def test_a_link_names_the_reference_run_and_ignores_stray_runs():
    state = query_to_state({"runs": "B,C", "C.training.batch_size": "20", "D.data.noise": "5"})
    assert state.reference == "B" and [n for n, _ in state.runs] == ["C"]
    assert state.runs[0][1].training.batch_size == 20
    assert any("D" in n for n in state.notices)


def _shown_steps(fig: dict) -> list[float]:
    return [s["x0"] for s in fig["layout"].get("shapes", []) if s.get("name") == "shown_step"]


def _back_in_time(at) -> tuple[int, int]:
    """Three epochs, then the slider at its second checkpoint: (step shown, step now)."""
    for _ in range(3):
        click(at, "Step epoch")
    now = session_of(at).trainer.step_count
    earlier = session_of(at).checkpoint_steps()[2]
    at.select_slider(key=TIME_KEY).set_value(earlier).run()
    assert not at.exception
    return earlier, now


def test_the_inspection_charts_follow_the_slider():
    at = open_app()
    at.session_state[W.key("training.histogram_every")] = 5  # histograms between checkpoints
    at.run()
    earlier, now = _back_in_time(at)
    for key in ("gradients_chart", "gradient_heatmap_chart"):
        assert _shown_steps(_figure(at, key)) == [earlier], key
    at.session_state["inspect_view"] = "Update ratio"
    at.run()
    assert _shown_steps(_figure(at, "update_ratio_chart")) == [earlier]
    at.session_state["inspect_view"] = "Weights"
    at.run()
    weights = _figure(at, "weights_chart")
    assert set(_shown_steps(weights)) == {earlier}
    assert len(_shown_steps(weights)) == len(session_of(at).layer_names)  # every layer's panel
    # The activations as recorded then, not now: the histogram at or before the step shown.
    at.session_state["inspect_view"] = "Activations"
    at.run()
    history = session_of(at).trainer.snapshot(weights=False).history
    recorded, then = history.histograms.at(earlier)
    assert recorded <= earlier < history.histograms.steps[-1]
    assert f"as recorded at step {recorded:,}" in " ".join(c.value for c in at.caption)
    bars = _figure(at, "activations_chart")["data"][0]
    counts = np.asarray(then[0].activations.counts, dtype=float)
    assert np.allclose(values(bars["y"]), counts / counts.sum(), atol=1e-6)
    newest = np.asarray(history.histograms.items[-1][0].activations.counts, dtype=float)
    assert not np.allclose(counts / counts.sum(), newest / newest.sum())
    # Back at the newest step the marks go.
    at.select_slider(key=TIME_KEY).set_value(now).run()
    at.session_state["inspect_view"] = "Gradients"
    at.run()
    assert _shown_steps(_figure(at, "gradients_chart")) == []


def test_images_first_layer_and_confusion_follow_the_slider():
    at = open_app({"preset": "digits"})
    earlier, _ = _back_in_time(at)
    session = session_of(at)
    at.session_state["inspect_view"] = "First layer"
    at.run()
    then = session.experiment.at(session.selected, earlier).weights[0][0]
    assert not np.array_equal(then, session.trainer.weights()[0][0])
    assert np.array_equal(session.first_layer_weights(earlier), then)
    assert session.first_layer_weights(None) is not None
    at.session_state["inspect_view"] = "Confusion"
    at.run()
    assert not at.exception
    z_then = values(_figure(at, "confusion_chart")["data"][0]["z"])
    net_then = session.experiment.at(session.selected, earlier).network
    classes = predictions.predicted_classes(net_then, session.dataset.X_test)
    expected = charts_of.confusion_matrix(session.dataset.y_test, classes)
    assert np.allclose(z_then, np.asarray(expected.data[0].z, dtype=float).ravel(), atol=1e-6)
    at.select_slider(key=TIME_KEY).set_value(session.trainer.step_count).run()
    z_now = values(_figure(at, "confusion_chart")["data"][0]["z"])
    assert not np.array_equal(z_then, z_now)  # three epochs on, other mistakes


def test_a_branch_the_server_cannot_rebuild_in_time_is_left_out_with_a_message(monkeypatch):
    import playground.session as session_module

    monkeypatch.setattr(session_module, "MAX_REPLAY_SECONDS", 0.0)
    session = PlaygroundSession.start(PlaygroundConfig(), lambda c: load_dataset(c.data))
    branched = copy.deepcopy(session.config)
    branched.training.optimizer.learning_rate /= 2
    session.add_runs([("B", branched)], branches={"B": ("A", 5_000)})
    assert session.run_names == ["A"]
    said = " ".join(n.text for n in session.notices)
    assert "Run B of the link was left out" in said and "step 5,000" in said


def test_downloads_name_the_run_and_every_runs_history_comes_in_one_table():
    import io

    import pandas as pd

    from core.serialization import load_model
    from playground import exports

    at = open_app()
    click(at, "Compare")
    _set_activation(at, "relu")
    click(at, "Step epoch")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download run B's trained model (.npz)" in labels
    assert "Download every run's training history (.csv)" in labels
    session = session_of(at)
    saved = load_model(io.BytesIO(exports.model_bytes(session)))
    assert saved.config == session.experiment["B"].config
    assert saved.step == session.experiment["B"].step
    table = pd.read_csv(io.StringIO(exports.runs_history_csv(session)))
    assert list(table.columns[:2]) == ["run", "step"]
    assert set(table["run"]) == {"A", "B"}
    a_loss = table[table["run"] == "A"].set_index("step")["train_loss"].dropna()
    expected = session.experiment["A"].trainer.history.run["train_loss"]
    assert np.allclose(a_loss.to_numpy(), expected.values, rtol=1e-5)
