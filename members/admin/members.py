"""Admin: members and their history."""
