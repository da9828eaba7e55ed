"""People's mediation (人民调解): disputes from walk-ins, intake, police 110 (警调对接), court pre-litigation
referrals (诉前调解), procuratorate reconciliation (检调对接) and petition offices (访调对接); committees and
mediators; sessions, agreements, judicial confirmation (司法确认) with the court, follow-up visits and archives.
"""
