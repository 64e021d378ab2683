"""HL7 v2 interoperability: vitals in from monitoring gateways, vitals and signed summaries out
to the clinic's EHR.

- ``codes`` - MDC observation and unit codes, UCUM, and their canonical-vocabulary mapping;
- ``mllp`` - MLLP framing (incremental, resynchronising) and ``mllp://HOST:PORT`` addresses;
- ``pcd01`` - IHE PCD-01 ORU^R01: parse a gateway's message into readings, ACKs, build ours;
- ``inbound`` - the MLLP listener the station runs per configured gateway port;
- ``outbound`` - sending to the EHR: ``nursestation hl7 send`` and the database-backed queue;
- ``tools`` - ``nursestation decode --protocol hl7``.

Parsing uses python-hl7; no Qt here.
"""
