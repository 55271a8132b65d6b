"""Named tax rates of a workspace (standard, reduced, zero, exempt), chosen per product."""
