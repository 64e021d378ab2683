"""`nursestation report VISIT --out FILE.pdf` on a visit seeded through the repository."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from tests.report.seed import seed_visit


def _run(cfg: Path, *args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NURSESTATION_CONFIG": str(cfg), "NURSESTATION_DATA_DIR": str(data_dir),
           "TZ": "UTC"}
    return subprocess.run([sys.executable, "-m", "nursestation", "report", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_report_command_on_a_seeded_visit(tmp_path, monkeypatch):
    db = tmp_path / "clinic.sqlite3"
    url = f"sqlite:///{db}"
    vid = seed_visit(url, monkeypatch)
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'clinic_name = "Harbor Clinic"\ndatabase_url = "{url}"\n', encoding="utf-8")
    out = tmp_path / "x.pdf"

    res = _run(cfg, str(vid), "--out", str(out), data_dir=tmp_path / "data")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(out.resolve())

    reader = PdfReader(out)
    assert 1 <= len(reader.pages) <= 3
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert "Harbor Clinic" in text
    assert "Grace Okafor" in text and "MRN MRN-77120" in text
    assert "sulfa (hives)" in text
    # 150 mL/h for 16 min + 100 mL/h for 30 min = 90 mL at 0.4 mg/mL = 36.0 mg, 80 kg
    assert "36.0 mg (0.45 mg/kg)" in text
    assert "100.0 mL" in text  # the pump's volume infused
    assert "ondansetron 4 mg IV" in text
    assert "Original entry: ondansetron 4 mg ODT" in text
    assert "route charted wrongly; given IV push" in text
    assert "nausea resolved" in text
    assert "CADSS-6" in text and "MOAA/S" in text
    assert "drowsy, rousable" in text
    assert "SpO2 < 90 % for 15 s" in text
    assert "DISCHARGED" in text and "gate overridden" in text
    assert "Override by Priya Raman: usual BP for this patient" in text
    assert "Driver: Ben Okafor (brother), phone 555-0199" in text
    assert "(arrival)" in text
    assert "Tolerated well after the rate was lowered." in text
    assert "override of the discharge gate" in text
    assert "Charge nurse" in text


def test_report_command_unknown_visit(tmp_path, monkeypatch):
    db = tmp_path / "clinic.sqlite3"
    url = f"sqlite:///{db}"
    seed_visit(url, monkeypatch)
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "{url}"\n', encoding="utf-8")
    out = tmp_path / "none.pdf"
    res = _run(cfg, "999", "--out", str(out), data_dir=tmp_path / "data")
    assert res.returncode == 1
    assert "no visit 999" in res.stderr
    assert "Traceback" not in res.stderr
    assert not out.exists()


def test_report_command_missing_database(tmp_path):
    cfg = tmp_path / "station.toml"
    cfg.write_text(f'database_url = "sqlite:///{tmp_path / "nope.sqlite3"}"\n', encoding="utf-8")
    res = _run(cfg, "1", "--out", str(tmp_path / "x.pdf"), data_dir=tmp_path / "data")
    assert res.returncode == 1
    assert "no database at" in res.stderr
