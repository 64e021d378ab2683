"""The device protocols NurseStation speaks, by the name used in config files and commands.

:data:`PROTOCOLS` is the one table: the config file's and the commands' choices, a device's
label on its tile, the demo chair's devices, the link's session, decoder and simulator, the
line rate all come from it. A new protocol is one module and one row here."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from nursestation.devices.base import Decoder, DeviceSession, Simulator
from nursestation.sim.scenarios import Scenario


@dataclass(frozen=True)
class ProtocolInfo:
    name: str
    title: str
    #: how the device is named on a tile ("Monitor offline")
    label: str
    baudrate: int
    #: the module that implements it, imported only when first needed
    module: str
    decoder_factory: str
    session_factory: str
    simulator_factory: str
    description: str = ""
    #: the speeds the device's port can be set to, its usual one (``baudrate``) first
    #: (IntelliVue Data Export: "Fix 115200" or "Fix 19200")
    baud_rates: tuple[int, ...] = ()

    @property
    def line_rate(self) -> float:
        """Bytes per second the wire can carry at 8N1 (10 bits a byte)."""
        return self.baudrate / 10.0

    def _attr(self, name: str) -> Callable:
        return getattr(importlib.import_module(self.module), name)

    @property
    def available(self) -> bool:
        try:
            importlib.import_module(self.module)
        except ImportError:
            return False
        return True

    def make_decoder(self) -> Decoder:
        return self._attr(self.decoder_factory)()

    def make_session(self) -> DeviceSession:
        return self._attr(self.session_factory)()

    def make_simulator(self, scenario: Scenario) -> Simulator:
        return self._attr(self.simulator_factory)(scenario)


PROTOCOLS: dict[str, ProtocolInfo] = {
    "intellivue": ProtocolInfo(
        name="intellivue",
        title="Philips IntelliVue MP/MX/X2 (MIB/RS232 data export)",
        label="Monitor",
        baudrate=115200,
        module="nursestation.devices.intellivue",
        decoder_factory="make_decoder",
        session_factory="IntelliVueSession",
        simulator_factory="IntelliVueSimulator",
        description="bedside monitor: ECG/HR, SpO2/pleth, NBP, RR, EtCO2, temperature",
        baud_rates=(115200, 19200),
    ),
    "masimo": ProtocolInfo(
        name="masimo",
        title="Masimo Rad-8 / Radical-7 / Radical-5 (ASCII 1 output)",
        label="Oximeter",
        baudrate=9600,
        module="nursestation.devices.masimo",
        decoder_factory="MasimoDecoder",
        session_factory="MasimoSession",
        simulator_factory="MasimoSimulator",
        description="pulse oximeter: SpO2, pulse rate, perfusion index",
        baud_rates=(9600, 19200, 38400, 57600, 115200),
    ),
    "alaris": ProtocolInfo(
        name="alaris",
        title="Alaris GH / CC syringe pump (RS-232 ASCII, read only)",
        label="Pump",
        baudrate=38400,
        module="nursestation.devices.alaris",
        decoder_factory="AlarisDecoder",
        session_factory="AlarisSession",
        simulator_factory="AlarisSimulator",
        description="infusion pump: rate, volume infused, VTBI, state, alarm",
        baud_rates=(38400, 9600, 19200, 57600, 115200),
    ),
}

#: The protocols' names, in the table's order (a demo chair has one device of each).
PROTOCOL_NAMES: tuple[str, ...] = tuple(PROTOCOLS)


@dataclass(frozen=True)
class GatewayInfo:
    """A source of readings that is not a serial device: a monitoring gateway the station
    listens to (its chairs' devices name the protocol; the url is the port to listen on)."""

    name: str
    title: str
    label: str
    module: str


#: The gateway protocols, the second half of the one table of device protocols.
GATEWAYS: dict[str, GatewayInfo] = {
    "hl7": GatewayInfo(
        name="hl7",
        title="HL7 v2 ORU^R01 (IHE PCD-01) over MLLP from a monitoring gateway",
        label="Gateway",
        module="nursestation.hl7.inbound",
    ),
}
GATEWAY_NAMES: tuple[str, ...] = tuple(GATEWAYS)

#: How a device is named on a tile ("Monitor offline"), for every protocol a chair may name.
DEVICE_LABELS: dict[str, str] = {**{n: p.label for n, p in PROTOCOLS.items()},
                                 **{n: g.label for n, g in GATEWAYS.items()}}


def get_protocol(name: str) -> ProtocolInfo:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(
            f"unknown device protocol {name!r}; known: {', '.join(PROTOCOLS)}"
        ) from None
