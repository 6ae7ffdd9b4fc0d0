"""Test laboratories: real traffic in network namespaces the tests create themselves."""
