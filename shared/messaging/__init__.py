"""Kafka plumbing every service shares: batch subscription with manual acknowledgement."""
