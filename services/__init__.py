"""Department services of caseflow, one package per department (see docs/SERVICES.md)."""
