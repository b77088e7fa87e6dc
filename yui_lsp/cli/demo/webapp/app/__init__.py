"""The webapp backend: users and orders, served as JSON."""
