"""Registers (tills) per location, their shifts (a counted float to a counted close) and
the cash put in or taken out of the drawer during a shift."""
