"""What every service's HTTP side shares: health, readiness and metrics endpoints, JSON logs."""
