"""How assessments are stored: the ``scale`` names of the assessment rows the gate, the tiles
and the report read.

``MOAAS`` (score 0-5), ``CADSS6`` (score = total of the six items), ``NAUSEA``
(``items["level"]`` one of the protocol's nausea levels), and two kinds of vitals charted by
hand whose items are the measured values (``NBP_SYS``, ``NBP_DIA``, ``HR``, ``SPO2``, ``RR``):
``BASELINE_VITALS`` at the baseline step and ``VITALS_CHECK`` for a manual check.

What the discharge gate reads from them lives in the application layer
(``nursestation.record.gate``): the database holds no clinical decision.
"""

from __future__ import annotations

SCALE_MOAAS = "MOAAS"
SCALE_CADSS6 = "CADSS6"
SCALE_NAUSEA = "NAUSEA"
SCALE_BASELINE_VITALS = "BASELINE_VITALS"
SCALE_VITALS_CHECK = "VITALS_CHECK"

__all__ = [
    "SCALE_BASELINE_VITALS",
    "SCALE_CADSS6",
    "SCALE_MOAAS",
    "SCALE_NAUSEA",
    "SCALE_VITALS_CHECK",
]
