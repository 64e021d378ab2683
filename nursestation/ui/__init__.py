"""PySide6 + pyqtgraph user interface: windows, widgets, dialogs and the Qt adapter."""

from nursestation.ui.qtcompat import guard_singleton_refcounts

guard_singleton_refcounts()
