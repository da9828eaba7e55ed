"""Notary (公证): events of a notarisation application and court commissions. Defined by the notary service."""
