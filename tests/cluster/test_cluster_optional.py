"""Ray is an optional extra: without it every command works and ``--cluster`` says in one line how to get it."""

from __future__ import annotations

import subprocess
import sys

from tsfgui.arguments import cluster_flag_before_inputs
from tsfgui.cli import main


def test_plain_commands_do_not_load_ray():
    code = ("import sys, tsfgui.cli, tsfgui.cluster, tsfgui.train.cli, tsfgui.train.on_cluster, tsfgui.batch.on_ray; "
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


def test_analyze_cluster_without_ray_is_the_same_hint_and_the_local_pool_still_works(monkeypatch, tmp_path, media,
                                                                                    capsys):
    monkeypatch.setitem(sys.modules, "ray", None)
    clip = media.write_cv2(tmp_path / "clip.avi", "MJPG", 6)
    assert main(["analyze", "--cluster", str(clip), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'tsfgui[cluster]'" in err and not (tmp_path / "out").exists()
    assert main(["analyze", str(clip), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert (tmp_path / "out" / "clip" / "done.json").is_file()


def test_cluster_address_is_checked(tmp_path, capsys):
    command = ["eval", "--dataset", "synthetic", "--root", str(tmp_path), "--out", str(tmp_path)]
    assert main([*command, "--cluster=headnode"]) == 2
    assert "argument --cluster: 'headnode' is not a Ray cluster" in capsys.readouterr().err
    assert main([*command, "--cluster", "headnode"]) == 2  # not an address: --cluster is auto, 'headnode' extra
    assert "unrecognized arguments: headnode" in capsys.readouterr().err


def test_cluster_before_the_inputs_leaves_them_inputs():
    assert cluster_flag_before_inputs(["analyze", "--cluster", "videos/", "--out", "o"]) == [
        "analyze", "--cluster=auto", "videos/", "--out", "o"]
    assert cluster_flag_before_inputs(["analyze", "v.mp4", "--cluster", "10.0.0.5:6379"])[-1] == "10.0.0.5:6379"
    assert cluster_flag_before_inputs(["eval", "--cluster", "--quiet"]) == ["eval", "--cluster", "--quiet"]


def test_an_address_nobody_answers_is_one_line_at_once(tmp_path, media, capsys):
    clip = media.write_cv2(tmp_path / "clip.avi", "MJPG", 3)
    assert main(["analyze", str(clip), "--out", str(tmp_path / "out"), "--cluster", "127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the Ray cluster at '127.0.0.1:1'" in err
