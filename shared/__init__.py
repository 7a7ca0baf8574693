"""Code every service shares: event contracts, the pure domain core and persistence adapters."""
