"""The station's alarm presentation beyond the tiles and the alarm bar: sound, the audio-paused
indicator, why a chair is alarming, and its alarm history.

Nothing here decides anything clinical. The chairs' alarm engines say which alarms are active,
with the rule, its source and the values that raised them, and which sound pattern each chair
wants; the record (``alarm_events``) says what happened. This module shows and sounds exactly
that:

* :class:`AlarmPresenter` — created once by the main window and updated after every alarm tick:
  it sounds the highest pattern any chair's engine asks for, shows which chairs have their audio
  paused (by whom, how long still) and whether the sound itself is unavailable, puts each
  chair's active alarms with their reasons in the tile's alarm tooltip, and adds "why" and
  "history" to the Alarms menu;
* :class:`ActiveAlarmsDialog` — one chair's active alarms: priority, rule, state, since, the
  values that raised it, the latest values and the rule's source; live;
* :class:`AlarmHistoryDialog` — one chair's recorded alarm events: time, priority, alarm, state,
  values and who acknowledged or paused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from nursestation.core.alarms import (
    PRIORITY_MARK,
    PRIORITY_RANK,
    Alarm,
    AlarmEngine,
    AudioState,
    alarm_message,
)
from nursestation.ui.alarmsound import AlarmSoundPlayer
from nursestation.ui.visit_common import styled

# -- formatting ----------------------------------------------------------------------------------


def local_time(t: datetime | None, fmt: str = "%H:%M:%S") -> str:
    if t is None:
        return ""
    if t.tzinfo is None:  # stored times are UTC
        from datetime import UTC

        t = t.replace(tzinfo=UTC)
    return t.astimezone().strftime(fmt)


def priority_text(priority: str | None) -> str:
    """Priority by symbol and word, never by colour alone: ``*** high``."""
    p = str(priority or "").lower()
    return f"{PRIORITY_MARK.get(p, '')} {p}".strip()


def _value_text(v: Any) -> str:
    if isinstance(v, datetime):
        return local_time(v)
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple):
        return "/".join(_value_text(x) for x in v)
    return str(v)


def values_text(values: Mapping[str, Any] | None) -> str:
    """``value 85, threshold 90, device chair1-masimo``."""
    if not values:
        return ""
    return ", ".join(f"{k.replace('_', ' ')} {_value_text(v)}" for k, v in values.items())


def mmss(seconds: float) -> str:
    s = max(0, math.ceil(seconds))
    return f"{s // 60}:{s % 60:02d}"


def alarm_state_text(a: Alarm) -> str:
    state = str(a.state)
    if a.acknowledged_by:
        state += f" by {a.acknowledged_by} {local_time(a.acknowledged_at, '%H:%M')}"
    if a.escalated:
        state += " · escalated"
    return state


def alarm_reason(a: Alarm) -> str:
    """One alarm and why: rule, state, since, values at onset, latest values, source."""
    lines = [f"{PRIORITY_MARK.get(a.priority, '')} {alarm_message(a)} — {alarm_state_text(a)} "
             f"since {local_time(a.onset_wall)}", f"  rule: {a.rule}"]
    if a.values:
        lines.append(f"  raised on: {values_text(a.values)}")
    if a.last_values and dict(a.last_values) != dict(a.values):
        lines.append(f"  now: {values_text(a.last_values)}")
    if a.delay_s:
        lines.append(f"  condition held {a.delay_s:g} s from {local_time(a.condition_since_wall)}")
    if a.source:
        lines.append(f"  source: {a.source}")
    return "\n".join(lines)


def highest_pattern(states: Sequence[AudioState]) -> str | None:
    """The pattern to sound for the whole station: the highest any chair asks for."""
    wanted = [s.pattern for s in states if s.pattern]
    return min(wanted, key=lambda p: PRIORITY_RANK.get(p, 9)) if wanted else None


def _table(headers: Sequence[str], parent: QWidget) -> QTableWidget:
    t = QTableWidget(0, len(headers), parent)
    t.setHorizontalHeaderLabels(list(headers))
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setWordWrap(True)
    t.verticalHeader().setVisible(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return t


def _fill(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            table.setItem(r, c, item)
    table.resizeColumnsToContents()


# -- active alarms ---------------------------------------------------------------------------------


class ActiveAlarmsDialog(QDialog):
    """Why a chair is alarming: its engine's active alarms, with rule, values and source."""

    HEADERS = ("Priority", "Alarm", "State", "Since", "Raised on", "Latest values", "Source")

    def __init__(self, engine: AlarmEngine, chair: str, parent: QWidget | None = None, *,
                 player: AlarmSoundPlayer | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.player = player  # what is really audible (None: not known here)
        self.chair = chair
        self.setWindowTitle(f"Active alarms — {chair}")
        self.setObjectName("ActiveAlarmsDialog")
        styled(self)
        lay = QVBoxLayout(self)
        self.summary = QLabel(self)
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.summary)
        self.table = _table(self.HEADERS, self)
        lay.addWidget(self.table)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.resize(1100, 320)
        self._shown: tuple | None = None
        self.refresh()

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (priority_text(a.priority), alarm_message(a), alarm_state_text(a),
             local_time(a.onset_wall), values_text(a.values), values_text(a.last_values),
             f"rule {a.rule}: {a.source}" if a.source else f"rule {a.rule}")
            for a in self.engine.active()
        ]

    def refresh(self) -> None:
        rows = self.rows()
        audio = self.engine.audio_state()
        if audio.paused:
            left = (audio.paused_until_mono or 0) - self.engine.clock.monotonic()
            sound = f"audio paused {mmss(left)} by {audio.paused_by or '?'}"
        elif audio.pattern and self.player is not None and self.player.muted:
            # never claim a sound nobody hears
            sound = (f"NOT audible: alarm sound off ({self.player.mute_reason}); the "
                     f"{audio.pattern}-priority pattern would sound")
        elif audio.pattern:
            sound = f"sounding the {audio.pattern}-priority pattern"
        else:
            sound = "silent"
        head = (f"{self.chair}: {len(rows)} active alarm{'s' if len(rows) != 1 else ''}; {sound}"
                if rows else f"{self.chair}: no active alarms; {sound}")
        if head != self.summary.text():
            self.summary.setText(head)
        key = tuple(rows)
        if key != self._shown:
            self._shown = key
            _fill(self.table, rows)


# -- history ---------------------------------------------------------------------------------------


class AlarmHistoryDialog(QDialog):
    """A chair's recorded alarm events, newest first: time, priority, alarm, state, values, user.
    """

    HEADERS = ("Time", "Priority", "Alarm", "State", "Values", "User")
    PERIODS = (("Last 24 hours", timedelta(hours=24)), ("Last 7 days", timedelta(days=7)),
               ("All", None))

    def __init__(self, ctx, chair_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.chair = chair_name
        self.setWindowTitle(f"Alarm history — {chair_name}")
        self.setObjectName("AlarmHistoryDialog")
        styled(self)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel(self)
        top.addWidget(self.summary, 1)
        self.period = QComboBox(self)
        for text, _ in self.PERIODS:
            self.period.addItem(text)
        self.period.currentIndexChanged.connect(lambda _i: self.reload())
        top.addWidget(self.period)
        self.reload_button = QPushButton("Reload", self)
        self.reload_button.clicked.connect(self.reload)
        top.addWidget(self.reload_button)
        lay.addLayout(top)
        self.table = _table(self.HEADERS, self)
        lay.addWidget(self.table)
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        box.rejected.connect(self.reject)
        lay.addWidget(box)
        self.resize(1100, 480)
        self._rows: list[tuple[str, ...]] = []
        self.reload()

    def rows(self) -> list[tuple[str, ...]]:
        return list(self._rows)

    def _load(self, session, since: datetime | None) -> list[tuple[str, ...]]:
        from nursestation.db import repo

        chair = repo.chair_by_name(session, self.chair)
        if chair is None:
            return []
        users = {u.id: u.username for u in repo.list_users(session, active_only=False)}
        out = []
        for ev in reversed(repo.alarm_events(session, chair_id=chair.id, since=since)):
            prio = "" if ev.code == "AUDIO" else priority_text(ev.priority)
            out.append((local_time(ev.at, "%Y-%m-%d %H:%M:%S"), prio, ev.message or ev.code,
                        ev.state, values_text(ev.values),
                        users.get(ev.user_id, "") if ev.user_id else ""))
        return out

    def reload(self) -> None:
        span = self.PERIODS[max(0, self.period.currentIndex())][1]
        since = None if span is None else self.ctx.clock.now() - span
        try:
            self._rows = self.ctx.read(self._load, since)
        except Exception as exc:  # noqa: BLE001 - the database may be unreachable (PostgreSQL over the LAN)
            self._rows = []
            self.summary.setText(f"{self.chair}: the alarm record could not be read ({exc})")
            _fill(self.table, [])
            return
        n = len(self._rows)
        self.summary.setText(f"{self.chair}: {n} recorded alarm event{'s' if n != 1 else ''}")
        _fill(self.table, self._rows)


# -- the presenter ---------------------------------------------------------------------------------


class AlarmPresenter(QObject):
    """Sound, audio-paused indicator, alarm reasons and dialogs for the station window.

    ``window`` is the main window: its status bar gets the indicators, its Alarms menu (made if
    absent) gets "why" (F4) and "history" (Ctrl+Shift+H) for ``window.current_chair()``, and each
    ``window.view.tile(chair).alarm_label`` gets the chair's alarm reasons as its tooltip, and
    ``window.view.tile(chair).set_audio_paused(until, by)`` the chair's paused audio.
    Call :meth:`update` after every alarm tick and :meth:`stop` when the window stops.
    """

    def __init__(self, ctx, runtime, window: QMainWindow, *,
                 player: AlarmSoundPlayer | None = None) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.runtime = runtime
        self.window = window
        self.player = player or AlarmSoundPlayer(self)
        bar = window.statusBar()
        self.paused_label = QLabel("", window)
        self.paused_label.setObjectName("AudioPausedLabel")
        self.paused_label.setTextFormat(Qt.TextFormat.PlainText)
        self.paused_label.setStyleSheet("QLabel { font-weight: bold; padding: 0px 6px; }")
        self.paused_label.hide()
        self.sound_label = QLabel("", window)
        self.sound_label.setObjectName("AlarmSoundLabel")
        self.sound_label.setTextFormat(Qt.TextFormat.PlainText)
        bar.addPermanentWidget(self.paused_label)
        bar.addPermanentWidget(self.sound_label)
        self.why_action, self.history_action = self._install_actions()
        self.dialogs: list[QDialog] = []
        self.player.probe()
        self._show_sound()  # from the start, not at the first alarm

    # -- menu ----------------------------------------------------------------------------------
    def _alarms_menu(self) -> QMenu:
        mb = self.window.menuBar()
        for act in mb.actions():
            menu = act.menu()
            if menu is not None and act.text().replace("&", "") == "Alarms":
                return menu
        return mb.addMenu("&Alarms")

    def _install_actions(self) -> tuple[QAction, QAction]:
        menu = self._alarms_menu()
        menu.addSeparator()
        made = []
        for text, key, slot in (("Why is this chair &alarming…", "F4", self.show_active),
                                ("Alarm &history of this chair…", "Ctrl+Shift+H", self.show_history)):
            act = QAction(text, self.window)
            act.setShortcut(QKeySequence(key))
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            act.triggered.connect(lambda _checked=False, s=slot: s())
            menu.addAction(act)
            self.window.addAction(act)
            made.append(act)
        return made[0], made[1]

    def _chair(self, chair: str | None) -> str | None:
        if chair:
            return chair
        current = getattr(self.window, "current_chair", None)
        return current() if callable(current) else None

    # -- dialogs -------------------------------------------------------------------------------
    def _keep(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r, d=dialog: self._forget(d))
        self.dialogs.append(dialog)
        dialog.show()
        return dialog

    def _forget(self, dialog: QDialog) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)

    def show_active(self, chair: str | None = None) -> ActiveAlarmsDialog | None:
        chair = self._chair(chair)
        engine = self.runtime.engines.get(chair) if chair else None
        if engine is None:
            return None
        dialog = ActiveAlarmsDialog(engine, chair, self.window, player=self.player)
        return self._keep(dialog)  # type: ignore[return-value]

    def show_history(self, chair: str | None = None) -> AlarmHistoryDialog | None:
        chair = self._chair(chair)
        if not chair:
            return None
        return self._keep(AlarmHistoryDialog(self.ctx, chair, self.window))  # type: ignore[return-value]

    # -- the tick ------------------------------------------------------------------------------
    def update(self) -> None:
        engines: dict[str, AlarmEngine] = dict(self.runtime.engines)
        states = {chair: engine.audio_state() for chair, engine in engines.items()}
        self.player.set_pattern(highest_pattern(list(states.values())))
        self._show_paused(engines, states)
        self._show_sound()
        self._show_reasons(engines)
        for d in self.dialogs:
            if isinstance(d, ActiveAlarmsDialog):
                d.refresh()

    def stop(self) -> None:
        self.player.stop()

    def _show_paused(self, engines: Mapping[str, AlarmEngine],
                     states: Mapping[str, AudioState]) -> None:
        parts = []
        for chair, st in states.items():
            if st.paused and st.paused_until_mono is not None:
                left = st.paused_until_mono - engines[chair].clock.monotonic()
                parts.append(f"Audio paused {mmss(left)} by {st.paused_by or '?'} — {chair}")
        text = "; ".join(parts)
        if text != self.paused_label.text():
            self.paused_label.setText(text)
        self.paused_label.setVisible(bool(text))
        self._show_paused_on_tiles(engines, states)

    def _show_paused_on_tiles(self, engines: Mapping[str, AlarmEngine],
                              states: Mapping[str, AudioState]) -> None:
        """Each tile shows its own chair's paused audio (a crossed bell and the time left),
        where the nurse looks, not only in the status bar."""
        view = getattr(self.window, "view", None)
        tiles = getattr(view, "tiles", None)
        if view is None or tiles is None:
            return
        for chair, st in states.items():
            if chair not in tiles:
                continue
            tile = view.tile(chair)
            setter = getattr(tile, "set_audio_paused", None)
            if setter is None:
                continue
            until = None
            if st.paused:
                until = st.paused_until_wall
                if until is None and st.paused_until_mono is not None:
                    clock = engines[chair].clock
                    until = clock.now() + timedelta(
                        seconds=st.paused_until_mono - clock.monotonic())
            if until != getattr(tile, "paused_until", None) or \
                    (st.paused_by or "") != getattr(tile, "paused_by", ""):
                setter(until, st.paused_by or "")

    def _show_sound(self) -> None:
        p = self.player
        text = p.audible_text()
        if text != self.sound_label.text():
            self.sound_label.setText(text)
            self.sound_label.setToolTip(f"For IT: {p.mute_detail}" if p.muted else "")
            self.sound_label.setStyleSheet(
                "QLabel { color: #ffffff; background: #8b0000; padding: 0px 6px; }" if p.muted
                else "QLabel { padding: 0px 6px; }")
        self.sound_label.setVisible(True)

    def _show_reasons(self, engines: Mapping[str, AlarmEngine]) -> None:
        view = getattr(self.window, "view", None)
        tiles = getattr(view, "tiles", None)
        if view is None or tiles is None:
            return
        for chair, engine in engines.items():
            if chair not in tiles:
                continue
            label = getattr(view.tile(chair), "alarm_label", None)
            if label is None:
                continue
            alarms = engine.active()
            if not alarms:
                continue  # the tile's own empty tooltip stays
            tip = "\n".join(alarm_reason(a) for a in alarms) + "\nF4: why · Ctrl+Shift+H: history"
            if label.toolTip() != tip:
                label.setToolTip(tip)
