"""The console progress lines: counts, and how a trial ended (completed, cut by the time budget, stopped early, failed)."""

import io

from hgq_automl.events import TrialRecord
from hgq_automl.progress import ConsoleProgress
from hgq_automl.space import parse_space


def test_progress_lines_say_how_each_trial_ended():
    space = parse_space({"search": {"trials": 12}, "parameters": {"epochs": 50}})
    out = io.StringIO()
    progress = ConsoleProgress(space, stream=out)
    for tid in ("a", "b", "c", "d"):
        progress.trial_started(tid, {})
    progress.trial_finished(TrialRecord("a", {}, {"val_accuracy": 0.9, "ebops": 1000.0, "epochs_trained": 50.0}))
    progress.trial_finished(TrialRecord("b", {}, {"val_accuracy": 0.8, "ebops": 500.0, "epochs_trained": 17.0}))
    progress.trial_finished(TrialRecord("c", {}, {"epoch": 5}, status="stopped"))
    progress.trial_finished(TrialRecord("d", {}, {}, status="failed", error="TrialFailed: loss became nan at epoch 3"))
    lines = out.getvalue().splitlines()
    ended = [line for line in lines if "started" not in line]
    assert "trial a val_accuracy=" in ended[0] and "cut" not in ended[0] and "1/12 done, 3 running, 0 failed" in ended[0]
    assert "(training cut at epoch 17/50 by the time budget)" in ended[1] and "2/12 done, 2 running, 0 failed" in ended[1]
    assert "trial c stopped early at epoch 5" in ended[2] and "3/12 done, 1 running, 0 failed" in ended[2]
    assert "trial d FAILED: TrialFailed: loss became nan at epoch 3" in ended[3] and "4/12 done, 0 running, 1 failed" in ended[3]


def test_a_ramp_the_budget_paced_is_not_reported_as_cut():
    """Under harvesting every trial ramps beta, and the time budget paces the ramp to
    beta_final: its line says so instead of "training cut"."""
    space = parse_space({"search": {"trials": 2}, "harvest": True, "parameters": {"epochs": 1000}})
    out = io.StringIO()
    progress = ConsoleProgress(space, stream=out)
    progress.trial_started("a", {"beta": 1e-7, "beta_final": 1e-3})
    progress.trial_finished(TrialRecord("a", {}, {"val_accuracy": 0.9, "ebops": 1000.0, "epochs_trained": 412.0}))
    line = out.getvalue().splitlines()[-1]
    assert "(beta ramp paced by the time budget: 412 of 1000 epochs)" in line and "training cut" not in line
