"""What every function of this app shares at run time: its configuration contract, AWS clients, telemetry."""
