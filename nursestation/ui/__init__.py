"""PySide6 + pyqtgraph user interface: windows, widgets, dialogs and the Qt adapter."""
