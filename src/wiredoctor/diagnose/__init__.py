"""Diagnoses: rules that turn findings and host facts into causes with remedies."""
