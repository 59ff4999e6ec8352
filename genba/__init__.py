"""genba's operator commands: `genba check` (the account against the templates) and `genba drill`."""
