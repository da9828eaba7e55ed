"""Metrics (指标与案件追踪): folds every department's and partner's case events into live indicators against each
city's targets, and into end-to-end case timelines with their statutory deadlines (met / pending / missed)."""
