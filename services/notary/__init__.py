"""Notary department (公证机构): notarisation applications from 申请 to 出证, the certificate register, fee
waivers for legal aid recipients (flow 7), and court commissions and document feedback (flow 8)."""
