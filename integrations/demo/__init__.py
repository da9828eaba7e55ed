"""The living demo: a seeded city's working day of citizens and department staff, played through the departments'
public HTTP APIs at the scenario clock (`python -m integrations.demo`, started by `make run`).

Modules: cities (the five reference cities from the metrics' region data), plan (pure, seeded: who comes when and
what becomes of them), scheduler (acts due at platform times), client (tokens and idempotent HTTP calls), citizens
(walk-in windows, 12348 calls, web questions, notary and mediation walk-ins), the staff of each department
(legal_aid_staff, mediation_staff, notary_staff, advisors), evaluations (where citizens rate a service) and
backfill (a sample of last year's hotline calls, docs/decisions/0012).
"""
