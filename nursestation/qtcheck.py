"""Before Qt starts on Linux: can its xcb platform plugin load? If not, say which system
package is missing in one line, instead of Qt's abort ("Could not load the Qt platform plugin
"xcb" in "" even though it was found ... Reinstalling the application may fix this problem").

Qt ends the process (qFatal) when no platform plugin loads, so this must be checked before the
QApplication exists. The check asks the dynamic loader (``ldd``) which libraries the plugin
needs and cannot find, and names the Debian/Ubuntu packages that provide them (the README lists
the same packages). No Qt import here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: Library (soname) -> the Debian/Ubuntu package that ships it.
DEBIAN_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11-xcb.so.1": "libx11-xcb1",
}


def uses_xcb(env: dict[str, str] | None = None, platform: str = sys.platform) -> bool:
    """Will Qt try its xcb plugin? (Linux, and no other platform asked for.)"""
    env = dict(os.environ) if env is None else env
    if not platform.startswith("linux"):
        return False
    wanted = env.get("QT_QPA_PLATFORM", "").split(";")[0].strip()
    if wanted:
        return wanted.startswith("xcb")
    return not env.get("WAYLAND_DISPLAY")


def missing_libraries(ldd_output: str) -> list[str]:
    """The sonames ``ldd`` reports as "not found", in order, without repeats."""
    out: list[str] = []
    for line in ldd_output.splitlines():
        if "=> not found" in line:
            name = line.split("=>", 1)[0].strip()
            if name not in out:
                out.append(name)
    return out


def fix_line(missing: list[str]) -> str:
    """The one line that tells how to fix it."""
    packages = [DEBIAN_PACKAGES[m] for m in missing if m in DEBIAN_PACKAGES]
    unknown = [m for m in missing if m not in DEBIAN_PACKAGES]
    line = f"nursestation: Qt's xcb display plugin cannot load: missing {', '.join(missing)}."
    if packages:
        line += f" Fix (Debian/Ubuntu): sudo apt install {' '.join(packages)}"
        if unknown:
            line += " (and the packages providing the others)"
    else:
        line += " Install the system packages that provide them (README: System packages)."
    return line


def _plugin_files() -> list[Path]:
    import PySide6  # only the package path: no Qt library is loaded by this import

    qt = Path(PySide6.__file__).parent / "Qt"
    return [p for p in (qt / "plugins" / "platforms" / "libqxcb.so",
                        *sorted((qt / "lib").glob("libQt6XcbQpa.so*"))) if p.exists()]


def check_xcb() -> str | None:
    """The fix line when the xcb plugin cannot load here, else None (also when unknown)."""
    if not uses_xcb():
        return None
    ldd = shutil.which("ldd")
    if ldd is None:
        return None
    missing: list[str] = []
    for path in _plugin_files():
        try:
            out = subprocess.run([ldd, str(path)], capture_output=True, text=True, timeout=10,
                                 check=False).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        missing += [m for m in missing_libraries(out) if m not in missing]
    return fix_line(missing) if missing else None
