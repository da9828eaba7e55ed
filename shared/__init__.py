"""caseflow's own library: the contracts and plumbing every department service shares.

Envelope and event registry (`events`, `envelope`), the decider pattern (`decider`), the event store and outbox
(`eventstore`, `outbox`), the Kafka consumer loop (`consumer`), settings, telemetry, auth and the HTTP service
base (`api`), and the China calendar with the law's counting of deadlines (`calendar`). Domain modules may import
`events`, `decider`, `errors`, `contracts` and `calendar` only.
"""
