"""Legal aid (法律援助): citizen and detainee applications, notified defence from courts, procuratorates and
police, eligibility review, provider assignment within the statutory deadlines, closing, quality review,
subsidy, and the notary fee waiver for aid recipients."""
