"""The cost dashboard against the plan's table (spot $0.39/h, $600 budget, 8 weeks planned)."""

import json
import os
import subprocess
import sys

import pytest
from evalhelpers import healthy_state, write_run

from evaluation.cost import cost_report, seed_projection

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_seed_projection_table():
    # the plan's cost projections at $0.39/h: week 1 $65.52 (11%), week 5 $327.60 (55%), week 8 $524.16 (87%)
    table = seed_projection()
    assert len(table) == 8
    assert table[0][1:3] == (168.0, pytest.approx(65.52))
    assert table[4][1:3] == (840.0, pytest.approx(327.60))
    assert table[7][1:3] == (1344.0, pytest.approx(524.16))
    assert [round(f * 100) for *_, f in table] == [11, 22, 33, 44, 55, 66, 76, 87]


def test_week5_computed_from_elapsed_time():
    r = cost_report({"elapsed_time": 840 * 3600})
    assert r.recorded_cost is None
    assert r.cost == pytest.approx(327.60) and r.remaining == pytest.approx(272.40)
    assert r.projected_cost == pytest.approx(524.16)
    assert r.status == "OK"
    text = r.format()
    assert "Elapsed: 840.0h" in text and "Cost: $327.60" in text
    assert "Budget remaining: $272.40" in text and "$524.16" in text
    now = [line for line in text.splitlines() if "<- now" in line]
    assert len(now) == 1 and now[0].split()[:2] == ["5", "840"]


def test_recorded_cost_and_burn_rate():
    # 100 h recorded at $50 (restarts on on-demand): burn $0.50/h, projection
    # 50 + (1344 - 100) * 0.5 = $672 > $600
    r = cost_report({"elapsed_time": 100 * 3600, "cost": 50.0})
    assert r.cost == 50.0 and r.computed_cost == pytest.approx(39.0)
    assert r.projected_cost == pytest.approx(672.0)
    assert "OVER BUDGET" in r.format()


@pytest.mark.parametrize("cost, status", [(479.99, "OK"), (480.0, "WARNING"), (600.0, "WARNING"),
                                          (600.01, "OVER")])
def test_status(cost, status):
    assert cost_report({"elapsed_time": 3600, "cost": cost}).status == status


def test_state_overrides_and_errors():
    r = cost_report({"elapsed_time": 3600 * 10, "spot_rate_usd_per_hour": 0.5, "budget_usd": 100.0})
    assert r.cost == pytest.approx(5.0) and r.fraction_used == pytest.approx(0.05)
    assert cost_report({"elapsed_time": 36000}, spot_rate=1.0).cost == pytest.approx(10.0)
    with pytest.raises(ValueError, match="elapsed_time"):
        cost_report({"cost": 3.0})
    with pytest.raises(ValueError, match="no orchestrator state"):
        cost_report(None)
    with pytest.raises(ValueError, match="spot rate"):
        cost_report({"elapsed_time": 1}, spot_rate=-1)


def test_cli_cost(tmp_path):
    run = write_run(tmp_path / "run", state=healthy_state(cost=None))
    out = subprocess.run([sys.executable, "-m", "evaluation", "cost", "--run", str(run)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Cost: $327.60" in out.stdout and "Budget remaining: $272.40" in out.stdout
    out = subprocess.run([sys.executable, "-m", "evaluation", "cost", "--run", str(run), "--json"],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert json.loads(out.stdout)["projected_cost"] == pytest.approx(524.16)
    out = subprocess.run([sys.executable, "-m", "evaluation", "cost", "--run", str(tmp_path / "x")],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 2 and "run directory not found" in out.stderr
