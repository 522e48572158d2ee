"""Runs side by side in the app (issue 11): Compare, lockstep, a change to one run, overlaid
curves, time travel, Branch from here and the link, as a student uses them (AppTest)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from playground import widget_state as W
from playground.panels.runs import TIME_KEY
from playground.url_state import config_to_query, query_to_state, runs_to_query
from tests.playground.apptest_helpers import ack, chart_ids, charts, click, messages, open_app
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
@given(valid_configs(), st.lists(valid_configs(), min_size=1, max_size=3))
def test_every_comparison_round_trips_through_the_link(base, others):
    names = ["A", "B", "C", "D"][: 1 + len(others)]
    runs = list(zip(names[1:], others, strict=True))
    for _, config in runs:
        config.title, config.notes = base.title, base.notes
    params = config_to_query(base) | runs_to_query(base, runs)
    state = query_to_state(params)
    assert state.notices == []
    assert state.config == base and state.reference == "A"
    assert state.runs == runs


def test_a_link_names_the_reference_run_and_ignores_stray_runs():
    state = query_to_state({"runs": "B,C", "C.training.batch_size": "20", "D.data.noise": "5"})
    assert state.reference == "B" and [n for n, _ in state.runs] == ["C"]
    assert state.runs[0][1].training.batch_size == 20
    assert any("D" in n for n in state.notices)
