"""Monitor colours, fonts and the station's dark stylesheet (one place, so tiles, the detail
view and the lead's main window agree)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QFont

from nursestation.core.vocabulary import Code

BACKGROUND = "#000000"
TILE_BG = "#0b0f14"
TILE_BORDER = "#2a3340"
FOCUS = "#4da3ff"
TEXT = "#d8dee6"
DIM = "#7d8896"
OFFLINE = "#8a8f98"

# The colours bedside monitors use for each parameter.
GREEN = "#00e05a"  # HR / ECG
CYAN = "#00d8ff"  # SpO2 / pleth
NBP = "#ff6b6b"  # NBP (red, readable on black)
NBP_LIGHT = "#f2f2f2"
YELLOW = "#ffe14d"  # RR / resp
ETCO2 = "#fff3a8"  # EtCO2: yellow-white
PUMP = "#c9a7ff"  # the pump's values (not a vital sign)

COLOURS: dict[str, str] = {
    Code.HR: GREEN, Code.ECG: GREEN, Code.PR: CYAN,
    Code.SPO2: CYAN, Code.PLETH: CYAN, Code.PI: CYAN,
    Code.NBP_SYS: NBP, Code.NBP_DIA: NBP, Code.NBP_MEAN: NBP,
    Code.RR: YELLOW, Code.RESP: YELLOW,
    Code.ETCO2: ETCO2, Code.CO2: ETCO2,
    Code.TEMP: TEXT,
    Code.PUMP_RATE: PUMP, Code.PUMP_VI: PUMP, Code.PUMP_VTBI: PUMP,
}

# IEC 60601-1-8 visual alarm signals: high red flashing 1.4-2.8 Hz, medium yellow flashing
# 0.4-0.8 Hz, low cyan (or yellow) steady. The text carries the priority too (never colour
# alone): core.alarms.PRIORITIES gives each priority its mark and its colour's name.
ALARM_RED = "#e0001b"
ALARM_YELLOW = "#ffd000"
ALARM_CYAN = "#00b8d9"
#: What each priority's colour name (core.alarms.PRIORITIES) looks like: (colour, text on it).
ALARM_COLOURS: dict[str, tuple[str, str]] = {
    "red": (ALARM_RED, "#ffffff"),
    "yellow": (ALARM_YELLOW, "#000000"),
    "cyan": (ALARM_CYAN, "#000000"),
}


def priority_colours(priority: str) -> tuple[str, str] | None:
    """(colour, text colour on it) of an alarm priority; None for an unknown one."""
    from nursestation.core.alarms import PRIORITIES

    p = PRIORITIES.get(str(priority).lower())
    return ALARM_COLOURS[p.colour] if p is not None else None


#: Pending work that is overdue or waits for a confirmation (an outline, never an alarm fill).
PENDING_URGENT = "#ff4d4d"
#: Behind the audio-paused indicator.
PAUSED_BG = "#3a3f47"
HIGH_FLASH_HZ = 2.0
MEDIUM_FLASH_HZ = 0.6

LABELS: dict[str, str] = {
    Code.HR: "HR", Code.PR: "PR", Code.SPO2: "SpO\u2082", Code.RR: "RR",
    Code.ETCO2: "EtCO\u2082", Code.TEMP: "Temp", Code.PI: "PI",
    Code.NBP_SYS: "NBP", Code.ECG: "II", Code.PLETH: "Pleth", Code.RESP: "Resp",
    Code.CO2: "CO\u2082",
}


def colour(code: str) -> str:
    return COLOURS.get(code, TEXT)


@cache
def dialog_stylesheet() -> str:
    """The dialogs' stylesheet (``resources/styles/dialog.qss``): one file, no inline styles."""
    from nursestation.paths import resource_path

    return resource_path("styles", "dialog.qss").read_text(encoding="utf-8")


def font(px: int, bold: bool = False) -> QFont:
    f = QFont()
    f.setFamilies(["DejaVu Sans", "Segoe UI", "Helvetica", "Arial"])
    f.setPixelSize(max(6, int(px)))
    f.setBold(bold)
    return f


STYLESHEET = f"""
QWidget#StationView, QWidget#ChairDetail {{ background: {BACKGROUND}; color: {TEXT}; }}
QFrame#ChairTile {{ background: {TILE_BG}; border: 1px solid {TILE_BORDER};
                    border-radius: 3px; }}
QFrame#ChairTile:focus {{ border: 2px solid {FOCUS}; }}
QLabel {{ color: {TEXT}; background: transparent; }}
QLabel#OfflineBanner {{ color: #ffffff; background: rgba(60, 64, 72, 220);
                        border: 1px solid {OFFLINE}; border-radius: 2px; padding: 1px 4px; }}
QWidget#AlarmBar {{ background: #101418; border-bottom: 1px solid {TILE_BORDER}; }}
QPushButton {{ background: #1b232d; color: {TEXT}; border: 1px solid {TILE_BORDER};
               padding: 3px 10px; }}
QPushButton:focus {{ border: 1px solid {FOCUS}; }}
QListWidget {{ background: {TILE_BG}; color: {TEXT}; border: 1px solid {TILE_BORDER}; }}
"""

