"""The station's configuration file (TOML).

Example::

    clinic_name = "Riverside Ketamine Clinic"
    database_url = "postgresql+psycopg://station@db-host/nursestation"  # default: SQLite file
    protocol_file = "/etc/nursestation/ketamine-iv.toml"                # default: the bundled one
    idle_lock_minutes = 5
    patient_display = "name"            # or "initials"
    locked_patient_display = "initials" # names on the locked station: "initials" or "name"
    backup_every_hours = 24             # scheduled backup (0: off); backup_keep = 14
    pin_lockout_after = 5               # wrong PINs in a row that lock an account (0: never)
    workstation_id = "nurse-pc-1"       # default: the host name; owns the chairs below

    [[chairs]]
    name = "Chair 1"
    primary_sites = { TEMP = "core" }    # optional: which site stands for a code (see below)
    devices = [
      { protocol = "intellivue", url = "/dev/ttyUSB0", baud = 19200 },  # "Fix 19200" on the MIB
      { protocol = "masimo",     url = "/dev/ttyUSB1" },
      { protocol = "alaris",     url = "socket://10.0.0.21:4001" },
    ]

``baud`` is the port's speed as the device is set (default: the protocol's usual one: IntelliVue
115200, Masimo 9600, Alaris 38400). ``primary_sites`` names, per code measured at more than one
site or lead (TEMP, SPO2, PR, PI, PLETH, ECG), the site the chair's tiles, alarms and record use:
default the device's main site (lead II for the ECG), else the first site that reports.

A malformed file stops start-up with a message naming the file, the key and what is wrong.
"""

from __future__ import annotations

import platform
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from nursestation.core.pinpolicy import PinPolicy
from nursestation.core.vocabulary import SITES
from nursestation.devices.registry import GATEWAY_NAMES, PROTOCOL_NAMES, PROTOCOLS
from nursestation.paths import data_dir, default_config_path, resource_path

PAPER_SIZES = ("letter", "a4")
#: Two pods of 32 on one PC (make bench measures 64 chairs, every device online).
MAX_CHAIRS = 64
#: PIN rules (see ``core.pinpolicy``): config key -> (PinPolicy field, lowest, highest).
_PIN_KEYS: dict[str, tuple[str, float, float]] = {
    "pin_min_digits": ("min_digits", 4, 12),
    "charge_pin_min_digits": ("charge_min_digits", 4, 12),
    "pin_delay_after": ("delay_after", 1, 20),
    "pin_delay_seconds": ("delay_seconds", 0, 3600),
    "pin_lockout_after": ("lockout_after", 0, 50),
}


class ConfigError(Exception):
    """A configuration or protocol file that cannot be used; the message says where and why."""

    def __init__(self, file: Path | str, key: str | None, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + problem)


@dataclass(frozen=True)
class DeviceConfig:
    protocol: str
    url: str
    id: str
    # protocol "hl7" only: the url is the port to listen on (mllp://0.0.0.0:2575); the chair's
    # data is the gateway's messages for this bed (PV1-3) and/or this device id (OBX-18)
    bed: str = ""
    equipment: str = ""
    offline_after: float = 60.0
    baud: int | None = None  # None: the protocol's usual speed


@dataclass(frozen=True)
class Hl7OutboundConfig:
    """``[hl7]``: the EHR feed (nursestation.hl7.outbound)."""

    send_to: str  # mllp://HOST:PORT
    vitals_every_minutes: float = 15.0
    send_summary: bool = True
    sending_application: str = "NURSESTATION"
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    ack_timeout_seconds: float = 30.0


@dataclass(frozen=True)
class ChairConfig:
    name: str
    devices: tuple[DeviceConfig, ...] = ()
    #: (code, site) pairs: the site that stands for a multi-site code on this chair
    primary_sites: tuple[tuple[str, str], ...] = ()

    @property
    def sites(self) -> dict[str, str]:
        return dict(self.primary_sites)


@dataclass(frozen=True)
class Config:
    clinic_name: str = "NurseStation"
    database_url: str = ""
    protocol_file: Path = field(default_factory=lambda: resource_path("protocols", "ketamine-iv.toml"))
    idle_lock_minutes: float = 5.0
    patient_display: str = "name"
    locked_patient_display: str = "initials"
    chairs: tuple[ChairConfig, ...] = ()
    audio_pause_minutes: float = 2.0
    paper: str = "letter"  # printed summaries: "letter" or "a4"
    hl7: Hl7OutboundConfig | None = None
    demo: bool = False
    #: the demo's simulated devices: on pseudo-terminals ("pty"), on loopback TCP ("tcp", e.g.
    #: a clinic's Windows PC), or "auto" (pseudo-terminals when the machine has them)
    demo_devices: str = "auto"
    source: Path | None = None  # the file this came from, if any
    pin_policy: PinPolicy = field(default_factory=PinPolicy)
    backup_dir: Path | None = None  # default: <data dir>/backups
    backup_every_hours: float = 24.0  # 0: no scheduled backup from this workstation
    backup_keep: int = 14
    #: readings wait on disk while the database is unreachable (~80-160 MB an hour, 32 chairs)
    spool_max_mb: int = 512
    #: this workstation's name on a shared database: it owns the chairs of its config
    workstation_id: str = field(default_factory=lambda: default_workstation_id())

    @property
    def data_dir(self) -> Path:
        return data_dir()


def default_workstation_id() -> str:
    name = re.sub(r"[^A-Za-z0-9._-]", "-", platform.node()).strip("-")[:64]
    return name or "station"


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'nursestation.sqlite3'}"


def demo_database_dir() -> Path:
    """The demo's own directory: the only place its database lives."""
    return data_dir() / "demo"


def demo_chairs(n: int) -> tuple[ChairConfig, ...]:
    """Chairs for the demo: each gets a simulated IntelliVue, Masimo and Alaris (URLs filled in
    when the simulators have made their pseudo-terminals)."""
    return tuple(
        ChairConfig(
            name=f"Chair {i}",
            devices=tuple(
                DeviceConfig(protocol=p, url="", id=f"chair{i}-{p}") for p in PROTOCOL_NAMES
            ),
        )
        for i in range(1, n + 1)
    )


DEMO_DEVICE_PORTS = ("auto", "pty", "tcp")


def load_config(path: str | Path | None = None, *, demo: bool = False,
                chairs: int | None = None, demo_devices: str = "auto") -> Config:
    """Read the config file. ``path`` None means ``NURSESTATION_CONFIG`` or the default location;
    a missing file at the default location gives the defaults (one workstation, SQLite)."""
    explicit = path is not None
    file = Path(path) if path is not None else default_config_path()
    raw: dict = {}
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(file, None, f"not valid TOML ({exc})") from None
        except OSError as exc:
            raise ConfigError(file, None, f"cannot be read ({exc.strerror})") from None
    elif explicit:
        raise ConfigError(file, None, "no such file")
    cfg = _parse(raw, file)
    if demo:
        n = chairs if chairs is not None else 6
        if not 1 <= n <= MAX_CHAIRS:
            raise ConfigError("--chairs", None, f"must be between 1 and {MAX_CHAIRS}, not {n}")
        if cfg.database_url:
            # The demo resets its own database when its chart no longer fits: it must never
            # be pointed at a clinic's record.
            raise ConfigError(file, "database_url",
                              f"names a database ({cfg.database_url.split('@')[-1]}); --demo "
                              f"runs only on its own database in {demo_database_dir()}, so it "
                              "refuses this configuration (nothing was opened). Run the demo "
                              "without --config, or without --demo for the clinic")
        if demo_devices not in DEMO_DEVICE_PORTS:
            raise ConfigError("--demo-devices", None,
                              f"must be one of {', '.join(DEMO_DEVICE_PORTS)}, not {demo_devices!r}")
        cfg = Config(
            clinic_name=raw.get("clinic_name", "Demo Clinic"),
            database_url=f"sqlite:///{demo_database_dir() / 'nursestation-demo.sqlite3'}",
            protocol_file=cfg.protocol_file,
            idle_lock_minutes=cfg.idle_lock_minutes,
            patient_display=cfg.patient_display,
            locked_patient_display=cfg.locked_patient_display,
            chairs=demo_chairs(n),
            audio_pause_minutes=cfg.audio_pause_minutes,
            paper=cfg.paper,
            hl7=cfg.hl7,
            demo=True,
            demo_devices=demo_devices,
            source=cfg.source,
            pin_policy=cfg.pin_policy,
            backup_every_hours=0.0,  # the demo's throwaway chart is not backed up
            spool_max_mb=cfg.spool_max_mb,
            workstation_id=cfg.workstation_id,
        )
    elif not cfg.database_url:
        cfg = Config(**{**cfg.__dict__, "database_url": default_database_url()})
    return cfg


def _parse(raw: dict, file: Path) -> Config:
    known = {"clinic_name", "database_url", "protocol_file", "idle_lock_minutes",
             "patient_display", "locked_patient_display", "chairs", "audio_pause_minutes",
             "paper", "hl7", "backup_dir", "backup_every_hours", "backup_keep", "spool_max_mb",
             "workstation_id", *_PIN_KEYS}
    for key in raw:
        if key not in known:
            raise ConfigError(file, key, f"unknown setting (known: {', '.join(sorted(known))})")

    def get(key: str, kind: type | tuple[type, ...], default):
        if key not in raw:
            return default
        value = raw[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise ConfigError(file, key, f"must be a {names}, not {value!r}")
        return value

    clinic = get("clinic_name", str, "NurseStation").strip()
    if not clinic:
        raise ConfigError(file, "clinic_name", "must not be empty")
    url = get("database_url", str, "")
    if url and not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError(file, "database_url",
                          f"must be a sqlite:/// or postgresql+psycopg:// URL, not {url!r}")
    if re.match(r"^[^:]+://[^/@]*:[^/@]*@", url) or re.search(r"[?&]password=", url):
        raise ConfigError(file, "database_url",
                          "holds a password; keep it out of the configuration file: "
                          "~/.pgpass (mode 0600), a pg_service.conf entry or PGPASSWORD in "
                          "the station's environment (see README, 'For IT')")
    proto = get("protocol_file", str, None)
    if proto is not None:
        proto_path = Path(proto).expanduser()
        if not proto_path.is_absolute():
            proto_path = file.parent / proto_path
        if not proto_path.exists():
            raise ConfigError(file, "protocol_file", f"no such file: {proto_path}")
    else:
        proto_path = resource_path("protocols", "ketamine-iv.toml")
    idle = get("idle_lock_minutes", (int, float), 5.0)
    if not 0.5 <= idle <= 240:
        raise ConfigError(file, "idle_lock_minutes", f"must be between 0.5 and 240, not {idle}")
    pause = get("audio_pause_minutes", (int, float), 2.0)
    if not 0.5 <= pause <= 15:
        raise ConfigError(file, "audio_pause_minutes", f"must be between 0.5 and 15, not {pause}")
    display = get("patient_display", str, "name")
    if display not in ("name", "initials"):
        raise ConfigError(file, "patient_display", f"must be 'name' or 'initials', not {display!r}")
    locked_display = get("locked_patient_display", str, "initials")
    if locked_display not in ("name", "initials"):
        raise ConfigError(file, "locked_patient_display",
                          f"must be 'name' or 'initials', not {locked_display!r}")

    pins: dict[str, float] = {}
    for key, (attr, low, high) in _PIN_KEYS.items():
        default = getattr(PinPolicy(), attr)
        value = get(key, (int, float) if isinstance(default, float) else int, default)
        if not low <= value <= high:
            raise ConfigError(file, key, f"must be between {low} and {high}, not {value}")
        pins[attr] = value
    pin_policy = PinPolicy(**pins)  # type: ignore[arg-type]
    if pin_policy.lockout_after and pin_policy.lockout_after < pin_policy.delay_after:
        raise ConfigError(file, "pin_lockout_after",
                          f"must be 0 (never) or at least pin_delay_after "
                          f"({pin_policy.delay_after})")

    backup_raw = get("backup_dir", str, None)
    backup_dir = None
    if backup_raw is not None:
        backup_dir = Path(backup_raw).expanduser()
        if not backup_dir.is_absolute():
            backup_dir = file.parent / backup_dir
    every = get("backup_every_hours", (int, float), 24.0)
    if not (every == 0 or 0.25 <= every <= 24 * 7):
        raise ConfigError(file, "backup_every_hours",
                          f"must be 0 (off) or between 0.25 and 168, not {every}")
    keep = get("backup_keep", int, 14)
    if not 1 <= keep <= 1000:
        raise ConfigError(file, "backup_keep", f"must be between 1 and 1000, not {keep}")

    workstation = get("workstation_id", str, None) or default_workstation_id()
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", workstation):
        raise ConfigError(file, "workstation_id",
                          f"must be 1-64 letters, digits, '.', '_' or '-', not {workstation!r}")
    spool = get("spool_max_mb", int, 512)
    if not 64 <= spool <= 100_000:
        raise ConfigError(file, "spool_max_mb", f"must be between 64 and 100000, not {spool}")

    chairs_raw = get("chairs", list, [])
    if len(chairs_raw) > MAX_CHAIRS:
        raise ConfigError(file, "chairs", f"at most {MAX_CHAIRS} chairs, not {len(chairs_raw)}")
    chairs: list[ChairConfig] = []
    names: set[str] = set()
    for i, c in enumerate(chairs_raw, 1):
        key = f"chairs[{i}]"
        if not isinstance(c, dict):
            raise ConfigError(file, key, "must be a table with 'name' and 'devices'")
        name = c.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(file, f"{key}.name", "missing or empty")
        if name in names:
            raise ConfigError(file, f"{key}.name", f"duplicate chair name {name!r}")
        names.add(name)
        devs = []
        for j, d in enumerate(c.get("devices", []), 1):
            dkey = f"{key}.devices[{j}]"
            if not isinstance(d, dict):
                raise ConfigError(file, dkey, "must be a table with 'protocol' and 'url'")
            proto_name = d.get("protocol")
            if proto_name not in PROTOCOL_NAMES + GATEWAY_NAMES:
                raise ConfigError(file, f"{dkey}.protocol",
                                  f"must be one of {', '.join(PROTOCOL_NAMES + GATEWAY_NAMES)}, "
                                  f"not {proto_name!r}")
            if proto_name in GATEWAY_NAMES:
                devs.append(_gateway_device(file, dkey, d, name, j))
                continue
            dev_url = d.get("url")
            if not isinstance(dev_url, str) or not dev_url:
                raise ConfigError(file, f"{dkey}.url",
                                  "missing: a serial device (/dev/ttyUSB0, COM3) or pyserial URL")
            dev_id = d.get("id") or f"{name}-{proto_name}-{j}".replace(" ", "").lower()
            baud = d.get("baud")
            if baud is not None and (isinstance(baud, bool) or baud not in PROTOCOLS[proto_name].baud_rates):
                raise ConfigError(file, f"{dkey}.baud",
                                  f"{proto_name} ports run at "
                                  f"{', '.join(map(str, PROTOCOLS[proto_name].baud_rates))} baud, "
                                  f"not {baud!r}")
            devs.append(DeviceConfig(protocol=proto_name, url=dev_url, id=str(dev_id),
                                     baud=baud))
        sites_raw = c.get("primary_sites", {})
        if not isinstance(sites_raw, dict):
            raise ConfigError(file, f"{key}.primary_sites",
                              'must be a table such as { TEMP = "core" }')
        sites: list[tuple[str, str]] = []
        for code, site in sites_raw.items():
            if code not in SITES:
                raise ConfigError(file, f"{key}.primary_sites.{code}",
                                  f"not a code measured at several sites (those are "
                                  f"{', '.join(sorted(SITES))})")
            allowed = {str(s) for s in SITES[code]}
            if not isinstance(site, str) or site not in allowed:
                raise ConfigError(file, f"{key}.primary_sites.{code}",
                                  f"{site!r} is not a site of {code}; known: "
                                  f"{', '.join(sorted(a or '(main)' for a in allowed))}")
            sites.append((code, site))
        chairs.append(ChairConfig(name=name, devices=tuple(devs), primary_sites=tuple(sites)))

    paper = get("paper", str, "letter").strip().lower()
    if paper not in PAPER_SIZES:
        raise ConfigError(file, "paper", f"must be 'letter' or 'a4', not {paper!r}")
    hl7 = _hl7_outbound(file, get("hl7", dict, None), clinic)

    return Config(
        clinic_name=clinic,
        database_url=url,
        protocol_file=proto_path,
        idle_lock_minutes=float(idle),
        patient_display=display,
        locked_patient_display=locked_display,
        chairs=tuple(chairs),
        audio_pause_minutes=float(pause),
        paper=paper,
        hl7=hl7,
        source=file if file.exists() else None,
        pin_policy=pin_policy,
        backup_dir=backup_dir,
        backup_every_hours=float(every),
        backup_keep=keep,
        spool_max_mb=spool,
        workstation_id=workstation,
    )


def _gateway_device(file: Path, key: str, d: dict, chair: str, j: int) -> DeviceConfig:
    """A chair fed by a monitoring gateway over HL7 (``protocol = "hl7"``)."""
    from nursestation.hl7.mllp import AddressError, parse_mllp_url

    known = {"protocol", "url", "id", "bed", "equipment", "offline_after"}
    for k in d:
        if k not in known:
            raise ConfigError(file, f"{key}.{k}", "unknown setting for an hl7 device "
                                                  f"(known: {', '.join(sorted(known))})")
    url = d.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigError(file, f"{key}.url",
                          "missing: the port to listen on for the gateway, e.g. mllp://0.0.0.0:2575")
    try:
        parse_mllp_url(url)
    except AddressError as exc:
        raise ConfigError(file, f"{key}.url", str(exc)) from None
    bed, equipment = d.get("bed", ""), d.get("equipment", "")
    for k, v in (("bed", bed), ("equipment", equipment)):
        if not isinstance(v, str):
            raise ConfigError(file, f"{key}.{k}", f"must be a string, not {v!r}")
    if not bed.strip() and not equipment.strip():
        raise ConfigError(file, key, "an hl7 device needs 'bed' (the gateway's PV1-3, e.g. "
                                     "\"CLINIC^^CHAIR4\" or \"CHAIR4\") or 'equipment' (OBX-18 "
                                     "device id)")
    offline = d.get("offline_after", 60)
    if (not isinstance(offline, (int, float)) or isinstance(offline, bool)
            or not 5 <= offline <= 3600):
        raise ConfigError(file, f"{key}.offline_after",
                          f"must be seconds between 5 and 3600, not {offline!r}")
    dev_id = d.get("id") or f"{chair}-hl7-{j}".replace(" ", "").lower()
    return DeviceConfig(protocol="hl7", url=url, id=str(dev_id), bed=bed.strip(),
                        equipment=equipment.strip(), offline_after=float(offline))


def _hl7_outbound(file: Path, raw: dict | None, clinic: str) -> Hl7OutboundConfig | None:
    """``[hl7]``: where the station sends vitals and signed summaries (the EHR's MLLP port)."""
    if raw is None:
        return None
    from nursestation.hl7.mllp import AddressError, parse_mllp_url

    fields = {"send_to", "vitals_every_minutes", "send_summary", "sending_application",
              "sending_facility", "receiving_application", "receiving_facility",
              "ack_timeout_seconds"}
    for k in raw:
        if k not in fields:
            raise ConfigError(file, f"hl7.{k}",
                              f"unknown setting (known: {', '.join(sorted(fields))})")
    to = raw.get("send_to")
    if not isinstance(to, str) or not to:
        raise ConfigError(file, "hl7.send_to", "missing: the EHR's address, mllp://HOST:PORT")
    try:
        host, _ = parse_mllp_url(to)
    except AddressError as exc:
        raise ConfigError(file, "hl7.send_to", str(exc)) from None
    if not host:
        raise ConfigError(file, "hl7.send_to", f"{to!r}: no host (mllp://HOST:PORT)")
    every = raw.get("vitals_every_minutes", 15)
    if (not isinstance(every, (int, float)) or isinstance(every, bool)
            or not 1 <= every <= 1440):
        raise ConfigError(file, "hl7.vitals_every_minutes",
                          f"must be minutes between 1 and 1440, not {every!r}")
    timeout = raw.get("ack_timeout_seconds", 30)
    if (not isinstance(timeout, (int, float)) or isinstance(timeout, bool)
            or not 1 <= timeout <= 600):
        raise ConfigError(file, "hl7.ack_timeout_seconds",
                          f"must be seconds between 1 and 600, not {timeout!r}")
    summary = raw.get("send_summary", True)
    if not isinstance(summary, bool):
        raise ConfigError(file, "hl7.send_summary", f"must be true or false, not {summary!r}")
    texts = {}
    for k in ("sending_application", "sending_facility", "receiving_application",
              "receiving_facility"):
        v = raw.get(k, "")
        if not isinstance(v, str):
            raise ConfigError(file, f"hl7.{k}", f"must be a string, not {v!r}")
        texts[k] = v.strip()
    return Hl7OutboundConfig(
        send_to=to, vitals_every_minutes=float(every), send_summary=summary,
        sending_application=texts["sending_application"] or "NURSESTATION",
        sending_facility=texts["sending_facility"] or clinic,
        receiving_application=texts["receiving_application"],
        receiving_facility=texts["receiving_facility"], ack_timeout_seconds=float(timeout))
