"""The independent HL7 peer for the tests: hl7apy (not the library NurseStation uses) parses
every message it receives - strictly, as an EHR interface engine would - and answers AA, or
AE/AR; its behaviour can be switched between accepting and refusing while it runs."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.core import Message
from hl7apy.mllp import AbstractErrorHandler, AbstractHandler, MLLPServer
from hl7apy.parser import parse_message


@dataclass
class PeerState:
    answer: str = "AA"  # what to answer: AA, AE or AR
    reason: str = "not today"
    received: list = field(default_factory=list)  # parsed hl7apy messages
    raw: list[str] = field(default_factory=list)
    control_ids: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _ack(incoming, code: str, text: str = "") -> str:
    ack = Message("ACK", version="2.6", validation_level=VALIDATION_LEVEL.TOLERANT)
    ack.msh.msh_3 = "TESTEHR"
    ack.msh.msh_5 = incoming.msh.msh_3.to_er7() if incoming is not None else ""
    ack.msh.msh_9 = "ACK^R01^ACK"
    ack.msh.msh_10 = "EHRACK1"
    ack.msh.msh_11 = "P"
    ack.msh.msh_12 = "2.6"
    ack.msa.msa_1 = code
    ack.msa.msa_2 = incoming.msh.msh_10.to_er7() if incoming is not None else ""
    if text:
        ack.msa.msa_3 = text
    return "\x0b" + ack.to_er7() + "\r\x1c\r"


def make_handler(state: PeerState):
    class Handler(AbstractHandler):
        def reply(self) -> str:
            msg = parse_message(self.incoming_message, find_groups=True)
            with state.lock:
                state.received.append(msg)
                state.raw.append(self.incoming_message)
                state.control_ids.append(msg.msh.msh_10.to_er7())
                code, reason = state.answer, state.reason
            return _ack(msg, code, reason if code != "AA" else "")

    class ErrHandler(AbstractErrorHandler):
        def reply(self) -> str:
            return _ack(None, "AR", f"{type(self.exc).__name__}: {self.exc}")

    return Handler, ErrHandler


class Peer:
    """An EHR on 127.0.0.1: ``Peer().start()``; ``.url``; ``.state``; ``.stop()``."""

    def __init__(self, port: int = 0) -> None:
        self.state = PeerState()
        handler, err = make_handler(self.state)
        handlers = {"ORU^R01^ORU_R01": (handler,), "MDM^T02^MDM_T02": (handler,),
                    "ERR": (err,)}
        self.server = MLLPServer("127.0.0.1", port, handlers, timeout=10)
        self.port = self.server.server_address[1]
        self.url = f"mllp://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> Peer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)
