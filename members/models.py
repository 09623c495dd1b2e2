"""Real-name member records and the membership lifecycle (built by the members issue)."""
