"""Philips IntelliVue MIB/RS232 data export: framing, decoder, host session and simulator.

See /work/shared/protocols/intellivue.md and Philips' Data Export Interface Programming Guide.
"""

from __future__ import annotations

from nursestation.devices.intellivue.decoder import IntelliVueDecoder
from nursestation.devices.intellivue.session import IntelliVueSession
from nursestation.devices.intellivue.simulator import IntelliVueSimulator

PROTOCOL = "intellivue"


def make_decoder() -> IntelliVueDecoder:
    """A fresh decoder for ``nursestation decode --protocol intellivue``."""
    return IntelliVueDecoder()


__all__ = ["PROTOCOL", "IntelliVueDecoder", "IntelliVueSession", "IntelliVueSimulator",
           "make_decoder"]
