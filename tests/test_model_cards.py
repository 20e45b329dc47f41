"""Model cards, and the presets that lose to their naive baseline: every shipped preset has an
up-to-date card, and `rnn-zoo list`, `rnn-zoo info` and `load_preset` flag a losing one."""

import re
import shutil
import subprocess
import sys
import warnings

import pytest

import rnn_zoo
from rnn_zoo.cli import main
from rnn_zoo.shipped import (
    MODEL_CARD_FILE,
    LosesToBaselineWarning,
    baseline_flag,
    card_summary,
    family_leader,
    list_presets,
    loses_to_baseline,
    shipped_metadata,
    shipped_path,
)
from tools import model_cards

PRESETS = list_presets()
LOSING = "stock_lstm"  # test RMSE about 104 against the naive forecast's 19.6
FAMILY_BEST = "stock_gru_returns"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.backend_free
def test_every_shipped_preset_has_an_up_to_date_card():
    assert PRESETS == rnn_zoo.list_tasks()
    rows = model_cards.results_rows()
    for name in PRESETS:
        card = shipped_path(name) / MODEL_CARD_FILE
        assert card.is_file(), f"run `python -m tools.model_cards` ({name} has no card)"
        assert card.read_text(encoding="utf-8") == model_cards.model_card(name, rows), (
            f"{card} is out of date: run `python -m tools.model_cards`"
        )
    assert model_cards.stale_cards() == []


@pytest.mark.backend_free
@pytest.mark.parametrize("name", PRESETS)
def test_card_names_the_data_terms_the_command_and_the_limitations(name):
    meta = shipped_metadata(name)
    card = (shipped_path(name) / MODEL_CARD_FILE).read_text(encoding="utf-8")
    assert card.startswith(f"# {name}\n\n{meta['description']}\n")
    for said in (meta["dataset"]["license"], meta["dataset"]["sha256"], f"`{meta['command']}`", "## Limitations"):
        assert said in card
    limitations = card.split("## Limitations", 1)[1]
    assert ("Loses to the naive baseline" in limitations) == (loses_to_baseline(name) is not None)
    assert "Trained on one split with one seed (0)" in limitations


@pytest.mark.backend_free
def test_the_losing_stock_card_says_so_and_names_the_better_preset():
    card = (shipped_path(LOSING) / MODEL_CARD_FILE).read_text(encoding="utf-8")
    limitations = card.split("## Limitations", 1)[1]
    assert "Loses to the naive baseline (tomorrow = today) on its own test split: rmse 104.4 vs 19.62." in limitations
    assert f"`{FAMILY_BEST}`" in limitations
    assert "Loses to the classical model (drift or ridge AR" in limitations
    assert "in particular trading or investment decisions" in card
    summary = card_summary(LOSING)
    assert summary[0].startswith("Test rmse, seed 0: 104.4 (model) vs 19.62 (naive baseline: tomorrow = today)")
    assert "who wins against the classical model: classical" in summary[1]
    assert summary[-1].startswith(f"Flag: {LOSING} loses to its naive baseline") and FAMILY_BEST in summary[-1]
    winning = card_summary("letters_4pre1")
    assert winning[-1] == "Flag: none: it beats its naive baseline on its own test split"


@pytest.mark.backend_free
def test_the_flag_follows_the_metric_direction_and_names_the_family_best():
    assert loses_to_baseline(LOSING).startswith(f"{LOSING} loses to its naive baseline on its own test split (rmse ")
    assert FAMILY_BEST in loses_to_baseline(LOSING)
    assert loses_to_baseline(FAMILY_BEST) is None and loses_to_baseline("letters_4pre1") is None
    assert family_leader("stock") == FAMILY_BEST and family_leader("adding") == "adding_problem_gru"
    accuracy = dict(shipped_metadata("mnist_lstm"))  # higher is better: below the baseline loses
    accuracy["metrics"] = {**accuracy["metrics"], "accuracy": 0.05}
    flag = baseline_flag(accuracy, "a worse mnist_lstm")
    assert flag.startswith(
        "a worse mnist_lstm loses to its naive baseline on its own test split (accuracy 0.05 vs 0.1135"
    )
    assert "mnist_lstm_tuned is the mnist family's preset" in flag  # the larger margin of the two
    rmse = dict(shipped_metadata(LOSING))  # lower is better: below the baseline wins
    rmse["metrics"] = {**rmse["metrics"], "rmse": 1.0}
    assert baseline_flag(rmse) is None


@pytest.mark.backend_free
def test_list_shows_the_baseline_beside_the_metric_and_flags_a_losing_preset(capsys):
    code, out, _ = run(capsys, "list", "stock_*")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[4:9] == ["preset", "(test)", "baseline", "vs", "baseline"]
    losing = re.split(r"\s{2,}", next(line for line in lines if line.startswith(LOSING + " ")))
    assert losing[4:7] == ["rmse 104.4", "19.62", "loses !"]
    assert "beats" in next(line for line in lines if line.startswith(FAMILY_BEST + " "))
    notes = [line for line in lines if line.startswith("! ")]
    assert len(notes) == 3  # stock_gru, stock_lstm, stock_simplernn
    note = next(line for line in notes if line.startswith(f"! {LOSING} "))
    assert "loses to its naive baseline on its own test split (rmse 104.4 vs 19.62, tomorrow = today)" in note
    assert f"{FAMILY_BEST} is the stock family's preset that beats its baseline by the most" in note
    code, out, _ = run(capsys, "list", "letters_*")
    assert code == 0 and "! " not in out and "loses" not in out


@pytest.mark.slow
@pytest.mark.backend_free
def test_list_reads_metadata_only_without_keras():
    code = "import sys; from rnn_zoo.cli import main; main(['list']); assert 'keras' not in sys.modules, 'keras'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"! {LOSING} loses to its naive baseline" in done.stdout


def test_info_prints_the_cards_key_lines_and_the_flag(capsys):
    code, out, _ = run(capsys, "info", LOSING)
    assert code == 0
    assert f"card:      {shipped_path(LOSING) / MODEL_CARD_FILE}" in out
    assert "Test rmse, seed 0: 104.4 (model) vs 19.62 (naive baseline: tomorrow = today)" in out
    assert "who wins against the classical model: classical" in out
    assert f"Flag: {LOSING} loses to its naive baseline" in out and FAMILY_BEST in out


def test_load_preset_warns_when_the_preset_loses_to_its_baseline(tmp_path):
    with pytest.warns(UserWarning, match=rf"^{LOSING} loses to its naive baseline .*; {FAMILY_BEST} is the stock"):
        preset = rnn_zoo.load_preset(LOSING)
    assert preset.task == LOSING  # loaded all the same
    folder = tmp_path / "mine"
    shutil.copytree(shipped_path(LOSING), folder)
    with pytest.warns(LosesToBaselineWarning, match=rf"^the {LOSING} preset in {re.escape(str(folder))} loses to its"):
        rnn_zoo.load_preset(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LosesToBaselineWarning)
        assert rnn_zoo.load_preset("letters_4pre1").task == "letters_4pre1"


def test_the_command_line_loads_a_losing_preset_quietly(capsys):
    prices = ",".join(str(1000 + i) for i in range(60))
    code, out, err = run(capsys, "predict", LOSING, prices)
    assert code == 0 and float(out.split()[0]) > 0 and "90% interval" in out and err == ""  # `list`, `info` flag it


@pytest.mark.backend_free
def test_the_tool_checks_and_writes_the_cards(capsys, tmp_path, monkeypatch):
    for name in PRESETS:
        (tmp_path / name).mkdir()
    monkeypatch.setattr(model_cards, "PRESETS_DIR", tmp_path)
    code = model_cards.main(["--check"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{len(PRESETS)} model card(s) out of date" in err
    assert model_cards.main([]) == 0 and f"wrote {len(PRESETS)} model card(s)" in capsys.readouterr().out
    assert model_cards.main(["--check"]) == 0 and "are up to date" in capsys.readouterr().out
    card = (tmp_path / LOSING / MODEL_CARD_FILE).read_text(encoding="utf-8")
    assert card == (shipped_path(LOSING) / MODEL_CARD_FILE).read_text(encoding="utf-8")
