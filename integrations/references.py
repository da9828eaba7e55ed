"""Partner reference numbers as each simulated partner writes them (案号, 警情号, 信访转送号, 工单号).

Every reference carries the simulator run's random tag, so a restarted simulator never reuses one: the platform
would take a reused reference for the same case sent again and drop it.
"""

from __future__ import annotations

from datetime import datetime

PROVINCE = {"43": "湘", "42": "鄂", "44": "粤", "50": "渝", "34": "皖"}
#: the hotlines' ticket prefixes: 12345 政务服务热线 work orders, 110 接警 incidents
TICKET_PREFIX = {"hotline_12345": "12345", "dispatch_110": "JJ110"}


def reference(partner: str, region: str, kind: str, now: datetime, run: str, serial: int) -> str:
    """The `serial`-th reference of run `run` for a request of `kind` from `partner` in `region`."""
    if partner in TICKET_PREFIX:
        return f"{TICKET_PREFIX[partner]}-{region[:6]}-{now:%Y%m%d}-{run}-{serial:05d}"
    if partner == "police":
        return f"110-{region[:6]}-{now:%Y%m%d}-{run}-{serial:05d}"
    local = PROVINCE.get(region[:2], "") + region[2:6]
    if partner == "court":
        word = {"dispute_referred": "民诉前调", "notary_commissioned": "执委"}.get(kind, "刑初")
        return f"({now.year}){local}{word}{run}-{serial}号"
    if partner == "petition_office":
        return f"{local}信转〔{now.year}〕{run}-{serial}号"
    return f"{local}检刑〔{now.year}〕{run}-{serial}号"
