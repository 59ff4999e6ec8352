"""Reports: figures and generated pages (`make docs`, `make cost`, `make bench`, `make bench-sync`, the audits)."""
