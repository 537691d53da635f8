"""Privacy: erasure, export, suppression of erased people, and the consent/DND outreach check."""
