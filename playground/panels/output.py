"""What the network computes: the decision map or fitted surface over the input plane, the
fitted curve of 1D data, sample predictions for images, and for tabular data a confusion
matrix or predicted against true values. The session hands over the model's outputs. A click on
a training point of the selected run's map picks it for the backprop microscope (`picks`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import streamlit as st

from playground import charts, liveview
from playground.panels import picks
from playground.panels.common import plot
from playground.panels.microscope import Focus
from playground.panels.runs import run_title
from playground.session import PlaygroundSession, RunView

SAMPLE_IMAGES = 24  # test images shown with their predicted class


def render(
    session: PlaygroundSession,
    views: list[RunView] | None = None,
    step: int | None = None,
    focus: Focus | None = None,
) -> None:
    """The selected run's output; with `views` (several runs, or an earlier step) the map of
    each run side by side, as it was at `step` if given. `focus`: the backprop microscope's
    choice, whose training point the selected run's map rings."""
    dataset = session.dataset
    if dataset.image_shape is not None:
        _render_image_predictions(session)
        return
    if dataset.raw_dim is None:
        _render_tabular_predictions(session)
        return
    show_test = st.toggle("Show test data", key="show_test")
    discretize = st.toggle("Discretize output", key="discretize") if dataset.raw_dim == 2 else False
    image = session.running  # while training the background travels as an image
    if views is not None:
        rings = {session.selected: focus.point} if focus else {}
        live = session if step is None else None  # fast frames: the maps as they are now
        options = _MapOptions(show_test, discretize, image, rings)
        _render_maps(views, step, options, picks.run_clicks(session), live)
        return
    point = focus and focus.point

    def figure(out=None, image=image):
        out = session.output_map() if out is None else out
        return _map_figure(dataset, out, show_test, discretize, microscope_point=point, image=image)

    again = functools.partial(figure, image=True)  # fast frames come only while training
    plot(figure(), "output_chart", "output", on_click=picks.on_click(session), again=again)


@dataclass(frozen=True)
class _MapOptions:
    show_test: bool
    discretize: bool
    image: bool  # the background as an image (while training)
    rings: dict[str, int]  # run name -> the microscope's training point, for the run it looks at


def _render_maps(
    views: list[RunView],
    step,
    options: _MapOptions,
    on_click,
    live: PlaygroundSession | None,
) -> None:
    """Each run's map side by side: the same plane and colour scale (the runs share the data).
    A click on a run's map picks the point in that run (`on_click`: run name -> callback);
    `live`: the session whose runs fast frames redraw as they are now (None: as shown)."""
    cols = st.columns(len(views))
    for col, view in zip(cols, views, strict=True):
        with col:
            key = f"map step {view.name}"
            st.markdown(run_title(view, step, key), unsafe_allow_html=True)
            if live is not None:
                liveview.texts(lambda s=live, k=key, n=view.name: {k: f"{s.run_step(n):,}"})
            if view.output_map is None:
                st.caption("No input plane for this run's data.")
                continue
            one = len(views) == 1
            key, caption = (
                ("output_chart", "output") if one else (f"output_chart_{view.name}", "run_output")
            )
            now = None if live is None else live.run_output_map
            again = None if now is None else _run_map(view, now, options, one, image=True)
            fig = _run_map(view, lambda _name, v=view: v.output_map, options, one, options.image)()
            plot(fig, key, caption, on_click=on_click(view.name), again=again)


def _run_map(view: RunView, output_map, options: _MapOptions, one: bool, image: bool):
    """A recipe for run `view`'s map figure, its output map read by `output_map(run name)`."""

    def figure():
        fig = _map_figure(
            view.dataset,
            output_map(view.name),
            options.show_test,
            options.discretize,
            height=420 if one else 300,
            uirevision=f"output_{view.name}",
            image=image,
            microscope_point=options.rings.get(view.name),
        )
        if not one:  # side by side: the points' legend would squeeze the maps apart
            fig.update_layout(showlegend=False)
        return fig

    return figure


def _render_image_predictions(session: PlaygroundSession) -> None:
    dataset = session.dataset
    X, y = dataset.X_test[:SAMPLE_IMAGES], dataset.y_test[:SAMPLE_IMAGES]
    pred = session.test_classes(SAMPLE_IMAGES)
    fig = charts.sample_grid(X, y, pred, dataset.image_shape, dataset.class_names)
    plot(fig, "samples_chart", "samples")


def _render_tabular_predictions(session: PlaygroundSession) -> None:
    """Tabular data has no input plane: a confusion matrix, or predicted vs true values."""
    dataset = session.dataset
    if dataset.task == "regression":
        fig = charts.predicted_vs_actual(dataset.y_test, session.test_predictions()[:, 0])
        plot(fig, "predicted_chart", "predicted")
        return
    fig = charts.confusion_matrix(dataset.y_test, session.test_classes(), dataset.class_names)
    plot(fig, "tabular_confusion_chart", "confusion")


def _map_figure(dataset, out, show_test: bool, discretize: bool, **options):
    """The output figure of `out` (an output map) over `dataset`'s plane."""
    return charts.output_figure(
        dataset,
        out.xs,
        out.values,
        out.ys,
        classes=out.classes,
        std=out.std,
        show_test=show_test,
        discretize=discretize,
        **options,
    )
