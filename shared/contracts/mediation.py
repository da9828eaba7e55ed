"""People's mediation (人民调解): events of a dispute. Defined by the mediation service."""
