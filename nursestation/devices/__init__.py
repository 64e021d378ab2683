"""Device protocols, the serial link layer and the simulators. No Qt."""
