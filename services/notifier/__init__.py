"""Notifier: tells officials when units cross thresholds, fall behind or miss targets."""
