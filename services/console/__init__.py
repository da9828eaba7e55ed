"""The operations console (运营监控台): server-rendered pages for supervisors and operations staff.

It owns no data: the scorecard, charts and case trace come from the metrics service, the worklists from each
department's query API, and spans from the OpenTelemetry trace file. The browser never holds a token — the
console calls the services server-side with its own `dept:console` token.
"""
