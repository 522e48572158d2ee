"""The training doctor: what the telemetry says is wrong, in words, each finding with its
evidence, a fix and a reference (the rules and their thresholds: `core.doctor.RULES`)."""

from __future__ import annotations

import streamlit as st

from core import doctor
from core.telemetry import Snapshot
from playground.panels.common import escape
from playground.session import PlaygroundSession

TITLE = "Training doctor"
CAPTION = (
    "Reads the run's telemetry (gradient norms, dead and saturated units, update ratios, "
    "losses) and says what is wrong, with the numbers, a fix and a source."
)
SERIOUS = ("divergence", "dead_relu", "exploding")  # shown as errors, the rest as warnings


def render(session: PlaygroundSession, snaps: dict[str, Snapshot] | None = None) -> None:
    """The findings for the run as the trainer last reported it; with several runs (`snaps`,
    by name) one tab per run, named with its count of findings."""
    st.subheader(TITLE)
    st.caption(CAPTION)
    if not snaps:
        render_findings(session.trainer.snapshot(weights=False))
        return
    found = {name: doctor.diagnose(snap) for name, snap in snaps.items()}
    labels = [f"Run {name}: {count_text(findings)}" for name, findings in found.items()]
    for tab, (name, snap) in zip(st.tabs(labels), snaps.items(), strict=True):
        with tab:
            render_findings(snap, found[name])


def count_text(findings: list) -> str:
    """A run's tab label after its name: "no findings", "1 finding", "3 findings"."""
    return "no findings" if not findings else f"{len(findings)} finding" + "s" * (len(findings) > 1)


def render_findings(snap: Snapshot, findings: list | None = None) -> None:
    findings = doctor.diagnose(snap) if findings is None else findings
    for finding in findings:
        box = st.error if finding.rule in SERIOUS else st.warning
        box(as_markdown(finding))
    if findings:
        return
    if doctor.has_window(snap):
        st.success("No problems found in the telemetry so far.")
    else:
        st.info(f"Train a little: the doctor judges a window of {doctor.WINDOW} measurements.")


def as_markdown(finding: doctor.Finding) -> str:
    return (
        f"**{finding.title}.** {escape(finding.message)}  \n"
        f"*Evidence:* {escape(finding.evidence)}  \n"
        f"*Fix:* {escape(finding.fix)}  \n"
        f"*Reference:* {escape(finding.reference)}"
    )
