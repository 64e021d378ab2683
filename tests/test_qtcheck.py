"""If Qt's xcb plugin cannot load, the app prints the one-line fix instead of Qt's abort."""

from __future__ import annotations

from nursestation import qtcheck

LDD = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
\tlibxcb-icccm.so.4 => not found
"""


def test_the_missing_libraries_become_one_apt_line():
    missing = qtcheck.missing_libraries(LDD)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]
    line = qtcheck.fix_line(missing)
    assert "\n" not in line
    assert line.endswith("sudo apt install libxcb-cursor0 libxcb-icccm4")
    assert "missing libxcb-cursor.so.0, libxcb-icccm.so.4" in line


def test_only_linux_with_xcb_is_checked():
    assert qtcheck.uses_xcb({}, "linux")
    assert not qtcheck.uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert qtcheck.uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not qtcheck.uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not qtcheck.uses_xcb({}, "win32")


def test_the_station_prints_the_fix_and_stops_before_qt(monkeypatch, capsys):
    from nursestation import cli

    monkeypatch.setattr(qtcheck, "check_xcb",
                        lambda: qtcheck.fix_line(["libxcb-cursor.so.0"]))
    assert cli.main(["--demo", "--chairs", "1", "--quit-after", "1"]) == 4
    err = capsys.readouterr().err
    assert "sudo apt install libxcb-cursor0" in err and "Could not load" not in err
