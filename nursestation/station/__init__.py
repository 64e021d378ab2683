"""The station's clinical heartbeat, without Qt: the controller the window renders."""

from nursestation.station.controller import ChairAlarms, StationController, Tick

__all__ = ["ChairAlarms", "StationController", "Tick"]
