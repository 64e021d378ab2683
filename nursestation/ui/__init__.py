"""PySide6 + pyqtgraph user interface: windows, widgets, dialogs and the Qt adapter."""

from nursestation.ui.qtcompat import guard_bool_refcounts

guard_bool_refcounts()
