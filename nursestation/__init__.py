"""NurseStation: the nursing-station screen and record for outpatient ketamine infusion clinics."""

__version__ = "0.1.0"
