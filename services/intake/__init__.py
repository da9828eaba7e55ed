"""Intake (公共法律服务中心 · 12348 热线 · 12348 法网): the one-stop front door.

Owns requests on every channel (walk-in at four levels, hotline, web, 12345/110 transfers), triage and referral
to legal aid, mediation and notary, hotline calls and work orders, web replies and their QC draw, the village
legal advisor registry and service logs, and the citizen data it receives (encrypted, erasable).
"""
