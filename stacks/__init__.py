"""genba's deployable stacks: thin compositions of genba_constructs, one per concern."""
