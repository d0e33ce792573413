"""Ray is an optional extra: without it every command works and ``--cluster`` says in one line how to get it."""

from __future__ import annotations

import subprocess
import sys

from tsfgui.cli import main


def test_plain_commands_do_not_load_ray():
    code = ("import sys, tsfgui.cli, tsfgui.cluster, tsfgui.train.cli, tsfgui.train.on_cluster; "
            "tsfgui.cli.build_parser(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stdout + out.stderr


def test_cluster_without_ray_is_a_one_line_install_hint(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does where the extra is not installed
    code = main(["eval", "--dataset", "synthetic", "--root", str(tmp_path / "set"), "--out", str(tmp_path / "out"),
                 "--cluster"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "pip install 'tsfgui[cluster]'" in err and "Ray" in err
    assert not (tmp_path / "set").exists()  # said before any work


def test_cluster_address_is_checked(tmp_path, capsys):
    code = main(["eval", "--dataset", "synthetic", "--root", str(tmp_path), "--out", str(tmp_path), "--cluster",
                 "headnode"])
    assert code == 2 and "--cluster takes auto" in capsys.readouterr().err
