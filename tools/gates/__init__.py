"""Gates: what must pass before a change lands (`make synth`, `make snapshots`, `make lint`, `make detect`)."""
