"""Email: members on email through the Platform contract (README, "Email members")."""
