"""The assessment scales the record takes, each with the check of its items and the score it
computes (one table: a new scale is one entry here, its protocol settings and its form).

A caller gives the items; the score is the scale's, computed here. A score that disagrees with
the items ("CADSS-6 score −50") or a scale the record does not know is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nursestation.core.protocol import TreatmentProtocol
from nursestation.core.vocabulary import scale_name
from nursestation.db.discharge_inputs import (
    SCALE_BASELINE_VITALS,
    SCALE_CADSS6,
    SCALE_MOAAS,
    SCALE_NAUSEA,
    SCALE_VITALS_CHECK,
)
from nursestation.record.errors import Refused
from nursestation.record.validation import choice, integer, vitals

Items = dict[str, Any]


@dataclass(frozen=True)
class Scale:
    name: str
    #: (items as given, the protocol, unusual values confirmed) → (items as stored, score)
    check: Callable[[Mapping[str, Any], TreatmentProtocol, bool], tuple[Items, float | None]]
    #: False: charted only by its own step (the baseline), not as a free assessment
    direct: bool = True


def _mapping(scale: str, items: Any) -> Mapping[str, Any]:
    if not isinstance(items, Mapping):
        raise Refused("items", f"{scale} items must be a table, not {items!r}", items)
    return items


def _cadss6(items: Mapping[str, Any], p: TreatmentProtocol, _confirmed: bool
            ) -> tuple[Items, float | None]:
    """Six items 0–item max, stored as "1".."6"; no items is a note-only entry (no score)."""
    a = p.assessments
    items = _mapping("CADSS-6", items)
    if not items:
        return {}, None
    want = [str(i) for i in range(1, len(a.cadss6_items) + 1)]
    by_name = {str(k): v for k, v in items.items()}
    got = sorted(by_name)
    if got != sorted(want):
        raise Refused("cadss6_items", f"CADSS-6 needs all {len(want)} items scored "
                      f"({', '.join(want)}), not {', '.join(got)}", got)
    out = {k: integer(f"CADSS-6 item {k}", by_name[k], lo=0, hi=a.cadss6_item_max,
                      rule="cadss6_item")
           for k in want}
    return out, float(sum(out.values()))


def _moaas(items: Mapping[str, Any], p: TreatmentProtocol, _confirmed: bool
           ) -> tuple[Items, float | None]:
    a = p.assessments
    items = _mapping("MOAA/S", items)
    level = integer("MOAA/S level", items.get("level"), lo=a.moaas_min, hi=a.moaas_max,
                    rule="moaas_level")
    return {"level": level}, float(level)


def _nausea(items: Mapping[str, Any], p: TreatmentProtocol, _confirmed: bool
            ) -> tuple[Items, float | None]:
    a = p.assessments
    items = _mapping("nausea", items)
    level = choice("nausea level", items.get("level"), a.nausea_levels, rule="nausea_level")
    return {"level": level}, float(a.nausea_levels.index(level))


def _vitals_check(items: Mapping[str, Any], p: TreatmentProtocol, confirmed: bool
                  ) -> tuple[Items, float | None]:
    values = {k: v for k, v in vitals(_mapping("vitals", items), p.plausibility,
                                      confirmed=confirmed).items() if v is not None}
    if not values:
        raise Refused("vitals", "enter at least one value")
    return dict(values), None


def _baseline(items: Mapping[str, Any], p: TreatmentProtocol, confirmed: bool
              ) -> tuple[Items, float | None]:
    items = dict(_mapping("baseline", items))
    source = items.pop("source", {})
    if not isinstance(source, Mapping) or not all(
            v in ("monitor", "manual") for v in source.values()):
        raise Refused("baseline_source", f"baseline sources must be monitor or manual, not "
                      f"{source!r}", source)
    out: Items = dict(vitals(items, p.plausibility, bp_pair=False, confirmed=confirmed))
    out["source"] = {str(k): str(v) for k, v in source.items()}
    return out, None


SCALES: dict[str, Scale] = {s.name: s for s in (
    Scale(SCALE_CADSS6, _cadss6),
    Scale(SCALE_MOAAS, _moaas),
    Scale(SCALE_NAUSEA, _nausea),
    Scale(SCALE_VITALS_CHECK, _vitals_check),
    Scale(SCALE_BASELINE_VITALS, _baseline, direct=False),
)}


def check_scale(scale: Any, items: Any, score: Any, protocol: TreatmentProtocol, *,
                direct: bool = True, confirmed: bool = False) -> tuple[Items, float | None]:
    """The items as stored and the scale's score; refuses an unknown scale and a given score
    that is not the items' score. Vital signs are held against the protocol file's
    ``[plausibility]`` ranges (an unusual value only when ``confirmed``)."""
    s = SCALES.get(scale) if isinstance(scale, str) else None
    if s is None or (direct and not s.direct):
        known = ", ".join(n for n, x in SCALES.items() if x.direct or not direct)
        raise Refused("scale", f"assessment scale {scale!r} is not one the record knows "
                      f"({known})", scale)
    out, computed = s.check(items, protocol, confirmed)
    agrees = (score is None or (isinstance(score, int | float) and not isinstance(score, bool)
                                and computed is not None
                                and abs(float(score) - computed) <= 1e-9))
    if not agrees:
        raise Refused("score", f"{scale_name(s.name)} score {score!r} does not match its items "
                      f"({'no score' if computed is None else f'{computed:g}'})", score)
    return out, computed


__all__ = ["SCALES", "Scale", "check_scale"]
