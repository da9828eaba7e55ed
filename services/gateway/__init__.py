"""HTTP gateway (对外接口网关) for partner organs that cannot speak Kafka: the same event contracts over REST.

A court, police, procuratorate, petition office, 12345 or 110 system POSTs its requests (validated against the
event registry, deduplicated by Idempotency-Key) and they are produced to its inbound topic exactly like a
Kafka-speaking partner's; it pulls the notices addressed to it from its outbound topic with an opaque cursor. A
partner token sees only its own traffic.
"""
